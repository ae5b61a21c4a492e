/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Device discovery by message, the named pipe (liota's disc_msg_pipe):
 * made mode 0600 by liotad in a folder of its own, read line by line in the
 * main thread's poll loop. Each line is one message (devdisc.h); a line
 * longer than LT_DEVDISC_MSG_MAX is dropped up to its newline and reported
 * once. Main thread only.
 */
#ifndef LT_DEVDISC_PIPE_H
#define LT_DEVDISC_PIPE_H

#include <stdbool.h>
#include <stddef.h>

struct lt_devdisc_pipe;

/*
 * One line: @len bytes at @line, without the newline (not NUL-terminated).
 * @too_long: the line went past LT_DEVDISC_MSG_MAX; @line holds its start
 * and the rest up to the newline is dropped unseen.
 */
typedef void (*lt_devdisc_line_fn)(void *ctx, const char *line, size_t len, bool too_long);

/*
 * Make the named pipe @path (mode 0600) and open it for reading, without
 * blocking and read-write, so that no writer's close is an end of file.
 * Its folder is made (0700) when missing and must be a real folder of
 * liotad's user that nobody else can write (trust.h); an existing @path
 * must be a pipe of liotad's user, narrowed to 0600. Returns 0, or a
 * negative errno with "PATH: reason" in @err.
 */
int lt_devdisc_pipe_open(const char *path, struct lt_devdisc_pipe **out, char *err, size_t errlen);
/* NULL is fine. The pipe stays, for writers to find the next time. */
void lt_devdisc_pipe_close(struct lt_devdisc_pipe *p);
int lt_devdisc_pipe_fd(const struct lt_devdisc_pipe *p);
const char *lt_devdisc_pipe_path(const struct lt_devdisc_pipe *p);

/*
 * Read what is there, at most @max bytes (so that a flood cannot starve
 * the rest of the loop), handing each complete line to @fn. A line not
 * complete yet waits for its end. Returns the bytes read, or a negative
 * errno when reading failed.
 */
long lt_devdisc_pipe_read(struct lt_devdisc_pipe *p, size_t max, lt_devdisc_line_fn fn, void *ctx);

#endif
