/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The daemon's model of the configuration: the edge system, DCCs, devices
 * and metrics. A whole model is built by config_load(); on reload the
 * running DCC, device and metric objects that did not change are moved into
 * the new model (daemon_apply(), src/core/apply.c), the others replaced.
 * Nothing here needs a lock: the objects are immutable once running, except
 * the counters, which are relaxed atomics, and the tables daemon_apply()
 * rewrites while the publisher is paused (targets, regs).
 */
#ifndef LT_MODEL_H
#define LT_MODEL_H

#include "filter.h"

#include <liota/liota.h>
#include "units.h"
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdatomic.h>

#define LT_NAME_MAX 64
/* What a DCC, device or metric name is made of (config.c; discovery makes names too). */
#define LT_NAME_LEN_MAX 50
#define LT_NAME_CHARS   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-"

/* Where a setting came from, for FILE:LINE messages. */
struct lt_origin {
	const char *file; /* interned in the model's string list, never freed early */
	int line;
};

struct lt_edge_system {
	char *name;  /* [edge] name, default: the host name */
	char id[37]; /* UUID string derived from /etc/machine-id */
};

struct lt_dcc {
	char *name;
	const struct lt_dcc_driver *drv;
	void *priv;
	struct lt_origin origin;
	unsigned index;         /* position in model->dccs */
	struct lt_reg edge_reg; /* the edge system as registered with this DCC */
	struct lt_dcc_stats stats;
	char *conf;       /* its section's keys, canonical: what a reload compares */
	char **endpoints; /* lt_dcc_set_endpoints(): fixed once configured */
	unsigned nendpoints;
};

struct sampler_emit;

/* What `liotactl status` says of a device's sampler. */
enum lt_device_state {
	LT_DEVICE_FAILED = -1, /* cannot be opened, or gone: retried */
	LT_DEVICE_STOPPED = 0, /* no sampler thread */
	LT_DEVICE_RUNNING = 1,
	LT_DEVICE_OPENING = 2, /* its sampler's first open has not returned yet */
};

struct lt_device {
	char *name;
	const struct lt_device_driver *drv;
	void *priv;
	struct lt_origin origin;
	unsigned index;
	unsigned lane;              /* its ring lane, kept while the device runs unchanged */
	char *conf;                 /* its section's keys, canonical: what a reload compares */
	struct lt_metric **metrics; /* the device's metrics, in configuration order */
	unsigned nmetrics;
	struct lt_reg *regs;       /* one per model DCC (id NULL when not registered there) */
	struct lt_property *props; /* lt_device_add_property(): strings owned, config order */
	unsigned nprops;
	/* counters, read by the control thread */
	_Atomic uint64_t read_errors;
	_Atomic int state;             /* enum lt_device_state */
	const char *_Atomic condition; /* lt_device_set_condition(), a literal or NULL */
	/* driver-declared counters (lt_device_counter), fixed once running */
	const char *counter_names[LT_DEVICE_COUNTERS_MAX];
	uint64_t counters[LT_DEVICE_COUNTERS_MAX] __attribute__((aligned(8))); /* liota/counter.h */
	unsigned ncounters;
	/* the sampler while it dispatches (lt_emit's target); sampler thread only */
	struct sampler_emit *emit;
	_Atomic bool stopping;   /* lt_device_stopping() */
	_Atomic int stop_socket; /* lt_device_set_stop_socket(), -1: none */
};

/* A DCC a metric publishes to, with the metric's registration there. */
struct lt_target {
	struct lt_dcc *dcc;
	struct lt_reg reg;
};

/*
 * The empty unit of a metric without one (unit, pub_unit), not allocated:
 * model_free() frees any other. Two allocations fewer per metric.
 */
extern char lt_no_unit[];

struct lt_metric {
	char *name;           /* "temp": points into fullname, not allocated */
	char *fullname;       /* "boiler.temp" */
	char *unit;           /* lt_no_unit when not set */
	uint32_t id;          /* the ring record's metric_id; kept across reloads while unchanged */
	unsigned dev_index;   /* index in device->metrics */
	uint64_t interval_ns; /* 0 = not polled */
	bool event_driven;    /* samples come from the driver's dispatch (lt_emit) */
	unsigned aggregation; /* samples per published batch, >= 1 */
	struct lt_device *device;
	struct lt_target *targets;
	unsigned ntargets;
	void *priv;
	struct lt_origin origin;
	/*
	 * What a reload compares: FNV-1a of its section's keys, canonical
	 * (config.c, section_conf()). The text itself was 64 bytes a metric;
	 * two different texts share a hash with a chance of 2^-64 a compare.
	 */
	uint64_t conf_hash;
	/* filter, deadband, min_gap, window (filter.h); NULL: none */
	struct lt_filter *filter;
	/*
	 * What the DCCs get (config.c, metric_units()): publish_unit, else unit;
	 * its SI prefix and name as udunits2 gives them ("" when none); @conv
	 * turns a sample of @unit into it when @convert (the publisher does).
	 */
	char *pub_unit;
	char *pub_unit_prefix;
	char *pub_unit_name;
	struct lt_unit_conv conv;
	bool convert;
	/* counters, written by the sampler (samples, errors, last) and read elsewhere */
	_Atomic uint64_t samples;
	_Atomic uint64_t ring_dropped; /* samples lost to a full ring lane */
	_Atomic uint64_t errors;
	_Atomic uint64_t late;      /* ticks skipped because the sampler was late */
	_Atomic uint64_t last_bits; /* last value, as the bits of a double */
	_Atomic uint64_t last_ts;   /* CLOCK_REALTIME ns of the last sample, 0 = none yet */
};

struct lt_daemon_conf {
	int log_level;             /* syslog priority threshold, default LOG_INFO */
	uint32_t lane_capacity;    /* records per ring lane, power of two */
	uint64_t flush_timeout_ns; /* how long shutdown may spend delivering queued data */
	char *runtime_dir;         /* control socket folder; NULL = default */
	char *state_dir;   /* what must survive a restart (DCC registrations); NULL = default */
	char *package_dir; /* where packages load from; NULL = LT_PACKAGE_DIR */
	char *packages;    /* "NAME[@SHA256], ..." loaded at start; NULL = none */
};

struct lt_devdisc_type;
struct lt_mqtt_api;
struct lt_mqtt_conf;

/* Device discovery by message (devdisc.h): [discovery] and the types of the [profile] sections. */
struct lt_discovery_conf {
	char *pipe;                    /* [discovery] pipe, the named pipe; NULL: none */
	struct lt_devdisc_type *types; /* [profile] discovery_type and unique_key, owned */
	char **profiles;               /* the [profile] of each type */
	unsigned ntypes;
	/* [discovery] mqtt.*, the MQTT endpoint; mqtt NULL: none */
	const struct lt_mqtt_api *mqtt_api; /* transport-mqtt's, loaded for it */
	struct lt_mqtt_conf *mqtt;          /* the transport's keys, as it parsed them */
	char *mqtt_topic;                   /* mqtt.topic: the filter subscribed to */
	char *mqtt_canon; /* the edge id and every mqtt.* key: what a reload compares */
};

struct lt_model {
	struct lt_edge_system edge;
	struct lt_daemon_conf daemon;
	struct lt_dcc **dccs;
	unsigned ndccs;
	struct lt_device **devices;
	unsigned ndevices;
	/*
	 * In configuration order. Ids are unique but may have holes after a
	 * reload (an unchanged metric keeps its id): model_id_bound().
	 */
	struct lt_metric **metrics;
	unsigned nmetrics;
	unsigned nprofiles; /* [profile] sections: checked, never sampled themselves */
	struct lt_discovery_conf discovery;
	char *core_conf; /* [daemon] and [edge] keys, canonical: a change restarts all */
	char **files;    /* configuration files read, in order (also owns origin strings) */
	unsigned nfiles;
};

/* Lookup helpers (linear: models are small and lookups happen at load time). */
struct lt_dcc *model_find_dcc(const struct lt_model *m, const char *name);
struct lt_device *model_find_device(const struct lt_model *m, const char *name);
struct lt_metric *model_find_metric(const struct lt_model *m, const char *fullname);
/*
 * The metric of @dev named @name (its short name), looked for at position
 * @hint first: where it is when the device did not change, so that
 * comparing two copies of a device of 1,000 metrics is not a million name
 * comparisons. NULL when @dev has none of that name.
 */
struct lt_metric *model_device_metric(const struct lt_device *dev, const char *name, unsigned hint);
/* One more than the largest metric id (0 without metrics). */
uint32_t model_id_bound(const struct lt_model *m);
/*
 * Remove and free the model's last device and its metrics, which must be
 * the model's last (config.c checks a profile by building it, then drops it).
 */
void model_drop_last_device(struct lt_model *m);
/* The samples of @mt its filters kept back (taken, never delivered); 0 without a filter. */
uint64_t model_metric_kept_back(const struct lt_metric *mt);
/* Free a model and everything it owns (drivers' free callbacks included). NULL is fine. */
void model_free(struct lt_model *m);
/* The state folder lt_state_path() uses from now on (NULL: the default); the daemon sets it at
 * start. */
void sdk_set_state_dir(const char *dir);

#endif
