/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The in-tree device drivers, each the one driver of its package
 * (src/core/intree.h): pkg/NAME.so for liotad, libintree.a for the unit
 * tests, which also call them directly through these structs and the
 * hooks below.
 */
#ifndef LT_DEVICES_H
#define LT_DEVICES_H

#include <liota/liota.h>
#include <stdbool.h>
#include <stdint.h>

extern const struct lt_device_driver lt_device_sim;
extern const struct lt_device_driver lt_device_file;
extern const struct lt_device_driver lt_device_can;
extern const struct lt_device_driver lt_device_gpio;
extern const struct lt_device_driver lt_device_modbus;
extern const struct lt_device_driver lt_device_iio;

/*
 * The sim driver's sine at CLOCK_REALTIME time @t_ns, exposed for the tests:
 * offset + amplitude * sin(2 pi (t + phase) / period). @period_ns > 0.
 */
double lt_sim_sine(uint64_t t_ns, double amplitude, double offset, uint64_t period_ns,
		   uint64_t phase_ns);

/*
 * For the tests, which have no CAN in their kernel: run an opened-to-be can
 * device on @sock, any datagram socket whose messages are struct can_frame
 * (16 bytes) or, with @fd_frames, struct canfd_frame (72 bytes), instead of
 * a raw socket on its interface. The device's close callback closes @sock.
 */
int lt_can_test_attach(struct lt_device *dev, int sock, bool fd_frames);

/*
 * The gpio driver's event bookkeeping, exposed for the tests.
 *
 * struct lt_gpio_edges - the events of one line, in the order they are read.
 * @debounce_ns: an edge sooner than this after the last accepted one is dropped.
 * @both:        both edges are requested, so two events of one type in a row
 *               mean the kernel merged or lost edges between them.
 * The rest is state, zeroed when the line is requested.
 */
struct lt_gpio_edges {
	uint64_t debounce_ns;
	bool both;
	unsigned last_type;     /* of the last event read: 0 none, 1 rising, 2 falling */
	uint64_t last_raw_ns;   /* its kernel time */
	unsigned accepted_type; /* of the last accepted (reported) edge */
	bool accepted_any;
	uint64_t last_ns; /* kernel time of the last accepted edge */
};

#define LT_GPIO_ACCEPT 0x1u /* keep the edge; without it, debounce drops it */
#define LT_GPIO_MERGED 0x2u /* same type as the event before it, on a both-edges line */

/*
 * Take one event (kernel time @ts_ns, non-decreasing): LT_GPIO_* bits.
 * Call lt_gpio_edge_settle(e, @ts_ns, ...) first, so that an edge it gives
 * is reported before this one.
 */
unsigned lt_gpio_edge_feed(struct lt_gpio_edges *e, bool rising, uint64_t ts_ns);

/*
 * When debounce dropped the line's last change of level (a bounce that
 * ended in the other state), the CLOCK_MONOTONIC time its window closes,
 * when lt_gpio_edge_settle() reports it; UINT64_MAX otherwise.
 */
uint64_t lt_gpio_edge_settle_at(const struct lt_gpio_edges *e);

/*
 * At @now_ns, past lt_gpio_edge_settle_at(): true, with the edge the line
 * settled on (*@rising) and the kernel time of the event that made it
 * (*@ts_ns), which becomes the last accepted edge. False when none is due.
 */
bool lt_gpio_edge_settle(struct lt_gpio_edges *e, uint64_t now_ns, bool *rising, uint64_t *ts_ns);

/* A count or frequency metric's window: edges counted since @start_ns. */
struct lt_gpio_window {
	uint64_t start_ns;
	uint64_t count;
	bool started;
};

/*
 * Close the window at @now_ns (CLOCK_MONOTONIC) and start the next: its
 * count, or with @per_second the count per second of its length, into
 * *@out. -ENODATA (and *@out untouched) at the first call, which starts
 * the first window.
 */
int lt_gpio_window_take(struct lt_gpio_window *w, uint64_t now_ns, bool per_second, double *out);

#endif
