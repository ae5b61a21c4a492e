/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef LT_SAMPLER_H
#define LT_SAMPLER_H
#endif
