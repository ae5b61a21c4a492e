/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota/dcc.h - data-center components (liota's DCC) and their drivers.
 *
 * Thread and callback context: a DCC's init, option and check run in the
 * thread that loads the configuration; start and register_entity run in
 * the thread that starts the daemon, before the publisher thread exists;
 * every later DCC callback runs in the publisher thread, one at a time, so
 * a driver needs no lock of its own for what only its callbacks touch.
 * Errors follow liota/error.h.
 */
#ifndef LIOTA_DCC_H
#define LIOTA_DCC_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <liota/counter.h>
#include <liota/entity.h>
#include <liota/sample.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lt_dcc;

/** Connection state a DCC reports in `liotactl status` (stats.state). */
enum lt_dcc_state {
	LT_DCC_IDLE = 0,   /* not started */
	LT_DCC_CONNECTING, /* connection in progress */
	LT_DCC_UP,         /* connected / writable */
	LT_DCC_BACKOFF,    /* waiting before the next connection attempt */
};

/**
 * struct lt_dcc_stats - counters every DCC keeps: written by the publisher
 * thread, read by the control thread at any time. Plain uint64_t, 8-byte
 * aligned: read and write each field only with the functions of
 * liota/counter.h (lt_count(), lt_count_set(), lt_count_get(), ...),
 * which are relaxed atomic operations inlined into the caller.
 *
 * Every sample handed to a DCC is counted once in samples_in and then, at
 * any time, in exactly one of sent, dropped, pending or spooled; a DCC
 * with a durable spool also counts what it found there at start in
 * recovered: samples_in + recovered = sent + dropped + pending + spooled.
 * At stop the DCC counts what it still holds in memory as dropped (or moves
 * it to its spool), so pending is 0 once it is stopped; spooled is then
 * what the spool keeps for the next start.
 */
struct lt_dcc_stats {
	uint64_t samples_in; /* samples handed to the DCC */
	uint64_t sent;       /* samples (lines/messages) written to the transport */
	uint64_t dropped;    /* samples lost: queue full, encoding failure */
	uint64_t bytes;      /* bytes written to the transport */
	uint64_t reconnects; /* connections established after the first */
	uint64_t errors;     /* transport errors */
	uint64_t queued;     /* bytes waiting in the memory queue now */
	uint64_t state;      /* enum lt_dcc_state */
	uint64_t pending;    /* samples queued or held: neither sent nor dropped yet */
	/* The durable spool (DCCs that have one; 0 otherwise). */
	uint64_t recovered;          /* samples found in the spool at start */
	uint64_t spooled;            /* samples in the spool now */
	uint64_t spool_batches;      /* batches in the spool now */
	uint64_t spool_bytes;        /* its size on disk now */
	uint64_t spool_oldest_ns;    /* CLOCK_REALTIME of its oldest batch, 0: empty */
	uint64_t spool_evicted;      /* samples evicted (size cap, age): also in dropped */
	uint64_t spool_write_errors; /* appends the spool refused (disk full, I/O error) */
	/* Lines sent before a connection ended and queued again (no longer in sent). */
	uint64_t resent;
	/* Index of the endpoint in use among those named with lt_dcc_set_endpoints(). */
	uint64_t endpoint;
	/* Times the DCC moved to another endpoint (failover, and back). */
	uint64_t failovers;
} __attribute__((aligned(8)));

/** lt_dcc_name() - name of the DCC as written in [dcc "NAME"]. */
const char *lt_dcc_name(const struct lt_dcc *dcc);

/** lt_dcc_priv() - driver-private data of the DCC (NULL until set). */
void *lt_dcc_priv(const struct lt_dcc *dcc);

/**
 * lt_dcc_set_priv() - set the driver-private data of the DCC, which the
 * driver frees in its free callback; usually from init.
 */
void lt_dcc_set_priv(struct lt_dcc *dcc, void *priv);

/**
 * lt_dcc_stats() - the DCC's counters, to be updated by its driver (and
 * handed to the transport it sends through).
 *
 * Return: the counters, never NULL; they live as long as the DCC.
 */
struct lt_dcc_stats *lt_dcc_stats(struct lt_dcc *dcc);

/**
 * lt_dcc_set_endpoints() - name the peers a DCC delivers to, in its order
 * of preference ("host:port", a broker URL...), for `liotactl status`,
 * which shows the one stats.endpoint indexes.
 * @dcc:   the DCC.
 * @names: @n NUL-terminated names (copied).
 * @n:     how many; 0 forgets them.
 *
 * Call from @check (the configuration is read on the main thread; the
 * names are fixed from then on). The core keeps copies; a second call
 * replaces them.
 *
 * Return: 0, or -ENOMEM (the previous names are kept).
 */
int lt_dcc_set_endpoints(struct lt_dcc *dcc, const char *const *names, unsigned n);

/**
 * struct lt_dcc_driver - a kind of data-center component (liota's DCC).
 *
 * @name:        the value of "type =" that selects this driver.
 * @init, @option, @check: as for devices (see struct lt_device_driver in
 *               liota/device.h).
 * @start:       open the transport without blocking (a connection may still
 *               be in progress when it returns).
 * @register_entity: register @ent, whose parent registration is @parent
 *               (NULL for the edge system); fill @reg->id. Called before
 *               the first publish.
 * @unregister:  forget an entity; free @reg->priv.
 * @publish:     take @n samples of the metric registered as @reg (already
 *               aggregated, oldest first) and queue them; never blocks.
 *               Returns the number of samples queued; the DCC counts
 *               samples_in, the queued ones in pending (until they are
 *               sent or dropped) and the rest in dropped.
 * @poll:        describe what the DCC waits for: fill @pfd (fd -1 for none)
 *               and lower *@deadline_ns (CLOCK_MONOTONIC) when a timer is due.
 * @dispatch:    handle @revents on the polled fd, or the timer when
 *               @revents is 0 and the deadline has passed.
 * @flush:       try to deliver everything queued until @deadline_ns;
 *               returns 0 when the queue is empty, -ETIMEDOUT otherwise.
 * @stop:        close the transport; what is still queued or held is counted
 *               as dropped (pending becomes 0).
 * @free:        release what init/option allocated.
 * @remove:      optional: the entity registered as @reg left the
 *               configuration while the DCC runs on (a reload, a device
 *               unplugged): tell the data center (IoTCC sends a
 *               remove_resource_request). @unregister follows. Not called
 *               when the DCC itself stops or restarts, nor for an entity
 *               that registers again at once (its device restarts).
 */
struct lt_dcc_driver {
	const char *name;
	int (*init)(struct lt_dcc *dcc);
	int (*option)(struct lt_dcc *dcc, const char *key, const char *value, char *err,
		      size_t errlen);
	int (*check)(struct lt_dcc *dcc, char *err, size_t errlen);
	int (*start)(struct lt_dcc *dcc, char *err, size_t errlen);
	int (*register_entity)(struct lt_dcc *dcc, const struct lt_entity *ent,
			       const struct lt_reg *parent, struct lt_reg *reg);
	void (*unregister)(struct lt_dcc *dcc, struct lt_reg *reg);
	int (*publish)(struct lt_dcc *dcc, const struct lt_reg *reg, const struct lt_sample *s,
		       size_t n);
	void (*poll)(struct lt_dcc *dcc, struct pollfd *pfd, int64_t *deadline_ns);
	void (*dispatch)(struct lt_dcc *dcc, short revents, int64_t now_ns);
	int (*flush)(struct lt_dcc *dcc, int64_t deadline_ns);
	void (*stop)(struct lt_dcc *dcc);
	void (*free)(struct lt_dcc *dcc);
	void (*remove)(struct lt_dcc *dcc, struct lt_reg *reg);
};

#ifdef __cplusplus
}
#endif
#endif /* LIOTA_DCC_H */
