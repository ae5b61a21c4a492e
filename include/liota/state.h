/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/state.h - files a driver keeps across restarts of the daemon.
 */
#ifndef LIOTA_STATE_H
#define LIOTA_STATE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * lt_state_path() - the path of a state file, its folder made and checked.
 * @name:   the file's name in STATE_DIR (no '/'), e.g. "iotcc-NAME.json".
 * @buf:    receives "STATE_DIR/@name".
 * @len:    size of @buf.
 * @err:    receives a one-line reason on failure (liota/error.h).
 * @errlen: size of @err.
 *
 * STATE_DIR is `[daemon] state_dir`, or by default $STATE_DIRECTORY
 * (systemd), /var/lib/liotad for root, else $XDG_STATE_HOME/liotad or
 * ~/.local/state/liotad; it is created (mode 0750) when missing. For files
 * a driver keeps across restarts (a DCC's registered ids). An existing
 * STATE_DIR must be a real folder (not a symbolic link) of the daemon's
 * user that group and others cannot write; write files there without
 * following links (O_EXCL|O_NOFOLLOW, then rename).
 *
 * Call from the configuration or start callbacks (the folder can change
 * on a reload).
 *
 * Return: 0; -ENAMETOOLONG when the path does not fit in @buf; -EPERM or
 * -ELOOP for an untrusted folder; or a negative errno of mkdir(2) or
 * open(2); with a reason in @err.
 */
int lt_state_path(const char *name, char *buf, size_t len, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_STATE_H */
