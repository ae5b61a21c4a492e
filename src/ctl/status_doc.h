/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liotad's status reply as `liotactl status` prints it, read in one walk of
 * the text (jtok.h): of each metric only the fields of its table row and
 * filter row, every other part (edge, totals, devices without their
 * metrics, ring, DCCs: small) parsed by jansson. Parsing the whole reply of
 * 10,000 metrics (2.5 MB, ~300,000 values) with jansson cost 60-80 ms. What
 * is read is what json_object_get() on the whole parsed document would
 * give, and the reply is refused where jansson would refuse it.
 */
#ifndef LT_CTL_STATUS_DOC_H
#define LT_CTL_STATUS_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The filter counters of a metric, in the order the filter table prints them. */
enum {
	SD_PASSED,
	SD_DROPPED,
	SD_WINDOW_SENT,
	SD_DROPPED_RANGE,
	SD_DROPPED_DEADBAND,
	SD_DROPPED_MIN_GAP,
	SD_FILTER_COUNTERS
};

struct status_metric {
	const char *name, *unit;         /* "" when not strings */
	double interval_s;               /* 0 when not a real */
	long long samples, errors, late; /* 0 when not integers */
	bool has_last;                   /* last_value is a number */
	double last;
	bool has_filter;         /* a "filter" member, whatever its value */
	const char *filter_kind; /* NULL when not a string */
	long long filter[SD_FILTER_COUNTERS];
};

struct status_device {
	json_t *obj;     /* the device without "metrics" (any JSON value) */
	size_t first, n; /* its metrics in status_doc.metrics */
};

struct status_doc {
	char *text;  /* the reply */
	json_t *top; /* the reply without "devices" */
	struct status_device *devs;
	size_t ndevs, devs_cap;
	struct status_metric *metrics;
	size_t nmetrics, metrics_cap;
};

/*
 * status_doc_read - read the reply @text (@len bytes, malloc'd) into *@d,
 * which takes it: its strings are decoded in place and the metrics' names
 * point into it; status_doc_free() frees it (on failure, it is freed at
 * once). 0; -1 when it is not one whole JSON document, or on a lack of
 * memory (*@d is then empty).
 */
int status_doc_read(struct status_doc *d, char *text, size_t len);

void status_doc_free(struct status_doc *d);

#endif
