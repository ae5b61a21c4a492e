/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Device discovery by message, the state file: the devices messages
 * announced (the message instances of struct lt_discovery, discover.h),
 * saved after each change and read back at start, so that they survive a
 * restart as liota's discovered devices did not. JSON:
 * {"version": 1, "devices": [{"name": "LM35_1", "type": "LM35",
 * "profile": "lm35", "properties": {"KEY": "VALUE", ...}}, ...]}.
 * Main thread only.
 */
#ifndef LT_DEVDISC_STATE_H
#define LT_DEVDISC_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "discover.h"

/* Its name in the state folder (lt_state_path()). */
#define LT_DEVDISC_STATE_FILE "discovered.json"
/* Bytes read back at most: LT_DISCOVER_MAX devices with every property at its largest fit. */
#define LT_DEVDISC_STATE_MAX (4 * 1024 * 1024)

/*
 * Replace @path with the message instances of @d, atomically
 * (lt_file_replace(): after a crash, the old file or the new). Returns 0,
 * or a negative errno with the reason in @err.
 */
int lt_devdisc_state_save(const char *path, const struct lt_discovery *d, char *err, size_t errlen);

/*
 * Read @path back into @d (lt_discovery_message() at @now_ns). A missing
 * file is no error (0 devices). Returns how many devices were added, or
 * -EBADMSG when the file is not one liotad wrote (malformed, a name, type,
 * key or value it could not have saved, too large) or a negative errno of
 * reading it, with the reason in @err; then nothing is added.
 */
int lt_devdisc_state_load(const char *path, struct lt_discovery *d, uint64_t now_ns, char *err,
			  size_t errlen);

#endif
