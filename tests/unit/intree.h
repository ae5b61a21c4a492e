/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The in-tree packages (src/core/intree.h), linked into a unit test from
 * libintree.a and added as static packages, as liotad loads their .so:
 * for the tests whose configurations name their types. Dependencies
 * first. unit_intree() in main() (LT_UNIT_MAIN_INTREE), before Check
 * forks the tests.
 */
#ifndef LT_UNIT_INTREE_H
#define LT_UNIT_INTREE_H

#include <stdio.h>
#include <stdlib.h>

#include "core/pkg.h"

extern const struct lt_package lt_package_sim;
extern const struct lt_package lt_package_file, lt_package_can, lt_package_gpio, lt_package_iio,
	lt_package_modbus;
extern const struct lt_package lt_package_transport_tls, lt_package_transport_stream,
	lt_package_graphite;
extern const struct lt_package lt_package_transport_mqtt, lt_package_transport_ws, lt_package_mqtt,
	lt_package_iotcc;

static inline void unit_intree(void)
{
	static const struct lt_package *const all[] = {
		&lt_package_sim,
		&lt_package_file,
		&lt_package_can,
		&lt_package_gpio,
		&lt_package_iio,
		&lt_package_modbus,
		/* Transports before the DCCs that use them. */
		&lt_package_transport_tls,
		&lt_package_transport_stream,
		&lt_package_graphite,
		&lt_package_transport_mqtt,
		&lt_package_transport_ws,
		&lt_package_mqtt,
		&lt_package_iotcc,
	};
	char err[256];

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (pkg_add_static(all[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "unit_intree: %s\n", err);
			exit(1);
		}
}

#endif
