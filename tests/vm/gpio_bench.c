/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * gpio_bench: one reader of the guest benchmark (gpiots-bench.test), the
 * same bursts of edges read three ways:
 *   kernel  liotad's module (/dev/liota-gpiots), a 256-page ring
 *           (32768 records), woken at 1024 records or after 10 ms;
 *   v2      gpiolib's character device, v2 uAPI, read directly with the
 *           largest event buffer (1024), 64 events a read;
 *   v1      libgpiod 1.6 as liotad's gpio driver uses it (v1 uAPI, both
 *           edges, 16 events a read).
 *
 *   gpio_bench MODE CHIP OFFSET N READY TIMES
 * CHIP: the chip's label (kernel) or its /dev/gpiochipN (v2, v1). Writes
 * READY once the line is requested, then reads until N edges came, 2 s
 * passed without one, or 30 s in all; then reads TIMES (the edge source's
 * u64 CLOCK_MONOTONIC ns of each edge, tests/vm/kmod-bench) and prints
 *   bench mode=M fired=N delivered=D lost=L rate=EDGES_PER_S
 *         cpu_ns_per_edge=C err_us_mean=E err_us_max=X reads=R gaps=G
 *         bad_edges=B
 * (gaps: the module's sequence numbers missing; bad_edges: records whose
 * edge is the same as the one before; -1 for the gpiolib readers, whose
 * events carry no such thing per interrupt).
 * The time stamp error of an edge is its stamp minus the source's time of
 * that edge when none was lost, else of the latest edge raised at or
 * before it (a lossy reader's edges cannot be matched one to one). CPU: the reader's user + system
 * time / delivered.
 */
#include <errno.h>
#include <fcntl.h>
#include <gpiod.h>
#include <linux/gpio.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <linux/liota_gpiots.h>

#define MAX_STAMPS 200000

static uint64_t stamps[MAX_STAMPS];
static uint64_t ndelivered, nreads;
/* kernel only: sequence gaps, and edges that are not the opposite of the one before */
static long long ngaps = -1, nbad_edges = -1;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "gpio_bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void stamp(uint64_t ns)
{
	if (ndelivered < MAX_STAMPS)
		stamps[ndelivered] = ns;
	ndelivered++;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* Wait for @fd readable; false once the reading is over. */
static int wait_more(int fd, short ev, uint64_t n, uint64_t start, uint64_t *last)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t now = mono_ns();

	if (ndelivered >= n || now - start > 30000000000ull ||
	    (*last && now - *last > 2000000000ull))
		return 0;
	if (poll(&p, 1, 100) < 0 && errno != EINTR)
		die("poll");
	return 1;
}

static void run_kernel(const char *label, unsigned offset, uint64_t n, const char *ready)
{
	struct liota_gpiots_setup s = { .data_pages = 256, .watermark = 1024, .timeout_ms = 10 };
	struct liota_gpiots_attach a;
	struct liota_gpiots_header *h;
	struct liota_gpiots_record *d;
	size_t size = 257 * (size_t)sysconf(_SC_PAGESIZE);
	uint64_t start, last = 0, tail = 0, seq = 0;
	unsigned edge = 0;
	int fd;
	FILE *f;

	fd = open(LIOTA_GPIOTS_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, LIOTA_GPIOTS_SETUP, &s) < 0)
		die("setting up " LIOTA_GPIOTS_DEVICE);
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		die("mmap");
	d = (void *)((char *)h + h->data_offset);
	memset(&a, 0, sizeof(a));
	snprintf(a.chip, sizeof(a.chip), "%s", label);
	a.offset = offset;
	a.edges = LIOTA_GPIOTS_EDGE_BOTH;
	if (ioctl(fd, LIOTA_GPIOTS_ATTACH, &a) < 0)
		die("attach");
	f = fopen(ready, "w");
	if (!f || fclose(f))
		die(ready);
	start = mono_ns();
	ngaps = nbad_edges = 0;
	while (wait_more(fd, POLLIN, n, start, &last)) {
		uint64_t head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);

		if (head == tail)
			continue;
		nreads++;
		for (; tail != head; tail++) {
			struct liota_gpiots_record rec = d[tail & (h->capacity - 1)];

			ngaps += (long long)(rec.seq - seq - 1);
			nbad_edges += seq && rec.edge == edge;
			seq = rec.seq;
			edge = rec.edge;
			stamp(rec.mono_ns);
		}
		__atomic_store_n(&h->tail, tail, __ATOMIC_RELEASE);
		last = mono_ns();
	}
	close(fd);
}

static void run_v2(const char *path, unsigned offset, uint64_t n, const char *ready)
{
	struct gpio_v2_line_request req;
	struct gpio_v2_line_event ev[64];
	uint64_t start, last = 0;
	int cfd;
	FILE *f;

	cfd = open(path, O_RDWR | O_CLOEXEC);
	if (cfd < 0)
		die(path);
	memset(&req, 0, sizeof(req));
	req.offsets[0] = offset;
	req.num_lines = 1;
	req.event_buffer_size = 1024;
	snprintf(req.consumer, sizeof(req.consumer), "gpio_bench");
	req.config.flags = GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING |
			   GPIO_V2_LINE_FLAG_EDGE_FALLING;
	if (ioctl(cfd, GPIO_V2_GET_LINE_IOCTL, &req) < 0)
		die("GPIO_V2_GET_LINE_IOCTL");
	f = fopen(ready, "w");
	if (!f || fclose(f))
		die(ready);
	start = mono_ns();
	while (wait_more(req.fd, POLLIN, n, start, &last)) {
		struct pollfd p = { .fd = req.fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 0) <= 0)
			continue;
		r = read(req.fd, ev, sizeof(ev));
		if (r < 0)
			die("read");
		nreads++;
		for (size_t i = 0; i < (size_t)r / sizeof(ev[0]); i++)
			stamp(ev[i].timestamp_ns);
		last = mono_ns();
	}
	close(req.fd);
	close(cfd);
}

static void run_v1(const char *path, unsigned offset, uint64_t n, const char *ready)
{
	struct gpiod_line_event ev[16];
	struct gpiod_chip *c = gpiod_chip_open(path);
	struct gpiod_line *l = c ? gpiod_chip_get_line(c, offset) : NULL;
	uint64_t start, last = 0;
	int fd;
	FILE *f;

	if (!l || gpiod_line_request_both_edges_events(l, "gpio_bench") < 0)
		die("libgpiod request");
	fd = gpiod_line_event_get_fd(l);
	f = fopen(ready, "w");
	if (!f || fclose(f))
		die(ready);
	start = mono_ns();
	while (wait_more(fd, POLLIN, n, start, &last)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r;

		if (poll(&p, 1, 0) <= 0)
			continue;
		r = gpiod_line_event_read_fd_multiple(fd, ev, 16);
		if (r < 0)
			die("gpiod_line_event_read_fd_multiple");
		nreads++;
		for (int i = 0; i < r; i++)
			stamp((uint64_t)ev[i].ts.tv_sec * 1000000000u + (uint64_t)ev[i].ts.tv_nsec);
		last = mono_ns();
	}
	gpiod_chip_close(c);
}

int main(int argc, char **argv)
{
	static uint64_t src[MAX_STAMPS];
	uint64_t n, cpu0, cpu, nsrc, j = 0, m = 0;
	double sum = 0, max = 0, rate = 0;
	unsigned offset;
	FILE *f;

	if (argc != 7) {
		fprintf(stderr, "usage: gpio_bench kernel|v2|v1 CHIP OFFSET N READY TIMES\n");
		return 2;
	}
	offset = (unsigned)strtoul(argv[3], NULL, 10);
	n = strtoull(argv[4], NULL, 10);
	cpu0 = cpu_ns();
	if (!strcmp(argv[1], "kernel"))
		run_kernel(argv[2], offset, n, argv[5]);
	else if (!strcmp(argv[1], "v2"))
		run_v2(argv[2], offset, n, argv[5]);
	else if (!strcmp(argv[1], "v1"))
		run_v1(argv[2], offset, n, argv[5]);
	else
		return 2;
	cpu = cpu_ns() - cpu0;
	/* The source publishes its times once the burst is over: 5 s at most. */
	for (int try = 0; try < 50; try++) {
		f = fopen(argv[6], "rb");
		if (!f)
			die(argv[6]);
		nsrc = fread(src, sizeof(src[0]), MAX_STAMPS, f);
		fclose(f);
		if (nsrc)
			break;
		usleep(100000);
	}
	if (nsrc > 1)
		rate = (double)(nsrc - 1) * 1e9 / (double)(src[nsrc - 1] - src[0]);
	/* Stamps come in order: walk both lists once (one to one when none was lost). */
	for (uint64_t i = 0; i < ndelivered && i < MAX_STAMPS; i++) {
		double e;

		if (ndelivered == nsrc)
			j = i;
		while (ndelivered != nsrc && j + 1 < nsrc && src[j + 1] <= stamps[i])
			j++;
		if (!nsrc || src[j] > stamps[i])
			continue; /* stamped before the source raised anything: not counted */
		e = (double)(stamps[i] - src[j]) / 1000.0;
		sum += e;
		if (e > max)
			max = e;
		m++;
	}
	printf("bench mode=%s fired=%llu delivered=%llu lost=%lld rate=%.0f cpu_ns_per_edge=%.0f "
	       "err_us_mean=%.1f err_us_max=%.1f reads=%llu gaps=%lld bad_edges=%lld\n",
	       argv[1], (unsigned long long)nsrc, (unsigned long long)ndelivered,
	       (long long)nsrc - (long long)ndelivered, rate,
	       ndelivered ? (double)cpu / (double)ndelivered : 0.0, m ? sum / (double)m : 0.0, max,
	       (unsigned long long)nreads, ngaps, nbad_edges);
	return 0;
}
