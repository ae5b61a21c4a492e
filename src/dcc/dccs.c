/* SPDX-License-Identifier: BSD-2-Clause */
/* The table of built-in DCC drivers, looked up by their "type =" name. */
#include <string.h>

#include "core/config.h"
#include "dcc/dccs.h"

const struct lt_dcc_driver *const lt_dcc_drivers[] = {
	NULL,
};

const struct lt_dcc_driver *lt_dcc_driver_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; lt_dcc_drivers[i]; i++)
		if (strcmp(lt_dcc_drivers[i]->name, name) == 0)
			return lt_dcc_drivers[i];
	return NULL;
}
