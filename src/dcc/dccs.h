/* SPDX-License-Identifier: BSD-2-Clause */
/* The built-in DCC drivers, listed in lt_dcc_drivers[] (src/dcc/dccs.c). */
#ifndef LT_DCCS_H
#define LT_DCCS_H

#include <liota/liota.h>

extern const struct lt_dcc_driver lt_dcc_graphite;
/* Not in the table: their packages (mqtt, iotcc) provide them. */
extern const struct lt_dcc_driver lt_dcc_mqtt;
extern const struct lt_dcc_driver lt_dcc_iotcc;

#endif
