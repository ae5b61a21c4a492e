/* SPDX-License-Identifier: BSD-2-Clause */
#include "unit.h"
static Suite *modbus_suite(void)
{
	return suite_create("modbus");
}
LT_UNIT_MAIN(modbus_suite)
