/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The in-tree DCC drivers, each registered by its package (graphite.c,
 * mqtt.c, iotcc.c: LT_INTREE_PACKAGE); named here for the unit tests.
 */
#ifndef LT_DCCS_H
#define LT_DCCS_H

#include <liota/liota.h>

extern const struct lt_dcc_driver lt_dcc_graphite;
extern const struct lt_dcc_driver lt_dcc_mqtt;
extern const struct lt_dcc_driver lt_dcc_iotcc;

#endif
