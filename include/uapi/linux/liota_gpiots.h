/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause */
/*
 * liota_gpiots: GPIO edges time-stamped in the hard-IRQ handler, delivered
 * through a ring that userspace maps from /dev/liota-gpiots.
 *
 * Shared by the kernel module (kmod/) and userspace (liotad, the guest
 * tests' reader): dual-licensed so that BSD-2-Clause code may include it.
 *
 * Use: open the device, LIOTA_GPIOTS_SETUP the ring, mmap it (offset 0,
 * length (1 + data_pages) * page size), LIOTA_GPIOTS_ATTACH lines, then
 * poll() and consume records between the header's tail and head.
 *
 * The mapping is one header page, then data_pages pages of records.
 * Indices are free-running 64-bit counts of records: record i lives at
 * slot i & (capacity - 1). As in the perf ring buffer, the kernel
 * publishes head with a store-release after writing the records before it;
 * the reader loads head with a load-acquire, reads the records, then
 * stores tail with a store-release. The kernel never overwrites a record
 * the reader has not released: when the ring is full it counts the edge in
 * overflow and drops it (the line's seq still advances, so the gap shows
 * which line lost what).
 */
#ifndef _UAPI_LINUX_LIOTA_GPIOTS_H
#define _UAPI_LINUX_LIOTA_GPIOTS_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define LIOTA_GPIOTS_DEVICE "/dev/liota-gpiots"
#define LIOTA_GPIOTS_MAGIC 0x4c475453 /* "LGTS" */
#define LIOTA_GPIOTS_VERSION 1

/* Bounds of the ring (data pages, a power of two) and of the lines. */
#define LIOTA_GPIOTS_MAX_DATA_PAGES 1024
#define LIOTA_GPIOTS_MAX_LINES 64
#define LIOTA_GPIOTS_MAX_TIMEOUT_MS 60000
#define LIOTA_GPIOTS_CHIP_MAX 32

/* Edges, in liota_gpiots_attach.edges and liota_gpiots_record.edge. */
#define LIOTA_GPIOTS_EDGE_RISING (1U << 0)
#define LIOTA_GPIOTS_EDGE_FALLING (1U << 1)
#define LIOTA_GPIOTS_EDGE_BOTH (LIOTA_GPIOTS_EDGE_RISING | LIOTA_GPIOTS_EDGE_FALLING)

/**
 * struct liota_gpiots_setup - the ring, set up once per open file
 * @data_pages: data pages, a power of two, 1 .. LIOTA_GPIOTS_MAX_DATA_PAGES
 * @watermark: poll() reports readable once this many records are unread
 *	(1 .. capacity; 0 means 1)
 * @timeout_ms: ... or once a record has waited this long (0: only the
 *	watermark counts; at most LIOTA_GPIOTS_MAX_TIMEOUT_MS)
 * @padding: must be zero
 */
struct liota_gpiots_setup {
	__u32 data_pages;
	__u32 watermark;
	__u32 timeout_ms;
	__u32 padding;
};

/**
 * struct liota_gpiots_attach - one line to time-stamp
 * @chip: the GPIO chip's label (as gpioinfo shows it), NUL-terminated
 * @offset: the line's offset on that chip
 * @edges: LIOTA_GPIOTS_EDGE_RISING, _FALLING or _BOTH
 * @line: out: the number records carry for this line (0 .. MAX_LINES - 1)
 * @level: out: the line's level when it was attached
 * @padding: must be zero
 */
struct liota_gpiots_attach {
	char chip[LIOTA_GPIOTS_CHIP_MAX];
	__u32 offset;
	__u32 edges;
	__u32 line;
	__u32 level;
	__u64 padding;
};

/**
 * struct liota_gpiots_record - one edge (32 bytes; a page holds 128)
 * @mono_ns: CLOCK_MONOTONIC when the hard-IRQ handler started
 * @realtime_offset_ns: CLOCK_REALTIME - CLOCK_MONOTONIC at that moment
 * @seq: per line, 1 for the first edge; counts dropped edges too
 * @line: the number LIOTA_GPIOTS_ATTACH returned
 * @edge: LIOTA_GPIOTS_EDGE_RISING or _FALLING
 * @level: the level after the edge (0 or 1)
 * @padding: zero
 */
struct liota_gpiots_record {
	__u64 mono_ns;
	__s64 realtime_offset_ns;
	__u64 seq;
	__u16 line;
	__u8 edge;
	__u8 level;
	__u32 padding;
};

/**
 * struct liota_gpiots_header - the first page of the mapping
 * @magic: LIOTA_GPIOTS_MAGIC
 * @version: LIOTA_GPIOTS_VERSION
 * @record_size: sizeof(struct liota_gpiots_record)
 * @capacity: records in the ring, a power of two
 * @data_offset: bytes from the start of the mapping to record slot 0
 * @padding: zero
 * @overflow: edges dropped because the ring was full
 * @gone: bit N set: line N's chip went away (removed, unbound); the kernel
 *	released the line, LIOTA_GPIOTS_DETACH frees its number (poll()
 *	reports POLLPRI while a bit is set)
 * @head: producer index (kernel: store-release; reader: load-acquire)
 * @tail: consumer index (reader: store-release; kernel: load-acquire)
 *
 * head and tail have a cache line each so that the two sides do not share
 * one.
 */
struct liota_gpiots_header {
	__u32 magic;
	__u32 version;
	__u32 record_size;
	__u32 capacity;
	__u32 data_offset;
	__u32 padding;
	__u64 overflow;
	__u64 gone;
	__u64 reserved0[4];
	__u64 head;
	__u64 reserved1[7];
	__u64 tail;
	__u64 reserved2[7];
};

#define LIOTA_GPIOTS_IOC 0xB7
#define LIOTA_GPIOTS_SETUP _IOW(LIOTA_GPIOTS_IOC, 1, struct liota_gpiots_setup)
#define LIOTA_GPIOTS_ATTACH _IOWR(LIOTA_GPIOTS_IOC, 2, struct liota_gpiots_attach)
/* The argument is the line number ATTACH returned. */
#define LIOTA_GPIOTS_DETACH _IOW(LIOTA_GPIOTS_IOC, 3, __u32)

#endif /* _UAPI_LINUX_LIOTA_GPIOTS_H */
