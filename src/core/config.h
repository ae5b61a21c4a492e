/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Configuration: INI files read with libinih into a struct lt_model.
 *
 * Files: liotad.conf and then conf.d/NAME.conf beside it, in strcmp order
 * of NAME. Without an explicit path the first liotad.conf found is used,
 * searched in: ~/.config/liotad/liotad.conf, $LIOTAD_CONF (a file, or a
 * folder holding liotad.conf), /etc/liotad/liotad.conf; never the current
 * folder (liota's first place): a daemon's configuration must not depend on
 * where it was started. A file or conf.d folder owned by another user than
 * root or ours, or writable by group or others, is refused ("FILE: refused:
 * reason"); a password in a file others can read is logged as a warning.
 *
 * Sections: [daemon], [edge], [dcc "NAME"], [device "NAME"],
 * [metric "DEVICE.METRIC"], [profile "NAME"] (a device that is not there
 * yet: its metrics are [metric "PROFILE.METRIC"]; udev discovery makes
 * devices of it, config_build()). A section may appear once per file; a
 * drop-in may name a section again to add or override keys. Every error is
 * reported as "FILE:LINE: reason" and loading fails as a whole.
 */
#ifndef LT_CONFIG_H
#define LT_CONFIG_H

#include "model.h"

/*
 * Find the main configuration file when none was given: returns a malloc'd
 * path, or NULL when none of the search places has one (the places tried
 * are then written into err as one line).
 */
char *config_find(char *err, size_t errlen);

/*
 * Load @path and its drop-ins into a new model. On failure returns a
 * negative errno and writes every problem into *errors (malloc'd, one
 * "FILE:LINE: reason" per line, at most 100 lines); *out is untouched.
 * The edge name defaults to the host name; @machine_id_path
 * is where the edge id comes from (NULL: /etc/machine-id).
 * Any problem, an unreadable main file included, gives -EINVAL; on success
 * *errors is set to NULL. @errors may be NULL when the text is not wanted.
 * Lines are in file order (main file, then drop-ins) and line order.
 */
int config_load(const char *path, const char *machine_id_path, struct lt_model **out,
		char **errors);

/*
 * The same in two steps, for building again from the same files: a udev
 * event applies the configuration read at start or at the last SIGHUP,
 * not what a file being edited holds now.
 * config_read() reads @path and its drop-ins; what is wrong in them is
 * kept and reported by every config_build(). Returns 0 (free with
 * config_free(), which accepts NULL).
 * config_build() builds a model as config_load() does, plus a device for
 * each of the @ninst discovered devices of @inst (discover.h) made from
 * its [profile "NAME"] section, after every configured device. One that
 * cannot be made (no such profile, a wrong subsystem, a name taken by a
 * section) is logged as a warning and left out; a profile's own mistakes
 * are errors, as for any section. The model does not refer to @c.
 */
struct lt_conf;
struct lt_instance;
int config_read(const char *path, struct lt_conf **out);
int config_build(const struct lt_conf *c, const char *machine_id_path,
		 const struct lt_instance *inst, unsigned ninst, struct lt_model **out,
		 char **errors);
void config_free(struct lt_conf *c);

/*
 * Would config_read(@path) read what @c holds: the same files (the main one
 * and the same drop-ins), each the same file with the same owner, mode,
 * times, size and bytes (filesig.h)? Then a SIGHUP builds from @c instead
 * of parsing every file again (most of a reload of 10,000 metrics), and
 * this logs again the warnings reading them gives (a password others can
 * read). false when any file or conf.d could not be read in full.
 */
bool config_reuse(const struct lt_conf *c, const char *path);

#endif
