/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liotactl load, unload and reload, done in the daemon's main thread (the
 * control socket's handler, control.h). Unload holds the package and what
 * depends on it unloaded (pkg_hold.h), has the running configuration
 * rebuilt without the sections of their drivers and applied as a live
 * change (only those devices and DCCs stop: the rest runs on), then
 * unloads them, dependents first. Load loads the package (dependencies
 * first), ends its hold and applies the configuration again, so that its
 * devices and DCCs come back; when that configuration cannot be applied
 * (a pin of [daemon] packages, an option the new version refuses), the
 * package is unloaded again. Reload is unload, then load of the files as
 * they are now.
 */
#ifndef LT_PKGCTL_H
#define LT_PKGCTL_H

#include "control.h"

#include <stddef.h>

struct pkgctl {
	/*
	 * Build a model from the configuration as last read (held packages'
	 * sections left out) and apply it to the running daemon; @why names
	 * the change in the log. Returns 0, or a negative errno with the
	 * reason in @err when the running configuration was kept.
	 */
	int (*apply)(void *arg, const char *why, char *err, size_t errlen);
	void *arg;
};

/*
 * pkgctl_run - do @req (CONTROL_LOAD, CONTROL_UNLOAD or CONTROL_RELOAD).
 * Returns 0 with what was done in @msg, or a negative errno with why not.
 */
int pkgctl_run(const struct pkgctl *p, const struct control_req *req, char *msg, size_t msglen);

#endif
