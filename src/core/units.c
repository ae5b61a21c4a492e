/* SPDX-License-Identifier: BSD-2-Clause */
#include "units.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <udunits2.h>

struct lt_units {
	ut_system *sys;
	char *xml; /* the database's main file, read again for suggestions */
};

/* The SI prefixes, longest symbol first so that "da" wins over "d". */
static const struct {
	const char *sym, *name;
	double value;
} si_prefixes[] = {
	{ "da", "deca", 1e1 },  { "Y", "yotta", 1e24 },  { "Z", "zetta", 1e21 },
	{ "E", "exa", 1e18 },   { "P", "peta", 1e15 },   { "T", "tera", 1e12 },
	{ "G", "giga", 1e9 },   { "M", "mega", 1e6 },    { "k", "kilo", 1e3 },
	{ "h", "hecto", 1e2 },  { "d", "deci", 1e-1 },   { "c", "centi", 1e-2 },
	{ "m", "milli", 1e-3 }, { "u", "micro", 1e-6 },  { "\xc2\xb5", "micro", 1e-6 },
	{ "n", "nano", 1e-9 },  { "p", "pico", 1e-12 },  { "f", "femto", 1e-15 },
	{ "a", "atto", 1e-18 }, { "z", "zepto", 1e-21 }, { "y", "yocto", 1e-24 },
};

struct lt_units *lt_units_open(char *err, size_t errlen)
{
	struct lt_units *u;
	ut_status st;
	const char *path;

	/* udunits2 prints its own complaints to stderr by default: we report ours. */
	ut_set_error_message_handler(ut_ignore);
	path = ut_get_path_xml(NULL, &st);
	u = xcalloc(1, sizeof(*u));
	u->sys = ut_read_xml(NULL);
	if (!u->sys) {
		snprintf(err, errlen,
			 "the udunits2 unit database %s cannot be read (install the Debian "
			 "package libudunits2-data or set UDUNITS2_XML_PATH)",
			 path ? path : "(none)");
		free(u);
		return NULL;
	}
	u->xml = xstrdup(path);
	return u;
}

void lt_units_close(struct lt_units *u)
{
	if (!u)
		return;
	ut_free_system(u->sys);
	free(u->xml);
	free(u);
	/*
	 * The system is thousands of small blocks: without this, glibc keeps
	 * their pages and a running liotad stays ~0.4 MB larger (benchmarks.md).
	 */
	malloc_trim(0);
}

/* ---- suggestions: only on the error path, from the database's files ---- */

struct words {
	char **v;
	size_t n;
};

static void words_add(struct words *w, const char *s, size_t len)
{
	if (!len || len > 64)
		return;
	w->v = xrealloc(w->v, (w->n + 1) * sizeof(*w->v));
	w->v[w->n++] = xasprintf("%.*s", (int)len, s);
}

static char *file_slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, got;

	if (!f)
		return NULL;
	for (;;) {
		buf = xrealloc(buf, len + 65536 + 1);
		got = fread(buf + len, 1, 65536, f);
		len += got;
		if (got < 65536)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/*
 * The text of every <singular>, <plural>, <symbol> and leaf <name> of a
 * database file, outside <prefix> elements: the units' names and symbols.
 * A scan, not an XML parser: the files are udunits2's own, read only to
 * word an error message.
 */
static void words_scan(struct words *w, const char *text)
{
	static const char *const tags[] = { "<singular>", "<plural>", "<symbol>", "<name>" };
	const char *p = text;

	while ((p = strchr(p, '<'))) {
		if (!strncmp(p, "<prefix>", 8)) {
			const char *end = strstr(p, "</prefix>");

			if (!end)
				return;
			p = end + 9;
			continue;
		}
		for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
			size_t tl = strlen(tags[i]);
			const char *s = p + tl, *e;

			if (strncmp(p, tags[i], tl))
				continue;
			s += strspn(s, " \t\n");
			e = strchr(s, '<');
			if (e && *s != '<') {
				while (e > s && isspace((unsigned char)e[-1]))
					e--;
				words_add(w, s, (size_t)(e - s));
			}
			break;
		}
		p++;
	}
}

/* The main file and the files it imports (<import>NAME</import>, beside it). */
static void words_load(const struct lt_units *u, struct words *w)
{
	char *main_text = file_slurp(u->xml), *dir = xstrdup(u->xml), *slash, *p;

	slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	else
		dir[0] = '\0';
	for (p = main_text; p && (p = strstr(p, "<import>"));) {
		char *e = strstr(p += 8, "</import>"), *path, *text;

		if (!e)
			break;
		path = *p == '/' ? xasprintf("%.*s", (int)(e - p), p)
				 : xasprintf("%s%.*s", dir, (int)(e - p), p);
		text = file_slurp(path);
		if (text)
			words_scan(w, text);
		free(text);
		free(path);
		p = e;
	}
	if (main_text)
		words_scan(w, main_text);
	free(main_text);
	free(dir);
}

static void words_free(struct words *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	free(w->v);
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[66];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

static bool parses(const struct lt_units *u, const char *s)
{
	ut_unit *x = ut_parse(u->sys, s, UT_UTF8);

	ut_free(x);
	return x != NULL;
}

/*
 * An SI prefix and a symbol, each equal to @spec's but for case: "kpa" and
 * "KPa" -> "kPa", "mv" -> "mV". Prefixes of the right case are tried first.
 */
static char *prefixed_case(const struct lt_units *u, const struct words *w, const char *spec)
{
	for (int exact = 1; exact >= 0; exact--)
		for (size_t i = 0; i < ARRAY_SIZE(si_prefixes); i++) {
			const char *sym = si_prefixes[i].sym;
			size_t pl = strlen(sym);

			if (!spec[pl] ||
			    (exact ? strncmp(spec, sym, pl) : strncasecmp(spec, sym, pl)))
				continue;
			for (size_t j = 0; j < w->n; j++) {
				char *s;

				if (strcasecmp(w->v[j], spec + pl))
					continue;
				s = xasprintf("%s%s", sym, w->v[j]);
				if (parses(u, s))
					return s;
				free(s);
			}
		}
	return NULL;
}

/*
 * A unit close to @spec, malloc'd, or NULL. In order of confidence: a name
 * or symbol equal but for case (udunits2 itself ignores the case of names,
 * not of symbols: "Lx"), one that @spec begins ("Cel" for celsius), an SI
 * prefix and symbol but for case ("kpa"), @spec split into two units ("kWh" -> "kW h"), and last
 * the nearest by edit distance, if at most a third of its length.
 */
static char *suggest(const struct lt_units *u, const char *spec)
{
	struct words w = { 0 };
	size_t len = strlen(spec), best_d = SIZE_MAX;
	const char *best = NULL;
	char *out = NULL;

	if (!len || len > 64)
		return NULL;
	words_load(u, &w);
	for (size_t i = 0; i < w.n && !best; i++)
		if (!strcasecmp(w.v[i], spec))
			best = w.v[i];
	for (size_t i = 0; i < w.n && !best; i++)
		if (len >= 3 && !strncasecmp(w.v[i], spec, len))
			best = w.v[i];
	if (best && parses(u, best)) {
		out = xstrdup(best);
		goto done;
	}
	out = prefixed_case(u, &w, spec);
	if (out)
		goto done;
	for (size_t cut = 1; cut < len; cut++) {
		char *two = xasprintf("%.*s %s", (int)cut, spec, spec + cut);
		char *left = xasprintf("%.*s", (int)cut, spec);

		if (parses(u, left) && parses(u, spec + cut) && parses(u, two)) {
			free(left);
			out = two;
			goto done;
		}
		free(left);
		free(two);
	}
	best = NULL;
	for (size_t i = 0; i < w.n; i++) {
		size_t d = edit_distance(spec, w.v[i]);

		if (d < best_d && d * 3 <= len && parses(u, w.v[i])) {
			best_d = d;
			best = w.v[i];
		}
	}
	if (best)
		out = xstrdup(best);
done:
	words_free(&w);
	return out;
}

int lt_units_check(struct lt_units *u, const char *spec, char *err, size_t errlen)
{
	ut_unit *x = ut_parse(u->sys, spec, UT_UTF8);
	char *close;

	if (x) {
		ut_free(x);
		return 0;
	}
	close = suggest(u, spec);
	if (close)
		snprintf(err, errlen, "'%s' is not a unit udunits2 knows; did you mean '%s'?", spec,
			 close);
	else
		snprintf(err, errlen, "'%s' is not a unit udunits2 knows", spec);
	free(close);
	return -EINVAL;
}

/* ---- conversion --------------------------------------------------------- */

/* Equal within a relative 1e-9 (the converters' own arithmetic rounds). */
static bool close_enough(double x, double y)
{
	return fabs(x - y) <= 1e-9 * fmax(1.0, fmax(fabs(x), fabs(y)));
}

/*
 * @v to 12 significant digits. udunits2 chains converters through the base
 * unit (degC -> K -> degF), so the two points carry rounding noise: 33.8 -
 * 32 is 1.7999999999999972, and 10 degC would be published as
 * 49.99999999999997 degF. A relative 5e-13 is far below any sensor's
 * resolution and gives the coefficients as written in the unit database.
 */
static double snap(double v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.12g", v);
	return strtod(buf, NULL);
}

int lt_units_converter(struct lt_units *u, const char *from, const char *to,
		       struct lt_unit_conv *cv, char *err, size_t errlen)
{
	ut_unit *f = ut_parse(u->sys, from, UT_UTF8), *t = ut_parse(u->sys, to, UT_UTF8);
	cv_converter *c = NULL;
	int ret = -EINVAL;

	if (!f || !t) {
		snprintf(err, errlen, "'%s' is not a unit udunits2 knows", f ? to : from);
		goto out;
	}
	c = ut_get_converter(f, t);
	if (!c) {
		snprintf(err, errlen,
			 "'%s' cannot be converted to '%s': they measure different things", from,
			 to);
		goto out;
	}
	/* Two points give the line; two more, away from both, prove it is one. */
	cv->b = cv_convert_double(c, 0.0);
	cv->a = snap(cv_convert_double(c, 1.0) - cv->b);
	cv->b = fabs(cv->b) <= 1e-12 * fmax(1.0, fabs(cv->a)) ? 0.0 : snap(cv->b);
	if (!isfinite(cv->a) || !isfinite(cv->b) ||
	    !close_enough(cv_convert_double(c, 1000.0), lt_unit_convert(cv, 1000.0)) ||
	    !close_enough(cv_convert_double(c, -37.5), lt_unit_convert(cv, -37.5))) {
		snprintf(err, errlen,
			 "converting '%s' to '%s' is not linear (a logarithmic unit?): liotad "
			 "converts only y = a*x + b",
			 from, to);
		goto out;
	}
	ret = 0;
out:
	cv_free(c);
	ut_free(f);
	ut_free(t);
	return ret;
}

/* ---- names for the DCCs ------------------------------------------------- */

/*
 * udunits2's name of @x, malloc'd, or NULL: the ASCII form, whose '_'
 * stands for a space ("degree_Celsius"; the UTF-8 form has a no-break space).
 */
static char *name_of(const ut_unit *x)
{
	const char *n = ut_get_name(x, UT_ASCII);
	char *out, *p;

	if (!n)
		return NULL;
	out = xstrdup(n);
	for (p = out; (p = strchr(p, '_'));)
		*p = ' ';
	return out;
}

/*
 * One named unit, maybe with an SI prefix that udunits2 agrees scales it
 * (ut_compare() of prefix * rest and the unit: "min" is not milli-inch).
 */
static bool describe_term(const struct lt_units *u, const char *s, const char **prefix, char **name)
{
	ut_unit *x = ut_parse(u->sys, s, UT_UTF8);

	if (!x)
		return false;
	*prefix = "";
	*name = name_of(x);
	for (size_t i = 0; !*name && i < ARRAY_SIZE(si_prefixes); i++) {
		size_t pl = strlen(si_prefixes[i].sym);
		ut_unit *rest, *scaled;

		if (strncmp(s, si_prefixes[i].sym, pl) || !s[pl])
			continue;
		rest = ut_parse(u->sys, s + pl, UT_UTF8);
		scaled = rest ? ut_scale(si_prefixes[i].value, rest) : NULL;
		if (scaled && !ut_compare(scaled, x) && (*name = name_of(rest)))
			*prefix = si_prefixes[i].name;
		ut_free(scaled);
		ut_free(rest);
	}
	ut_free(x);
	return *name != NULL;
}

int lt_units_describe(struct lt_units *u, const char *spec, char **prefix, char **name)
{
	const char *slash = strchr(spec, '/'), *p1 = "", *p2 = "";
	char *num, *n1 = NULL, *n2 = NULL;
	bool ok;

	if (!parses(u, spec))
		return -EINVAL;
	if (!slash) {
		ok = describe_term(u, spec, &p1, &n1);
		*prefix = xstrdup(p1);
		*name = ok ? n1 : xstrdup(spec);
		return 0;
	}
	/* "A/B" of two named units: liota's "kilo", "meter per hour" for km/h. */
	num = xasprintf("%.*s", (int)(slash - spec), spec);
	ok = !strchr(slash + 1, '/') && describe_term(u, num, &p1, &n1) &&
	     describe_term(u, slash + 1, &p2, &n2);
	*prefix = xstrdup(ok ? p1 : "");
	*name = ok ? xasprintf("%s per %s%s", n1, p2, n2) : xstrdup(spec);
	free(n1);
	free(n2);
	free(num);
	return 0;
}
