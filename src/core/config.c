/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Configuration loading, in two phases. Phase 1 reads every file (the main
 * one, then its drop-ins) into raw sections: kind, name, where the header
 * is, and the keys with their lines; a drop-in naming a section again adds
 * to it or overrides its keys. Phase 2 builds the model from the raw
 * sections in dependency order ([daemon], [edge], DCCs, devices, metrics),
 * so the order of sections and files does not matter.
 *
 * Every problem is collected as one "FILE:LINE: reason" line; loading goes
 * on after an error so that the user sees all of them at once.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "devdisc.h"
#include "discover.h"
#include "filesig.h"
#include "filter.h"
#include "log.h"
#include "pkg.h"
#include "pkg_hold.h"
#include "trust.h"
#include "units.h"
#include "transport/mqtt.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define MAX_ERROR_LINES 100
#define UNIT_LEN_MAX    32
#define LANE_MIN        64
#define LANE_MAX        16777216
#define AGGREGATION_MAX 10000
#define INTERVAL_MIN_NS (10 * 1000ull)
#define INTERVAL_MAX_NS (24 * 3600 * LT_NSEC_PER_SEC)

/* Characters of DCC, device and metric names; an edge name may also have dots. */
#define NAME_CHARS LT_NAME_CHARS
#define NAME_RULE  "1 to 50 of A-Z a-z 0-9 space _ -"

enum sect_kind {
	SECT_DAEMON,
	SECT_EDGE,
	SECT_DCC,
	SECT_DEVICE,
	SECT_METRIC,
	SECT_PROFILE,
	SECT_DISCOVERY,
	SECT_KINDS
};

static const char *const sect_words[SECT_KINDS] = { "daemon", "edge",    "dcc",      "device",
						    "metric", "profile", "discovery" };
/* How the name is written in a header, for messages; NULL: the section has no name. */
static const char *const sect_forms[SECT_KINDS] = { NULL,   NULL, "NAME", "NAME", "DEVICE.METRIC",
						    "NAME", NULL };

struct raw_kv {
	char *key;
	char *value;
	struct lt_origin origin;
	unsigned file; /* index in model->files: a key may be set once per file */
};

struct raw_section {
	enum sect_kind kind;
	char *name;                   /* NULL for [daemon] and [edge] */
	char *title;                  /* the header as messages show it: [device "boiler"] */
	struct lt_origin origin;      /* the first header */
	unsigned file;                /* the last file naming the section ... */
	struct lt_origin file_origin; /* ... and its header there */
	struct raw_kv *kv;
	unsigned nkv;
};

struct conf_error {
	unsigned file; /* sort keys: file index, line, then order of discovery */
	int line;
	unsigned seq;
	char *text;
};

/* A file as read, to tell at a SIGHUP whether it changed (config_reuse()). */
struct file_seen {
	struct lt_filesig sig;
	int secret_line; /* where it holds a password others can read, 0: nowhere */
};

/* The files as read (phase 1): what a model is built from, again at each udev event. */
struct lt_conf {
	char **files; /* in reading order; the raw sections' origins point at these */
	unsigned nfiles;
	struct raw_section **sects;
	unsigned nsects;
	struct conf_error *errs; /* what was wrong in them, reported by every build */
	unsigned nerrs;
	struct file_seen *seen; /* per file: what it was when read */
	bool unsure;            /* one of them was not read in full */
};

struct loader {
	struct lt_model *model;
	const struct lt_conf *conf; /* a build's: its sections are read, never copied */
	const char *machine_id_path;
	const struct lt_instance *inst; /* discovered devices to make from their profiles */
	unsigned ninst;
	struct raw_section **sects; /* in the order first seen */
	unsigned nsects;
	/* the same by kind and name for section_find(): open addressing, NULL = free */
	struct raw_section **index;
	size_t index_cap; /* a power of two, more than 4/3 of nsects */
	struct conf_error *errs;
	unsigned nerrs;

	/* the file being read */
	FILE *f;
	unsigned file; /* index in model->files */
	int lineno;
	int read_errno;
	int syntax_line; /* first syntax error the reader reported, 0 if none */
	char *line;
	size_t linecap;
	struct raw_section *cur; /* where the next keys go */
	bool skipping;           /* after a rejected header: ignore its keys */
	mode_t mode;             /* the file's, to warn about a password others can read */
	bool exposed;            /* lt_secret_exposed() */
	bool warned;             /* ... once per file */
	struct file_seen *seen;  /* per file in model->files */
	bool unsure;             /* a file or folder was not read in full: never reused */
	/* udunits2's unit system, loaded at the first unit met (units.h); freed after */
	struct lt_units *units;
	bool units_failed; /* it could not be loaded: said once */
};

/* ---- error collection ---------------------------------------------------- */

static unsigned file_index(const struct loader *ld, const char *file)
{
	/* A build's origins point at its conf's file names, the model's own at its copies. */
	for (unsigned i = 0; i < ld->model->nfiles; i++)
		if (ld->model->files[i] == file || (ld->conf && ld->conf->files[i] == file))
			return i;
	return ld->model->nfiles;
}

static void report(struct loader *ld, const struct lt_origin *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Record one problem at @at (line 0: about the file as a whole). */
static void report(struct loader *ld, const struct lt_origin *at, const char *fmt, ...)
{
	struct conf_error *e;
	char reason[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* One problem, one line: a driver's message must not break the format. */
	for (char *p = reason; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';

	ld->errs = xrealloc(ld->errs, (ld->nerrs + 1) * sizeof(*ld->errs));
	e = &ld->errs[ld->nerrs];
	e->file = file_index(ld, at->file);
	e->line = at->line;
	e->seq = ld->nerrs++;
	e->text = at->line > 0 ? xasprintf("%s:%d: %s", at->file, at->line, reason)
			       : xasprintf("%s: %s", at->file, reason);
}

static int error_cmp(const void *a, const void *b)
{
	const struct conf_error *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* All problems in file and line order, at most MAX_ERROR_LINES lines. */
static char *errors_join(struct loader *ld)
{
	unsigned shown = ld->nerrs, i;
	size_t len = 0;
	char *s, *p;

	qsort(ld->errs, ld->nerrs, sizeof(*ld->errs), error_cmp);
	if (shown > MAX_ERROR_LINES)
		shown = MAX_ERROR_LINES - 1;
	for (i = 0; i < shown; i++)
		len += strlen(ld->errs[i].text) + 1;
	len += strlen(ld->model->files[0]) + 64;
	p = s = xmalloc(len);
	for (i = 0; i < shown; i++)
		p += sprintf(p, "%s\n", ld->errs[i].text);
	if (shown < ld->nerrs)
		sprintf(p, "%s: %u more errors not shown\n", ld->model->files[0],
			ld->nerrs - shown);
	return s;
}

/* ---- phase 1: files into raw sections ------------------------------------ */

static struct lt_origin here(const struct loader *ld)
{
	return (struct lt_origin){ ld->model->files[ld->file], ld->lineno };
}

/* FNV-1a of a section's kind and the @len bytes of its name. */
static size_t section_hash(enum sect_kind kind, const char *name, size_t len)
{
	uint64_t h = lt_fnv1a(LT_FNV_SEED ^ (uint64_t)kind, name, len);

	return (size_t)(h ^ (h >> 32));
}

/*
 * The index slot of @kind and the @len bytes of @name (NULL: a section
 * without a name): the section's, or the free one where it would go. A
 * lookup by scanning every section made reading and building 10,000
 * metric sections quadratic (half of the CPU of a start).
 */
static struct raw_section **section_slot(const struct loader *ld, enum sect_kind kind,
					 const char *name, size_t len)
{
	size_t mask = ld->index_cap - 1, i = section_hash(kind, name, len) & mask;

	for (;; i = (i + 1) & mask) {
		struct raw_section *s = ld->index[i];

		if (!s ||
		    (s->kind == kind &&
		     (!name ? !s->name : s->name && !strncmp(s->name, name, len) && !s->name[len])))
			return &ld->index[i];
	}
}

/* The section of @kind named by the @len bytes of @name (NULL: without a name). */
static struct raw_section *section_find_n(const struct loader *ld, enum sect_kind kind,
					  const char *name, size_t len)
{
	return ld->index_cap ? *section_slot(ld, kind, name, len) : NULL;
}

static struct raw_section *section_find(const struct loader *ld, enum sect_kind kind,
					const char *name)
{
	return section_find_n(ld, kind, name, name ? strlen(name) : 0);
}

/* Append @s (no section of its kind and name yet) to ld->sects and the index. */
static void section_add(struct loader *ld, struct raw_section *s)
{
	ld->sects = lt_grow(ld->sects, ld->nsects, sizeof(*ld->sects));
	ld->sects[ld->nsects++] = s;
	if (4 * (size_t)ld->nsects >= 3 * ld->index_cap) {
		free(ld->index);
		ld->index_cap = ld->index_cap ? 2 * ld->index_cap : 64;
		ld->index = xcalloc(ld->index_cap, sizeof(*ld->index));
		for (unsigned i = 0; i + 1 < ld->nsects; i++) {
			struct raw_section *o = ld->sects[i];

			*section_slot(ld, o->kind, o->name, o->name ? strlen(o->name) : 0) = o;
		}
	}
	*section_slot(ld, s->kind, s->name, s->name ? strlen(s->name) : 0) = s;
}

static bool name_valid(const char *s, size_t len, const char *chars)
{
	if (len < 1 || len > LT_NAME_LEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!s[i] || !strchr(chars, s[i]))
			return false;
	return true;
}

/* A metric is named DEVICE.METRIC, split at the first dot. */
static bool metric_name_valid(const char *s)
{
	const char *dot = strchr(s, '.');

	return dot && name_valid(s, dot - s, NAME_CHARS) &&
	       name_valid(dot + 1, strlen(dot + 1), NAME_CHARS);
}

/* A metric template is named DEVICE.METRIC with one * in METRIC: see metric_expand(). */
static bool metric_template_valid(const char *s)
{
	const char *dot = strchr(s, '.'), *star = dot ? strchr(dot, '*') : NULL;
	char *plain;
	bool ok;

	if (!star || strchr(star + 1, '*'))
		return false;
	plain = xstrdup(s);
	plain[star - s] = 'x'; /* the * stands for at least one name character */
	ok = metric_name_valid(plain);
	free(plain);
	return ok;
}

/*
 * Split a header's text (what is between the brackets) into its kind and
 * name: `daemon`, `edge`, or a kind word and a double-quoted name
 * (`device "boiler"`). Reports what is wrong and returns -EINVAL.
 */
static int header_parse(struct loader *ld, const char *text, enum sect_kind *kind, char **name)
{
	struct lt_origin at = here(ld);
	const char *p = text, *word, *end;
	size_t wlen;
	int k;

	p += strspn(p, " \t");
	word = p;
	wlen = strcspn(p, " \t\"");
	p += wlen;
	p += strspn(p, " \t");
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		end--;

	for (k = 0; k < SECT_KINDS; k++)
		if (strlen(sect_words[k]) == wlen && strncmp(word, sect_words[k], wlen) == 0)
			break;
	if (k == SECT_KINDS) {
		report(ld, &at, "unknown section [%s]", text);
		return -EINVAL;
	}
	if (p == end) {
		if (sect_forms[k]) {
			report(ld, &at, "[%s] needs a name: use [%s \"%s\"]", sect_words[k],
			       sect_words[k], sect_forms[k]);
			return -EINVAL;
		}
		*kind = k;
		*name = NULL;
		return 0;
	}
	if (!sect_forms[k]) {
		report(ld, &at, "bad section [%s]: use [%s]", text, sect_words[k]);
		return -EINVAL;
	}
	if (end - p < 2 || *p != '"' || end[-1] != '"') {
		report(ld, &at, "bad section [%s]: use [%s \"%s\"]", text, sect_words[k],
		       sect_forms[k]);
		return -EINVAL;
	}
	*kind = k;
	*name = xasprintf("%.*s", (int)(end - p - 2), p + 1);
	return 0;
}

/*
 * A header line: make its section the current one, creating it on first
 * sight. Keys after a header that is rejected are ignored (ld->skipping),
 * so that one mistake gives one message.
 */
static void section_open(struct loader *ld, const char *text)
{
	struct lt_origin at = here(ld);
	struct raw_section *s;
	enum sect_kind kind;
	char *name = NULL, *title;

	ld->cur = NULL;
	ld->skipping = true;
	if (header_parse(ld, text, &kind, &name) < 0)
		return;

	title = name ? xasprintf("[%s \"%s\"]", sect_words[kind], name)
		     : xasprintf("[%s]", sect_words[kind]);
	if (name && !(kind == SECT_METRIC ? metric_name_valid(name) || metric_template_valid(name)
					  : name_valid(name, strlen(name), NAME_CHARS))) {
		report(ld, &at, "%s: bad name: use %s%s", title,
		       kind == SECT_METRIC ? "DEVICE.METRIC, each " : "", NAME_RULE);
		goto out_free;
	}

	s = section_find(ld, kind, name);
	if (s && s->file == ld->file) {
		report(ld, &at, "duplicate section %s (first at %s:%d)", title, s->file_origin.file,
		       s->file_origin.line);
		goto out_free;
	}
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		s->kind = kind;
		s->name = name;
		s->title = title;
		s->origin = at;
		section_add(ld, s);
		name = title = NULL;
	}
	s->file = ld->file;
	s->file_origin = at;
	ld->cur = s;
	ld->skipping = false;
out_free:
	free(name);
	free(title);
}

/* As ssh does for private keys: a warning, since group may be meant to read. */
static void secret_warn(const char *file, int line, mode_t mode)
{
	lt_log(LOG_WARNING,
	       "%s:%d: holds a password but others can read the file "
	       "(mode %04o): chmod o-r it",
	       file, line, (unsigned)(mode & 07777));
}

/* inih's handler: one "key = value" of the current section. */
static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct loader *ld = user;
	struct lt_origin at = here(ld);
	struct raw_section *s = ld->cur;
	struct raw_kv *kv;

	if (!s) {
		if (!ld->skipping)
			report(ld, &at, "key '%s' is outside any section", key);
		return 1;
	}
	if (!strcmp(key, "password") && ld->exposed && !ld->warned) {
		ld->warned = true;
		ld->seen[ld->file].secret_line = at.line;
		secret_warn(at.file, at.line, ld->mode);
	}
	for (unsigned i = 0; i < s->nkv; i++) {
		kv = &s->kv[i];
		if (strcmp(kv->key, key) != 0)
			continue;
		if (kv->file == ld->file) {
			report(ld, &at, "duplicate key '%s' in %s (first at line %d)", key,
			       s->title, kv->origin.line);
			return 1;
		}
		/* A later file overrides. */
		free(kv->value);
		kv->value = xstrdup(value);
		kv->origin = at;
		kv->file = ld->file;
		return 1;
	}
	s->kv = xrealloc(s->kv, (s->nkv + 1) * sizeof(*s->kv));
	kv = &s->kv[s->nkv++];
	kv->key = xstrdup(key);
	kv->value = xstrdup(value);
	kv->origin = at;
	kv->file = ld->file;
	return 1;
}

/* inih's scan: stop at one of @chars or at an inline comment (';' after white space). */
static const char *ini_scan(const char *s, const char *chars)
{
	bool was_space = false;

	while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

static void syntax_error(struct loader *ld)
{
	struct lt_origin at = here(ld);

	report(ld, &at, "syntax error: expected [section] or key = value");
	if (!ld->syntax_line)
		ld->syntax_line = ld->lineno;
}

/*
 * Look at a line before inih does, the way inih will: headers open sections
 * here (inih does not tell its handler about a section without keys), and
 * every syntax error is reported, where inih only returns the first.
 */
static void line_scan(struct loader *ld, char *s)
{
	const char *end;

	if (!*s || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		end = ini_scan(s + 1, "]");
		if (*end != ']') {
			syntax_error(ld);
			ld->cur = NULL;
			ld->skipping = true;
			return;
		}
		char *text = xasprintf("%.*s", (int)(end - s - 1), s + 1);

		section_open(ld, text);
		free(text);
		return;
	}
	end = ini_scan(s, "=:");
	if (*end != '=' && *end != ':')
		syntax_error(ld);
}

/*
 * A NUL would end the line early for inih (a path "/tmp/ok\0/../x" read as
 * "/tmp/ok"), and other control characters have no business in a value:
 * report the first with its column. Tabs, and CR before the LF, are fine.
 */
static bool bad_char(struct loader *ld, const char *line, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		struct lt_origin at;

		if ((c >= 0x20 && c != 0x7f) || c == '\t' || c == '\n' ||
		    (c == '\r' && (i + 1 == n || (i + 2 == n && line[i + 1] == '\n'))))
			continue;
		at = here(ld);
		if (c)
			report(ld, &at,
			       "control character 0x%02x at column %zu: not allowed in a "
			       "configuration file",
			       c, i + 1);
		else
			report(ld, &at,
			       "NUL byte at column %zu: not allowed in a configuration file",
			       i + 1);
		return true;
	}
	return false;
}

/*
 * inih's line reader (fgets-like). Reading lines ourselves gives what
 * inih's handler lacks in Debian's build: the line number (inih counts one
 * line per call, as we do), section headers, and read errors.
 */
static char *read_line(char *buf, int size, void *stream)
{
	struct loader *ld = stream;
	ssize_t n;
	char *s, *end;

	errno = 0;
	n = getline(&ld->line, &ld->linecap, ld->f);
	if (n < 0) {
		if (ferror(ld->f))
			ld->read_errno = errno ? errno : EIO;
		return NULL;
	}
	lt_filesig_add(&ld->seen[ld->file].sig, ld->line, (size_t)n);
	ld->lineno++;
	if (bad_char(ld, ld->line, (size_t)n)) {
		s = ld->line + strspn(ld->line, " \t");
		if (*s == '[') {
			ld->cur = NULL;
			ld->skipping = true;
		}
		buf[0] = '\0';
		return buf;
	}
	s = ld->line;
	if (ld->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	/* Without leading white space inih sees no continuation lines. */
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';

	if (end - s >= size) {
		struct lt_origin at = here(ld);

		report(ld, &at, "line too long (at most %d characters)", size - 1);
		if (*s == '[') {
			ld->cur = NULL;
			ld->skipping = true;
		}
		buf[0] = '\0';
		return buf;
	}
	line_scan(ld, s);
	memcpy(buf, s, end - s + 1);
	return buf;
}

/* Read one file into raw sections. The path is kept in model->files either way. */
static void file_read(struct loader *ld, const char *path)
{
	struct lt_model *m = ld->model;
	struct lt_origin at;
	char why[128];
	bool unsure = ld->unsure;
	struct stat st;
	int r;

	m->files = xrealloc(m->files, (m->nfiles + 1) * sizeof(*m->files));
	m->files[m->nfiles] = xstrdup(path);
	ld->seen = xrealloc(ld->seen, (m->nfiles + 1) * sizeof(*ld->seen));
	ld->seen[m->nfiles] = (struct file_seen){ 0 };
	ld->file = m->nfiles++;
	at = (struct lt_origin){ m->files[ld->file], 0 };

	ld->unsure = true; /* until the whole file is read */
	ld->f = fopen(path, "re");
	if (!ld->f) {
		report(ld, &at, "cannot read: %s", strerror(errno));
		return;
	}
	/* Configuration decides what runs: only from files nobody else can change (trust.h). */
	errno = 0;
	if (fstat(fileno(ld->f), &st) < 0 || !lt_config_trusted(&st, why, sizeof(why))) {
		report(ld, &at, "refused: %s", errno ? strerror(errno) : why);
		fclose(ld->f);
		ld->f = NULL;
		return;
	}
	ld->unsure = unsure;
	lt_filesig_init(&ld->seen[ld->file].sig, &st);
	ld->mode = st.st_mode;
	ld->exposed = lt_secret_exposed(&st);
	ld->warned = false;
	ld->lineno = 0;
	ld->read_errno = 0;
	ld->syntax_line = 0;
	ld->cur = NULL;
	ld->skipping = false;
	r = ini_parse_stream(read_line, ld, on_key, ld);
	if (ld->read_errno) {
		report(ld, &at, "cannot read: %s", strerror(ld->read_errno));
	} else if (r < 0) {
		report(ld, &at, "cannot read: %s", strerror(ENOMEM));
	} else if (r > 0 && r != ld->syntax_line) {
		/* Our scan of the lines missed what inih saw: still report it. */
		at.line = r;
		report(ld, &at, "syntax error: expected [section] or key = value");
	}
	if (ld->read_errno || r < 0 || !lt_filesig_complete(&ld->seen[ld->file].sig))
		ld->unsure = true;
	fclose(ld->f);
	ld->f = NULL;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dropin(const char *name)
{
	size_t len = strlen(name);

	/* Hidden files are skipped: editors leave lock files such as ".#x.conf". */
	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".conf") == 0;
}

/*
 * The paths of DIR/conf.d/NAME.conf beside @main_path, in strcmp order of
 * NAME, into *@names (*@n of them; none without a conf.d). Returns 0, or
 * -1 with the reason in @why ("cannot read: ...", "refused: ...") about
 * the folder, *@dir (malloc'd either way).
 */
static int dropins_list(const char *main_path, char **dir, char ***names, unsigned *n, char *why,
			size_t whylen)
{
	const char *slash = strrchr(main_path, '/');
	char untrusted[128];
	struct dirent *de;
	struct stat st;
	int r = 0;
	DIR *d;

	*names = NULL;
	*n = 0;
	*dir = slash ? xasprintf("%.*sconf.d", (int)(slash - main_path + 1), main_path)
		     : xstrdup("conf.d");
	d = opendir(*dir);
	if (!d) {
		if (errno != ENOENT) {
			snprintf(why, whylen, "cannot read: %s", strerror(errno));
			r = -1;
		}
		return r;
	}
	/* Whoever can write the folder can add or remove drop-ins. */
	errno = 0;
	if (fstat(dirfd(d), &st) < 0 || !lt_config_trusted(&st, untrusted, sizeof(untrusted))) {
		snprintf(why, whylen, "refused: %s", errno ? strerror(errno) : untrusted);
		closedir(d);
		return -1;
	}
	while ((de = readdir(d))) {
		if (!is_dropin(de->d_name))
			continue;
		*names = xrealloc(*names, (*n + 1) * sizeof(**names));
		(*names)[(*n)++] = xasprintf("%s/%s", *dir, de->d_name);
	}
	closedir(d);
	if (*n) /* names is NULL then, which qsort() must not be given */
		qsort(*names, *n, sizeof(**names), name_cmp);
	return 0;
}

static void names_free(char **names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Read the drop-ins of @main_path (dropins_list()) in their order. */
static void dropins_read(struct loader *ld, const char *main_path)
{
	char **names, *dir, why[160];
	unsigned n;

	if (dropins_list(main_path, &dir, &names, &n, why, sizeof(why)) < 0) {
		struct lt_origin at = { dir, 0 };

		report(ld, &at, "%s", why);
		ld->unsure = true;
	}
	for (unsigned i = 0; i < n; i++)
		file_read(ld, names[i]);
	names_free(names, n);
	free(dir);
}

/* A section as the reader makes it, piece by piece (before section_pack()). */
static void section_free_parts(struct raw_section *s)
{
	for (unsigned j = 0; j < s->nkv; j++) {
		free(s->kv[j].key);
		free(s->kv[j].value);
	}
	free(s->kv);
	free(s->name);
	free(s->title);
	free(s);
}

static size_t str_room(const char *p)
{
	return p ? strlen(p) + 1 : 0;
}

/* Copy @p to *@at and advance it (NULL stays NULL). */
static char *str_put(char **at, const char *p)
{
	char *r = *at;
	size_t n = str_room(p);

	if (!p)
		return NULL;
	memcpy(r, p, n);
	*at += n;
	return r;
}

/*
 * A copy of @from in one allocation: the section, then its keys, then their
 * strings, freed by free() alone. The running daemon keeps the raw sections
 * for rebuilds (struct lt_conf): as ten blocks per metric section, with
 * their malloc overhead, they were the second largest memory per metric.
 */
static struct raw_section *section_pack(const struct raw_section *from)
{
	size_t room = sizeof(*from) + from->nkv * sizeof(*from->kv) + str_room(from->name) +
		      str_room(from->title);
	struct raw_section *s;
	char *at;

	for (unsigned k = 0; k < from->nkv; k++)
		room += str_room(from->kv[k].key) + str_room(from->kv[k].value);
	s = xmalloc(room);
	*s = *from;
	s->kv = (struct raw_kv *)(s + 1);
	at = (char *)(s->kv + from->nkv);
	s->name = str_put(&at, from->name);
	s->title = str_put(&at, from->title);
	for (unsigned k = 0; k < from->nkv; k++) {
		s->kv[k] = from->kv[k];
		s->kv[k].key = str_put(&at, from->kv[k].key);
		s->kv[k].value = str_put(&at, from->kv[k].value);
	}
	return s;
}

/* The index and list of sections; with @own, the sections too (made by section_pack()). */
static void sections_free(struct loader *ld, bool own)
{
	for (unsigned i = 0; own && i < ld->nsects; i++)
		free(ld->sects[i]);
	free(ld->sects);
	ld->sects = NULL;
	ld->nsects = 0;
	free(ld->index);
	ld->index = NULL;
	ld->index_cap = 0;
}

/* ---- phase 2: raw sections into the model -------------------------------- */

/* @o, a section's origin, as the model keeps it: pointing at the model's own file name. */
static struct lt_origin model_origin(const struct loader *ld, struct lt_origin o)
{
	for (unsigned i = 0; ld->conf && i < ld->conf->nfiles; i++)
		if (ld->conf->files[i] == o.file)
			o.file = ld->model->files[i];
	return o;
}

static const struct raw_kv *kv_find(const struct raw_section *s, const char *key)
{
	for (unsigned i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, key) == 0)
			return &s->kv[i];
	return NULL;
}

static int kv_ptr_cmp(const void *a, const void *b)
{
	const struct raw_kv *const *x = a, *const *y = b;

	return strcmp((*x)->key, (*y)->key);
}

/*
 * The keys of @s as "key=value" lines sorted by key (NULL section: ""):
 * two sections mean the same when these texts are equal, whatever the
 * order of their lines or the drop-in that set them. A reload compares them.
 */
static char *section_conf(const struct raw_section *s)
{
	const struct raw_kv *few[16], **kv;
	size_t len = 1;
	char *out, *at;

	if (!s || !s->nkv)
		return xstrdup("");
	/* Each build makes one per metric: no allocation or qsort() for a few keys. */
	kv = s->nkv <= ARRAY_SIZE(few) ? few : xcalloc(s->nkv, sizeof(*kv));
	for (unsigned i = 0; i < s->nkv; i++) {
		unsigned j = i;

		len += strlen(s->kv[i].key) + strlen(s->kv[i].value) + 2;
		if (kv == few)
			for (; j > 0 && strcmp(kv[j - 1]->key, s->kv[i].key) > 0; j--)
				kv[j] = kv[j - 1];
		kv[j] = &s->kv[i];
	}
	if (kv != few)
		qsort(kv, s->nkv, sizeof(*kv), kv_ptr_cmp);
	at = out = xmalloc(len);
	for (unsigned i = 0; i < s->nkv; i++) {
		at = stpcpy(at, kv[i]->key);
		*at++ = '=';
		at = stpcpy(at, kv[i]->value);
		*at++ = '\n';
	}
	*at = '\0';
	if (kv != few)
		free(kv);
	return out;
}

/* What a metric keeps of section_conf(): a hash (struct lt_metric's conf_hash). */
static uint64_t section_conf_hash(const struct raw_section *s)
{
	char *c = section_conf(s);
	uint64_t h = lt_fnv1a(LT_FNV_SEED, c, strlen(c));

	free(c);
	return h;
}

static void report_unknown_key(struct loader *ld, const struct raw_section *s,
			       const struct raw_kv *kv)
{
	report(ld, &kv->origin, "unknown key '%s' in %s", kv->key, s->title);
}

/*
 * Report what a driver's option callback answered for @kv (see the contract
 * in liota.h). Returns true when the key was taken.
 */
static bool option_result(struct loader *ld, const struct raw_section *s, const struct raw_kv *kv,
			  int r, const char *err)
{
	if (r >= 0)
		return true;
	if (r == -ENOENT)
		report_unknown_key(ld, s, kv);
	else
		report(ld, &kv->origin, "%s: %s", kv->key, *err ? err : strerror(-r));
	return false;
}

/* A check callback failed: the section as a whole is wrong. */
static void report_section(struct loader *ld, const struct raw_section *s, int r, const char *err)
{
	report(ld, &s->origin, "%s: %s", s->title, *err ? err : strerror(-r));
}

static void report_init(struct loader *ld, const struct raw_section *s, int r)
{
	report(ld, &s->origin, "%s: cannot set up: %s", s->title, strerror(-r));
}

/* "one of: A, B" for a message, from names_append()'s list, or why there is none. */
static const char *one_of(char *buf, size_t len, const char *names)
{
	if (names[0])
		snprintf(buf, len, "one of: %s", names);
	else
		snprintf(buf, len, "no driver is loaded and the package folder has none");
	return buf;
}

static int log_level_set(void *field, const char *key, const char *s, char *err, size_t errlen)
{
	int prio = log_level_parse(s);

	if (prio < 0) {
		snprintf(err, errlen,
			 "'%s' is not a log level (use err, warning, notice, info or debug)", s);
		return -EINVAL;
	}
	*(int *)field = prio;
	return 0;
}

static int lane_capacity_set(void *field, const char *key, const char *s, char *err, size_t errlen)
{
	uint64_t v;
	int r;

	r = lt_parse_uint(s, LANE_MIN, LANE_MAX, &v, err, errlen);
	if (r < 0)
		return r;
	if (v & (v - 1)) {
		snprintf(err, errlen, "%s is not a power of two", s);
		return -EINVAL;
	}
	*(uint32_t *)field = (uint32_t)v;
	return 0;
}

static int dir_set(void *field, const char *key, const char *s, char *err, size_t errlen)
{
	if (!*s) {
		snprintf(err, errlen, "the path is empty");
		return -EINVAL;
	}
	return lt_opts_strdup(field, s, err, errlen);
}

static const struct lt_opt daemon_opts[] = {
	LT_OPT_FUNC("log_level", struct lt_daemon_conf, log_level, 0, log_level_set,
		    "err, warning, notice, info or debug"),
	LT_OPT_FUNC("lane_capacity", struct lt_daemon_conf, lane_capacity, 0, lane_capacity_set,
		    "records per ring lane, a power of two"),
	LT_OPT_DURATION("flush_timeout", struct lt_daemon_conf, flush_timeout_ns, 0, 0, UINT64_MAX,
			"time shutdown may spend delivering queued data"),
	LT_OPT_FUNC("runtime_dir", struct lt_daemon_conf, runtime_dir, 0, dir_set,
		    "control socket folder"),
	LT_OPT_FUNC("state_dir", struct lt_daemon_conf, state_dir, 0, dir_set,
		    "what must survive a restart"),
	LT_OPT_FUNC("package_dir", struct lt_daemon_conf, package_dir, 0, dir_set,
		    "the only folder packages load from"),
	LT_OPT_STRING("packages", struct lt_daemon_conf, packages, LT_OPT_NONEMPTY, 0,
		      "packages loaded at start: NAME or NAME@SHA256, comma-separated"),
	LT_OPT_END(),
};

/*
 * [daemon] packages = NAME[@SHA256], ...: each loaded now, with what it
 * depends on; a pin refuses a file with other contents. Packages stay
 * loaded when a reload fails later (they are unloaded by liotactl only);
 * one that liotactl unloaded is skipped until liotactl loads it.
 */
/*
 * The package folder when [daemon] package_dir is not given: the one
 * liotad was built for, or $LIOTAD_PACKAGE_DIR, which the test suite sets
 * to the build tree's (whoever sets a daemon's environment could preload
 * code into it anyway; a set-uid liotad ignores it).
 */
static const char *default_package_dir(void)
{
	const char *env = secure_getenv("LIOTAD_PACKAGE_DIR");

	return env && *env ? env : LT_PACKAGE_DIR;
}

static void packages_load(struct loader *ld, const struct raw_kv *kv)
{
	char *list = xstrdup(kv->value), *save = NULL, err[512];

	for (char *item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *pin;
		int r;

		item += strspn(item, " \t");
		item[strcspn(item, " \t")] = '\0';
		if (!*item)
			continue;
		pin = strchr(item, '@');
		if (pin)
			*pin++ = '\0';
		if (pkg_held(item)) {
			lt_log(LOG_NOTICE, "%s:%d: packages: %s not loaded: unloaded by liotactl",
			       kv->origin.file, kv->origin.line, item);
			continue;
		}
		err[0] = '\0';
		r = pkg_load(item, pin, err, sizeof(err));
		if (r < 0)
			report(ld, &kv->origin, "packages: %s", err);
	}
	free(list);
}

static void daemon_build(struct loader *ld)
{
	struct lt_daemon_conf *d = &ld->model->daemon;
	const struct raw_section *s;
	char err[512];

	d->log_level = LOG_INFO;
	d->lane_capacity = 4096;
	d->flush_timeout_ns = 5 * LT_NSEC_PER_SEC;
	s = section_find(ld, SECT_DAEMON, NULL);
	for (unsigned i = 0; s && i < s->nkv; i++) {
		const struct raw_kv *kv = &s->kv[i];
		int r;

		err[0] = '\0';
		r = lt_opts_set(daemon_opts, d, kv->key, kv->value, err, sizeof(err));
		if (r == -ENOENT)
			report_unknown_key(ld, s, kv);
		else if (r < 0)
			report(ld, &kv->origin, "%s: %s", kv->key, err);
	}
	if (pkg_set_dir(d->package_dir ? d->package_dir : default_package_dir()) < 0)
		report(ld, &s->origin, "package_dir: out of memory");
	if (s && d->packages)
		packages_load(ld, kv_find(s, "packages"));
}

/*
 * The driver of `type = @type` from a package, loading the package named
 * by the type when none provides it yet. NULL when there is no such
 * package file (the caller says "unknown type"); NULL with a report when
 * the file is there and refused.
 */
static const void *package_driver(struct loader *ld, const struct raw_kv *type, int dcc, char *why,
				  size_t whylen)
{
	char err[512] = "";
	int r = pkg_load_type(type->value, dcc, err, sizeof(err));

	if (r == -ENOENT) {
		snprintf(why, whylen, "%s", err);
		return NULL;
	}
	if (r < 0) {
		report(ld, &type->origin, "type: %s", err);
		return (const void *)-1;
	}
	return dcc ? (const void *)pkg_dcc_driver(type->value)
		   : (const void *)pkg_device_driver(type->value);
}

/*
 * The package that liotactl unloaded and that served the type of DCC or
 * device section @s, or NULL: such a section is left out while it is held.
 */
static const char *section_held(const struct raw_section *s)
{
	const struct raw_kv *type = s ? kv_find(s, "type") : NULL;

	if (!type)
		return NULL;
	return pkg_held_type(type->value);
}

/* Is the device of metric section @s left out (section_held())? */
static bool metric_held(const struct loader *ld, const struct raw_section *s)
{
	const char *dot = strchr(s->name, '.');

	return section_held(section_find_n(ld, SECT_DEVICE, s->name, (size_t)(dot - s->name)));
}

/* A DCC, device or profile section left out (section_held()): say so, return true. */
static bool held_notice(const struct raw_section *s)
{
	const char *pkg = section_held(s);

	if (pkg)
		lt_log(LOG_NOTICE,
		       "%s:%d: %s: left out: package %s is unloaded (liotactl load %s brings "
		       "it back)",
		       s->origin.file, s->origin.line, s->title, pkg, pkg);
	return pkg != NULL;
}

static bool edge_name_valid(const char *s)
{
	return name_valid(s, strlen(s), NAME_CHARS ".");
}

static void edge_build(struct loader *ld)
{
	struct lt_model *m = ld->model;
	struct lt_origin main_file = { m->files[0], 0 };
	const struct raw_section *s = section_find(ld, SECT_EDGE, NULL);
	const char *name = NULL;
	char host[HOST_NAME_MAX + 1];
	bool name_given = false;
	int r;

	for (unsigned i = 0; s && i < s->nkv; i++) {
		const struct raw_kv *kv = &s->kv[i];

		if (strcmp(kv->key, "name") != 0) {
			report_unknown_key(ld, s, kv);
			continue;
		}
		name_given = true;
		if (edge_name_valid(kv->value))
			name = kv->value;
		else
			report(ld, &kv->origin, "name: '%s' is not a valid edge name: use %s or .",
			       kv->value, NAME_RULE);
	}
	if (!name_given) {
		if (gethostname(host, sizeof(host)) < 0)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		/* A fully qualified host name may be too long: fall back to its first label. */
		if (!edge_name_valid(host))
			host[strcspn(host, ".")] = '\0';
		if (edge_name_valid(host))
			name = host;
		else
			report(ld, &main_file,
			       "the host name '%s' is not a valid edge name: set name in [edge]",
			       host);
	}
	m->edge.name = xstrdup(name ? name : "");

	r = lt_edge_id(ld->machine_id_path, m->edge.id);
	if (r < 0)
		report(ld, &main_file, "cannot derive the edge id from %s: %s",
		       ld->machine_id_path ? ld->machine_id_path : "/etc/machine-id", strerror(-r));
}

/*
 * The DCC objects are created even when their section is wrong, so that
 * metrics naming them get no second message; only those with a driver
 * set were initialised by it (model_free relies on this).
 */
static void dcc_build(struct loader *ld, const struct raw_section *s)
{
	struct lt_model *m = ld->model;
	const struct lt_dcc_driver *drv;
	const struct raw_kv *type;
	struct lt_dcc *dcc;
	char err[512], types[1024] = "", why[512] = "", hint[1040];
	bool ok = true;
	int r;

	dcc = xcalloc(1, sizeof(*dcc));
	dcc->name = xstrdup(s->name);
	dcc->conf = section_conf(s);
	dcc->origin = model_origin(ld, s->origin);
	dcc->index = m->ndccs;
	m->dccs = xrealloc(m->dccs, (m->ndccs + 1) * sizeof(*m->dccs));
	m->dccs[m->ndccs++] = dcc;

	pkg_type_names(1, types, sizeof(types));
	type = kv_find(s, "type");
	if (!type) {
		report(ld, &s->origin, "%s: type is required (%s)", s->title,
		       one_of(hint, sizeof(hint), types));
		return;
	}
	/* Every DCC driver is a package's (src/core/intree.h for those of src/dcc/). */
	if ((drv = package_driver(ld, type, 1, why, sizeof(why))) == (const void *)-1)
		return;
	if (!drv) {
		report(ld, &type->origin,
		       "type: unknown DCC type '%s' (%s; no package provides it: %s)", type->value,
		       one_of(hint, sizeof(hint), types), why);
		return;
	}
	if (drv->init && (r = drv->init(dcc)) < 0) {
		report_init(ld, s, r);
		return;
	}
	dcc->drv = drv;

	for (unsigned i = 0; i < s->nkv; i++) {
		const struct raw_kv *kv = &s->kv[i];

		if (kv == type)
			continue;
		err[0] = '\0';
		r = drv->option ? drv->option(dcc, kv->key, kv->value, err, sizeof(err)) : -ENOENT;
		ok &= option_result(ld, s, kv, r, err);
	}
	err[0] = '\0';
	if (ok && drv->check && (r = drv->check(dcc, err, sizeof(err))) < 0)
		report_section(ld, s, r, err);
}

#define PROPERTY_PREFIX "property."

static bool is_property(const struct raw_kv *kv)
{
	return !strncmp(kv->key, PROPERTY_PREFIX, strlen(PROPERTY_PREFIX));
}

/*
 * `property.KEY = VALUE` keys are the core's, whatever the driver: they are
 * taken before the driver sees the section, so that its device_check may add
 * its own (a duplicate is then its error). They are part of dev->conf: a
 * changed property restarts and registers again that device only.
 */
static void device_properties(struct loader *ld, const struct raw_section *s, struct lt_device *dev)
{
	char err[512];

	for (unsigned i = 0; i < s->nkv; i++) {
		const struct raw_kv *kv = &s->kv[i];

		if (!is_property(kv))
			continue;
		err[0] = '\0';
		if (lt_device_add_property(dev, kv->key + strlen(PROPERTY_PREFIX), kv->value, err,
					   sizeof(err)) < 0)
			report(ld, &kv->origin, "%s", err);
	}
}

/* Devices, like DCCs, exist in the model even when their section is wrong. */
static void device_build(struct loader *ld, const struct raw_section *s)
{
	struct lt_model *m = ld->model;
	const struct lt_device_driver *drv;
	const struct raw_kv *type;
	struct lt_device *dev;
	char err[512], types[1024] = "", why[512] = "", hint[1040];
	bool ok = true;
	int r;

	dev = xcalloc(1, sizeof(*dev));
	dev->name = xstrdup(s->name);
	dev->conf = section_conf(s);
	dev->lane = m->ndevices;
	dev->origin = model_origin(ld, s->origin);
	dev->index = m->ndevices;
	dev->regs = xcalloc(m->ndccs, sizeof(*dev->regs));
	m->devices = xrealloc(m->devices, (m->ndevices + 1) * sizeof(*m->devices));
	m->devices[m->ndevices++] = dev;
	device_properties(ld, s, dev);

	pkg_type_names(0, types, sizeof(types));
	type = kv_find(s, "type");
	if (!type) {
		report(ld, &s->origin, "%s: type is required (%s)", s->title,
		       one_of(hint, sizeof(hint), types));
		return;
	}
	/* Every device driver is a package's (src/core/intree.h for those of src/devices/). */
	if ((drv = package_driver(ld, type, 0, why, sizeof(why))) == (const void *)-1)
		return;
	if (!drv) {
		report(ld, &type->origin,
		       "type: unknown device type '%s' (%s; no package provides it: %s)",
		       type->value, one_of(hint, sizeof(hint), types), why);
		return;
	}
	if (drv->device_init && (r = drv->device_init(dev)) < 0) {
		report_init(ld, s, r);
		return;
	}
	dev->drv = drv;

	for (unsigned i = 0; i < s->nkv; i++) {
		const struct raw_kv *kv = &s->kv[i];

		if (kv == type || is_property(kv))
			continue;
		err[0] = '\0';
		r = drv->device_option
			    ? drv->device_option(dev, kv->key, kv->value, err, sizeof(err))
			    : -ENOENT;
		ok &= option_result(ld, s, kv, r, err);
	}
	err[0] = '\0';
	if (ok && drv->device_check && (r = drv->device_check(dev, err, sizeof(err))) < 0)
		report_section(ld, s, r, err);
}

static bool target_add(struct lt_metric *mt, struct lt_dcc *dcc)
{
	for (unsigned i = 0; i < mt->ntargets; i++)
		if (mt->targets[i].dcc == dcc)
			return false;
	mt->targets[mt->ntargets++].dcc = dcc;
	return true;
}

/* One name of a "dcc =" list; false (reported) if there is no such DCC or it is listed twice. */
static bool target_add_name(struct loader *ld, const struct raw_kv *kv, struct lt_metric *mt,
			    const char *name)
{
	struct lt_dcc *dcc = model_find_dcc(ld->model, name);

	if (!dcc && section_held(section_find(ld, SECT_DCC, name)))
		return true; /* left out while its package is unloaded, as said */
	if (!dcc) {
		report(ld, &kv->origin, "dcc: no DCC named \"%s\"", name);
		return false;
	}
	if (!target_add(mt, dcc)) {
		report(ld, &kv->origin, "dcc: \"%s\" is listed twice", name);
		return false;
	}
	return true;
}

/*
 * The DCCs a metric publishes to: every DCC of the model when the key is
 * absent, else the names listed, separated by commas and/or spaces. Since a
 * name may itself hold spaces, an item between commas that names a DCC as
 * a whole is taken as one name before it is split at spaces.
 */
static bool targets_build(struct loader *ld, const struct raw_kv *kv, struct lt_metric *mt)
{
	struct lt_model *m = ld->model;
	char *list, *item, *save_item, *word, *save_word;
	unsigned listed = 0;
	bool ok = true;

	mt->targets = xcalloc(m->ndccs, sizeof(*mt->targets));
	if (!kv) {
		for (unsigned i = 0; i < m->ndccs; i++)
			target_add(mt, m->dccs[i]);
		return true;
	}

	list = xstrdup(kv->value);
	for (item = strtok_r(list, ",", &save_item); item; item = strtok_r(NULL, ",", &save_item)) {
		char *end = item + strlen(item);

		item += strspn(item, " \t");
		while (end > item && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*item)
			continue;
		if (model_find_dcc(m, item)) {
			listed++;
			ok &= target_add_name(ld, kv, mt, item);
			continue;
		}
		for (word = strtok_r(item, " \t", &save_word); word;
		     word = strtok_r(NULL, " \t", &save_word)) {
			listed++;
			ok &= target_add_name(ld, kv, mt, word);
		}
	}
	free(list);
	if (!listed) {
		report(ld, &kv->origin, "dcc: the list is empty (remove the key to use every DCC)");
		ok = false;
	}
	return ok;
}

/* The keys of a metric section that the daemon itself handles. */
static bool metric_key_is_core(const char *key)
{
	return strcmp(key, "unit") == 0 || strcmp(key, "publish_unit") == 0 ||
	       strcmp(key, "interval") == 0 || strcmp(key, "aggregation") == 0 ||
	       strcmp(key, "dcc") == 0;
}

/*
 * The unit system, loaded when the first unit of this load is checked: a
 * configuration without units never reads udunits2's database. NULL (said
 * once, at @kv) when it cannot be read.
 */
static struct lt_units *loader_units(struct loader *ld, const struct raw_kv *kv)
{
	char err[512];

	if (!ld->units && !ld->units_failed) {
		ld->units = lt_units_open(err, sizeof(err));
		ld->units_failed = !ld->units;
		if (!ld->units)
			report(ld, &kv->origin, "%s: %s", kv->key, err);
	}
	return ld->units;
}

/* @kv's unit, checked; NULL ("" is no unit) or the value. */
static const char *unit_value(struct loader *ld, const struct raw_kv *kv, bool *ok)
{
	struct lt_units *u;
	char err[512];

	if (!kv || !*kv->value)
		return NULL;
	if (strlen(kv->value) > UNIT_LEN_MAX) {
		report(ld, &kv->origin, "%s: '%s' is too long (at most %d characters)", kv->key,
		       kv->value, UNIT_LEN_MAX);
		*ok = false;
		return NULL;
	}
	u = loader_units(ld, kv);
	if (!u || lt_units_check(u, kv->value, err, sizeof(err)) < 0) {
		if (u)
			report(ld, &kv->origin, "%s: %s", kv->key, err);
		*ok = false;
		return NULL;
	}
	return kv->value;
}

/*
 * A metric's unit (what its samples are in, also in the ring and liotactl)
 * and publish_unit (what the DCCs get): both checked by udunits2, and the
 * converter between them made now, so that nothing of udunits2 is needed
 * once the configuration is built.
 */
static bool metric_units(struct loader *ld, const struct raw_section *s, struct lt_metric *mt)
{
	const struct raw_kv *ukv = kv_find(s, "unit"), *pkv = kv_find(s, "publish_unit");
	const char *unit, *pub;
	char err[512];
	bool ok = true;

	unit = unit_value(ld, ukv, &ok);
	pub = unit_value(ld, pkv, &ok);
	if (ukv && *ukv->value && unit)
		mt->unit = xstrdup(ukv->value); /* was lt_no_unit */
	if (pkv && !*pkv->value) {
		report(ld, &pkv->origin,
		       "publish_unit: the value is empty (remove the key to "
		       "publish in the metric's unit)");
		ok = false;
	} else if (pkv && (!ukv || !*ukv->value)) {
		report(ld, &pkv->origin,
		       "publish_unit: %s has no unit to convert from (set unit = ...)", s->title);
		ok = false;
	}
	if (!ok)
		return false;
	if (pub)
		mt->pub_unit = xstrdup(pub);
	else
		mt->pub_unit = *mt->unit ? xstrdup(mt->unit) : lt_no_unit;
	if (unit && pub) {
		if (lt_units_converter(ld->units, unit, pub, &mt->conv, err, sizeof(err)) < 0) {
			report(ld, &pkv->origin, "publish_unit: %s", err);
			return false;
		}
		mt->convert = mt->conv.a != 1.0 || mt->conv.b != 0.0;
	}
	if (*mt->pub_unit)
		lt_units_describe(ld->units, mt->pub_unit, &mt->pub_unit_prefix,
				  &mt->pub_unit_name);
	return true;
}

static bool metric_core_keys(struct loader *ld, const struct raw_section *s, struct lt_metric *mt)
{
	const struct raw_kv *kv;
	char err[512];
	uint64_t v;
	bool ok = true;

	ok &= metric_units(ld, s, mt);

	kv = kv_find(s, "interval"); /* required unless event-driven: see metric_build() */
	if (!kv) {
		/* checked once the driver has said whether the metric is event-driven */
	} else if (lt_parse_duration(kv->value, &v, err, sizeof(err)) < 0) {
		report(ld, &kv->origin, "interval: %s", err);
		ok = false;
	} else if (v < INTERVAL_MIN_NS || v > INTERVAL_MAX_NS) {
		report(ld, &kv->origin, "interval: %s is out of range (10us..24h)", kv->value);
		ok = false;
	} else {
		mt->interval_ns = v;
	}

	kv = kv_find(s, "aggregation");
	if (kv && lt_parse_uint(kv->value, 1, AGGREGATION_MAX, &v, err, sizeof(err)) < 0) {
		report(ld, &kv->origin, "aggregation: %s", err);
		ok = false;
	} else if (kv) {
		mt->aggregation = (unsigned)v;
	}

	ok &= targets_build(ld, kv_find(s, "dcc"), mt);
	return ok;
}

/*
 * filter, deadband, min_gap and window (filter.h): the sampler applies them
 * before the ring push. They are core keys, never a driver's; a reload
 * compares them with the rest of the section (conf), so a change restarts
 * the metric.
 */
static bool metric_filter_keys(struct loader *ld, const struct raw_section *s, struct lt_metric *mt)
{
	struct lt_filter f = { 0 };
	const struct raw_kv *win = kv_find(s, "window");
	char err[512];
	bool ok = true;

	for (unsigned i = 0; i < s->nkv; i++) {
		const struct raw_kv *kv = &s->kv[i];

		if (!filter_key(kv->key))
			continue;
		err[0] = '\0';
		if (filter_set(&f, kv->key, kv->value, err, sizeof(err)) < 0) {
			report(ld, &kv->origin, "%s: %s", kv->key, err);
			ok = false;
		}
	}
	if (!ok || !filter_any(&f))
		return ok;
	/* What filter_check() refuses is always about the window. */
	if (filter_check(&f, err, sizeof(err)) < 0) {
		report(ld, win ? &win->origin : &s->origin, "%s", err);
		return false;
	}
	mt->filter = xmalloc(sizeof(*mt->filter));
	*mt->filter = f;
	return true;
}

static void metric_build(struct loader *ld, const struct raw_section *s)
{
	struct lt_model *m = ld->model;
	const struct lt_device_driver *drv;
	const char *dot = strchr(s->name, '.');
	struct lt_device *dev;
	struct lt_metric *mt;
	char err[512] = "", *devname;
	bool ok;
	int r;

	devname = xasprintf("%.*s", (int)(dot - s->name), s->name);
	dev = model_find_device(m, devname);
	if (!dev) {
		report(ld, &s->origin, "%s: no device \"%s\"", s->title, devname);
		free(devname);
		return;
	}
	free(devname);

	mt = xcalloc(1, sizeof(*mt));
	mt->fullname = xstrdup(s->name);
	mt->name = mt->fullname + (dot + 1 - s->name);
	mt->unit = lt_no_unit;
	mt->aggregation = 1;
	mt->device = dev;
	mt->origin = model_origin(ld, s->origin);
	mt->conf_hash = section_conf_hash(s);
	/* A device without a driver (wrong type, reported) only gets the core keys checked. */
	drv = dev->drv;
	if (drv && drv->metric_init && (r = drv->metric_init(mt)) < 0) {
		report_init(ld, s, r);
		free(mt->fullname);
		free(mt);
		return;
	}
	mt->id = m->nmetrics;
	m->metrics = lt_grow(m->metrics, m->nmetrics, sizeof(*m->metrics));
	m->metrics[m->nmetrics++] = mt;
	dev->metrics = lt_grow(dev->metrics, dev->nmetrics, sizeof(*dev->metrics));
	mt->dev_index = dev->nmetrics;
	dev->metrics[dev->nmetrics++] = mt;

	ok = metric_core_keys(ld, s, mt);
	ok &= metric_filter_keys(ld, s, mt);
	if (!drv)
		return;
	for (unsigned i = 0; i < s->nkv; i++) {
		const struct raw_kv *kv = &s->kv[i];

		if (metric_key_is_core(kv->key) || filter_key(kv->key))
			continue;
		err[0] = '\0';
		r = drv->metric_option
			    ? drv->metric_option(mt, kv->key, kv->value, err, sizeof(err))
			    : -ENOENT;
		ok &= option_result(ld, s, kv, r, err);
	}
	err[0] = '\0';
	if (ok && drv->metric_check && (r = drv->metric_check(mt, err, sizeof(err))) < 0) {
		report_section(ld, s, r, err);
		return;
	}
	if (ok && !mt->event_driven && !kv_find(s, "interval"))
		report(ld, &s->origin, "%s: interval is required", s->title);
}

/*
 * A metric template, [metric "DEVICE.PREFIX*SUFFIX"]: one key's value holds
 * one *, a pattern expanded with glob(3) each time the configuration is
 * loaded (at start and at each reload), into one metric per existing path,
 * named with what the * matched (thermal_zone*\/temp and "host.zone*" give
 * host.zone0, host.zone1...), with the other keys as written. No match is
 * no metric: the sensors of the machine at hand, whatever they are.
 */
static void metric_expand(struct loader *ld, const struct raw_section *s)
{
	const struct raw_kv *pat = NULL;
	const char *star, *nstar = strchr(s->name, '*');
	size_t pre, suf;
	glob_t g;
	int r;

	for (unsigned i = 0; i < s->nkv; i++) {
		if (!strchr(s->kv[i].value, '*'))
			continue;
		if (pat) {
			report(ld, &s->kv[i].origin,
			       "%s: %s: only one key of a template may hold a *", s->title,
			       s->kv[i].key);
			return;
		}
		pat = &s->kv[i];
	}
	if (!pat) {
		report(ld, &s->origin, "%s: a template (a * in the name) needs one key holding a *",
		       s->title);
		return;
	}
	star = strchr(pat->value, '*');
	if (strchr(star + 1, '*')) {
		report(ld, &pat->origin, "%s: %s: a template's pattern holds one * only", s->title,
		       pat->key);
		return;
	}
	pre = (size_t)(star - pat->value);
	suf = strlen(star + 1);
	/* A folder that is missing or unreadable matches nothing. */
	r = glob(pat->value, 0, NULL, &g);
	if (r == GLOB_NOMATCH)
		return;
	if (r != 0) {
		report(ld, &pat->origin, "%s: %s: cannot list '%s': %s", s->title, pat->key,
		       pat->value, r == GLOB_NOSPACE ? "out of memory" : "read error");
		return;
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *path = g.gl_pathv[i];
		char *name = xasprintf("%.*s%.*s%s", (int)(nstar - s->name), s->name,
				       (int)(strlen(path) - pre - suf), path + pre, nstar + 1);
		struct raw_section one = *s;

		if (!metric_name_valid(name)) {
			report(ld, &pat->origin,
			       "%s: %s matches '%s', which makes the bad name \"%s\"", s->title,
			       pat->key, path, name);
		} else if (model_find_metric(ld->model, name)) {
			report(ld, &pat->origin, "%s: %s matches '%s', which makes \"%s\" twice",
			       s->title, pat->key, path, name);
		} else {
			one.name = name;
			one.title = xasprintf("[metric \"%s\"]", name);
			one.kv = xmalloc(s->nkv * sizeof(*one.kv));
			memcpy(one.kv, s->kv, s->nkv * sizeof(*one.kv));
			one.kv[pat - s->kv].value = (char *)path;
			metric_build(ld, &one);
			free(one.kv);
			free(one.title);
		}
		free(name);
	}
	globfree(&g);
}

static bool is_template(const struct raw_section *s)
{
	return s->kind == SECT_METRIC && strchr(s->name, '*');
}

/* ---- profiles: the devices udev discovery makes (discover.h) -------------- */

/* The [profile] a metric section belongs to; NULL when it is a device's. */
static struct raw_section *metric_profile(const struct loader *ld, const struct raw_section *s)
{
	const char *dot = strchr(s->name, '.');

	return section_find_n(ld, SECT_PROFILE, s->name, (size_t)(dot - s->name));
}

/* ---- discovery messages: [discovery] and the profiles' types (devdisc.h) -- */

/* The keys of a profile that say how discovery messages announce its devices. */
static bool is_discovery_key(const char *key)
{
	return !strcmp(key, "discovery_type") || !strcmp(key, "unique_key");
}

/*
 * The keys of the transport that mean nothing to a client that only
 * subscribes: refused rather than taken and ignored.
 */
static bool mqtt_key_unused(const char *key)
{
	return !strncmp(key, "spool", 5) || !strcmp(key, "queue_size");
}

/*
 * [discovery] mqtt.KEY: the MQTT endpoint. mqtt.topic is discovery's own;
 * the other keys are the transport's (as a `type = mqtt` DCC's), parsed by
 * transport-mqtt, which is loaded for them. Returns false after reporting.
 */
static bool discovery_mqtt(struct loader *ld, const struct raw_section *s)
{
	struct lt_discovery_conf *c = &ld->model->discovery;
	const struct lt_mqtt_api *api;
	char err[512] = "", *keys;
	int r;

	if (pkg_held(LT_MQTT_PACKAGE)) {
		lt_log(LOG_NOTICE, "%s:%d: [discovery] mqtt.* left out: %s unloaded by liotactl",
		       s->origin.file, s->origin.line, LT_MQTT_PACKAGE);
		return true;
	}
	r = pkg_load(LT_MQTT_PACKAGE, NULL, err, sizeof(err));
	if (r < 0 || !(api = pkg_api(LT_MQTT_PACKAGE))) {
		report(ld, &s->origin, "[discovery] mqtt: %s",
		       r < 0 ? err : LT_MQTT_PACKAGE " provides no API");
		return false;
	}
	if (!(c->mqtt = api->conf_new())) {
		report(ld, &s->origin, "[discovery] mqtt: out of memory");
		return false;
	}
	c->mqtt_api = api;
	/*
	 * The owner's settings (transport/mqtt.h): a message up to twice the
	 * bound arrives and is refused with its reason; the broker drops a
	 * larger one (MQTT 5's maximum packet size).
	 */
	c->mqtt->max_incoming = 2 * LT_DEVDISC_MSG_MAX;
	snprintf(c->mqtt->log_name, sizeof(c->mqtt->log_name), "discovery mqtt");
	/* The client id is made from the edge id: a new one is a new client. */
	keys = section_conf(s);
	c->mqtt_canon = xasprintf("edge=%s\n%s", ld->model->edge.id, keys);
	free(keys);
	for (unsigned i = 0; i < s->nkv; i++) {
		const struct raw_kv *kv = &s->kv[i];
		const char *key = kv->key + 5;

		if (strncmp(kv->key, "mqtt.", 5) != 0)
			continue;
		err[0] = '\0';
		if (!strcmp(key, "topic")) {
			if (lt_devdisc_topic_check(kv->value, err, sizeof(err)) < 0)
				report(ld, &kv->origin, "%s: '%s': %s", kv->key, kv->value, err);
			free(c->mqtt_topic);
			c->mqtt_topic = xstrdup(kv->value);
		} else if (mqtt_key_unused(key)) {
			report(ld, &kv->origin,
			       "%s: discovery only receives: it has nothing to queue or spool",
			       kv->key);
		} else if ((r = api->conf_option(c->mqtt, key, kv->value, err, sizeof(err))) ==
			   -ENOENT) {
			report(ld, &kv->origin,
			       "unknown key '%s' in %s (mqtt.topic, or a key of the MQTT "
			       "transport, as in a `type = mqtt` DCC: host, port, username, "
			       "tls...)",
			       kv->key, s->title);
		} else if (r < 0) {
			report(ld, &kv->origin, "%s: %s", kv->key, *err ? err : strerror(-r));
		}
	}
	/* One topic per gateway by default: devices announce themselves to their own edge. */
	if (!c->mqtt_topic)
		c->mqtt_topic = xasprintf("liotad/%s/discovery", ld->model->edge.name);
	err[0] = '\0';
	if ((r = api->conf_check(c->mqtt, NULL, err, sizeof(err))) < 0) {
		report(ld, &s->origin, "%s: mqtt: %s", s->title, *err ? err : strerror(-r));
		return false;
	}
	return true;
}

/* [discovery]: where messages come from. */
static void discovery_build(struct loader *ld)
{
	const struct raw_section *s = section_find(ld, SECT_DISCOVERY, NULL);
	bool mqtt = false;

	for (unsigned i = 0; s && i < s->nkv; i++) {
		const struct raw_kv *kv = &s->kv[i];

		if (!strncmp(kv->key, "mqtt.", 5)) {
			mqtt = true;
		} else if (strcmp(kv->key, "pipe") != 0) {
			report_unknown_key(ld, s, kv);
		} else if (kv->value[0] != '/' || kv->value[strlen(kv->value) - 1] == '/') {
			report(ld, &kv->origin,
			       "pipe: '%s' is not the absolute path of a file (/run/liotad/"
			       "discovery.fifo)",
			       kv->value);
		} else {
			free(ld->model->discovery.pipe);
			ld->model->discovery.pipe = xstrdup(kv->value);
		}
	}
	if (mqtt)
		discovery_mqtt(ld, s);
}

static bool word_valid(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max && strspn(s, LT_DEVDISC_KEY_CHARS) == n;
}

/*
 * A profile with discovery_type and unique_key (liota's
 * DEVICE_TYPE_TO_UNIQUEKEY_MAPPING) makes the devices discovery messages
 * announce: its type joins the model's. Returns false after reporting.
 */
static bool profile_discovery(struct loader *ld, const struct raw_section *p,
			      const struct raw_kv *dtype, const struct raw_kv *ukey)
{
	struct lt_discovery_conf *c = &ld->model->discovery;

	if (!dtype || !ukey) {
		report(ld, dtype ? &dtype->origin : &ukey->origin,
		       "%s: %s needs %s too (a message {\"TYPE\": {\"KEY\": \"VALUE\", ...}} "
		       "names its device by the value of its type's unique key)",
		       p->title, dtype ? "discovery_type" : "unique_key",
		       dtype ? "unique_key" : "discovery_type");
		return false;
	}
	/* Room for "_" and one character of the unique value in a device name. */
	if (!word_valid(dtype->value, LT_NAME_LEN_MAX - 2)) {
		report(ld, &dtype->origin, "discovery_type: '%s': use 1 to %d of A-Z a-z 0-9 _ -",
		       dtype->value, LT_NAME_LEN_MAX - 2);
		return false;
	}
	if (!word_valid(ukey->value, LT_PROPERTY_KEY_MAX)) {
		report(ld, &ukey->origin, "unique_key: '%s': use 1 to %d of A-Z a-z 0-9 _ -",
		       ukey->value, LT_PROPERTY_KEY_MAX);
		return false;
	}
	for (unsigned i = 0; i < c->ntypes; i++) {
		if (strcmp(c->types[i].type, dtype->value) == 0) {
			report(ld, &dtype->origin,
			       "discovery_type: %s is the type of [profile \"%s\"] already",
			       dtype->value, c->profiles[i]);
			return false;
		}
	}
	c->types = xrealloc(c->types, (c->ntypes + 1) * sizeof(*c->types));
	c->profiles = xrealloc(c->profiles, (c->ntypes + 1) * sizeof(*c->profiles));
	c->types[c->ntypes] =
		(struct lt_devdisc_type){ xstrdup(dtype->value), xstrdup(ukey->value) };
	c->profiles[c->ntypes++] = xstrdup(p->name);
	return true;
}

/*
 * Whether the device a message announced (@in) can be made from @p: the
 * profile still has its type, and its properties and the profile's fit in
 * one device. Otherwise it is logged and left out, as hardware udev finds.
 */
static bool message_fits(const struct raw_section *p, const struct lt_instance *in)
{
	const struct raw_kv *dtype = kv_find(p, "discovery_type");
	unsigned n = 0;

	if (!dtype || strcmp(dtype->value, in->dtype) != 0) {
		lt_log(LOG_WARNING, "%s: %s has no discovery_type = %s any more: not taken",
		       in->name, p->title, in->dtype);
		return false;
	}
	for (unsigned i = 0; i < p->nkv; i++)
		n += is_property(&p->kv[i]);
	for (unsigned i = 0; i < in->nmsgprops; i++) {
		char *key = xasprintf(PROPERTY_PREFIX "%s", in->msg_keys[i]);

		n += !kv_find(p, key);
		free(key);
	}
	if (n > LT_DEVICE_PROPERTIES_MAX) {
		lt_log(LOG_WARNING,
		       "%s: %u properties with those of %s, more than a device holds (%d): not "
		       "taken",
		       in->name, n, p->title, LT_DEVICE_PROPERTIES_MAX);
		return false;
	}
	return true;
}

/*
 * Build device @name from profile @p: the profile's keys, @hwkey = @hw and
 * the udev properties of @in (NULL: none) as property.KEY (one the profile
 * sets itself wins), then the profile's metric sections renamed
 * NAME.METRIC. Problems point at the profile's lines.
 */
static void profile_make(struct loader *ld, const struct raw_section *p, const char *name,
			 const char *title, const char *hwkey, const char *hw,
			 const struct lt_instance *in)
{
	struct raw_section dev = *p;
	char *keys[LT_DISCOVER_PROPS] = { NULL };
	unsigned nmsg = in ? in->nmsgprops : 0;
	char **msgkeys = xcalloc(nmsg + 1, sizeof(*msgkeys));

	dev.kind = SECT_DEVICE;
	dev.name = (char *)name;
	dev.title = (char *)title;
	dev.kv = xcalloc(p->nkv + 1 + LT_DISCOVER_PROPS + nmsg, sizeof(*dev.kv));
	dev.nkv = 0;
	/* The profile's keys but those saying how messages announce its devices. */
	for (unsigned i = 0; i < p->nkv; i++)
		if (!is_discovery_key(p->kv[i].key))
			dev.kv[dev.nkv++] = p->kv[i];
	/* A profile for discovery messages names its hardware itself, if any. */
	if (hwkey)
		dev.kv[dev.nkv++] =
			(struct raw_kv){ (char *)hwkey, (char *)hw, p->origin, p->file };
	/* A discovery message's properties, as udev's: the profile's own win. */
	for (unsigned i = 0; i < nmsg; i++) {
		msgkeys[i] = xasprintf(PROPERTY_PREFIX "%s", in->msg_keys[i]);
		if (!kv_find(p, msgkeys[i]))
			dev.kv[dev.nkv++] = (struct raw_kv){ msgkeys[i], in->msg_values[i],
							     p->origin, p->file };
	}
	for (unsigned i = 0; in && i < LT_DISCOVER_PROPS; i++) {
		if (!in->prop_values[i])
			continue;
		keys[i] = xasprintf(PROPERTY_PREFIX "%s", in->prop_keys[i]);
		if (kv_find(p, keys[i]))
			continue;
		dev.kv[dev.nkv++] =
			(struct raw_kv){ keys[i], in->prop_values[i], p->origin, p->file };
	}
	device_build(ld, &dev);
	for (unsigned i = 0; i < LT_DISCOVER_PROPS; i++)
		free(keys[i]);
	for (unsigned i = 0; i < nmsg; i++)
		free(msgkeys[i]);
	free(msgkeys);
	free(dev.kv);

	for (unsigned i = 0; i < ld->nsects; i++) {
		const struct raw_section *s = ld->sects[i];
		struct raw_section one;

		if (s->kind != SECT_METRIC || metric_profile(ld, s) != p)
			continue;
		one = *s;
		one.name = xasprintf("%s%s", name, strchr(s->name, '.'));
		if (is_template(s)) {
			metric_expand(ld, &one);
		} else {
			/* The profile's own metric, as written, when the profile is checked. */
			one.title = strcmp(name, p->name) == 0
					    ? xstrdup(s->title)
					    : xasprintf("[metric \"%s\"] (of %s)", one.name, title);
			metric_build(ld, &one);
			free(one.title);
		}
		free(one.name);
	}
}

/*
 * A profile is checked when loaded, by building it as a device with an
 * example of its hardware key and dropping it: its mistakes are reported
 * now, as FILE:LINE, not when a device of it is plugged in. Returns false
 * when it is wrong (its devices are then not made).
 */
static bool profile_check(struct loader *ld, const struct raw_section *p)
{
	const struct raw_kv *type = kv_find(p, "type");
	const struct raw_kv *dtype = kv_find(p, "discovery_type"), *ukey = kv_find(p, "unique_key");
	const struct raw_section *clash = section_find(ld, SECT_DEVICE, p->name);
	const char *hwkey = NULL, *example = NULL;
	unsigned before = ld->nerrs;

	if (held_notice(p))
		return false;
	if (clash) {
		report(ld, &p->origin,
		       "%s: %s has this name (at %s:%d): devices and profiles "
		       "share one name space",
		       p->title, clash->title, clash->origin.file, clash->origin.line);
		return false;
	}
	if (!type) {
		report(ld, &p->origin, "%s: type is required (one of: iio, gpio, can, modbus)",
		       p->title);
		return false;
	}
	/* Messages announce devices of any type; the profile names the hardware itself. */
	if (dtype || ukey) {
		if (!profile_discovery(ld, p, dtype, ukey))
			return false;
		profile_make(ld, p, p->name, p->title, NULL, NULL, NULL);
		model_drop_last_device(ld->model);
		return ld->nerrs == before;
	}
	hwkey = lt_discover_hw_key(type->value, &example);
	if (!hwkey) {
		report(ld, &type->origin,
		       "type: udev does not discover '%s' devices (a profile is one of: iio, gpio, "
		       "can, modbus)",
		       type->value);
		return false;
	}
	for (unsigned i = 0; i < p->nkv; i++) {
		if (strcmp(p->kv[i].key, hwkey) == 0) {
			report(ld, &p->kv[i].origin,
			       "%s: udev gives each device of a profile its own %s: remove the key",
			       hwkey, hwkey);
			return false;
		}
	}
	profile_make(ld, p, p->name, p->title, hwkey, example, NULL);
	model_drop_last_device(ld->model);
	return ld->nerrs == before;
}

/*
 * Make the discovered devices whose profile is valid (@valid: per raw
 * section). One that cannot be made is logged and left out: hardware that
 * appears must not make the configuration invalid.
 */
static void instances_build(struct loader *ld, const bool *valid)
{
	for (unsigned i = 0; i < ld->ninst; i++) {
		const struct lt_instance *in = &ld->inst[i];
		const struct raw_section *p = section_find(ld, SECT_PROFILE, in->profile);
		const struct raw_section *clash = section_find(ld, SECT_DEVICE, in->name);
		const struct raw_kv *type;
		unsigned k = 0;
		char *title;

		if (!clash)
			clash = section_find(ld, SECT_PROFILE, in->name);
		if (!p) {
			lt_log(LOG_WARNING,
			       "%s (%s): no [profile \"%s\"] in the configuration: "
			       "not taken",
			       in->name, in->hw, in->profile);
			continue;
		}
		while (ld->sects[k] != p)
			k++;
		if (!valid[k])
			continue; /* reported as an error already */
		type = kv_find(p, "type");
		if (in->message ? !message_fits(p, in) : !!kv_find(p, "discovery_type")) {
			if (!in->message)
				lt_log(LOG_WARNING,
				       "%s (%s): %s is for discovery messages, not udev: not taken",
				       in->name, in->hw, p->title);
			continue;
		}
		if (!in->message && !lt_discover_fits(type->value, in->subsystem)) {
			lt_log(LOG_WARNING,
			       "%s (%s): udev subsystem %s, but %s has type %s: "
			       "not taken",
			       in->name, in->hw, in->subsystem, p->title, type->value);
			continue;
		}
		if (clash || model_find_device(ld->model, in->name) ||
		    !name_valid(in->name, strlen(in->name), NAME_CHARS)) {
			lt_log(LOG_WARNING, "%s (%s): %s: not taken", in->name, in->hw,
			       clash ? "the configuration has a section of that name"
				     : "the name is taken or not valid");
			continue;
		}
		title = xasprintf("[device \"%s\"] (made from %s)", in->name, p->title);
		profile_make(ld, p, in->name, title,
			     in->message ? NULL : lt_discover_hw_key(type->value, NULL), in->hw,
			     in);
		free(title);
	}
}

static void model_build(struct loader *ld)
{
	static const enum sect_kind order[] = { SECT_DCC, SECT_DEVICE, SECT_METRIC };

	char *dconf, *econf;
	bool *valid;

	daemon_build(ld);
	edge_build(ld);
	discovery_build(ld);
	/* The edge's name and id as resolved: a new host name is a change too. */
	dconf = section_conf(section_find(ld, SECT_DAEMON, NULL));
	econf = section_conf(section_find(ld, SECT_EDGE, NULL));
	ld->model->core_conf = xasprintf("[daemon]\n%s[edge]\n%s%s %s\n", dconf, econf,
					 ld->model->edge.name, ld->model->edge.id);
	free(dconf);
	free(econf);
	for (size_t k = 0; k < ARRAY_SIZE(order); k++) {
		for (unsigned i = 0; i < ld->nsects; i++) {
			const struct raw_section *s = ld->sects[i];

			if (s->kind != order[k] || is_template(s))
				continue;
			if (s->kind == SECT_METRIC && metric_profile(ld, s))
				continue; /* made for each device of the profile */
			if (s->kind == SECT_METRIC ? metric_held(ld, s) : held_notice(s))
				continue;
			if (s->kind == SECT_DCC)
				dcc_build(ld, s);
			else if (s->kind == SECT_DEVICE)
				device_build(ld, s);
			else
				metric_build(ld, s);
		}
	}
	/* After the metrics named in full, so that a template cannot take their names. */
	for (unsigned i = 0; i < ld->nsects; i++)
		if (is_template(ld->sects[i]) && !metric_profile(ld, ld->sects[i]) &&
		    !metric_held(ld, ld->sects[i]))
			metric_expand(ld, ld->sects[i]);
	/* Last, so that a profile's check can drop what it built. */
	valid = xcalloc(ld->nsects + 1, sizeof(*valid));
	for (unsigned i = 0; i < ld->nsects; i++)
		if (ld->sects[i]->kind == SECT_PROFILE) {
			valid[i] = profile_check(ld, ld->sects[i]);
			ld->model->nprofiles++;
		}
	instances_build(ld, valid);
	free(valid);
}

/* ---- entry points -------------------------------------------------------- */

int config_read(const char *path, struct lt_conf **out)
{
	struct loader ld = { 0 };
	struct lt_conf *c = xcalloc(1, sizeof(*c));

	/* Phase 1 keeps the file names in a model; this one only holds them. */
	ld.model = xcalloc(1, sizeof(*ld.model));
	file_read(&ld, path);
	dropins_read(&ld, path);
	free(ld.line);
	free(ld.index);
	for (unsigned i = 0; i < ld.nsects; i++) {
		struct raw_section *s = ld.sects[i];

		ld.sects[i] = section_pack(s);
		section_free_parts(s);
	}
	c->files = ld.model->files;
	c->nfiles = ld.model->nfiles;
	c->sects = ld.sects;
	c->nsects = ld.nsects;
	c->errs = ld.errs;
	c->nerrs = ld.nerrs;
	c->seen = ld.seen;
	c->unsure = ld.unsure;
	free(ld.model);
	*out = c;
	return 0;
}

bool config_reuse(const struct lt_conf *c, const char *path)
{
	char **names, *dir, why[160];
	bool same;
	unsigned n;

	if (!c || c->unsure || strcmp(c->files[0], path) || !lt_filesig_same(&c->seen[0].sig, path))
		return false;
	/* The drop-ins found now, as config_read() would find them. */
	if (dropins_list(path, &dir, &names, &n, why, sizeof(why)) < 0)
		n = UINT_MAX;
	same = n == c->nfiles - 1;
	for (unsigned i = 0; same && i < n; i++)
		same = !strcmp(names[i], c->files[i + 1]) &&
		       lt_filesig_same(&c->seen[i + 1].sig, names[i]);
	names_free(names, n == UINT_MAX ? 0 : n);
	free(dir);
	if (!same)
		return false;
	/* What reading them would have logged again. */
	for (unsigned i = 0; i < c->nfiles; i++)
		if (c->seen[i].secret_line)
			secret_warn(c->files[i], c->seen[i].secret_line, c->seen[i].sig.mode);
	return true;
}

void config_free(struct lt_conf *c)
{
	struct loader ld = { 0 };

	if (!c)
		return;
	ld.sects = c->sects;
	ld.nsects = c->nsects;
	sections_free(&ld, true);
	for (unsigned i = 0; i < c->nerrs; i++)
		free(c->errs[i].text);
	free(c->errs);
	for (unsigned i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c->seen);
	free(c);
}

/*
 * @c's sections for one build, indexed but not copied (a copy per build
 * was a fifth of a reload of 10,000 metrics); the new model gets its own
 * file names, which what it keeps points at (model_origin()): it may
 * outlive @c.
 */
static void sections_borrow(struct loader *ld, const struct lt_conf *c)
{
	struct lt_model *m = ld->model;

	ld->conf = c;
	m->files = xcalloc(c->nfiles, sizeof(*m->files));
	for (unsigned i = 0; i < c->nfiles; i++)
		m->files[i] = xstrdup(c->files[i]);
	m->nfiles = c->nfiles;
	for (unsigned i = 0; i < c->nsects; i++)
		section_add(ld, c->sects[i]);
	ld->errs = xcalloc(c->nerrs + 1, sizeof(*ld->errs));
	for (unsigned i = 0; i < c->nerrs; i++) {
		ld->errs[i] = c->errs[i];
		ld->errs[i].text = xstrdup(c->errs[i].text);
	}
	ld->nerrs = c->nerrs;
}

int config_build(const struct lt_conf *c, const char *machine_id_path,
		 const struct lt_instance *inst, unsigned ninst, struct lt_model **out,
		 char **errors)
{
	struct loader ld = { .machine_id_path = machine_id_path, .inst = inst, .ninst = ninst };
	int r = 0;

	ld.model = xcalloc(1, sizeof(*ld.model));
	sections_borrow(&ld, c);
	model_build(&ld);
	sections_free(&ld, false);
	lt_units_close(ld.units);

	if (errors)
		*errors = ld.nerrs ? errors_join(&ld) : NULL;
	if (ld.nerrs) {
		model_free(ld.model);
		r = -EINVAL;
	} else {
		*out = ld.model;
	}
	for (unsigned i = 0; i < ld.nerrs; i++)
		free(ld.errs[i].text);
	free(ld.errs);
	return r;
}

int config_load(const char *path, const char *machine_id_path, struct lt_model **out, char **errors)
{
	struct lt_conf *c;
	int r;

	config_read(path, &c);
	r = config_build(c, machine_id_path, NULL, 0, out, errors);
	config_free(c);
	return r;
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *config_find(char *err, size_t errlen)
{
	const char *home = getenv("HOME"), *env = getenv("LIOTAD_CONF");
	char *tried[3], *found = NULL;
	unsigned n = 0, i;

	/*
	 * Not ./liotad.conf (liota's first place): what a daemon runs, and as
	 * whom, must not depend on the folder it happened to be started from.
	 */
	if (home && *home)
		tried[n++] = xasprintf("%s/.config/liotad/liotad.conf", home);
	if (env && *env && is_dir(env))
		tried[n++] =
			xasprintf("%s%sliotad.conf", env, env[strlen(env) - 1] == '/' ? "" : "/");
	else if (env && *env)
		tried[n++] = xstrdup(env);
	tried[n++] = xstrdup(SYSCONFDIR "/liotad/liotad.conf");

	for (i = 0; i < n && !found; i++) {
		if (is_file(tried[i])) {
			found = tried[i];
			tried[i] = NULL;
		}
	}
	if (!found && err && errlen) {
		size_t len = (size_t)snprintf(err, errlen, "no configuration file found (tried: ");

		for (i = 0; i < n && len < errlen; i++)
			len += (size_t)snprintf(err + len, errlen - len, "%s%s", i ? ", " : "",
						tried[i]);
		if (len < errlen)
			snprintf(err + len, errlen - len, ")");
	}
	for (i = 0; i < n; i++)
		free(tried[i]);
	return found;
}
