/* SPDX-License-Identifier: BSD-2-Clause */
/* Where the control socket lives; shared by liotad and liotactl. */
#ifndef LT_RUNDIR_H
#define LT_RUNDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LT_SOCKET_NAME "liotad.sock"

/*
 * The default runtime folder, first match of: $LIOTAD_RUNTIME_DIR,
 * $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=), /run/liotad for
 * root, $XDG_RUNTIME_DIR/liotad, /tmp/liotad-UID.
 */
static inline void lt_default_rundir(char *buf, size_t len)
{
	const char *e;

	if ((e = getenv("LIOTAD_RUNTIME_DIR")) && *e)
		snprintf(buf, len, "%s", e);
	else if ((e = getenv("RUNTIME_DIRECTORY")) && *e)
		snprintf(buf, len, "%s", e);
	else if (geteuid() == 0)
		snprintf(buf, len, "/run/liotad");
	else if ((e = getenv("XDG_RUNTIME_DIR")) && *e)
		snprintf(buf, len, "%s/liotad", e);
	else
		snprintf(buf, len, "/tmp/liotad-%u", (unsigned)geteuid());
}

/*
 * The default state folder (what must survive a restart, such as the ids a
 * DCC assigned), first match of: $LIOTAD_STATE_DIR, $STATE_DIRECTORY
 * (systemd's StateDirectory=), /var/lib/liotad for root,
 * $XDG_STATE_HOME/liotad, $HOME/.local/state/liotad, /tmp/liotad-state-UID.
 */
static inline void lt_default_statedir(char *buf, size_t len)
{
	const char *e;

	if ((e = getenv("LIOTAD_STATE_DIR")) && *e)
		snprintf(buf, len, "%s", e);
	else if ((e = getenv("STATE_DIRECTORY")) && *e)
		snprintf(buf, len, "%s", e);
	else if (geteuid() == 0)
		snprintf(buf, len, "/var/lib/liotad");
	else if ((e = getenv("XDG_STATE_HOME")) && *e)
		snprintf(buf, len, "%s/liotad", e);
	else if ((e = getenv("HOME")) && *e)
		snprintf(buf, len, "%s/.local/state/liotad", e);
	else
		snprintf(buf, len, "/tmp/liotad-state-%u", (unsigned)geteuid());
}

#endif
