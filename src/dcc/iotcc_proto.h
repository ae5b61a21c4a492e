/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liota's IoTCC protocol (message version 20171118), without any I/O:
 * building the requests and the add_stats data messages, parsing the
 * responses, the table of requests waiting for their response, the
 * names IoTCC accepts, and the file that keeps
 * the registered uuids across restarts.
 *
 * Every request is {"transactionID": N, "version": 20171118, "type": T,
 * "body": {...}}; its response carries the same transactionID and the type
 * T with "_request" replaced by "_response". As in liota, the "id" of an
 * entity in a body is liotad's own stable id for it (the edge id, a v5 UUID
 * per device), the "uuid" is what IoTCC answered to create_or_find.
 */
#ifndef LT_IOTCC_PROTO_H
#define LT_IOTCC_PROTO_H

#include <liota/liota.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IOTCC_VERSION   20171118
#define IOTCC_MSG_MAX   (64 * 1024) /* longest message accepted or sent */
#define IOTCC_NAME_MAX  50          /* names and kinds (liota's _assert_input) */
#define IOTCC_KEY_MAX   100         /* property keys */
#define IOTCC_VALUE_MAX 255         /* property values */
#define IOTCC_ID_MAX    64          /* ids and uuids we accept */
#define IOTCC_KIND_EDGE "HelixGateway"

enum iotcc_type {
	IOTCC_CREATE, /* create_or_find_resource */
	IOTCC_RELATE, /* create_relationship */
	IOTCC_PROPS,  /* add_properties */
	IOTCC_REMOVE, /* remove_resource */
	IOTCC_NTYPES
};

/* "create_or_find_resource" etc.: the request type without "_request". */
const char *iotcc_type_name(enum iotcc_type t);

/* An entity as the bodies name it. */
struct iotcc_ref {
	const char *kind;
	const char *id;
	const char *name;
};

struct iotcc_prop {
	const char *key;
	const char *value;
};

/*
 * iotcc_check_text - @s is 1..@max characters of [A-Za-z0-9 ._-], what
 * IoTCC accepts in names, kinds and properties. -EINVAL with a reason
 * naming @what otherwise.
 */
int iotcc_check_text(const char *what, const char *s, size_t max, char *err, size_t errlen);

/*
 * iotcc_local_id - the stable id of a device: an RFC 4122 version-5 UUID
 * of @name in the namespace of the edge id @edge_id (itself a UUID string).
 * -EINVAL when @edge_id is not a UUID.
 */
int iotcc_local_id(const char *edge_id, const char *name, char out[37]);

/*
 * Requests, as malloc'd NUL-terminated compact JSON (NULL without memory).
 * Nothing is checked here: the caller has checked names with
 * iotcc_check_text().
 */
char *iotcc_create_msg(uint64_t tid, const struct iotcc_ref *r);
char *iotcc_relate_msg(uint64_t tid, const struct iotcc_ref *parent, const struct iotcc_ref *child);
char *iotcc_props_msg(uint64_t tid, const struct iotcc_ref *r, uint64_t ts_ms,
		      const struct iotcc_prop *p, size_t n);
char *iotcc_remove_msg(uint64_t tid, const struct iotcc_ref *r);

/*
 * iotcc_stats_msg - an add_stats message (no transactionID, no response)
 * for samples @s[0..n) of the metric @stat_key of @parent: timestamps in
 * milliseconds, values in the shortest form that reads back as the same
 * double. Takes as many samples as fit in IOTCC_MSG_MAX (at least one) and
 * says how many in *@used; non-finite values (JSON has none) are skipped
 * and counted in *@bad (they are part of *@used). Returns the malloc'd
 * message with its length in *@len, or NULL when no sample of the used ones
 * could be encoded (all non-finite) or memory ran out (*@len = 0 then, and
 * *@used = 0 for the latter).
 */
char *iotcc_stats_msg(const struct iotcc_ref *parent, const char *stat_key,
		      const struct lt_sample *s, size_t n, size_t *used, size_t *bad, size_t *len);

/* A response, as iotcc_parse() found it. */
struct iotcc_resp {
	uint64_t tid;
	enum iotcc_type type;
	bool ok;                       /* result "succeeded" (create: and a uuid) */
	char uuid[IOTCC_ID_MAX + 1];   /* create: body.uuid ("" when none) */
	char id[IOTCC_ID_MAX + 1];     /* body.id when given, else "" */
	char kind[IOTCC_NAME_MAX + 1]; /* body.kind when given, else "" */
	char name[IOTCC_NAME_MAX + 1]; /* body.name when given, else "" */
	char result[IOTCC_ID_MAX + 1]; /* body.result as received, "" when none */
};

/*
 * iotcc_parse - read one message from IoTCC. Returns 0 for a well-formed
 * response (ok or not), or: -EMSGSIZE (longer than IOTCC_MSG_MAX),
 * -EBADMSG (not JSON, not an object, a field missing or of the wrong
 * type), -EPROTO (another protocol version), -ENOMSG (well formed, but of
 * a type that is not a response to a request of ours). @err gets a reason
 * (for -ENOMSG: the type).
 */
int iotcc_parse(const char *buf, size_t len, struct iotcc_resp *r, char *err, size_t errlen);

/*
 * iotcc_resp_matches - is @r an answer to a request of @type about @ent?
 * Its type must be @type's response, and each of body.id, kind and name
 * that it gives must be @ent's. false with a reason in @why otherwise.
 */
bool iotcc_resp_matches(const struct iotcc_resp *r, enum iotcc_type type,
			const struct iotcc_ref *ent, char *why, size_t whylen);

/*
 * The requests waiting for their response. A request is "sent" (waiting
 * for the response until its deadline) or "idle" (to be sent when the
 * transport is up and its back-off has passed). A retry gets a new
 * transactionID: a late answer to the old one is then recognised as late.
 * transactionIDs are random even numbers below 2^53 (getrandom(2)).
 */
struct iotcc_pending {
	uint64_t tid;   /* 0 while idle */
	int64_t due_ns; /* sent: response deadline; idle: earliest next send */
	enum iotcc_type type;
	unsigned attempts;
	void *owner; /* what the request is about (the DCC's entity) */
};

#define IOTCC_LATE_MEMORY 64

struct iotcc_table {
	struct iotcc_pending *v;
	size_t n, cap;
	uint64_t late[IOTCC_LATE_MEMORY]; /* transactionIDs given up on, for the log */
	unsigned late_pos;
};

void iotcc_table_init(struct iotcc_table *t);
void iotcc_table_free(struct iotcc_table *t);
/* A new idle request, due at once; -ENOMEM. */
int iotcc_table_add(struct iotcc_table *t, enum iotcc_type type, void *owner);
/* Give @p a fresh transactionID and mark it sent with a deadline. Returns the id. */
uint64_t iotcc_table_sent(struct iotcc_table *t, struct iotcc_pending *p, int64_t deadline_ns);
/* Back to idle, to be sent again at @due_ns; the old id is remembered as late. */
void iotcc_table_retry(struct iotcc_table *t, struct iotcc_pending *p, int64_t due_ns);
/* The sent request with transactionID @tid, or NULL. */
struct iotcc_pending *iotcc_table_find(struct iotcc_table *t, uint64_t tid);
/* Whether @tid was given up on (timed out or resent). */
bool iotcc_table_was_late(const struct iotcc_table *t, uint64_t tid);
/* Forget @p (answered); pointers to later entries move. */
void iotcc_table_del(struct iotcc_table *t, struct iotcc_pending *p);
/* Forget every request of @owner. */
void iotcc_table_del_owner(struct iotcc_table *t, const void *owner);
/* Is a request of @type for @owner waiting? */
bool iotcc_table_has(const struct iotcc_table *t, enum iotcc_type type, const void *owner);

/* One registration that survives a restart (the state file). */
struct iotcc_saved {
	char kind[IOTCC_NAME_MAX + 1];
	char name[IOTCC_NAME_MAX + 1];
	char id[IOTCC_ID_MAX + 1];
	char uuid[IOTCC_ID_MAX + 1];
};

/*
 * iotcc_state_load - read the state file @path: *@out (malloc'd, may be
 * NULL when *@n is 0). A missing file is no registration (0). A file that
 * cannot be read or parsed gives -EBADMSG / -errno with a reason; bad
 * entries in an otherwise good file are skipped.
 */
int iotcc_state_load(const char *path, struct iotcc_saved **out, size_t *n, char *err,
		     size_t errlen);
/* iotcc_state_save - write it atomically with lt_file_replace() (trust.h): in a
 * folder of our own, never through a link, fsync'd, renamed, folder fsync'd. */
int iotcc_state_save(const char *path, const struct iotcc_saved *v, size_t n, char *err,
		     size_t errlen);

#endif
