/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * IoTCC messages: building, parsing, the pending-request table and the
 * state file. No I/O but the state file's.
 *
 * Requests are built with jansson (compact, keys in insertion order, which
 * is the order liota wrote them in). add_stats, the one message per batch
 * of samples, is written by hand: jansson prints doubles with 17 digits,
 * while lt_fmt_double() gives the shortest text that reads back exactly.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "dcc/iotcc_proto.h"
#include "trust.h"
#include "util.h"

static const char *const type_names[IOTCC_NTYPES] = {
	[IOTCC_CREATE] = "create_or_find_resource",
	[IOTCC_RELATE] = "create_relationship",
	[IOTCC_PROPS] = "add_properties",
	[IOTCC_REMOVE] = "remove_resource",
};

const char *iotcc_type_name(enum iotcc_type t)
{
	return t < IOTCC_NTYPES ? type_names[t] : "?";
}

/* ---- names ---------------------------------------------------------------- */

static bool text_char(unsigned char c)
{
	return isalnum(c) && c < 0x80 ? true : c == ' ' || c == '.' || c == '_' || c == '-';
}

int iotcc_check_text(const char *what, const char *s, size_t max, char *err, size_t errlen)
{
	size_t n = strlen(s);

	if (!n) {
		snprintf(err, errlen, "%s is empty: IoTCC needs 1 to %zu characters", what, max);
		return -EINVAL;
	}
	if (n > max) {
		snprintf(err, errlen,
			 "%s '%.60s...' is %zu characters long: IoTCC takes at most %zu", what, s,
			 n, max);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!text_char((unsigned char)s[i])) {
			snprintf(err, errlen,
				 "%s '%s' has a character IoTCC refuses (allowed: A-Z a-z 0-9 "
				 "space . _ -)",
				 what, s);
			return -EINVAL;
		}
	}
	return 0;
}

/* An id or uuid as we accept it from IoTCC or a state file. */
static bool id_text(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > IOTCC_ID_MAX || !strcmp(s, "null"))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) && (unsigned char)s[i] < 0x80) && s[i] != '-')
			return false;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int iotcc_local_id(const char *edge_id, const char *name, char out[37])
{
	unsigned char ns[16], md[20];
	size_t nlen = strlen(name), k = 0;
	unsigned char *in;

	for (const char *p = edge_id; *p; p++) {
		int hi, lo;

		if (*p == '-')
			continue;
		hi = hexval(p[0]);
		lo = p[1] ? hexval(p[1]) : -1;
		if (hi < 0 || lo < 0 || k == 16)
			return -EINVAL;
		ns[k++] = (unsigned char)(hi << 4 | lo);
		p++;
	}
	if (k != 16)
		return -EINVAL;
	in = malloc(16 + nlen);
	if (!in)
		return -ENOMEM;
	memcpy(in, ns, 16);
	memcpy(in + 16, name, nlen);
	if (!gcry_check_version(NULL)) {
		free(in);
		return -EIO;
	}
	gcry_md_hash_buffer(GCRY_MD_SHA1, md, in, 16 + nlen);
	free(in);
	md[6] = (md[6] & 0x0f) | 0x50; /* version 5 */
	md[8] = (md[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8], md[9], md[10],
		 md[11], md[12], md[13], md[14], md[15]);
	return 0;
}

/* ---- requests ------------------------------------------------------------- */

static json_t *ref_json(const struct iotcc_ref *r)
{
	return json_pack("{s:s, s:s, s:s}", "kind", r->kind, "id", r->id, "name", r->name);
}

/* Wrap @body (stolen) in the request envelope and print it. */
static char *request(uint64_t tid, enum iotcc_type type, json_t *body)
{
	char tname[64];
	json_t *root;
	char *out;

	if (!body)
		return NULL;
	snprintf(tname, sizeof(tname), "%s_request", iotcc_type_name(type));
	root = json_pack("{s:I, s:i, s:s, s:o}", "transactionID", (json_int_t)tid, "version",
			 IOTCC_VERSION, "type", tname, "body", body);
	if (!root)
		return NULL;
	out = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return out;
}

char *iotcc_create_msg(uint64_t tid, const struct iotcc_ref *r)
{
	return request(tid, IOTCC_CREATE, ref_json(r));
}

char *iotcc_relate_msg(uint64_t tid, const struct iotcc_ref *parent, const struct iotcc_ref *child)
{
	json_t *p = ref_json(parent), *c = ref_json(child);

	if (!p || !c) {
		json_decref(p);
		json_decref(c);
		return NULL;
	}
	return request(tid, IOTCC_RELATE, json_pack("{s:o, s:o}", "parent", p, "child", c));
}

char *iotcc_props_msg(uint64_t tid, const struct iotcc_ref *r, uint64_t ts_ms,
		      const struct iotcc_prop *p, size_t n)
{
	json_t *list = json_array(), *body;

	if (!list)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(list, json_pack("{s:s, s:s}", "propertyKey", p[i].key,
							  "propertyValue", p[i].value)) < 0) {
			json_decref(list);
			return NULL;
		}
	}
	body = json_pack("{s:s, s:s, s:s, s:I, s:o}", "kind", r->kind, "id", r->id, "name", r->name,
			 "timestamp", (json_int_t)ts_ms, "property_data", list);
	return request(tid, IOTCC_PROPS, body);
}

char *iotcc_remove_msg(uint64_t tid, const struct iotcc_ref *r)
{
	return request(tid, IOTCC_REMOVE, ref_json(r));
}

/* ---- add_stats -------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* A JSON string; our names are checked, but a stray byte must not break the JSON. */
static void sb_json_str(struct sbuf *b, const char *s)
{
	sb_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			sb_put(b, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			sb_put(b, esc, 6);
		} else {
			sb_put(b, (const char *)&c, 1);
		}
	}
	sb_put(b, "\"", 1);
}

char *iotcc_stats_msg(const struct iotcc_ref *parent, const char *stat_key,
		      const struct lt_sample *s, size_t n, size_t *used, size_t *bad, size_t *len)
{
	static const char mid[] = "],\"data\":[", tail[] = "]}]}}";
	struct sbuf head = { 0 }, ts = { 0 }, vals = { 0 }, out = { 0 };
	size_t i, good = 0;

	*used = *bad = *len = 0;
	sb_str(&head, "{\"type\":\"add_stats\",\"version\":");
	sb_str(&head, "20171118");
	sb_str(&head, ",\"body\":{\"kind\":");
	sb_json_str(&head, parent->kind);
	sb_str(&head, ",\"id\":");
	sb_json_str(&head, parent->id);
	sb_str(&head, ",\"name\":");
	sb_json_str(&head, parent->name);
	sb_str(&head, ",\"metric_data\":[{\"statKey\":");
	sb_json_str(&head, stat_key);
	sb_str(&head, ",\"timestamps\":[");
	for (i = 0; i < n && !head.oom && !ts.oom && !vals.oom; i++) {
		char t[32], v[40];
		int tl, vl = lt_fmt_double(v + 1, sizeof(v) - 1, s[i].value);

		if (vl < 0) {
			(*bad)++;
			continue;
		}
		tl = snprintf(t + 1, sizeof(t) - 1, "%llu",
			      (unsigned long long)(s[i].ts_ns / 1000000u));
		t[0] = v[0] = ',';
		/* The first sample always goes, even alone over the limit. */
		if (good && head.len + ts.len + vals.len + (size_t)tl + (size_t)vl + 2 +
					    sizeof(mid) + sizeof(tail) >
				    IOTCC_MSG_MAX)
			break;
		sb_put(&ts, good ? t : t + 1, (size_t)tl + (good ? 1 : 0));
		sb_put(&vals, good ? v : v + 1, (size_t)vl + (good ? 1 : 0));
		good++;
	}
	*used = i;
	if (good && !head.oom && !ts.oom && !vals.oom) {
		sb_put(&out, head.p, head.len);
		sb_put(&out, ts.p, ts.len);
		sb_put(&out, mid, sizeof(mid) - 1);
		sb_put(&out, vals.p, vals.len);
		sb_put(&out, tail, sizeof(tail) - 1);
	}
	if (head.oom || ts.oom || vals.oom || out.oom) {
		free(out.p);
		out.p = NULL;
		*used = *bad = 0;
	} else if (out.p) {
		*len = out.len;
	}
	free(head.p);
	free(ts.p);
	free(vals.p);
	return out.p;
}

/* ---- responses ------------------------------------------------------------ */

/* Copy a peer's string for a log line: printable ASCII only, bounded. */
static void safe_copy(char *dst, size_t dlen, const char *src)
{
	size_t i;

	if (!dlen)
		return;
	for (i = 0; src[i] && i + 1 < dlen; i++)
		dst[i] = (unsigned char)src[i] >= 0x20 && (unsigned char)src[i] < 0x7f ? src[i]
										       : '?';
	dst[i] = '\0';
}

static int bad(char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	return -EBADMSG;
}

static int parse_root(json_t *root, struct iotcc_resp *r, char *err, size_t errlen)
{
	json_t *type = json_object_get(root, "type"), *ver = json_object_get(root, "version");
	json_t *tid = json_object_get(root, "transactionID"), *body = json_object_get(root, "body");
	json_t *res, *id, *uuid, *kind, *name;
	const char *t;
	size_t tl, i;
	char shown[48];

	if (!json_is_string(type))
		return bad(err, errlen, "no \"type\" string");
	if (!json_is_integer(ver))
		return bad(err, errlen, "no integer \"version\"");
	if (json_integer_value(ver) != IOTCC_VERSION) {
		snprintf(err, errlen, "protocol version %lld, expected %d",
			 (long long)json_integer_value(ver), IOTCC_VERSION);
		return -EPROTO;
	}
	t = json_string_value(type);
	tl = json_string_length(type);
	safe_copy(shown, sizeof(shown), t);
	for (i = 0; i < IOTCC_NTYPES; i++) {
		size_t nl = strlen(type_names[i]);

		if (tl == nl + 9 && !memcmp(t, type_names[i], nl) && !strcmp(t + nl, "_response"))
			break;
	}
	if (i == IOTCC_NTYPES) {
		snprintf(err, errlen, "type \"%s\"", shown);
		return -ENOMSG;
	}
	r->type = (enum iotcc_type)i;
	if (!json_is_integer(tid) || json_integer_value(tid) < 0)
		return bad(err, errlen, "no transactionID (a non-negative integer)");
	r->tid = (uint64_t)json_integer_value(tid);
	if (!json_is_object(body))
		return bad(err, errlen, "no \"body\" object");
	res = json_object_get(body, "result");
	id = json_object_get(body, "id");
	uuid = json_object_get(body, "uuid");
	if (res && !json_is_string(res))
		return bad(err, errlen, "body.result is not a string");
	if (res)
		safe_copy(r->result, sizeof(r->result), json_string_value(res));
	if (id && (!json_is_string(id) || !id_text(json_string_value(id))))
		return bad(err, errlen, "body.id is not an id");
	if (id)
		snprintf(r->id, sizeof(r->id), "%s", json_string_value(id));
	/* The entity named, when the peer names it (liota's peers echo the request's). */
	kind = json_object_get(body, "kind");
	name = json_object_get(body, "name");
	if (kind && (!json_is_string(kind) || !json_string_length(kind) ||
		     json_string_length(kind) > IOTCC_NAME_MAX))
		return bad(err, errlen, "body.kind is not a name");
	if (name && (!json_is_string(name) || !json_string_length(name) ||
		     json_string_length(name) > IOTCC_NAME_MAX))
		return bad(err, errlen, "body.name is not a name");
	if (kind)
		safe_copy(r->kind, sizeof(r->kind), json_string_value(kind));
	if (name)
		safe_copy(r->name, sizeof(r->name), json_string_value(name));
	if (r->type != IOTCC_CREATE) {
		r->ok = res && !strcmp(json_string_value(res), "succeeded");
		return 0;
	}
	if (uuid && !json_is_string(uuid))
		return bad(err, errlen, "body.uuid is not a string");
	if (uuid && strcmp(json_string_value(uuid), "null")) {
		if (!id_text(json_string_value(uuid)))
			return bad(err, errlen, "body.uuid is not a uuid");
		snprintf(r->uuid, sizeof(r->uuid), "%s", json_string_value(uuid));
	}
	r->ok = r->uuid[0] && (!res || !strcmp(json_string_value(res), "succeeded"));
	return 0;
}

bool iotcc_resp_matches(const struct iotcc_resp *r, enum iotcc_type type,
			const struct iotcc_ref *ent, char *why, size_t whylen)
{
	const char *field = NULL, *got = NULL, *want = NULL;

	if (r->type != type) {
		snprintf(why, whylen, "a %s_response to a %s_request", iotcc_type_name(r->type),
			 iotcc_type_name(type));
		return false;
	}
	if (r->id[0] && strcmp(r->id, ent->id))
		field = "id", got = r->id, want = ent->id;
	else if (r->kind[0] && strcmp(r->kind, ent->kind))
		field = "kind", got = r->kind, want = ent->kind;
	else if (r->name[0] && strcmp(r->name, ent->name))
		field = "name", got = r->name, want = ent->name;
	if (!field)
		return true;
	snprintf(why, whylen, "it names %s \"%s\", the request was for \"%s\"", field, got, want);
	return false;
}

int iotcc_parse(const char *buf, size_t len, struct iotcc_resp *r, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	memset(r, 0, sizeof(*r));
	if (len > IOTCC_MSG_MAX) {
		snprintf(err, errlen, "%zu bytes, more than %d", len, IOTCC_MSG_MAX);
		return -EMSGSIZE;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		char why[sizeof(jerr.text)];

		safe_copy(why, sizeof(why), jerr.text);
		snprintf(err, errlen, "not JSON: %s", why);
		return -EBADMSG;
	}
	ret = json_is_object(root) ? parse_root(root, r, err, errlen)
				   : bad(err, errlen, "not a JSON object");
	json_decref(root);
	if (ret < 0 && ret != -ENOMSG)
		memset(r, 0, sizeof(*r));
	return ret;
}

/* ---- pending requests ----------------------------------------------------- */

void iotcc_table_init(struct iotcc_table *t)
{
	memset(t, 0, sizeof(*t));
}

void iotcc_table_free(struct iotcc_table *t)
{
	free(t->v);
	iotcc_table_init(t);
}

int iotcc_table_add(struct iotcc_table *t, enum iotcc_type type, void *owner)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct iotcc_pending *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = (struct iotcc_pending){ .type = type, .owner = owner, .due_ns = 0 };
	return 0;
}

/*
 * An even id (as liota's _next_id() makes them) drawn at random below 2^53
 * (exact in any peer's JSON numbers): a client that may publish on the
 * response topic but cannot read the requests cannot guess one. Never 0
 * (idle), nor one in use or remembered as late.
 */
static uint64_t random_tid(struct iotcc_table *t)
{
	for (;;) {
		uint64_t v;

		/* 8 bytes from the kernel's pool: whole, once it is initialised. */
		if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
			continue;
		v &= (1ull << 53) - 2;
		if (v && !iotcc_table_find(t, v) && !iotcc_table_was_late(t, v))
			return v;
	}
}

uint64_t iotcc_table_sent(struct iotcc_table *t, struct iotcc_pending *p, int64_t deadline_ns)
{
	p->tid = random_tid(t);
	p->due_ns = deadline_ns;
	p->attempts++;
	return p->tid;
}

static void remember_late(struct iotcc_table *t, uint64_t tid)
{
	if (!tid)
		return;
	t->late[t->late_pos] = tid;
	t->late_pos = (t->late_pos + 1) % IOTCC_LATE_MEMORY;
}

void iotcc_table_retry(struct iotcc_table *t, struct iotcc_pending *p, int64_t due_ns)
{
	remember_late(t, p->tid);
	p->tid = 0;
	p->due_ns = due_ns;
}

struct iotcc_pending *iotcc_table_find(struct iotcc_table *t, uint64_t tid)
{
	if (!tid)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].tid == tid)
			return &t->v[i];
	return NULL;
}

bool iotcc_table_was_late(const struct iotcc_table *t, uint64_t tid)
{
	if (!tid)
		return false;
	for (size_t i = 0; i < IOTCC_LATE_MEMORY; i++)
		if (t->late[i] == tid)
			return true;
	return false;
}

void iotcc_table_del(struct iotcc_table *t, struct iotcc_pending *p)
{
	size_t i = (size_t)(p - t->v);

	if (i >= t->n)
		return;
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*p));
	t->n--;
}

void iotcc_table_del_owner(struct iotcc_table *t, const void *owner)
{
	size_t j = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i].owner == owner)
			remember_late(t, t->v[i].tid);
		else
			t->v[j++] = t->v[i];
	}
	t->n = j;
}

bool iotcc_table_has(const struct iotcc_table *t, enum iotcc_type type, const void *owner)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].type == type && t->v[i].owner == owner)
			return true;
	return false;
}

/* ---- the state file --------------------------------------------------------- */

static bool saved_ok(const struct iotcc_saved *s)
{
	char err[8];

	return !iotcc_check_text("kind", s->kind, IOTCC_NAME_MAX, err, sizeof(err)) &&
	       !iotcc_check_text("name", s->name, IOTCC_NAME_MAX, err, sizeof(err)) &&
	       id_text(s->id) && id_text(s->uuid);
}

static void copy_field(char *dst, size_t dlen, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_is_string(v) ? json_string_value(v) : "";

	/* Too long: emptied, so that saved_ok() refuses it rather than truncating. */
	if (strlen(s) >= dlen)
		s = "";
	snprintf(dst, dlen, "%s", s);
}

int iotcc_state_load(const char *path, struct iotcc_saved **out, size_t *n, char *err,
		     size_t errlen)
{
	json_error_t jerr;
	json_t *root, *list;
	struct iotcc_saved *v;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "%s: %s", path, jerr.text);
		return -EBADMSG;
	}
	list = json_object_get(root, "entities");
	if (!json_is_array(list)) {
		snprintf(err, errlen, "%s: no \"entities\" list", path);
		json_decref(root);
		return -EBADMSG;
	}
	v = calloc(json_array_size(list) + 1, sizeof(*v));
	if (!v) {
		json_decref(root);
		return -ENOMEM;
	}
	for (i = 0; i < json_array_size(list); i++) {
		json_t *e = json_array_get(list, i);

		copy_field(v[k].kind, sizeof(v[k].kind), e, "kind");
		copy_field(v[k].name, sizeof(v[k].name), e, "name");
		copy_field(v[k].id, sizeof(v[k].id), e, "id");
		copy_field(v[k].uuid, sizeof(v[k].uuid), e, "uuid");
		if (saved_ok(&v[k]))
			k++;
	}
	json_decref(root);
	*out = v;
	*n = k;
	return 0;
}

int iotcc_state_save(const char *path, const struct iotcc_saved *v, size_t n, char *err,
		     size_t errlen)
{
	json_t *root = json_pack("{s:i, s:[]}", "version", 1, "entities"), *list;
	char *text, *line;
	size_t len;
	int r = 0;

	if (!root)
		return -ENOMEM;
	list = json_object_get(root, "entities");
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "kind", v[i].kind,
							  "name", v[i].name, "id", v[i].id, "uuid",
							  v[i].uuid)) < 0)
			r = -ENOMEM;
	text = r ? NULL : json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	if (!text)
		return -ENOMEM;
	len = strlen(text);
	line = realloc(text, len + 2); /* a text file: ends with a newline */
	if (!line) {
		free(text);
		return -ENOMEM;
	}
	memcpy(line + len, "\n", 2);
	/* In the verified state folder, never through a link (trust.h). */
	r = lt_file_replace(path, line, len + 1, 0640, err, errlen);
	free(line);
	return r;
}
