/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Carbon plaintext encoding, and lt_fmt_double(): the per-sample hot path.
 *
 * lt_fmt_double() writes the shortest decimal string that strtod() reads
 * back as the same double, laid out like ECMAScript's Number::toString:
 * plain digits for 1e-6 <= |v| < 1e21 ("21.5", "0.000001",
 * "123456789012345680000"), exponent form outside ("1e+21", "1e-7",
 * "2.5e-300"). Negative zero is written "-0", so every finite double
 * survives the round trip bit for bit.
 *
 * Three ways to the digits, cheapest first:
 *   - integers below 2^53: a digit routine;
 *   - other values with 1e-6 <= |v| < 2^53: the smallest number of decimals
 *     d such that round(v * 10^d) / 10^d reads back as v, found in one pass
 *     with 128-bit integers (fmt_fraction(); no printf);
 *   - the rest (huge, tiny, subnormal): snprintf("%.*e") at 15, 16 and 17
 *     significant digits, the first that strtod() reads back.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcc/carbon.h"
#include "util.h"

/* Longest lt_fmt_double() output: "-0.000001234567890123456" is 25 chars. */
#define FMT_DOUBLE_MAX 32
static const char digit_pairs[201] = "00010203040506070809"
				     "10111213141516171819"
				     "20212223242526272829"
				     "30313233343536373839"
				     "40414243444546474849"
				     "50515253545556575859"
				     "60616263646566676869"
				     "70717273747576777879"
				     "80818283848586878889"
				     "90919293949596979899";

static const uint64_t pow10_u64[20] = {
	1ull,
	10ull,
	100ull,
	1000ull,
	10000ull,
	100000ull,
	1000000ull,
	10000000ull,
	100000000ull,
	1000000000ull,
	10000000000ull,
	100000000000ull,
	1000000000000ull,
	10000000000000ull,
	100000000000000ull,
	1000000000000000ull,
	10000000000000000ull,
	100000000000000000ull,
	1000000000000000000ull,
	10000000000000000000ull,
};

/* Number of decimal digits of @v (1 for 0): log10 from the bit length, then one compare. */
static size_t u64_digits(uint64_t v)
{
	unsigned t = ((64u - (unsigned)__builtin_clzll(v | 1)) * 1233u) >> 12;

	return t + 1 - ((v | 1) < pow10_u64[t]);
}

/* The 8 digits of @v < 10^8 at @p, in 32-bit arithmetic and two independent halves. */
static void put8(char *p, uint32_t v)
{
	uint32_t hi = v / 10000, lo = v % 10000;

	memcpy(p, digit_pairs + 2 * (hi / 100), 2);
	memcpy(p + 2, digit_pairs + 2 * (hi % 100), 2);
	memcpy(p + 4, digit_pairs + 2 * (lo / 100), 2);
	memcpy(p + 6, digit_pairs + 2 * (lo % 100), 2);
}

/*
 * Write the decimal digits of @v at @out (room for 20); returns their count.
 * Written in place from the end, eight digits at a time in 32-bit
 * arithmetic: this runs for every value and timestamp.
 */
static size_t fmt_u64(char *out, uint64_t v)
{
	size_t n = u64_digits(v);
	char *p = out + n;
	uint32_t w;

	while (v >= 100000000) {
		p -= 8;
		put8(p, (uint32_t)(v % 100000000));
		v /= 100000000;
	}
	w = (uint32_t)v;
	while (w >= 100) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (w % 100), 2);
		w /= 100;
	}
	if (w >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * w, 2);
	} else {
		*--p = (char)('0' + w);
	}
	return n;
}

/*
 * Lay out the significant digits @dig (@k of them, no leading or trailing
 * zeros) of a number whose value is 0.DIG * 10^@n, ECMAScript style.
 */
static size_t layout(char *out, int neg, const char *dig, int k, int n)
{
	char *p = out;

	if (neg)
		*p++ = '-';
	if (k <= n && n <= 21) {
		memcpy(p, dig, (size_t)k);
		p += k;
		memset(p, '0', (size_t)(n - k));
		p += n - k;
	} else if (0 < n && n <= 21) {
		memcpy(p, dig, (size_t)n);
		p += n;
		*p++ = '.';
		memcpy(p, dig + n, (size_t)(k - n));
		p += k - n;
	} else if (-6 < n && n <= 0) {
		*p++ = '0';
		*p++ = '.';
		memset(p, '0', (size_t)-n);
		p += -n;
		memcpy(p, dig, (size_t)k);
		p += k;
	} else {
		int e = n - 1;

		*p++ = dig[0];
		if (k > 1) {
			*p++ = '.';
			memcpy(p, dig + 1, (size_t)(k - 1));
			p += k - 1;
		}
		*p++ = 'e';
		*p++ = e < 0 ? '-' : '+';
		p += fmt_u64(p, (uint64_t)(e < 0 ? -e : e));
	}
	return (size_t)(p - out);
}

static int fmt_finish(char *buf, size_t len, const char *tmp, size_t n)
{
	if (n + 1 > len)
		return -ENOSPC;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return (int)n;
}

typedef unsigned __int128 u128;

#define P10(n) ((u128)(n))
static const u128 pow10_tab[23] = {
	P10(1ull),
	P10(10ull),
	P10(100ull),
	P10(1000ull),
	P10(10000ull),
	P10(100000ull),
	P10(1000000ull),
	P10(10000000ull),
	P10(100000000ull),
	P10(1000000000ull),
	P10(10000000000ull),
	P10(100000000000ull),
	P10(1000000000000ull),
	P10(10000000000000ull),
	P10(100000000000000ull),
	P10(1000000000000000ull),
	P10(10000000000000000ull),
	P10(100000000000000000ull),
	P10(1000000000000000000ull),
	P10(10000000000000000000ull),
	P10(10000000000000000000ull) * 10,
	P10(10000000000000000000ull) * 100,
	P10(10000000000000000000ull) * 1000,
};

/*
 * With v = M / 2^s exactly (M the 53-bit mantissa), the candidate with d
 * decimals is m = round(v * 10^d), and strtod() reads m / 10^d back as v iff
 * it lies within half the gap to the neighbouring doubles, ties going to an
 * even M: 2 * |m * 2^s - M * 10^d| <= 10^d (the gap below a power of two is
 * half as wide). Returns whether it does, with m in *out (meaningful only
 * for the smallest such d, where m has at most 17 digits; it may wrap for
 * larger d, which the search below then discards).
 */
static int fraction_fits(uint64_t M, int s, int d, uint64_t *out)
{
	u128 P = (u128)M * pow10_tab[d]; /* < 2^124 for d <= 21 */
	u128 half = (u128)1 << (s - 1);
	u128 r = P & ((half << 1) - 1);
	uint64_t q = (uint64_t)(P >> s);
	u128 diff;
	int down = r < half;

	if (down) {
		diff = r << 1;
		if (M == (1ull << 52))
			diff <<= 1;
	} else {
		diff = ((half << 1) - r) << 1;
		q++;
	}
	*out = q;
	return diff < pow10_tab[d] || (diff == pow10_tab[d] && !(M & 1));
}

/*
 * Shortest digits for 1e-6 <= |v| < 2^53, v not an integer, by search: the
 * smallest d that fraction_fits(), found by galloping then bisecting. Kept
 * for mantissas that are a power of two, whose interval of reals reading
 * back as v is narrower below than above (fmt_fraction() assumes it is
 * symmetric). Returns 0 when it gives up (values below 1e-4 needing 17
 * digits).
 */
static size_t fmt_fraction_search(char *out, uint64_t M, int s, int neg)
{
	int lo = 0, hi = 0; /* the answer is in (lo, hi] */
	uint64_t m, mhi = 0;

	for (int d = 1;; d = d * 2 > 21 ? 21 : d * 2) {
		if (fraction_fits(M, s, d, &mhi)) {
			hi = d;
			break;
		}
		lo = d;
		if (d == 21)
			return 0;
	}
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;

		if (fraction_fits(M, s, mid, &m)) {
			hi = mid;
			mhi = m;
		} else {
			lo = mid;
		}
	}

	char dig[24];
	int k = (int)fmt_u64(dig, mhi);
	int n = k - hi; /* the value is 0.DIG * 10^n */

	while (k > 1 && dig[k - 1] == '0')
		k--;
	return layout(out, neg, dig, k, n);
}

/*
 * Shortest digits for 1e-6 <= |v| < 2^53, v not an integer, in one pass (the
 * idea of Ryu, with 128-bit integers since v = M / 2^s exactly): scale v and
 * the bounds of the interval of reals that strtod() rounds to v by 10^D, D
 * chosen for 17 significant digits (always enough), then drop trailing
 * digits while the interval still holds a multiple of the dropped power of
 * ten. The interval is symmetric around v, so when it holds any number with
 * that many digits it holds the one nearest to v: the result is v correctly
 * rounded at the shortest length, as the search gives, at under half its
 * cost.
 */
static size_t fmt_fraction(char *out, uint64_t bits, int neg)
{
	int exp = (int)((bits >> 52) & 0x7ff);
	uint64_t M = (bits & ((1ull << 52) - 1)) | (1ull << 52);
	int s = 1075 - exp; /* |v| = M / 2^s, 1 <= s <= 72 in this range */
	uint64_t ip, c, vm, vp, a, b, t;
	int n, D, r = 0;

	if (exp == 0 || s < 1 || s > 72)
		return 0;
	if (M == 1ull << 52)
		return fmt_fraction_search(out, M, s, neg);

	/* n: 10^(n-1) <= v < 10^n; -5 <= n <= 16 here. */
	ip = s < 64 ? M >> s : 0;
	if (ip) {
		n = (int)u64_digits(ip);
	} else {
		for (n = 0; n > -5 && (u128)M * pow10_tab[1 - n] < (u128)1 << s; n--)
			;
	}
	D = 17 - n;

	/* v * 10^D, and the bounds (2M -/+ 1) * 10^D / 2^(s+1): all below 2^127. */
	u128 p10 = pow10_tab[D];
	u128 P = D < 20 ? (u128)M * pow10_u64[D] : (u128)M * p10; /* one mul mostly */
	u128 lo = 2 * P - p10, hi = 2 * P + p10, mask = ((u128)1 << (s + 1)) - 1;
	int even = !(M & 1); /* strtod() breaks ties to even: even M keeps the bounds */

	c = (uint64_t)(P >> s); /* floor(v * 10^D) < 10^17 */
	vm = (uint64_t)(lo >> (s + 1)) + ((lo & mask) != 0 || !even);
	vp = (uint64_t)(hi >> (s + 1)) - ((hi & mask) == 0 && !even);

	/*
	 * Drop digits while [vm, vp] holds a multiple of 10^(r+1), i.e. while
	 * floor(vp / 10^(r+1)) > floor((vm - 1) / 10^(r+1)); four at a time
	 * first, as sensor values lose most of their 17. c loses the same
	 * digits: the nearest at 10^r is c rounded up when the highest digit
	 * dropped is 5 or more (ties go up, as in fraction_fits()); with no
	 * digit dropped the fraction of v * 10^D decides.
	 */
	unsigned last = 0; /* the highest digit dropped from c */

	for (a = vp, b = vm - 1; a / 10000 > b / 10000; a /= 10000, b /= 10000) {
		last = (unsigned)(c % 10000) / 1000;
		c /= 10000;
		r += 4;
	}
	for (; a / 10 > b / 10; a /= 10, b /= 10) {
		last = (unsigned)(c % 10);
		c /= 10;
		r++;
	}
	if (r == 0)
		t = c + ((P & (mask >> 1)) >= (u128)1 << (s - 1));
	else
		t = c + (last >= 5);

	char dig[24];
	int k = (int)fmt_u64(dig, t);

	n = k + r - D; /* the value is 0.DIG * 10^n */
	while (k > 1 && dig[k - 1] == '0')
		k--;
	return layout(out, neg, dig, k, n);
}

/*
 * The slow general case: let printf round, keep the first precision that
 * reads back. A normal double that reads back from k < 15 digits prints as
 * those digits padded with zeros at 15, so 15 is the first precision worth
 * trying; subnormals carry fewer bits and may need as few as 1.
 */
static size_t fmt_printf(char *out, double v)
{
	char tmp[48];
	int neg = signbit(v) != 0;

	for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (prec < 17 && strtod(tmp, NULL) != v)
			continue;

		/* tmp is "[-]D.DDDDe[+-]XX": collect the digits, strip trailing zeros. */
		char dig[24];
		int k = 0;
		const char *p = tmp + neg;

		for (; *p != 'e'; p++)
			if (*p != '.')
				dig[k++] = *p;
		while (k > 1 && dig[k - 1] == '0')
			k--;
		int e10 = atoi(p + 1);
		return layout(out, neg, dig, k, e10 + 1);
	}
	return 0; /* not reached: 17 digits always read back */
}

/*
 * lt_fmt_double() into @out, which has FMT_DOUBLE_MAX bytes: no bounds
 * check, no NUL. Returns the length, or -EDOM for NaN and infinities.
 */
static int fmt_double(char *out, double v)
{
	double a = fabs(v);
	int neg = signbit(v) != 0;
	size_t n = 0;

	if (!isfinite(v))
		return -EDOM;
	if (a < 9007199254740992.0 && a == (double)(uint64_t)a) {
		if (neg)
			*out = '-';
		return neg + (int)fmt_u64(out + neg, (uint64_t)a);
	}
	if (a >= 1e-6 && a < 9007199254740992.0) {
		uint64_t bits;

		memcpy(&bits, &v, sizeof(bits));
		n = fmt_fraction(out, bits, neg);
	}
	if (!n)
		n = fmt_printf(out, v);
	return (int)n;
}

int lt_fmt_double(char *buf, size_t len, double v)
{
	char tmp[FMT_DOUBLE_MAX];
	int n = fmt_double(tmp, v);

	if (n < 0)
		return n;
	return fmt_finish(buf, len, tmp, (size_t)n);
}

/* Characters carbon keeps in a node: [A-Za-z0-9_-]. */
static inline int node_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Append @n bytes of @name escaped; @n == 0 gives "_". */
static int escape_n(char *out, size_t len, size_t *pos, const char *name, size_t n)
{
	size_t need = n ? n : 1;

	if (*pos >= len || len - *pos < need + 1)
		return -ENOSPC;
	char *p = out + *pos;
	if (!n)
		*p++ = '_';
	for (size_t i = 0; i < n; i++)
		*p++ = node_char_ok((unsigned char)name[i]) ? name[i] : '_';
	*p = '\0';
	*pos += need;
	return 0;
}

int carbon_escape_node(char *out, size_t len, size_t *pos, const char *name)
{
	return escape_n(out, len, pos, name, strlen(name));
}

char *carbon_path(const char *prefix, const char *edge, const char *device, const char *metric)
{
	const char *nodes[3] = { edge, device, metric };
	size_t len = 1, pos = 0;
	char *out;

	/* Each node grows by at most one byte ("" -> "_") plus its dot. */
	if (prefix)
		len += strlen(prefix) + 1;
	for (size_t i = 0; i < 3; i++)
		if (nodes[i])
			len += strlen(nodes[i]) + 2;
	out = malloc(len);
	if (!out)
		return NULL;
	out[0] = '\0';

	/* The prefix's own dots separate nodes; empty prefix nodes are dropped. */
	for (const char *p = prefix; p && *p;) {
		size_t n = strcspn(p, ".");

		if (n) {
			if (pos)
				out[pos++] = '.';
			escape_n(out, len, &pos, p, n);
		}
		p += n;
		if (*p == '.')
			p++;
	}
	for (size_t i = 0; i < 3; i++) {
		if (!nodes[i])
			continue;
		if (pos)
			out[pos++] = '.';
		escape_n(out, len, &pos, nodes[i], strlen(nodes[i]));
	}
	return out;
}

void carbon_enc_init(struct carbon_enc *e)
{
	memset(e, 0, sizeof(*e)); /* the tail is copied whole, defined bytes only */
	e->sec = UINT64_MAX;
}

int carbon_enc_line(struct carbon_enc *e, char *out, size_t len, const char *path, size_t pathlen,
		    const struct lt_sample *s)
{
	uint64_t sec = s->ts_ns / LT_NSEC_PER_SEC;
	char val[FMT_DOUBLE_MAX];
	int vn;

	if (sec != e->sec) {
		e->ts[0] = ' ';
		e->tslen = fmt_u64(e->ts + 1, sec) + 2;
		e->ts[e->tslen - 1] = '\n';
		e->sec = sec;
	}
	_Static_assert(1 + FMT_DOUBLE_MAX + sizeof(e->ts) <= CARBON_LINE_ROOM, "room for a line");
	if (len >= pathlen + CARBON_LINE_ROOM) {
		/* Room for the longest line: format in place, copy the tail whole. */
		memcpy(out, path, pathlen);
		out[pathlen] = ' ';
		vn = fmt_double(out + pathlen + 1, s->value);
		if (vn < 0)
			return vn;
		memcpy(out + pathlen + 1 + vn, e->ts, sizeof(e->ts));
		return (int)(pathlen + 1 + (size_t)vn + e->tslen);
	}
	vn = fmt_double(val, s->value);
	if (vn < 0)
		return vn;
	if (len < pathlen + 1 + (size_t)vn + e->tslen)
		return -ENOSPC;
	memcpy(out, path, pathlen);
	out[pathlen] = ' ';
	memcpy(out + pathlen + 1, val, (size_t)vn);
	memcpy(out + pathlen + 1 + vn, e->ts, e->tslen);
	return (int)(pathlen + 1 + (size_t)vn + e->tslen);
}

int carbon_line(char *out, size_t len, const char *path, size_t pathlen, const struct lt_sample *s)
{
	struct carbon_enc e;

	carbon_enc_init(&e);
	return carbon_enc_line(&e, out, len, path, pathlen, s);
}
