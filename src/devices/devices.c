/* SPDX-License-Identifier: BSD-2-Clause */
/* The table of built-in device drivers, looked up by their "type =" name. */
#include <string.h>

#include "core/config.h"
#include "devices/devices.h"

const struct lt_device_driver *const lt_device_drivers[] = {
	&lt_device_file, &lt_device_can, &lt_device_gpio, &lt_device_modbus, &lt_device_iio, NULL,
};

const struct lt_device_driver *lt_device_driver_find(const char *name)
{
	if (!name)
		return NULL;
	for (const struct lt_device_driver *const *d = lt_device_drivers; *d; d++)
		if (strcmp((*d)->name, name) == 0)
			return *d;
	return NULL;
}
