/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * link_opts: the keys every DCC transport takes (stream, MQTT, WebSocket):
 * queue_size, reconnect_min, reconnect_max and connect_timeout. One
 * fragment, one minimum per key, for the three configuration structs, which
 * name these fields alike (queue_bytes, backoff_min_ns, backoff_max_ns,
 * connect_timeout_ns). Each transport keeps its own defaults (init).
 */
#ifndef LT_TRANSPORT_LINK_OPTS_H
#define LT_TRANSPORT_LINK_OPTS_H

#include <liota/options.h>

/* The memory queue: at least a few lines, at most what a gateway can hold. */
#define LT_LINK_QUEUE_MIN 4096ull
#define LT_LINK_QUEUE_MAX (1ull << 30)
/* A shorter delay or timeout would make a refusing peer spin the publisher. */
#define LT_LINK_DELAY_MIN (10 * 1000000ull)

/* The entries of struct lt_opt for a configuration struct @T with those fields. */
#define LT_LINK_OPTS(T)                                                                            \
	LT_OPT_UINT("queue_size", T, queue_bytes, 0, LT_LINK_QUEUE_MIN, LT_LINK_QUEUE_MAX,         \
		    "bytes held in memory while the peer is away"),                                \
		LT_OPT_DURATION("reconnect_min", T, backoff_min_ns, 0, LT_LINK_DELAY_MIN,          \
				UINT64_MAX, "first reconnect delay"),                              \
		LT_OPT_DURATION("reconnect_max", T, backoff_max_ns, 0, LT_LINK_DELAY_MIN,          \
				UINT64_MAX, "longest reconnect delay"),                            \
		LT_OPT_DURATION("connect_timeout", T, connect_timeout_ns, 0, LT_LINK_DELAY_MIN,    \
				UINT64_MAX, "connection (and TLS handshake) timeout")

#endif
