/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef LT_SCHED_H
#define LT_SCHED_H
#endif
