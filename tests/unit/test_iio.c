/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The iio driver without IIO hardware: scan element formats and their
 * decoding (sign extension, shifts, both endiannesses, 64-bit storage,
 * repeats), the IIO ABI's units, the driver's options and their errors
 * through its callbacks and the configuration loader (FILE:LINE). With an
 * iio_dummy device, tests/vm/guest/iio.test drives it.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confdir.h"
#include "drvfix.h"
#include "intree.h"
#include "unit.h"
#include "core/config.h"
#include "devices/devices.h"
#include "devices/iio_scan.h"
#include "model.h"
#include "util.h"

/* ---- scan element formats ---- */

START_TEST(format_parses_the_kernels_type_strings)
{
	struct lt_iio_format f;
	char err[160];

	ck_assert_int_eq(lt_iio_format_parse("le:s12/16>>4", &f, err, sizeof(err)), 0);
	ck_assert(!f.is_be);
	ck_assert(f.is_signed);
	ck_assert_uint_eq(f.bits, 12);
	ck_assert_uint_eq(f.storage_bits, 16);
	ck_assert_uint_eq(f.shift, 4);
	ck_assert_uint_eq(f.repeat, 1);

	ck_assert_int_eq(lt_iio_format_parse("be:u13/32X3>>0", &f, err, sizeof(err)), 0);
	ck_assert(f.is_be);
	ck_assert(!f.is_signed);
	ck_assert_uint_eq(f.bits, 13);
	ck_assert_uint_eq(f.storage_bits, 32);
	ck_assert_uint_eq(f.repeat, 3);

	/* The timestamp channel of every IIO device. */
	ck_assert_int_eq(lt_iio_format_parse("le:s64/64>>0", &f, err, sizeof(err)), 0);
	ck_assert_uint_eq(f.bits, 64);
}
END_TEST

START_TEST(format_errors_say_why)
{
	struct lt_iio_format f = { .bits = 99 };
	char err[160];

	ck_assert_int_eq(lt_iio_format_parse("xx:s12/16>>0", &f, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(
		err, "scan element type 'xx:s12/16>>0' is not [lb]e:[su]BITS/STORAGE[Xn]>>SHIFT");
	ck_assert_int_eq(lt_iio_format_parse("le:s12/16", &f, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_iio_format_parse("le:s12/16>>0 ", &f, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_iio_format_parse("le:s12/24>>0", &f, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "storage of 24 bits (8, 16, 32 or 64 are supported)");
	ck_assert_int_eq(lt_iio_format_parse("le:s12/16>>8", &f, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "12 bits shifted by 8 do not fit in 16 storage bits");
	ck_assert_int_eq(lt_iio_format_parse("le:u0/16>>0", &f, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(lt_iio_format_parse("le:u8/16X0>>0", &f, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "a repeat of 0");
	ck_assert_uint_eq(f.bits, 99); /* untouched on failure */
}
END_TEST

static struct lt_iio_format fmt(const char *s)
{
	struct lt_iio_format f;
	char err[160];

	ck_assert_msg(lt_iio_format_parse(s, &f, err, sizeof(err)) == 0, "%s: %s", s, err);
	return f;
}

/* ---- decoding ---- */

START_TEST(signed_values_are_sign_extended_from_their_top_bit)
{
	struct lt_iio_format f = fmt("le:s12/16>>0");
	unsigned char minus_one[] = { 0xff, 0x0f }, lowest[] = { 0x00, 0x08 },
		      highest[] = { 0xff, 0x07 }, minus_33[] = { 0xdf, 0x0f };

	ck_assert_double_eq(lt_iio_value(&f, minus_one, 0), -1);
	ck_assert_double_eq(lt_iio_value(&f, lowest, 0), -2048);
	ck_assert_double_eq(lt_iio_value(&f, highest, 0), 2047);
	/* iio_dummy's in_voltage1-voltage2 scan value. */
	ck_assert_double_eq(lt_iio_value(&f, minus_33, 0), -33);
}
END_TEST

START_TEST(unsigned_values_are_masked_to_their_bits)
{
	struct lt_iio_format f = fmt("le:u13/16>>0");
	unsigned char junk_above[] = { 0x07, 0xe0 }; /* bits 13-15 are not the value's */

	ck_assert_double_eq(lt_iio_value(&f, junk_above, 0), 7);
	f = fmt("le:u12/16>>0");
	unsigned char all[] = { 0xff, 0x0f };
	ck_assert_double_eq(lt_iio_value(&f, all, 0), 4095);
}
END_TEST

START_TEST(shift_comes_before_the_mask_and_the_sign)
{
	/* -3 in 12 bits (0xffd) stored << 4, with 4 status bits below. */
	struct lt_iio_format f = fmt("le:s12/16>>4");
	unsigned char v[] = { 0xda, 0xff };

	ck_assert_double_eq(lt_iio_value(&f, v, 0), -3);
	f = fmt("le:u12/16>>4");
	ck_assert_double_eq(lt_iio_value(&f, v, 0), 0xffd);
}
END_TEST

START_TEST(both_endiannesses_read_the_same_value)
{
	struct lt_iio_format le = fmt("le:s24/32>>0"), be = fmt("be:s24/32>>0");
	unsigned char l[] = { 0x56, 0x34, 0x12, 0x00 }, b[] = { 0x00, 0x12, 0x34, 0x56 };
	unsigned char ln[] = { 0xfe, 0xff, 0xff, 0x00 }, bn[] = { 0x00, 0xff, 0xff, 0xfe };

	ck_assert_double_eq(lt_iio_value(&le, l, 0), 0x123456);
	ck_assert_double_eq(lt_iio_value(&be, b, 0), 0x123456);
	ck_assert_double_eq(lt_iio_value(&le, ln, 0), -2);
	ck_assert_double_eq(lt_iio_value(&be, bn, 0), -2);

	struct lt_iio_format be16 = fmt("be:u16/16>>0");
	unsigned char w[] = { 0x01, 0x02 };
	ck_assert_double_eq(lt_iio_value(&be16, w, 0), 0x0102);
}
END_TEST

START_TEST(sixty_four_bit_storage_keeps_every_bit)
{
	struct lt_iio_format s = fmt("le:s64/64>>0"), u = fmt("le:u64/64>>0"),
			     b = fmt("be:s64/64>>0");
	/* A timestamp: 1.7e18 ns does not fit a double exactly; the u64 path does. */
	uint64_t ts = 1700000000123456789ull;
	unsigned char le[8], be[8], top[8] = { 0, 0, 0, 0, 0, 0, 0, 0x80 };

	for (int i = 0; i < 8; i++) {
		le[i] = (unsigned char)(ts >> (8 * i));
		be[7 - i] = le[i];
	}
	ck_assert_uint_eq(lt_iio_value_u64(&s, le, 0), ts);
	ck_assert_uint_eq(lt_iio_value_u64(&b, be, 0), ts);
	ck_assert_uint_eq(lt_iio_value_u64(&u, top, 0), 1ull << 63);
	ck_assert_double_eq(lt_iio_value(&u, top, 0), 9223372036854775808.0);
	ck_assert_double_eq(lt_iio_value(&s, top, 0), -9223372036854775808.0);

	/* 40 bits in 64, shifted: the sign comes from bit 39. */
	struct lt_iio_format f = fmt("le:s40/64>>8");
	unsigned char v[8] = { 0xaa, 0xfb, 0xff, 0xff, 0xff, 0xff, 0, 0 };
	ck_assert_double_eq(lt_iio_value(&f, v, 0), -5);
}
END_TEST

START_TEST(repeated_elements_are_read_by_index)
{
	struct lt_iio_format f = fmt("le:s16/16X3>>0");
	unsigned char v[] = { 0x01, 0x00, 0xfe, 0xff, 0x00, 0x80 };

	ck_assert_double_eq(lt_iio_value(&f, v, 0), 1);
	ck_assert_double_eq(lt_iio_value(&f, v, 1), -2);
	ck_assert_double_eq(lt_iio_value(&f, v, 2), -32768);
}
END_TEST

/* ---- units ---- */

START_TEST(abi_units_by_channel_type)
{
	ck_assert_str_eq(lt_iio_abi_unit("temp"), "m°C");
	ck_assert_str_eq(lt_iio_abi_unit("accel"), "m/s^2");
	ck_assert_str_eq(lt_iio_abi_unit("voltage"), "mV");
	ck_assert_str_eq(lt_iio_abi_unit("pressure"), "kPa");
	ck_assert_str_eq(lt_iio_abi_unit("humidityrelative"), "mpercent");
	ck_assert_ptr_null(lt_iio_abi_unit("proximity"));
}
END_TEST

START_TEST(units_convert_from_the_abi_unit)
{
	double mul, add;
	char err[200];

	ck_assert_int_eq(lt_iio_unit_conv("temp", "", &mul, &add, err, sizeof(err)), 0);
	ck_assert_double_eq(23456 * mul + add, 23456);
	ck_assert_int_eq(lt_iio_unit_conv("temp", "°C", &mul, &add, err, sizeof(err)), 0);
	ck_assert_double_eq_tol(23456 * mul + add, 23.456, 1e-9);
	ck_assert_int_eq(lt_iio_unit_conv("temp", "K", &mul, &add, err, sizeof(err)), 0);
	ck_assert_double_eq_tol(23456 * mul + add, 296.606, 1e-9);
	ck_assert_int_eq(lt_iio_unit_conv("accel", "gravity", &mul, &add, err, sizeof(err)), 0);
	ck_assert_double_eq_tol(9.80665 * mul + add, 1, 1e-12);
	ck_assert_int_eq(lt_iio_unit_conv("voltage", "V", &mul, &add, err, sizeof(err)), 0);
	ck_assert_double_eq_tol(1500 * mul + add, 1.5, 1e-12);
	/* Any unit is fine for a type liotad does not know, as long as it is none. */
	ck_assert_int_eq(lt_iio_unit_conv("proximity", "", &mul, &add, err, sizeof(err)), 0);
}
END_TEST

START_TEST(unit_errors_list_what_the_type_converts_to)
{
	double mul = 7, add = 7;
	char err[200];

	ck_assert_int_eq(lt_iio_unit_conv("temp", "F", &mul, &add, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err,
			 "unit: IIO temp channels are in m°C; 'F' is not one of m°C, °C, degC, K");
	ck_assert_int_eq(lt_iio_unit_conv("proximity", "cm", &mul, &add, err, sizeof(err)),
			 -ENOENT);
	ck_assert_str_eq(err, "unit: liotad does not know the unit of IIO channel type proximity; "
			      "leave unit empty to publish its value as the kernel gives it");
	ck_assert_double_eq(mul, 7);
}
END_TEST

START_TEST(channel_type_comes_from_the_id)
{
	char t[24];

	ck_assert_int_eq(lt_iio_channel_type("in_temp0", t, sizeof(t)), 0);
	ck_assert_str_eq(t, "temp");
	ck_assert_int_eq(lt_iio_channel_type("accel_x", t, sizeof(t)), 0);
	ck_assert_str_eq(t, "accel");
	ck_assert_int_eq(lt_iio_channel_type("voltage1-voltage2", t, sizeof(t)), 0);
	ck_assert_str_eq(t, "voltage");
	ck_assert_int_eq(lt_iio_channel_type("out_voltage0", t, sizeof(t)), 0);
	ck_assert_str_eq(t, "voltage");
	ck_assert_int_eq(lt_iio_channel_type("0temp", t, sizeof(t)), -EINVAL);
	ck_assert_int_eq(lt_iio_channel_type("in_", t, sizeof(t)), -EINVAL);
}
END_TEST

/* ---- the driver's callbacks ---- */

static void fx_init(struct fx *f)
{
	fx_setup(f, &lt_device_iio, "adc");
}

START_TEST(registered_as_iio)
{
	ck_assert_ptr_eq(pkg_device_driver("iio"), &lt_device_iio);
}
END_TEST

START_TEST(device_options_and_their_errors)
{
	struct fx f;

	fx_init(&f);
	ck_assert_int_eq(lt_device_iio.device_check(f.dev, f.err, sizeof(f.err)), -EINVAL);
	ck_assert_str_eq(f.err, "device: missing (an IIO device's name, label or iio:deviceN)");
	ck_assert_int_eq(fx_dev_opt(&f, "device", "iio:device0"), 0);
	ck_assert_int_eq(lt_device_iio.device_check(f.dev, f.err, sizeof(f.err)), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "device", ""), -EINVAL);
	ck_assert_str_eq(f.err, "device must not be empty");
	ck_assert_int_eq(fx_dev_opt(&f, "trigger", "lt-trig"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "sampling_frequency", "100.5"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "sampling_frequency", "0"), -EINVAL);
	ck_assert_str_eq(f.err, "sampling_frequency must be above 0 (Hz)");
	ck_assert_int_eq(fx_dev_opt(&f, "sampling_frequency", "fast"), -EINVAL);
	ck_assert_int_eq(fx_dev_opt(&f, "buffer", "1024"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "buffer", "1"), -EINVAL);
	ck_assert_int_eq(fx_dev_opt(&f, "watermark", "0"), -EINVAL);
	ck_assert_int_eq(fx_dev_opt(&f, "watermark", "513"), 0);
	ck_assert_int_eq(lt_device_iio.device_check(f.dev, f.err, sizeof(f.err)), -EINVAL);
	ck_assert_str_eq(f.err, "watermark: 513 scans is more than half the buffer (1024)");
	ck_assert_int_eq(fx_dev_opt(&f, "watermark", "512"), 0);
	ck_assert_int_eq(lt_device_iio.device_check(f.dev, f.err, sizeof(f.err)), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "chip", "x"), -ENOENT);
	fx_release(&f);
}
END_TEST

START_TEST(attributes_option_and_its_errors)
{
	char many[400] = "";
	struct fx f;

	fx_init(&f);
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", "sampling_frequency"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "attributes",
				    " sampling_frequency, in_voltage0.scale ,voltage1-voltage2.raw,"
				    "out_voltage0.raw"),
			 0);
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", ""), -EINVAL);
	ck_assert_str_eq(f.err, "an empty item in the list");
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", "name,,scale"), -EINVAL);
	ck_assert_str_eq(f.err, "an empty item in the list");
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", "name,"), -EINVAL);
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", "in_temp0.Scale"), -EINVAL);
	ck_assert_str_eq(f.err, "'in_temp0.Scale': attribute names are a-z 0-9 _ "
				"(sampling_frequency, in_voltage0.scale)");
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", "in_temp0."), -EINVAL);
	ck_assert_int_eq(
		fx_dev_opt(&f, "attributes",
			   "in_temp0.a_very_long_attribute_name_of_sixty_one_characters_x"),
		-EINVAL);
	ck_assert_str_eq(f.err, "'in_temp0.a_very_long...' is longer than 60 characters");
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", "in_temp0.scale.x"), -EINVAL);
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", "_x.scale"), -EINVAL);
	ck_assert_str_eq(f.err, "'_x.scale': '_x' is not an IIO channel id (in_temp0, ...)");
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", "in_temp0.scale, temp0.scale"), -EINVAL);
	ck_assert_str_eq(f.err, "in_temp0.scale is named twice");
	for (int i = 0; i <= LT_DEVICE_PROPERTIES_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sa%d", i ? "," : "",
			 i);
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", many), -EINVAL);
	ck_assert_str_eq(f.err, "more than 32 attributes");
	*strrchr(many, ',') = '\0';
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", many), 0);
	fx_release(&f);
}
END_TEST

/* No IIO device of that name here: a warning, no properties, no error. */
START_TEST(attributes_of_an_absent_device_are_no_error)
{
	struct fx f;

	fx_init(&f);
	ck_assert_int_eq(fx_dev_opt(&f, "device", "no-such-iio-device"), 0);
	ck_assert_int_eq(fx_dev_opt(&f, "attributes", "sampling_frequency, in_temp0.scale"), 0);
	ck_assert_int_eq(lt_device_iio.device_check(f.dev, f.err, sizeof(f.err)), 0);
	ck_assert_uint_eq(f.dev->nprops, 0);
	fx_release(&f);
}
END_TEST

START_TEST(metric_options_and_their_errors)
{
	struct fx f;
	struct lt_metric *m;

	fx_init(&f);
	m = fx_new_metric(&f, "t", "", 1000000000ull);
	ck_assert_int_eq(fx_check(&f, m), -EINVAL);
	ck_assert_str_eq(f.err, "channel: missing (an IIO channel id such as in_temp0)");
	ck_assert_int_eq(fx_opt(&f, m, "channel", "in_temp0"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "channel", "_temp"), -EINVAL);
	ck_assert_str_eq(f.err,
			 "channel: '_temp' is not an IIO channel id (in_temp0, in_accel_x, ...)");
	ck_assert_int_eq(fx_opt(&f, m, "mode", "fast"), -EINVAL);
	ck_assert_str_eq(f.err, "unknown mode 'fast' (direct or buffered)");
	ck_assert_int_eq(fx_opt(&f, m, "element", "x"), -EINVAL);
	ck_assert_int_eq(fx_opt(&f, m, "line", "x"), -ENOENT);
	ck_assert_int_eq(fx_check(&f, m), 0);
	ck_assert(!lt_metric_is_event_driven(m));
	fx_release(&f);
}
END_TEST

START_TEST(check_refuses_a_unit_the_channel_type_has_not)
{
	struct fx f;
	struct lt_metric *m, *ok;

	fx_init(&f);
	m = fx_new_metric(&f, "t", "lx", 1000000000ull);
	ck_assert_int_eq(fx_opt(&f, m, "channel", "temp0"), 0);
	ck_assert_int_eq(fx_check(&f, m), -EINVAL);
	ck_assert_str_eq(f.err,
			 "unit: IIO temp channels are in m°C; 'lx' is not one of m°C, °C, degC, K");
	ok = fx_new_metric(&f, "a", "gravity", 1000000000ull);
	ck_assert_int_eq(fx_opt(&f, ok, "channel", "in_accel_x"), 0);
	ck_assert_int_eq(fx_check(&f, ok), 0);
	fx_release(&f);
}
END_TEST

START_TEST(buffered_is_event_driven_and_takes_no_interval)
{
	struct fx f;
	struct lt_metric *m, *timed, *out, *el;

	fx_init(&f);
	m = fx_new_metric(&f, "x", "", 0);
	ck_assert_int_eq(fx_opt(&f, m, "channel", "accel_x"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "mode", "buffered"), 0);
	ck_assert_int_eq(fx_opt(&f, m, "element", "0"), 0);
	ck_assert_int_eq(fx_check(&f, m), 0);
	ck_assert(lt_metric_is_event_driven(m));
	ck_assert_uint_eq(f.dev->ncounters, 2);
	ck_assert_str_eq(f.dev->counter_names[0], "scans");
	ck_assert_str_eq(f.dev->counter_names[1], "refills");

	timed = fx_new_metric(&f, "y", "", 1000000000ull);
	ck_assert_int_eq(fx_opt(&f, timed, "channel", "accel_y"), 0);
	ck_assert_int_eq(fx_opt(&f, timed, "mode", "buffered"), 0);
	ck_assert_int_eq(fx_check(&f, timed), -EINVAL);
	ck_assert_str_eq(f.err, "interval: mode buffered has no interval (each scan is one sample; "
				"the rate is the device's sampling_frequency)");

	out = fx_new_metric(&f, "o", "", 0);
	ck_assert_int_eq(fx_opt(&f, out, "channel", "out_voltage0"), 0);
	ck_assert_int_eq(fx_opt(&f, out, "mode", "buffered"), 0);
	ck_assert_int_eq(fx_check(&f, out), -EINVAL);
	ck_assert_str_eq(f.err, "mode buffered: only input channels are captured");

	el = fx_new_metric(&f, "e", "", 1000000000ull);
	ck_assert_int_eq(fx_opt(&f, el, "channel", "voltage0"), 0);
	ck_assert_int_eq(fx_opt(&f, el, "element", "1"), 0);
	ck_assert_int_eq(fx_check(&f, el), -EINVAL);
	ck_assert_str_eq(f.err, "element applies to mode buffered only");
	ck_assert_uint_eq(f.dev->ncounters, 2);
	fx_release(&f);
}
END_TEST

START_TEST(open_without_iio_fails_and_says_so)
{
	struct fx f;
	struct lt_metric *m;
	int r;

	fx_init(&f);
	ck_assert_int_eq(fx_dev_opt(&f, "device", "no-such-iio-device"), 0);
	m = fx_new_metric(&f, "t", "", 1000000000ull);
	ck_assert_int_eq(fx_opt(&f, m, "channel", "in_temp0"), 0);
	ck_assert_int_eq(fx_check(&f, m), 0);
	f.err[0] = '\0';
	r = lt_device_iio.open(f.dev, f.err, sizeof(f.err));
	ck_assert_int_lt(r, 0);
	/* Either the machine has no IIO at all, or not this device. */
	ck_assert_msg(strstr(f.err, "cannot open the local IIO context") ||
			      strstr(f.err, "device: no IIO device \"no-such-iio-device\""),
		      "%s", f.err);
	ck_assert_ptr_nonnull(atomic_load(&f.dev->condition));
	ck_assert_int_eq(lt_device_iio.read(f.dev, m, &(double){ 0 }), -ENODEV);
	fx_release(&f);
}
END_TEST

/* ---- through the configuration loader ---- */

static const char conf_head[] = "[dcc \"f\"]\n"
				"type = graphite\n"
				"transport = stdout\n"
				"[device \"adc\"]\n"
				"type = iio\n"
				"device = iio_dummy_part_no\n"
				"trigger = lt-trig\n"
				"sampling_frequency = 100\n";

START_TEST(config_with_both_modes_loads)
{
	char text[1024], *errors;
	struct lt_model *m;

	snprintf(text, sizeof(text),
		 "%s[metric \"adc.v0\"]\nchannel = in_voltage0\nunit = V\ninterval = 1s\n"
		 "[metric \"adc.x\"]\nchannel = in_accel_x\nmode = buffered\n",
		 conf_head);
	m = confdir_load(text, &errors);
	ck_assert_msg(m != NULL, "%s", errors ? errors : "");
	ck_assert_uint_eq(m->nmetrics, 2);
	ck_assert(!m->metrics[0]->event_driven);
	ck_assert(m->metrics[1]->event_driven);
	model_free(m);
}
END_TEST

START_TEST(config_errors_name_file_and_line)
{
	char text[1024], *errors, *want;
	struct lt_model *m;

	snprintf(text, sizeof(text),
		 "%s[metric \"adc.t\"]\nchannel = in_temp0\nunit = F\ninterval = 1s\n"
		 "[metric \"adc.x\"]\nchannel = in_accel_x\nmode = buffered\ninterval = 1s\n"
		 "[metric \"adc.bad\"]\nchannel = in_voltage0\nmode = often\ninterval = 1s\n"
		 "[device \"none\"]\ntype = iio\n",
		 conf_head);
	m = confdir_load(text, &errors);
	ck_assert_ptr_null(m);
	ck_assert_ptr_nonnull(errors);
	want = xasprintf("%s:9: [metric \"adc.t\"]: unit: IIO temp channels are in m°C; 'F' is not "
			 "one of m°C, °C, degC, K\n"
			 "%s:13: [metric \"adc.x\"]: interval: mode buffered has no interval (each "
			 "scan is one sample; the rate is the device's sampling_frequency)\n"
			 "%s:19: mode: unknown mode 'often' (direct or buffered)\n"
			 "%s:21: [device \"none\"]: device: missing (an IIO device's name, label "
			 "or iio:deviceN)\n",
			 confdir_conf, confdir_conf, confdir_conf, confdir_conf);
	ck_assert_str_eq(errors, want);
	free(want);
	free(errors);
}
END_TEST

static Suite *iio_suite(void)
{
	Suite *s = suite_create("iio");
	TCase *scan = tcase_create("scan");
	TCase *units = tcase_create("units");
	TCase *opts = tcase_create("options");
	TCase *conf = tcase_create("config");

	tcase_add_test(scan, format_parses_the_kernels_type_strings);
	tcase_add_test(scan, format_errors_say_why);
	tcase_add_test(scan, signed_values_are_sign_extended_from_their_top_bit);
	tcase_add_test(scan, unsigned_values_are_masked_to_their_bits);
	tcase_add_test(scan, shift_comes_before_the_mask_and_the_sign);
	tcase_add_test(scan, both_endiannesses_read_the_same_value);
	tcase_add_test(scan, sixty_four_bit_storage_keeps_every_bit);
	tcase_add_test(scan, repeated_elements_are_read_by_index);

	tcase_add_test(units, abi_units_by_channel_type);
	tcase_add_test(units, units_convert_from_the_abi_unit);
	tcase_add_test(units, unit_errors_list_what_the_type_converts_to);
	tcase_add_test(units, channel_type_comes_from_the_id);

	tcase_add_test(opts, registered_as_iio);
	tcase_add_test(opts, device_options_and_their_errors);
	tcase_add_test(opts, attributes_option_and_its_errors);
	tcase_add_test(opts, attributes_of_an_absent_device_are_no_error);
	tcase_add_test(opts, metric_options_and_their_errors);
	tcase_add_test(opts, check_refuses_a_unit_the_channel_type_has_not);
	tcase_add_test(opts, buffered_is_event_driven_and_takes_no_interval);
	tcase_add_test(opts, open_without_iio_fails_and_says_so);

	tcase_add_checked_fixture(conf, confdir_setup, confdir_teardown);
	tcase_add_test(conf, config_with_both_modes_loads);
	tcase_add_test(conf, config_errors_name_file_and_line);

	suite_add_tcase(s, scan);
	suite_add_tcase(s, units);
	suite_add_tcase(s, opts);
	suite_add_tcase(s, conf);
	return s;
}

LT_UNIT_MAIN_INTREE(iio_suite)
