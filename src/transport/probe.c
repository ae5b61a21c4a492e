/* SPDX-License-Identifier: BSD-2-Clause */
/* The probe of a preferred endpoint (probe.h): one for the stream and MQTT. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/endpoint.h"
#include "transport/probe.h"

void lt_probe_init(struct lt_probe *p, int (*open)(void *ctx, const struct addrinfo *ai), void *ctx)
{
	*p = (struct lt_probe){ .fd = -1, .open = open, .ctx = ctx };
}

void lt_probe_cancel(struct lt_probe *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	if (p->ai)
		freeaddrinfo(p->ai);
	p->ai = p->cur = NULL;
	p->ok = 0;
}

void lt_probe_schedule(struct lt_probe *p, const struct lt_backoff *b, int64_t now, int reset)
{
	if (reset)
		p->level = 0;
	p->at = now + (int64_t)lt_backoff_delay(b, p->level);
}

/* The probe failed: wait one delay more than the last time. */
static void failed(struct lt_probe *p, const struct lt_backoff *b, int64_t now)
{
	lt_probe_cancel(p);
	if (p->level < 64)
		p->level++;
	p->at = now + (int64_t)lt_backoff_delay(b, p->level);
}

/* Connect to p->cur (the next one when @from_next) and on until one is in progress. */
static void next_address(struct lt_probe *p, const struct lt_backoff *b, uint64_t timeout_ns,
			 int64_t now, int from_next)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	if (from_next)
		p->cur = p->cur->ai_next;
	for (; p->cur; p->cur = p->cur->ai_next) {
		const struct addrinfo *a = p->cur;
		int fd = p->open ? p->open(p->ctx, a)
				 : socket(a->ai_family,
					  a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
					  a->ai_protocol);

		if (fd < 0)
			continue;
		p->fd = fd;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			p->ok = 1;
			return;
		}
		if (errno == EINPROGRESS) {
			p->deadline = now + (int64_t)timeout_ns;
			p->at = now + LT_PROBE_TICK_NS;
			return;
		}
		close(fd);
		p->fd = -1;
	}
	failed(p, b, now);
}

int lt_probe_step(struct lt_probe *p, const char *host, const char *port,
		  const struct lt_backoff *b, uint64_t timeout_ns, int64_t now)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG,
	};
	struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };

	if (p->ok || now < p->at)
		return p->ok;
	if (p->fd < 0) {
		/* A name is resolved here, synchronously, as at each connection attempt. */
		if (getaddrinfo(host, port, &hints, &p->ai)) {
			p->ai = NULL;
			failed(p, b, now);
			return 0;
		}
		p->cur = p->ai;
		next_address(p, b, timeout_ns, now, 0);
		return p->ok;
	}
	if (poll(&pfd, 1, 0) > 0) {
		if (lt_so_error(p->fd) || (pfd.revents & (POLLERR | POLLHUP)))
			next_address(p, b, timeout_ns, now, 1);
		else
			p->ok = 1;
	} else if (now >= p->deadline) {
		next_address(p, b, timeout_ns, now, 1);
	} else {
		p->at = now + LT_PROBE_TICK_NS;
	}
	return p->ok;
}

int lt_probe_take(struct lt_probe *p)
{
	int fd = p->fd;

	p->fd = -1;
	lt_probe_cancel(p);
	return fd;
}
