/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What liotad trusts on the local file system: its own user (the effective
 * uid) and root. Folders it keeps files in (the runtime folder of the
 * control socket, the state folder) must be real folders of its own user
 * that nobody else can write; files it writes there are replaced
 * atomically without following links; configuration files must be owned
 * by root or its own user and writable by nobody else. One place for these
 * rules, so the daemon's folders and files all obey the same ones.
 */
#ifndef LT_TRUST_H
#define LT_TRUST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Flags of lt_dir_open_trusted(). */
enum {
	LT_DIR_PARENTS = 1, /* make missing parent folders too (mode @mode) */
	LT_DIR_PRIVATE = 2, /* an existing folder readable by others is narrowed to @mode */
	LT_DIR_LINK_OK = 4, /* @path may be a symbolic link that only root or we could make */
};

/*
 * lt_dir_open_trusted - open the folder @path, making it (mode @mode) when
 * it is missing. An existing one is taken only when it is a real folder
 * (not a symbolic link), owned by the effective uid, and not writable by
 * group or others: otherwise somebody else could have put files in it or
 * could replace them. Checked on the opened fd (O_NOFOLLOW), so the folder
 * checked is the folder used. With LT_DIR_LINK_OK, @path may also be a
 * link owned by root or us in a folder nobody else can change (or a sticky
 * one), such as systemd's StateDirectory= with DynamicUser=; the folder it
 * leads to must pass the same checks. Returns an O_DIRECTORY|O_CLOEXEC fd, or a
 * negative errno with "PATH: reason" in @err (-EPERM for a folder of the
 * wrong owner or mode, -ELOOP for a link, -ENOTDIR).
 */
int lt_dir_open_trusted(const char *path, mode_t mode, unsigned flags, char *err, size_t errlen);

/*
 * lt_file_replace - replace the file @path (in a folder lt_dir_open_trusted()
 * accepts, LT_DIR_LINK_OK) with @len bytes of @data, mode @mode: written to PATH.tmp opened
 * O_EXCL|O_NOFOLLOW in the opened folder (a stale PATH.tmp is removed
 * first, never followed), fsync'd, renamed over @path, and the folder
 * fsync'd, so that after a crash or power loss @path holds the old or the
 * new contents. Returns 0 or a negative errno with "PATH: reason" in @err.
 */
int lt_file_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
		    size_t errlen);

/*
 * lt_config_trusted - may liotad read configuration from the file or folder
 * described by @st? Only if it belongs to root or the effective uid and
 * group and others cannot write it. false with the reason in @why
 * ("writable by group or others (mode 0666)").
 */
bool lt_config_trusted(const struct stat *st, char *why, size_t whylen);

/*
 * lt_secret_exposed - true when @st (a file holding a password or a private
 * key) is readable by others, as ssh warns; the caller warns.
 */
bool lt_secret_exposed(const struct stat *st);

#endif
