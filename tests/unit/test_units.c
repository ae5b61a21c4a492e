/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Unit tests of src/core/units.c against the installed udunits2 database:
 * parsing, unknown units and their suggestions, affine converters (offsets
 * such as degC -> degF at several points, prefixes), incompatible and
 * non-linear conversions, and the names DCCs are given.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "units.h"
#include "unit.h"

static struct lt_units *u;

static void units_setup(void)
{
	char err[256] = "";

	u = lt_units_open(err, sizeof(err));
	ck_assert_msg(u != NULL, "udunits2 database: %s", err);
}

static void units_teardown(void)
{
	lt_units_close(u);
	u = NULL;
}

static void known(const char *spec)
{
	char err[256] = "";

	ck_assert_msg(lt_units_check(u, spec, err, sizeof(err)) == 0, "%s: %s", spec, err);
}

static void unknown(const char *spec, const char *want)
{
	char err[256] = "";

	ck_assert_int_eq(lt_units_check(u, spec, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, want);
}

START_TEST(units_of_the_tree_parse)
{
	/* Every unit the tree's configurations, examples and docs use. */
	static const char *const specs[] = { "degC",  "°C",    "K",  "count", "1",    "percent",
					     "%",     "mV",    "uV", "µV",    "bar",  "kPa",
					     "kW",    "kW h",  "g",  "m",     "km/h", "L/min",
					     "l/min", "m/s^2", "V",  "rpm" };

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		known(specs[i]);
}
END_TEST

START_TEST(unknown_units_are_refused_with_a_suggestion)
{
	unknown("kWh", "'kWh' is not a unit udunits2 knows; did you mean 'kW h'?");
	unknown("Cel", "'Cel' is not a unit udunits2 knows; did you mean 'celsius'?");
	unknown("kpa", "'kpa' is not a unit udunits2 knows; did you mean 'kPa'?");
	unknown("KPa", "'KPa' is not a unit udunits2 knows; did you mean 'kPa'?");
	unknown("mv", "'mv' is not a unit udunits2 knows; did you mean 'mV'?");
	unknown("celcius", "'celcius' is not a unit udunits2 knows; did you mean 'celsius'?");
	unknown("farenheit",
		"'farenheit' is not a unit udunits2 knows; did you mean 'fahrenheit'?");
	unknown("pasal", "'pasal' is not a unit udunits2 knows; did you mean 'pascal'?");
	unknown("a;b", "'a;b' is not a unit udunits2 knows");
}
END_TEST

static void conv(const char *from, const char *to, struct lt_unit_conv *cv)
{
	char err[256] = "";

	ck_assert_msg(lt_units_converter(u, from, to, cv, err, sizeof(err)) == 0, "%s -> %s: %s",
		      from, to, err);
}

static void near(double got, double want)
{
	ck_assert_msg(fabs(got - want) <= 1e-9 * fmax(1.0, fabs(want)), "%.15g, want %.15g", got,
		      want);
}

START_TEST(affine_converters_keep_offsets_and_prefixes)
{
	struct lt_unit_conv cv;

	conv("degC", "K", &cv);
	near(lt_unit_convert(&cv, 0), 273.15);
	near(lt_unit_convert(&cv, 21.5), 294.65);
	near(lt_unit_convert(&cv, -273.15), 0);

	conv("degC", "degF", &cv);
	/* Exactly, not 49.99999999999997: the coefficients are those of the database. */
	ck_assert(cv.a == 1.8 && cv.b == 32.0);
	ck_assert(lt_unit_convert(&cv, 10) == 50.0);
	near(lt_unit_convert(&cv, -40), -40);
	near(lt_unit_convert(&cv, 0), 32);
	near(lt_unit_convert(&cv, 37), 98.6);
	near(lt_unit_convert(&cv, 100), 212);

	conv("degF", "degC", &cv);
	near(lt_unit_convert(&cv, 212), 100);
	near(lt_unit_convert(&cv, 32), 0);

	conv("km", "m", &cv);
	near(cv.a, 1000);
	near(cv.b, 0);
	near(lt_unit_convert(&cv, 1.5), 1500);

	conv("km/h", "m/s", &cv);
	near(lt_unit_convert(&cv, 36), 10);

	conv("kW h", "J", &cv);
	near(lt_unit_convert(&cv, 1), 3.6e6);

	conv("percent", "1", &cv);
	near(lt_unit_convert(&cv, 50), 0.5);

	conv("K", "K", &cv);
	ck_assert(cv.a == 1.0 && cv.b == 0.0);
}
END_TEST

START_TEST(incompatible_and_nonlinear_conversions_are_refused)
{
	struct lt_unit_conv cv;
	char err[256] = "";

	ck_assert_int_eq(lt_units_converter(u, "degC", "m", &cv, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "'degC' cannot be converted to 'm': they measure different things");
	ck_assert_int_eq(lt_units_converter(u, "kPa", "s", &cv, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_units_converter(u, "dBm", "mW", &cv, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "converting 'dBm' to 'mW' is not linear (a logarithmic unit?): "
			      "liotad converts only y = a*x + b");
	ck_assert_int_eq(lt_units_converter(u, "nope", "K", &cv, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "'nope' is not a unit udunits2 knows");
}
END_TEST

static void described(const char *spec, const char *prefix, const char *name)
{
	char *p = NULL, *n = NULL;

	ck_assert_msg(lt_units_describe(u, spec, &p, &n) == 0, "%s", spec);
	ck_assert_msg(!strcmp(p, prefix) && !strcmp(n, name), "%s: '%s' '%s', want '%s' '%s'", spec,
		      p, n, prefix, name);
	free(p);
	free(n);
}

START_TEST(dccs_get_the_prefix_and_name_udunits_gives)
{
	char *p = NULL, *n = NULL;

	described("kPa", "kilo", "pascal");
	described("Pa", "", "pascal");
	described("m", "", "meter");
	described("mm", "milli", "meter");
	described("mV", "milli", "volt");
	described("uV", "micro", "volt");
	described("µs", "micro", "second");
	described("dam", "deca", "meter");
	described("GHz", "giga", "hertz");
	described("cd", "", "candela");
	described("min", "", "minute");
	described("degC", "", "degree Celsius");
	described("°C", "", "degree Celsius");
	described("K", "", "kelvin");
	described("m/s", "", "meter per second");
	described("km/h", "kilo", "meter per hour");
	described("L/min", "", "liter per minute");
	/* No single name: sent as written, never dropped. */
	described("%", "", "%");
	described("m/s^2", "", "m/s^2");
	described("kW h", "", "kW h");
	ck_assert_int_eq(lt_units_describe(u, "parsecs per blorg", &p, &n), -EINVAL);
}
END_TEST

START_TEST(a_missing_database_is_a_clear_error)
{
	char err[256] = "";
	struct lt_units *none;

	setenv("UDUNITS2_XML_PATH", "/nonexistent/udunits2.xml", 1);
	none = lt_units_open(err, sizeof(err));
	unsetenv("UDUNITS2_XML_PATH");
	ck_assert_ptr_null(none);
	ck_assert_msg(strstr(err, "/nonexistent/udunits2.xml cannot be read"), "%s", err);
}
END_TEST

static Suite *units_suite(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("units");

	tcase_add_checked_fixture(tc, units_setup, units_teardown);
	tcase_add_test(tc, units_of_the_tree_parse);
	tcase_add_test(tc, unknown_units_are_refused_with_a_suggestion);
	tcase_add_test(tc, affine_converters_keep_offsets_and_prefixes);
	tcase_add_test(tc, incompatible_and_nonlinear_conversions_are_refused);
	tcase_add_test(tc, dccs_get_the_prefix_and_name_udunits_gives);
	tcase_add_test(tc, a_missing_database_is_a_clear_error);
	suite_add_tcase(s, tc);
	return s;
}

LT_UNIT_MAIN(units_suite)
