/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * liotactl status --json (src/ctl/indent.h): liotad's compact text printed
 * as json_dumpf(JSON_INDENT(2)) prints the parsed document, byte for byte;
 * a reply cut short or not JSON is refused with nothing written.
 */
#include "ctl/indent.h"
#include "unit.h"

#include <jansson.h>
#include <string.h>

/* json_indent() of @text into a string (NULL: refused); *@wrote: bytes written. */
static char *indented(const char *text, size_t *wrote)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	bool ok;

	ck_assert_ptr_nonnull(f);
	ok = json_indent(text, strlen(text), f);
	fclose(f);
	*wrote = len;
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

START_TEST(indent_is_janssons_dump_of_the_parsed_document)
{
	json_t *doc = json_pack(
		"{s:[], s:{}, s:[i, {s:s, s:f, s:f, s:f}], s:n, s:b, s:[[], {}], s:{s:{s:[]}}, "
		"s:s, s:I, s:f}",
		"empty", "obj", "mixed", 1, "x", "q\"}[,: \\ \n\t\x01 \xc2\xb0", "r", 0.1, "e",
		-1.5e-7, "big", 1e300, "nul", "yes", 1, "nest", "deep", "in", "arr", "utf8",
		"\xe2\x82\xac", "i64", (json_int_t)-9007199254740993ll, "whole", 3.0);
	char *compact, *want, *got;
	size_t wrote;

	ck_assert_ptr_nonnull(doc);
	compact = json_dumps(doc, JSON_COMPACT);
	want = json_dumps(doc, JSON_INDENT(2));
	got = indented(compact, &wrote);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
	/* A top-level array, and whitespace between tokens (not liotad's, but JSON). */
	got = indented(" [ 1 ,\n {\"a\" : [ ] } ] \n", &wrote);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, "[\n  1,\n  {\n    \"a\": []\n  }\n]");
	free(got);
	free(compact);
	free(want);
	json_decref(doc);
}
END_TEST

START_TEST(indent_refuses_a_cut_or_broken_reply_and_writes_nothing)
{
	static const char *const bad[] = {
		"",
		"   ",
		"{\"a\":[1,2",
		"{\"a\":\"open",
		"{\"a\":1]",
		"[1}",
		"{\"a\":1}x",
		"{\"a\":1}{}",
		"1 2",
		"[\"a\x01\"]",
		"{,}",
		"[@]",
		":",
		"[1:2]",
		/* Numbers and literals as JSON writes them (as jansson reads them). */
		"[01]",
		"[1.]",
		"[-]",
		"[.5]",
		"[1e]",
		"[1.2.3]",
		"[1x]",
		"[tru]",
		"[nullx]",
		"[True]",
	};
	size_t wrote;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *got = indented(bad[i], &wrote);

		ck_assert_msg(!got, "accepted %s", bad[i]);
		ck_assert_uint_eq(wrote, 0);
	}
}
END_TEST

static Suite *indent_suite(void)
{
	Suite *s = suite_create("indent");
	TCase *tc = tcase_create("indent");

	tcase_add_test(tc, indent_is_janssons_dump_of_the_parsed_document);
	tcase_add_test(tc, indent_refuses_a_cut_or_broken_reply_and_writes_nothing);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(indent_suite)
