/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Built-in device drivers. The registry (lt_device_drivers[],
 * lt_device_driver_find()) is declared in src/core/config.h.
 */
#ifndef LT_DEVICES_H
#define LT_DEVICES_H

#include <liota/liota.h>
#include <stdint.h>

extern const struct lt_device_driver lt_device_sim;
extern const struct lt_device_driver lt_device_file;
extern const struct lt_device_driver lt_device_modbus;

/*
 * The sim driver's sine at CLOCK_REALTIME time @t_ns, exposed for the tests:
 * offset + amplitude * sin(2 pi (t + phase) / period). @period_ns > 0.
 */
double lt_sim_sine(uint64_t t_ns, double amplitude, double offset, uint64_t period_ns,
		   uint64_t phase_ns);

#endif
