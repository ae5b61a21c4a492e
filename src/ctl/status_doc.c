/* SPDX-License-Identifier: BSD-2-Clause */
#include "status_doc.h"
#include "jtok.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * The string of token @t (with its quotes), decoded and NUL-terminated in
 * place (decoding never lengthens it; the token was consumed), its length
 * in *@len. Plain ASCII is used as it is; escapes and other bytes go
 * through jansson, which checks them (UTF-8, \u escapes). NULL: refused.
 */
static const char *tok_str(const struct jtok *t, size_t *len)
{
	char *p = (char *)t->p;
	json_t *v;

	for (size_t i = 1; i + 1 < t->len; i++)
		if (p[i] == '\\' || (unsigned char)p[i] >= 0x80)
			goto decode;
	p[t->len - 1] = '\0';
	*len = t->len - 2;
	return p + 1;
decode:
	v = json_loadb(t->p, t->len, JSON_DECODE_ANY, NULL);
	if (!v)
		return NULL;
	*len = json_string_length(v);
	memcpy(p, json_string_value(v), *len);
	p[*len] = '\0';
	json_decref(v);
	return p;
}

/*
 * A number token as jansson reads it: an integer (*@is_int) unless it has a
 * fraction or an exponent. -1 where jansson refuses it: an integer out of
 * range, a real that overflows.
 */
static int tok_num(const struct jtok *t, bool *is_int, long long *i, double *d)
{
	*is_int = !memchr(t->p, '.', t->len) && !memchr(t->p, 'e', t->len) &&
		  !memchr(t->p, 'E', t->len);
	errno = 0;
	if (*is_int) {
		*i = strtoll(t->p, NULL, 10); /* stops at the byte after the token */
		*d = (double)*i;
		return errno == ERANGE ? -1 : 0;
	}
	*d = strtod(t->p, NULL);
	*i = 0;
	return errno == ERANGE && isinf(*d) ? -1 : 0;
}

/* Consume the value @v began, checking its strings and numbers as jansson would. */
static int skip(struct jtok_scan *s, const struct jtok *v)
{
	struct jtok t = *v;
	bool is_int;
	long long i;
	double d;
	size_t len;

	for (;;) {
		if ((t.kind == JTOK_STRING || t.kind == JTOK_KEY) && !tok_str(&t, &len))
			return -1;
		if (t.kind == JTOK_NUMBER && tok_num(&t, &is_int, &i, &d) < 0)
			return -1;
		if (t.depth < v->depth || v->empty ||
		    (v->kind != JTOK_BEGIN_OBJECT && v->kind != JTOK_BEGIN_ARRAY))
			return 0;
		if (jtok_next(s, &t) != 1)
			return -1;
	}
}

/* The value @v began, parsed by jansson: NULL when refused. */
static json_t *load(struct jtok_scan *s, const struct jtok *v)
{
	const char *end;

	if (jtok_skip(s, v, &end) < 0)
		return NULL;
	return json_loadb(v->p, (size_t)(end - v->p), JSON_DECODE_ANY, NULL);
}

/*
 * Before the next member or element of @open (*@first: none read yet): 1
 * one follows; 0 @open ended with @end; -1 refused.
 */
static int more(struct jtok_scan *s, const struct jtok *open, bool *first, enum jtok_kind end)
{
	struct jtok t;

	if (open->empty)
		return 0;
	if (!*first) { /* a comma or the end */
		if (jtok_next(s, &t) != 1)
			return -1;
		if (t.kind == end)
			return 0;
	}
	*first = false;
	return 1;
}

/*
 * The next member of the object @open began (*@first: none read yet): its
 * key in *@key (*@klen bytes), its value's first token in *@v. 1; 0 at the
 * end of the object; -1 refused. The caller consumes the value.
 */
static int member(struct jtok_scan *s, const struct jtok *open, bool *first, const char **key,
		  size_t *klen, struct jtok *v)
{
	struct jtok t;
	int r = more(s, open, first, JTOK_END_OBJECT);

	if (r != 1)
		return r;
	if (jtok_next(s, &t) != 1 || !(*key = tok_str(&t, klen)) || jtok_next(s, &t) != 1 ||
	    jtok_next(s, v) != 1)
		return -1;
	return 1;
}

/* The next element of the array @open began, as member(). */
static int element(struct jtok_scan *s, const struct jtok *open, bool *first, struct jtok *v)
{
	int r = more(s, open, first, JTOK_END_ARRAY);

	if (r != 1)
		return r;
	return jtok_next(s, v) == 1 ? 1 : -1;
}

static bool is(const char *key, size_t klen, const char *name)
{
	return klen == strlen(name) && !memcmp(key, name, klen);
}

/* A member of an object set aside for jansson; keys holding a NUL cannot be looked up. */
static int keep(json_t *obj, const char *key, size_t klen, struct jtok_scan *s,
		const struct jtok *v)
{
	json_t *val = load(s, v);

	if (!val)
		return -1;
	if (klen != strlen(key)) {
		json_decref(val);
		return 0;
	}
	return json_object_set_new(obj, key, val);
}

/* A number member's value: *@is_num (and *@num) when it is one. */
static int number(struct jtok_scan *s, const struct jtok *v, bool *is_num, bool *is_int,
		  long long *i, double *d)
{
	*is_num = v->kind == JTOK_NUMBER;
	*is_int = false;
	*i = 0;
	*d = 0;
	return *is_num ? tok_num(v, is_int, i, d) : skip(s, v);
}

static int integer(struct jtok_scan *s, const struct jtok *v, long long *out)
{
	bool is_num, is_int;
	double d;
	int r = number(s, v, &is_num, &is_int, out, &d);

	if (!is_int)
		*out = 0;
	return r;
}

/* A string member's value, or @none when it is not one. */
static int string(struct jtok_scan *s, const struct jtok *v, const char **out, const char *none)
{
	size_t len;

	if (v->kind != JTOK_STRING) {
		*out = none;
		return skip(s, v);
	}
	*out = tok_str(v, &len);
	return *out ? 0 : -1;
}

static int read_filter(struct jtok_scan *s, const struct jtok *open, struct status_metric *m)
{
	static const char *const names[SD_FILTER_COUNTERS] = {
		"passed",        "dropped",          "window_sent",
		"dropped_range", "dropped_deadband", "dropped_min_gap",
	};
	bool first = true;
	const char *key;
	size_t klen;
	struct jtok v;
	int r;

	m->has_filter = true;
	m->filter_kind = NULL;
	memset(m->filter, 0, sizeof(m->filter));
	if (open->kind != JTOK_BEGIN_OBJECT)
		return skip(s, open);
	while ((r = member(s, open, &first, &key, &klen, &v)) == 1) {
		unsigned k;

		for (k = 0; k < SD_FILTER_COUNTERS && !is(key, klen, names[k]); k++)
			;
		if (is(key, klen, "kind"))
			r = string(s, &v, &m->filter_kind, NULL);
		else if (k < SD_FILTER_COUNTERS)
			r = integer(s, &v, &m->filter[k]);
		else
			r = skip(s, &v);
		if (r < 0)
			return -1;
	}
	return r;
}

static int read_metric(struct jtok_scan *s, const struct jtok *open, struct status_metric *m)
{
	bool first = true, is_num, is_int;
	const char *key;
	size_t klen;
	long long i;
	struct jtok v;
	int r;

	*m = (struct status_metric){ .name = "", .unit = "" };
	if (open->kind != JTOK_BEGIN_OBJECT)
		return skip(s, open);
	while ((r = member(s, open, &first, &key, &klen, &v)) == 1) {
		if (is(key, klen, "name"))
			r = string(s, &v, &m->name, "");
		else if (is(key, klen, "unit"))
			r = string(s, &v, &m->unit, "");
		else if (is(key, klen, "interval_s")) {
			r = number(s, &v, &is_num, &is_int, &i, &m->interval_s);
			if (is_int)
				m->interval_s = 0; /* json_real_value() of an integer */
		} else if (is(key, klen, "samples"))
			r = integer(s, &v, &m->samples);
		else if (is(key, klen, "errors"))
			r = integer(s, &v, &m->errors);
		else if (is(key, klen, "late"))
			r = integer(s, &v, &m->late);
		else if (is(key, klen, "last_value"))
			r = number(s, &v, &m->has_last, &is_int, &i, &m->last);
		else if (is(key, klen, "filter"))
			r = read_filter(s, &v, m);
		else
			r = skip(s, &v);
		if (r < 0)
			return -1;
	}
	return r;
}

static int read_metrics(struct status_doc *d, struct jtok_scan *s, const struct jtok *open,
			struct status_device *dev)
{
	bool first = true;
	struct jtok v;
	int r;

	dev->first = d->nmetrics;
	dev->n = 0;
	while ((r = element(s, open, &first, &v)) == 1) {
		if (d->nmetrics == d->metrics_cap) {
			size_t cap = d->metrics_cap ? 2 * d->metrics_cap : 256;
			void *p = realloc(d->metrics, cap * sizeof(*d->metrics));

			if (!p)
				return -1;
			d->metrics = p;
			d->metrics_cap = cap;
		}
		if (read_metric(s, &v, &d->metrics[d->nmetrics]) < 0)
			return -1;
		d->nmetrics++;
		dev->n++;
	}
	return r;
}

static int read_device(struct status_doc *d, struct jtok_scan *s, const struct jtok *open,
		       struct status_device *dev)
{
	bool first = true;
	const char *key;
	size_t klen;
	struct jtok v;
	int r;

	*dev = (struct status_device){ .first = d->nmetrics };
	if (open->kind != JTOK_BEGIN_OBJECT) {
		dev->obj = load(s, open);
		return dev->obj ? 0 : -1;
	}
	dev->obj = json_object();
	if (!dev->obj)
		return -1;
	while ((r = member(s, open, &first, &key, &klen, &v)) == 1) {
		if (is(key, klen, "metrics") && v.kind == JTOK_BEGIN_ARRAY)
			r = read_metrics(d, s, &v, dev);
		else if (is(key, klen, "metrics")) /* not an array: no metrics */
			r = (dev->n = 0, skip(s, &v));
		else
			r = keep(dev->obj, key, klen, s, &v);
		if (r < 0)
			return -1;
	}
	return r;
}

static void drop_devices(struct status_doc *d)
{
	for (size_t i = 0; i < d->ndevs; i++)
		json_decref(d->devs[i].obj);
	d->ndevs = 0;
}

static int read_devices(struct status_doc *d, struct jtok_scan *s, const struct jtok *open)
{
	bool first = true;
	struct jtok v;
	int r;

	drop_devices(d); /* a member given twice: the last one counts, as in jansson */
	while ((r = element(s, open, &first, &v)) == 1) {
		if (d->ndevs == d->devs_cap) {
			size_t cap = d->devs_cap ? 2 * d->devs_cap : 16;
			void *p = realloc(d->devs, cap * sizeof(*d->devs));

			if (!p)
				return -1;
			d->devs = p;
			d->devs_cap = cap;
		}
		r = read_device(d, s, &v, &d->devs[d->ndevs]);
		if (d->devs[d->ndevs].obj)
			d->ndevs++;
		if (r < 0)
			return -1;
	}
	return r;
}

static int read_top(struct status_doc *d, struct jtok_scan *s, const struct jtok *open)
{
	bool first = true;
	const char *key;
	size_t klen;
	struct jtok v;
	int r;

	d->top = json_object();
	if (!d->top)
		return -1;
	while ((r = member(s, open, &first, &key, &klen, &v)) == 1) {
		if (is(key, klen, "devices") && v.kind == JTOK_BEGIN_ARRAY)
			r = read_devices(d, s, &v);
		else if (is(key, klen, "devices"))
			r = (drop_devices(d), skip(s, &v));
		else
			r = keep(d->top, key, klen, s, &v);
		if (r < 0)
			return -1;
	}
	return r;
}

int status_doc_read(struct status_doc *d, char *text, size_t len)
{
	struct jtok_scan s;
	struct jtok t;
	int r;

	*d = (struct status_doc){ .text = text };
	jtok_init(&s, text, len);
	if (jtok_next(&s, &t) != 1)
		goto fail;
	if (t.kind == JTOK_BEGIN_OBJECT) {
		r = read_top(d, &s, &t);
	} else if (t.kind != JTOK_BEGIN_ARRAY) {
		goto fail; /* jansson takes no scalar document */
	} else {
		/* An array: nothing of it is printed, but it must be JSON. */
		d->top = load(&s, &t);
		r = d->top ? 0 : -1;
	}
	if (r < 0 || jtok_next(&s, &t) != 0)
		goto fail;
	return 0;
fail:
	status_doc_free(d);
	return -1;
}

void status_doc_free(struct status_doc *d)
{
	drop_devices(d);
	json_decref(d->top);
	free(d->devs);
	free(d->metrics);
	free(d->text);
	*d = (struct status_doc){ 0 };
}
