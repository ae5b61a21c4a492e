/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef LT_DAEMON_H
#define LT_DAEMON_H
#endif
