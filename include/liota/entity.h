/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/entity.h - what a DCC registers: the edge system, its devices and
 * their metrics, and the devices' properties.
 */
#ifndef LIOTA_ENTITY_H
#define LIOTA_ENTITY_H

#ifdef __cplusplus
extern "C" {
#endif

/** Bounds of a device's properties (lt_device_add_property()). */
#define LT_PROPERTY_KEY_MAX      64  /* characters of a key: A-Z a-z 0-9 _ . - */
#define LT_PROPERTY_VALUE_MAX    256 /* bytes of a value, no control characters */
#define LT_DEVICE_PROPERTIES_MAX 32

/**
 * struct lt_property - a property of a device, registered with the DCCs
 * that take properties (IoTCC: add_properties); "serial" = "A1B2".
 */
struct lt_property {
	const char *key;
	const char *value;
};

/** Kinds of entity registered with a DCC, in the order they are registered. */
enum lt_entity_kind { LT_ENTITY_EDGE, LT_ENTITY_DEVICE, LT_ENTITY_METRIC };

/**
 * struct lt_entity - what is being registered.
 * @kind: edge system, device or metric.
 * @name: the entity's name (edge system name, device name, metric name).
 * @type: the device's driver name, "edge" or "metric".
 * @id:   the edge system's stable id (a UUID string) for the edge; NULL otherwise.
 * @unit: the unit a metric is published in ("" when none): its
 *        publish_unit, else its unit, both checked by udunits2; the daemon
 *        converts the samples before publish() when they differ. NULL for
 *        other kinds.
 * @props, @nprops: a device's properties, in the order they were added
 *        (configuration, then driver); NULL and 0 for other kinds. Valid
 *        during register_entity only: a DCC that needs them later copies them.
 * @unit_prefix: the SI prefix of @unit as a name ("kilo" for "kPa", "milli"
 *        for "mV"), "" when it has none. NULL for other kinds.
 * @unit_name: @unit's name as udunits2 gives it ("pascal", "degree Celsius",
 *        "meter per hour" for "km/h"); @unit as written when udunits2 has no
 *        single name for it ("m/s^2", "%"); "" when there is no unit. NULL
 *        for other kinds. IoTCC sends these two as METRIC_prefix and
 *        METRIC_unit, as liota did with Pint's names.
 */
struct lt_entity {
	enum lt_entity_kind kind;
	const char *name;
	const char *type;
	const char *id;
	const char *unit;
	const struct lt_property *props;
	unsigned nprops;
	const char *unit_prefix;
	const char *unit_name;
};

/**
 * struct lt_reg - a registered entity: what a DCC answered to a registration.
 * @id:   the DCC-side id, allocated with malloc by the DCC's register
 *        callback and freed by the daemon (for Graphite: the metric path).
 * @priv: anything else the DCC wants to keep per entity; the DCC frees it
 *        in unregister.
 */
struct lt_reg {
	char *id;
	void *priv;
};

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_ENTITY_H */
