/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The generic MQTT DCC's encoding (src/dcc/mqtt.c), apart so that the unit
 * tests reach it: topic templates and the JSON of a batch, as liota's
 * AWS IoT DCC wrote it:
 *
 *   {"edge_system_name":"gw","device_name":"boiler","metric_name":"temp",
 *    "metric_data":[{"value":21.5,"timestamp":1700000000123},...],"unit":"degC"}
 *
 * (names and unit only with enclose_metadata; timestamps in milliseconds
 * since the epoch).
 */
#ifndef LT_MQTT_FMT_H
#define LT_MQTT_FMT_H

#include <liota/liota.h>
#include <stddef.h>

/* Room for one element of metric_data, with its separating comma. */
#define MQTT_SAMPLE_ROOM 96

/*
 * mqtt_topic_check - a topic or template: not empty, no + or # (publishing
 * to a wildcard is not allowed), only %e (edge name), %i (edge id), %d
 * (device), %m (metric) and %% after a %. 0 or -EINVAL with a reason.
 */
int mqtt_topic_check(const char *tmpl, char *err, size_t errlen);
/* Whether @tmpl names the metric (%m), i.e. gives each metric its own topic. */
int mqtt_topic_per_metric(const char *tmpl);
/*
 * mqtt_topic_expand - @tmpl with its escapes replaced; in the names, the
 * characters MQTT gives a meaning (/ + #) become _. @dev and @metric may be
 * NULL (replaced by nothing). malloc'ed; NULL when out of memory.
 */
char *mqtt_topic_expand(const char *tmpl, const char *edge, const char *edge_id, const char *dev,
			const char *metric);
/*
 * mqtt_json_escape - @s as the body of a JSON string (no quotes) into @out;
 * returns the length it needs (like snprintf: output cut when it is >= @len).
 */
size_t mqtt_json_escape(char *out, size_t len, const char *s);
/* The JSON before the first sample, and after the last one; malloc'ed (NULL: no memory). */
char *mqtt_json_head(int metadata, const char *edge, const char *dev, const char *metric);
char *mqtt_json_tail(int metadata, const char *unit);
/*
 * mqtt_json_sample - {"value":V,"timestamp":MS} (V in the shortest form
 * that reads back exactly, MS the sample's time in whole milliseconds).
 * Returns the length, -EDOM for NaN or infinity (JSON has none), -ENOSPC.
 */
int mqtt_json_sample(char *out, size_t len, const struct lt_sample *s);

#endif
