/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef LT_PUBLISHER_H
#define LT_PUBLISHER_H
#endif
