/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * can: signals decoded from CAN and CAN FD frames (SocketCAN raw sockets,
 * libsocketcan for the controller's state and bitrate).
 *
 * Each metric is one DBC-style signal of the frames matching its frame_id
 * and mask (can_signal.c). Without an interval a metric is event-driven:
 * every matching frame emits one sample, stamped with the kernel's receive
 * time (SO_TIMESTAMPNS). With an interval, read() returns the value of the
 * latest frame since the previous read, or -ENODATA.
 *
 * One non-blocking raw socket per device. Kernel filters, one per distinct
 * (id, mask, format) of the device's metrics, keep the frames nobody wants
 * out of the sampler thread; the driver still matches each frame to its
 * metrics, since a filter may serve several. dispatch() drains the socket
 * with recvmmsg(), at most CAN_DISPATCH_MAX frames per call, so that a busy
 * bus cannot keep the sampler from its polled metrics.
 *
 * Error frames are counted, and bus-off or error-passive ones set the
 * device's condition. The controller's own state (can_get_state()) is read
 * at open, every 5 s and soon after an error frame, but only for real
 * controllers: virtual interfaces (vcan) have no CAN netlink data, and
 * libsocketcan would print to stderr each time it finds none, so the link
 * kind is asked from rtnetlink first.
 *
 * An interface that goes down or away makes reads fail with ENETDOWN or
 * ENODEV: dispatch returns -ENODEV, and the sampler closes the device and
 * opens it again every 5 s; open fails, with the reason, while the
 * interface is missing or down.
 */
#include <net/if.h> /* before any linux/ header that includes linux/if.h */
#include <net/if_arp.h>

#include <errno.h>
#include <float.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libsocketcan.h>
#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <liota/liota.h>
#include "devices/can_signal.h"
#include "core/intree.h"
#include "devices/devices.h"

#define NSEC_PER_MSEC 1000000ull
/* Frames taken per recvmmsg() call, and per dispatch call at most. */
#define CAN_BATCH        32
#define CAN_DISPATCH_MAX 256
/* How often the controller state is read, and how soon again after an error frame. */
#define CAN_STATE_PERIOD_NS (5000 * NSEC_PER_MSEC)
#define CAN_STATE_GAP_NS    (100 * NSEC_PER_MSEC)

enum can_fd_mode { CAN_FD_AUTO, CAN_FD_YES, CAN_FD_NO };

/* One recvmmsg() slot: the frame and its control messages (time stamp, drops). */
struct can_rx {
	struct canfd_frame frame;
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl;
};

struct can_dev {
	/* options */
	char ifname[IFNAMSIZ];
	enum can_fd_mode fd_mode;
	bool error_frames;
	uint32_t bitrate; /* 0: leave the interface's as it is */
	/* counters, declared in device_init */
	uint64_t *n_frames, *n_error_frames, *n_bus_off, *n_decode_errors, *n_rx_dropped;
	/* sampler thread, while open */
	int sock;          /* -1 while closed */
	bool fd_frames;    /* CAN FD frames enabled on the socket */
	bool controller;   /* a real CAN controller: it has a state to read */
	bool state_noted;  /* said once (debug) that the interface has no state */
	bool state_failed; /* the last can_get_state() failed (logged) */
	int state;         /* enum can_state, from the controller or error frames; -1: unknown */
	uint64_t next_state_ns, last_state_ns; /* CLOCK_MONOTONIC */
	uint32_t drops;                        /* the socket's SO_RXQ_OVFL count so far */
	struct can_rx rx[CAN_BATCH];
	struct iovec iov[CAN_BATCH];
	struct mmsghdr msgs[CAN_BATCH];
};

struct can_metric {
	struct can_metric_conf conf; /* first: the tests read it through lt_metric_priv() */
	int ext;                     /* extended: -1 auto (from the ID), 0 no, 1 yes */
	unsigned seen;               /* the keys given (can_metric_opts) */
	/* sampler thread */
	double latest; /* polled metrics: the latest value decoded */
	bool fresh;    /* latest was decoded since the previous read */
	bool failing;  /* the last frame was too short for the signal (logged) */
};

static const char *const can_state_names[] = {
	[CAN_STATE_ERROR_ACTIVE] = "error-active",
	[CAN_STATE_ERROR_WARNING] = "error-warning",
	[CAN_STATE_ERROR_PASSIVE] = "error-passive",
	[CAN_STATE_BUS_OFF] = "bus-off",
	[CAN_STATE_STOPPED] = "stopped",
	[CAN_STATE_SLEEPING] = "sleeping",
};

static const char *can_state_name(int st)
{
	return st >= 0 && st < CAN_STATE_MAX ? can_state_names[st] : "unknown";
}

/* ---- options ------------------------------------------------------------ */

static int can_device_init(struct lt_device *dev)
{
	struct can_dev *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fd_mode = CAN_FD_AUTO;
	c->error_frames = true;
	c->sock = -1;
	c->state = -1;
	c->n_frames = lt_device_counter(dev, "frames");
	c->n_error_frames = lt_device_counter(dev, "error_frames");
	c->n_bus_off = lt_device_counter(dev, "bus_off");
	c->n_decode_errors = lt_device_counter(dev, "decode_errors");
	c->n_rx_dropped = lt_device_counter(dev, "rx_dropped");
	lt_device_set_priv(dev, c);
	if (!c->n_frames || !c->n_error_frames || !c->n_bus_off || !c->n_decode_errors ||
	    !c->n_rx_dropped)
		return -ENOSPC; /* device_free releases c */
	return 0;
}

/*
 * A CAN ID or mask: hexadecimal with 0x, else decimal (a leading 0 is not
 * octal: "0123" is 123), at most @max.
 */
static int can_parse_id(const char *s, uint32_t max, uint32_t *out, char *err, size_t errlen)
{
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	const char *p = hex ? s + 2 : s;
	unsigned long long v;
	char *end;

	if (!*p || strspn(p, hex ? "0123456789abcdefABCDEF" : "0123456789") != strlen(p)) {
		snprintf(err, errlen, "'%s' is not a number (0x1A3 or 419)", s);
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(p, &end, hex ? 16 : 10);
	if (errno || v > max) {
		snprintf(err, errlen, "'%s' is out of range (at most 0x%X)", s, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

/* A bitrate in bit/s: digits, optionally followed by k (x1000) or M (x1000000). */
static int can_parse_bitrate(void *out, const char *key, const char *s, char *err, size_t errlen)
{
	size_t n = strspn(s, "0123456789");
	unsigned long long v, mult = 1;

	if (n && s[n] == 'k' && !s[n + 1])
		mult = 1000;
	else if (n && s[n] == 'M' && !s[n + 1])
		mult = 1000000;
	else if (!n || s[n])
		n = 0;
	v = n && n <= 9 ? strtoull(s, NULL, 10) * mult : 0;
	if (!n || v < 1000 || v > 1000000) {
		snprintf(err, errlen, "'%s' is not a bitrate from 1000 to 1000000 (or 10k to 1M)",
			 s);
		return -EINVAL;
	}
	*(uint32_t *)out = (uint32_t)v;
	return 0;
}

static int set_ifname(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	if (!*value || strlen(value) >= IFNAMSIZ || strpbrk(value, "/ \t:")) {
		snprintf(err, errlen, "'%s' is not an interface name (can0, vcan0)", value);
		return -EINVAL;
	}
	snprintf(field, IFNAMSIZ, "%s", value);
	return 0;
}

/* fd: auto, or a boolean. */
static int set_fd(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	int b;

	if (strcmp(value, "auto") == 0) {
		*(enum can_fd_mode *)field = CAN_FD_AUTO;
		return 0;
	}
	if (lt_parse_bool(value, &b, err, errlen) < 0) {
		snprintf(err, errlen, "'%s' is not auto, yes or no", value);
		return -EINVAL;
	}
	*(enum can_fd_mode *)field = b ? CAN_FD_YES : CAN_FD_NO;
	return 0;
}

static const struct lt_opt can_dev_opts[] = {
	LT_OPT_FUNC("interface", struct can_dev, ifname, 0, set_ifname,
		    "CAN interface (can0, vcan0)"),
	LT_OPT_FUNC("fd", struct can_dev, fd_mode, 0, set_fd, "CAN FD frames: auto, yes or no"),
	LT_OPT_BOOL("error_frames", struct can_dev, error_frames, 0, "receive error frames"),
	LT_OPT_FUNC("bitrate", struct can_dev, bitrate, 0, can_parse_bitrate,
		    "bit/s set on the controller, 10k to 1M"),
	LT_OPT_END(),
};

static int can_device_option(struct lt_device *dev, const char *key, const char *value, char *err,
			     size_t errlen)
{
	return lt_opts_set(can_dev_opts, lt_device_priv(dev), key, value, err, errlen);
}

static int can_metric_init(struct lt_metric *m)
{
	struct can_metric *cm = calloc(1, sizeof(*cm));

	if (!cm)
		return -ENOMEM;
	cm->ext = -1;
	cm->conf.sig.order = CAN_SIG_INTEL;
	cm->conf.sig.scale = 1;
	cm->conf.sig.offset = 0;
	lt_metric_set_priv(m, cm);
	return 0;
}

static int set_id(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	return can_parse_id(value, CAN_EFF_MASK, field, err, errlen);
}

/* extended: auto (-1: from the ID) or a boolean. */
static int set_extended(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	int b, r;

	if (strcmp(value, "auto") == 0) {
		*(int *)field = -1;
		return 0;
	}
	r = lt_parse_bool(value, &b, err, errlen);
	if (r == 0)
		*(int *)field = b;
	return r;
}

static const struct lt_opt_name can_orders[] = {
	{ "intel", CAN_SIG_INTEL },
	{ "motorola", CAN_SIG_MOTOROLA },
	{ "little_endian", CAN_SIG_INTEL },
	{ "big_endian", CAN_SIG_MOTOROLA },
	{ NULL, 0 },
};

#define CM struct can_metric

static const struct lt_opt can_metric_opts[] = {
	LT_OPT_FUNC("frame_id", CM, conf.match.id, LT_OPT_REQUIRED, set_id, "CAN ID matched"),
	LT_OPT_FUNC("mask", CM, conf.match.mask, 0, set_id, "bits of the ID compared"),
	LT_OPT_FUNC("extended", CM, ext, 0, set_extended, "29-bit ID: auto, yes or no"),
	LT_OPT_UINT("start_bit", CM, conf.sig.start, LT_OPT_REQUIRED, 0, CAN_SIG_MAX_BYTES * 8 - 1,
		    "first bit of the signal"),
	LT_OPT_UINT("length", CM, conf.sig.length, LT_OPT_REQUIRED, 1, 64, "bits of the signal"),
	LT_OPT_ENUM("byte_order", CM, conf.sig.order, LT_OPT_UNKNOWN_FORM, can_orders,
		    "intel (little endian) or motorola (big endian)"),
	LT_OPT_BOOL("signed", CM, conf.sig.is_signed, 0, "two's complement"),
	LT_OPT_DOUBLE("scale", CM, conf.sig.scale, 0, -DBL_MAX, DBL_MAX,
		      "value = raw * scale + offset"),
	LT_OPT_DOUBLE("offset", CM, conf.sig.offset, 0, -DBL_MAX, DBL_MAX,
		      "value = raw * scale + offset"),
	LT_OPT_END_SEEN(CM, seen),
};

static int can_metric_option(struct lt_metric *m, const char *key, const char *value, char *err,
			     size_t errlen)
{
	return lt_opts_set(can_metric_opts, lt_metric_priv(m), key, value, err, errlen);
}

static int can_device_check(struct lt_device *dev, char *err, size_t errlen)
{
	const struct can_dev *c = lt_device_priv(dev);

	if (!c->ifname[0]) {
		snprintf(err, errlen, "interface is required (interface = can0)");
		return -EINVAL;
	}
	return 0;
}

static int can_metric_check(struct lt_metric *m, char *err, size_t errlen)
{
	struct can_metric *cm = lt_metric_priv(m);
	const struct lt_device *dev = lt_metric_device(m);
	const struct can_dev *c = lt_device_priv(dev);
	uint32_t id_bits;
	int r;

	r = lt_opts_check(can_metric_opts, cm, err, errlen);
	if (r < 0)
		return r;
	cm->conf.match.ext = cm->ext < 0 ? cm->conf.match.id > CAN_SFF_MASK : cm->ext;
	id_bits = cm->conf.match.ext ? CAN_EFF_MASK : CAN_SFF_MASK;
	if (cm->conf.match.id & ~id_bits) {
		snprintf(err, errlen,
			 "frame_id 0x%X does not fit in a standard 11-bit ID "
			 "(extended = no)",
			 cm->conf.match.id);
		return -EINVAL;
	}
	if (lt_opts_given(can_metric_opts, cm, "mask") != 1)
		cm->conf.match.mask = id_bits;
	else if (cm->conf.match.mask & ~id_bits) {
		snprintf(err, errlen, "mask 0x%X has bits outside the %s ID (0x%X)",
			 cm->conf.match.mask, cm->conf.match.ext ? "29-bit" : "11-bit", id_bits);
		return -EINVAL;
	}
	r = can_signal_check(&cm->conf.sig, err, errlen);
	if (r < 0)
		return r;
	if (c->fd_mode == CAN_FD_NO && can_signal_bytes(&cm->conf.sig) > CAN_MAX_DLEN) {
		snprintf(err, errlen,
			 "the signal needs %u data bytes, more than a classic CAN frame's 8 "
			 "(the device has fd = no)",
			 can_signal_bytes(&cm->conf.sig));
		return -EINVAL;
	}
	if (lt_metric_interval_ns(m) == 0)
		lt_metric_set_event_driven(m);
	return 0;
}

/* ---- the controller: link kind, bitrate, state -------------------------- */

/*
 * The rtnetlink link kind of interface @ifindex ("can" for a controller,
 * "vcan", "vxcan"...). -ENOENT when it has none.
 */
static int can_link_kind(int ifindex, char *kind, size_t len)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	union {
		char buf[16384]; /* one link's message: its stats make most of it */
		struct nlmsghdr align;
	} rsp;
	struct timeval tv = { .tv_sec = 1 };
	int fd, r = -ENOENT, n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &req, sizeof(req), 0) < 0 || (n = (int)recv(fd, &rsp, sizeof(rsp), 0)) < 0) {
		r = -errno;
		goto out;
	}
	for (struct nlmsghdr *nh = &rsp.align; NLMSG_OK(nh, (unsigned)n); nh = NLMSG_NEXT(nh, n)) {
		struct ifinfomsg *ifi = NLMSG_DATA(nh);
		struct rtattr *a;
		int alen;

		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			r = e->error ? e->error : -ENOENT;
			break;
		}
		if (nh->nlmsg_type != RTM_NEWLINK)
			continue;
		alen = (int)IFLA_PAYLOAD(nh);
		for (a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
			struct rtattr *i;
			int ilen = (int)RTA_PAYLOAD(a);

			if (a->rta_type != IFLA_LINKINFO)
				continue;
			for (i = RTA_DATA(a); RTA_OK(i, ilen); i = RTA_NEXT(i, ilen)) {
				if (i->rta_type == IFLA_INFO_KIND) {
					snprintf(kind, len, "%.*s", (int)RTA_PAYLOAD(i),
						 (const char *)RTA_DATA(i));
					r = 0;
				}
			}
		}
		break;
	}
out:
	close(fd);
	return r;
}

/*
 * Set the configured bitrate when the interface's differs. The kernel takes
 * it only while the interface is down (and from CAP_NET_ADMIN); a failure
 * is logged, not fatal: the bus may well run at the right rate already.
 * An interface that was down is brought up once its bitrate is set.
 */
static void can_apply_bitrate(struct lt_device *dev, struct can_dev *c, const char *kind, bool up)
{
	struct can_bittiming bt;

	if (!c->controller) {
		lt_device_log(dev, LOG_WARNING,
			      "bitrate ignored: %s is a %s interface, not a CAN controller",
			      c->ifname, kind);
		return;
	}
	memset(&bt, 0, sizeof(bt));
	if (can_get_bittiming(c->ifname, &bt) == 0 && bt.bitrate == c->bitrate)
		return;
	if (up) {
		lt_device_log(dev, LOG_ERR,
			      "cannot set the bitrate of %s to %u bit/s while it is up (it runs at "
			      "%u bit/s): set it down first",
			      c->ifname, c->bitrate, bt.bitrate);
		return;
	}
	errno = 0;
	if (can_set_bitrate(c->ifname, c->bitrate) < 0) {
		lt_device_log(dev, LOG_ERR,
			      "cannot set the bitrate of %s to %u bit/s: %s (liotad needs "
			      "CAP_NET_ADMIN)",
			      c->ifname, c->bitrate, errno ? strerror(errno) : "refused");
		return;
	}
	lt_device_log(dev, LOG_NOTICE, "bitrate of %s set to %u bit/s", c->ifname, c->bitrate);
	errno = 0;
	if (can_do_start(c->ifname) < 0)
		lt_device_log(dev, LOG_ERR, "cannot set %s up: %s", c->ifname,
			      errno ? strerror(errno) : "refused");
}

/* A new controller state, from can_get_state() or an error frame. */
static void can_set_state(struct lt_device *dev, struct can_dev *c, int st, const char *how)
{
	if (st == c->state)
		return;
	lt_device_log(dev,
		      st == CAN_STATE_ERROR_ACTIVE ? (c->state < 0 ? LOG_INFO : LOG_NOTICE)
						   : LOG_WARNING,
		      "%s: controller %s%s", c->ifname, can_state_name(st), how);
	c->state = st;
	lt_device_set_condition(dev, can_state_name(st));
}

static void can_read_state(struct lt_device *dev, struct can_dev *c, uint64_t now)
{
	int st;

	c->last_state_ns = now;
	c->next_state_ns = now + CAN_STATE_PERIOD_NS;
	errno = 0;
	if (can_get_state(c->ifname, &st) < 0) {
		if (!c->state_failed)
			lt_device_log(dev, LOG_WARNING, "cannot read the state of %s: %s",
				      c->ifname, errno ? strerror(errno) : "no answer");
		c->state_failed = true;
		return;
	}
	c->state_failed = false;
	can_set_state(dev, c, st, "");
}

/* ---- open, poll, dispatch, read, close --------------------------------- */

/* Ask for the per-frame control messages; a kernel without them gets "now" and no drop count. */
static void can_sock_stamps(int s)
{
	int one = 1;

	setsockopt(s, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	setsockopt(s, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
}

/* Install @s as the device's socket; the recvmmsg slots point into c->rx. */
static void can_attach(struct can_dev *c, int s, bool fd_frames)
{
	c->sock = s;
	c->fd_frames = fd_frames;
	c->drops = 0;
	for (unsigned i = 0; i < CAN_BATCH; i++) {
		c->iov[i].iov_base = &c->rx[i].frame;
		c->iov[i].iov_len = sizeof(c->rx[i].frame);
		memset(&c->msgs[i], 0, sizeof(c->msgs[i]));
		c->msgs[i].msg_hdr.msg_iov = &c->iov[i];
		c->msgs[i].msg_hdr.msg_iovlen = 1;
	}
}

int lt_can_test_attach(struct lt_device *dev, int sock, bool fd_frames)
{
	struct can_dev *c = lt_device_priv(dev);

	if (!c || c->sock >= 0)
		return -EBUSY;
	can_sock_stamps(sock);
	can_attach(c, sock, fd_frames);
	return 0;
}

/* Kernel filters for every metric of @dev (none at all: no data frame). */
static int can_set_filters(struct lt_device *dev, int s, char *err, size_t errlen)
{
	unsigned n = lt_device_nmetrics(dev);
	struct can_id_match *mt = calloc(n ? n : 1, sizeof(*mt));
	struct can_filter *f = calloc(n ? n : 1, sizeof(*f));
	int k, r = 0;

	if (!mt || !f) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct can_metric *cm = lt_metric_priv(lt_device_metric(dev, i));

		mt[i] = cm->conf.match;
	}
	k = can_filters_build(mt, n, f, CAN_RAW_FILTER_MAX);
	if (k == -E2BIG) {
		/* The kernel's limit: let every frame in and match them here only. */
		lt_device_log(dev, LOG_INFO, "more than %d distinct frame IDs: no kernel filter",
			      CAN_RAW_FILTER_MAX);
		goto out;
	}
	if (setsockopt(s, SOL_CAN_RAW, CAN_RAW_FILTER, k ? f : NULL,
		       (socklen_t)((size_t)k * sizeof(*f))) < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot set the CAN filters: %s", strerror(errno));
	}
out:
	free(mt);
	free(f);
	return r;
}

static int can_open(struct lt_device *dev, char *err, size_t errlen)
{
	struct can_dev *c = lt_device_priv(dev);
	struct sockaddr_can addr = { .can_family = AF_CAN };
	char kind[32] = "";
	struct timespec now;
	bool fd_capable;
	struct ifreq ifr;
	int s, r, one = 1;

	if (!c->ifname[0]) {
		snprintf(err, errlen, "interface is required");
		return -EINVAL;
	}
	addr.can_ifindex = (int)if_nametoindex(c->ifname);
	if (!addr.can_ifindex) {
		snprintf(err, errlen, "no CAN interface %s", c->ifname);
		return -ENODEV;
	}
	s = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
	if (s < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open a CAN socket: %s (kernel modules can, can_raw)",
			 strerror(errno));
		return r;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->ifname);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) == 0 && ifr.ifr_hwaddr.sa_family != ARPHRD_CAN) {
		snprintf(err, errlen, "%s is not a CAN interface", c->ifname);
		r = -ENODEV;
		goto fail;
	}

	c->controller = can_link_kind(addr.can_ifindex, kind, sizeof(kind)) == 0 &&
			strcmp(kind, "can") == 0;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", c->ifname, strerror(errno));
		goto fail;
	}
	if (c->bitrate) {
		can_apply_bitrate(dev, c, kind[0] ? kind : "non-CAN", ifr.ifr_flags & IFF_UP);
		ioctl(s, SIOCGIFFLAGS, &ifr); /* it may be up now */
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		snprintf(err, errlen, "%s is down", c->ifname);
		r = -ENETDOWN;
		goto fail;
	}

	/* An FD interface has the CAN FD MTU (72), a classic one CAN_MTU (16). */
	fd_capable = ioctl(s, SIOCGIFMTU, &ifr) == 0 && (size_t)ifr.ifr_mtu >= CANFD_MTU;
	if (c->fd_mode == CAN_FD_YES && !fd_capable) {
		snprintf(err, errlen,
			 "%s is not a CAN FD interface (MTU %d, not %zu): fd = yes "
			 "needs one",
			 c->ifname, ifr.ifr_mtu, CANFD_MTU);
		r = -EINVAL;
		goto fail;
	}
	if (fd_capable && c->fd_mode != CAN_FD_NO &&
	    setsockopt(s, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &one, sizeof(one)) < 0) {
		if (c->fd_mode == CAN_FD_YES) {
			r = -errno;
			snprintf(err, errlen, "cannot receive CAN FD frames: %s", strerror(errno));
			goto fail;
		}
		fd_capable = false;
	}
	fd_capable = fd_capable && c->fd_mode != CAN_FD_NO;
	if (!fd_capable) {
		for (unsigned i = 0; i < lt_device_nmetrics(dev); i++) {
			struct lt_metric *m = lt_device_metric(dev, i);
			const struct can_metric *cm = lt_metric_priv(m);

			if (can_signal_bytes(&cm->conf.sig) > CAN_MAX_DLEN)
				lt_metric_log(m, LOG_WARNING,
					      "the signal needs %u data bytes but %s receives only "
					      "classic CAN frames (8)",
					      can_signal_bytes(&cm->conf.sig), c->ifname);
		}
	}

	r = can_set_filters(dev, s, err, errlen);
	if (r < 0)
		goto fail;
	if (c->error_frames) {
		can_err_mask_t mask = CAN_ERR_MASK;

		if (setsockopt(s, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &mask, sizeof(mask)) < 0)
			lt_device_log(dev, LOG_WARNING, "cannot receive error frames: %s",
				      strerror(errno));
	}
	can_sock_stamps(s);
	if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = -errno;
		if (errno == ENODEV)
			snprintf(err, errlen, "no CAN interface %s", c->ifname);
		else
			snprintf(err, errlen, "cannot bind to %s: %s", c->ifname, strerror(errno));
		goto fail;
	}
	can_attach(c, s, fd_capable);

	c->state = -1;
	c->state_failed = false;
	if (c->controller) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		can_read_state(dev, c,
			       (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec);
	} else if (!c->state_noted) {
		lt_device_log(dev, LOG_DEBUG, "%s is a %s interface: no controller state to read",
			      c->ifname, kind[0] ? kind : "non-CAN");
		c->state_noted = true;
	}
	return 0;
fail:
	close(s);
	return r;
}

static void can_poll(struct lt_device *dev, struct pollfd *pfd, int64_t *deadline_ns)
{
	struct can_dev *c = lt_device_priv(dev);

	pfd->fd = c->sock;
	pfd->events = POLLIN;
	if (c->sock >= 0 && c->controller && (int64_t)c->next_state_ns < *deadline_ns)
		*deadline_ns = (int64_t)c->next_state_ns;
}

/*
 * An error frame: count it, and follow the controller state it reports
 * (linux/can/error.h). A real controller is asked for its state soon after,
 * since error frames may be filtered or lost.
 */
static void can_error_frame(struct lt_device *dev, struct can_dev *c, const struct canfd_frame *f,
			    unsigned len)
{
	canid_t cls = f->can_id & CAN_ERR_MASK;
	int st = -1;

	lt_count(c->n_error_frames, 1);
	if (cls & CAN_ERR_RESTARTED)
		st = CAN_STATE_ERROR_ACTIVE;
	if ((cls & CAN_ERR_CRTL) && len > 1) {
		if (f->data[1] & (CAN_ERR_CRTL_RX_PASSIVE | CAN_ERR_CRTL_TX_PASSIVE))
			st = CAN_STATE_ERROR_PASSIVE;
		else if (f->data[1] & (CAN_ERR_CRTL_RX_WARNING | CAN_ERR_CRTL_TX_WARNING))
			st = CAN_STATE_ERROR_WARNING;
		else if (f->data[1] & CAN_ERR_CRTL_ACTIVE)
			st = CAN_STATE_ERROR_ACTIVE;
	}
	if (cls & CAN_ERR_BUSOFF) {
		lt_count(c->n_bus_off, 1);
		st = CAN_STATE_BUS_OFF;
	}
	if (st < 0)
		return;
	can_set_state(dev, c, st, " (error frame)");
	if (c->controller && c->next_state_ns > c->last_state_ns + CAN_STATE_GAP_NS)
		c->next_state_ns = c->last_state_ns + CAN_STATE_GAP_NS;
}

static void can_data_frame(struct lt_device *dev, struct can_dev *c, const struct canfd_frame *f,
			   unsigned len, uint64_t ts)
{
	bool matched = false;

	for (unsigned i = 0; i < lt_device_nmetrics(dev); i++) {
		struct lt_metric *m = lt_device_metric(dev, i);
		struct can_metric *cm = lt_metric_priv(m);
		double v;

		if (!can_id_matches(&cm->conf.match, f->can_id))
			continue;
		matched = true;
		if (can_signal_decode(&cm->conf.sig, f->data, len, &v) < 0) {
			lt_count(c->n_decode_errors, 1);
			if (!cm->failing)
				lt_metric_log(m, LOG_WARNING,
					      "frame 0x%X carries %u data bytes, the signal "
					      "needs %u",
					      f->can_id & CAN_EFF_MASK, len,
					      can_signal_bytes(&cm->conf.sig));
			cm->failing = true;
			continue;
		}
		if (cm->failing) {
			lt_metric_log(m, LOG_INFO, "frame 0x%X carries the signal again",
				      f->can_id & CAN_EFF_MASK);
			cm->failing = false;
		}
		if (lt_metric_is_event_driven(m)) {
			lt_emit(m, v, ts); /* a full ring lane drops and counts it */
		} else {
			cm->latest = v;
			cm->fresh = true;
		}
	}
	if (matched)
		lt_count(c->n_frames, 1);
}

static void can_rx_one(struct lt_device *dev, struct can_dev *c, unsigned i, uint64_t now_real)
{
	struct msghdr *h = &c->msgs[i].msg_hdr;
	const struct canfd_frame *f = &c->rx[i].frame;
	uint64_t ts = now_real;
	unsigned len;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec t;

			memcpy(&t, CMSG_DATA(cm), sizeof(t));
			ts = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
		} else if (cm->cmsg_type == SO_RXQ_OVFL) {
			uint32_t drops;

			memcpy(&drops, CMSG_DATA(cm), sizeof(drops));
			/* The socket's total so far: add what is new (modulo 2^32). */
			lt_count(c->n_rx_dropped, (uint32_t)(drops - c->drops));
			c->drops = drops;
		}
	}
	if (c->msgs[i].msg_len == CAN_MTU)
		len = f->len > CAN_MAX_DLEN ? CAN_MAX_DLEN : f->len;
	else if (c->msgs[i].msg_len == CANFD_MTU && c->fd_frames)
		len = f->len > CANFD_MAX_DLEN ? CANFD_MAX_DLEN : f->len;
	else
		return; /* not a frame this socket asked for */
	if (f->can_id & CAN_ERR_FLAG)
		can_error_frame(dev, c, f, len);
	else if (!(f->can_id & CAN_RTR_FLAG))
		can_data_frame(dev, c, f, len, ts);
}

static int can_dispatch(struct lt_device *dev, short revents, uint64_t now)
{
	struct can_dev *c = lt_device_priv(dev);
	unsigned total = 0;
	uint64_t now_real;

	if (c->sock < 0)
		return 0;
	now_real = lt_mono_to_real(now);
	while (revents && total < CAN_DISPATCH_MAX) {
		int n, e;

		for (unsigned i = 0; i < CAN_BATCH; i++) {
			c->msgs[i].msg_hdr.msg_control = c->rx[i].ctl.buf;
			c->msgs[i].msg_hdr.msg_controllen = sizeof(c->rx[i].ctl.buf);
			c->msgs[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(c->sock, c->msgs, CAN_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			e = errno;
			if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
				break;
			/* ENETDOWN, ENODEV: the interface is down or gone; else: reopen too */
			lt_device_log(dev, e == ENETDOWN || e == ENODEV ? LOG_WARNING : LOG_ERR,
				      "%s: %s", c->ifname, strerror(e));
			return -ENODEV;
		}
		for (int i = 0; i < n; i++)
			can_rx_one(dev, c, (unsigned)i, now_real);
		total += (unsigned)n;
		if (n < CAN_BATCH)
			break; /* drained */
	}
	if (c->controller && now >= c->next_state_ns)
		can_read_state(dev, c, now);
	return 0;
}

static int can_read(struct lt_device *dev, struct lt_metric *m, double *value)
{
	struct can_metric *cm = lt_metric_priv(m);

	if (!cm->fresh)
		return -ENODATA;
	cm->fresh = false;
	*value = cm->latest;
	return 0;
}

static void can_close(struct lt_device *dev)
{
	struct can_dev *c = lt_device_priv(dev);

	if (!c || c->sock < 0)
		return;
	close(c->sock);
	c->sock = -1;
	c->state = -1;
	lt_device_set_condition(dev, NULL);
	for (unsigned i = 0; i < lt_device_nmetrics(dev); i++) {
		struct can_metric *cm = lt_metric_priv(lt_device_metric(dev, i));

		if (cm)
			cm->fresh = false; /* a value from before the gap is no news after it */
	}
}

static void can_metric_free(struct lt_metric *m)
{
	free(lt_metric_priv(m));
	lt_metric_set_priv(m, NULL);
}

static void can_device_free(struct lt_device *dev)
{
	struct can_dev *c = lt_device_priv(dev);

	/* The sampler closed the device; the metrics may be freed already. */
	if (c && c->sock >= 0)
		close(c->sock);
	free(c);
	lt_device_set_priv(dev, NULL);
}

const struct lt_device_driver lt_device_can = {
	.name = "can",
	.device_init = can_device_init,
	.device_option = can_device_option,
	.metric_init = can_metric_init,
	.metric_option = can_metric_option,
	.device_check = can_device_check,
	.metric_check = can_metric_check,
	.open = can_open,
	.read = can_read,
	.poll = can_poll,
	.dispatch = can_dispatch,
	.close = can_close,
	.metric_free = can_metric_free,
	.device_free = can_device_free,
};

static int can_package_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_add_device_driver(ctx, &lt_device_can, err, errlen);
}

LT_INTREE_PACKAGE(can, .name = "can", .version = PACKAGE_VERSION, .init = can_package_init);
