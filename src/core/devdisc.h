/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Device discovery by message (liota's dev_disc), the pure part: a message
 * `{"TYPE": {"KEY": "VALUE", ...}}` checked against the discovery types of
 * the configuration ([profile] discovery_type and unique_key) and turned
 * into the device it announces, or refused with a one-line reason; and the
 * limit on how many refusals are logged. No I/O here: the named pipe is
 * read by src/core/devdisc_pipe.c, the device goes into the set of
 * discovered instances (lt_discovery_message(), discover.h) and is made
 * from its profile by the loader, as udev's are. Main thread only.
 */
#ifndef LT_DEVDISC_H
#define LT_DEVDISC_H

#include <liota/entity.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Bytes of one message at most (a line of the pipe, without its newline). */
#define LT_DEVDISC_MSG_MAX (64 * 1024)
/* What a type and a key are made of; a value may also hold dots. */
#define LT_DEVDISC_KEY_CHARS   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
#define LT_DEVDISC_VALUE_CHARS LT_DEVDISC_KEY_CHARS "."
/* Refusals logged per window; the others are counted and the count logged. */
#define LT_DEVDISC_LOG_BURST     10
#define LT_DEVDISC_LOG_WINDOW_NS (10 * 1000000000ull)

/* A discovery type of the configuration: liota's DEVICE_TYPE_TO_UNIQUEKEY_MAPPING. */
struct lt_devdisc_type {
	const char *type;       /* "LM35" */
	const char *unique_key; /* "SN" */
};

/* The device a valid message announces. */
struct lt_devdisc_msg {
	unsigned type;                  /* index in the type table */
	char name[LT_NAME_LEN_MAX + 1]; /* TYPE_UNIQUEVALUE: "LM35_12345" */
	unsigned nprops;                /* the other keys, sorted by key */
	char keys[LT_DEVICE_PROPERTIES_MAX][LT_PROPERTY_KEY_MAX + 1];
	char values[LT_DEVICE_PROPERTIES_MAX][LT_PROPERTY_VALUE_MAX + 1];
};

/*
 * Parse the message of @len bytes at @buf (not NUL-terminated; one line,
 * surrounding white space allowed) against the @ntypes types of @types.
 * Returns 0 with @out filled, or -EINVAL with a one-line reason in @why
 * (a message longer than LT_DEVDISC_MSG_MAX, malformed JSON, not one
 * object holding one type, a type, key or value of other characters or
 * too long, a value that is no string, an unknown type, no unique key, a
 * device name too long, more properties than a device holds).
 */
int lt_devdisc_parse(const char *buf, size_t len, const struct lt_devdisc_type *types,
		     unsigned ntypes, struct lt_devdisc_msg *out, char *why, size_t whylen);

/* Bytes of an MQTT topic filter at most (the protocol's UTF-8 string). */
#define LT_DEVDISC_TOPIC_MAX 65535

/*
 * Is @t a valid MQTT topic filter for [discovery] mqtt.topic: 1 to
 * LT_DEVDISC_TOPIC_MAX bytes of UTF-8 without NUL or control characters,
 * '+' and '#' each a whole level, '#' only the last. 0, or -EINVAL with the
 * reason in @why.
 */
int lt_devdisc_topic_check(const char *t, char *why, size_t whylen);

/* @s is 1 to @max of @chars (the state file checks what it reads back with it). */
bool lt_devdisc_word(const char *s, const char *chars, size_t max);

/*
 * The limit on logged refusals: the first LT_DEVDISC_LOG_BURST of each
 * window of LT_DEVDISC_LOG_WINDOW_NS are logged, the rest counted.
 */
struct lt_devdisc_limit {
	uint64_t window_ns; /* start of the current window; 0: none yet */
	unsigned logged, suppressed;
};

/*
 * A refusal at @now_ns: true when it is to be logged. *@ended gets the
 * count suppressed in a window that ended (0: nothing to say), which the
 * caller logs first.
 */
bool lt_devdisc_limit_take(struct lt_devdisc_limit *l, uint64_t now_ns, unsigned *ended);
/* When the current window's count is due (UINT64_MAX: nothing suppressed). */
uint64_t lt_devdisc_limit_due(const struct lt_devdisc_limit *l);
/* The count of a window that ended by @now_ns, to log (0: none); the window is closed. */
unsigned lt_devdisc_limit_flush(struct lt_devdisc_limit *l, uint64_t now_ns);

#endif
