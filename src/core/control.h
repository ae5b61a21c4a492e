/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef LT_CONTROL_H
#define LT_CONTROL_H
#endif
