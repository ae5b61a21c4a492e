/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sim: simulated metrics for the demo and the tests. Each metric follows one
 * function (sine, counter, random_walk, constant); read() never fails.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/intree.h"
#include "devices/devices.h"

enum sim_fn { SIM_SINE, SIM_COUNTER, SIM_RANDOM_WALK, SIM_CONSTANT };

static const char *const sim_fn_names[] = {
	[SIM_SINE] = "sine",
	[SIM_COUNTER] = "counter",
	[SIM_RANDOM_WALK] = "random_walk",
	[SIM_CONSTANT] = "constant",
};

#define FN(f) (1u << (f))

enum {
	OPT_AMPLITUDE,
	OPT_OFFSET,
	OPT_PERIOD,
	OPT_PHASE,
	OPT_START,
	OPT_STEP,
	OPT_MIN,
	OPT_MAX,
	OPT_SEED,
	OPT_VALUE,
	NOPTS
};

/* The functions each option applies to (sim_opts[i] is option i). */
static const unsigned sim_fns[NOPTS] = {
	[OPT_AMPLITUDE] = FN(SIM_SINE),
	[OPT_OFFSET] = FN(SIM_SINE),
	[OPT_PERIOD] = FN(SIM_SINE),
	[OPT_PHASE] = FN(SIM_SINE),
	[OPT_START] = FN(SIM_COUNTER) | FN(SIM_RANDOM_WALK),
	[OPT_STEP] = FN(SIM_COUNTER) | FN(SIM_RANDOM_WALK),
	[OPT_MIN] = FN(SIM_RANDOM_WALK),
	[OPT_MAX] = FN(SIM_RANDOM_WALK),
	[OPT_SEED] = FN(SIM_RANDOM_WALK),
	[OPT_VALUE] = FN(SIM_CONSTANT),
};

struct sim_metric {
	enum sim_fn fn;
	unsigned set; /* bit i: sim_opts[i] was given, checked against fn in metric_check */
	union {
		double d;
		uint64_t u;
	} opt[NOPTS];
	/* state, touched only by read() in the sampler thread */
	bool started;
	uint64_t phase_mod; /* sine: phase % period, reduced once */
	uint64_t n;         /* counter: reads so far, so value = start + n * step */
	double walk;        /* random_walk: current value */
	uint64_t rng;       /* random_walk: splitmix64 state */
};

#define NSEC_PER_SEC 1000000000ull

/* lt_sim_sine() with the phase already reduced (b < period_ns): one division fewer. */
static double sine_at(uint64_t t_ns, double amplitude, double offset, uint64_t period_ns,
		      uint64_t b)
{
	/* Reduce in integer nanoseconds: a double of epoch seconds loses precision. */
	uint64_t a = t_ns % period_ns;
	uint64_t x = a >= period_ns - b ? a - (period_ns - b) : a + b; /* (a + b) mod period */

	return offset + amplitude * sin(2 * M_PI * ((double)x / (double)period_ns));
}

double lt_sim_sine(uint64_t t_ns, double amplitude, double offset, uint64_t period_ns,
		   uint64_t phase_ns)
{
	return sine_at(t_ns, amplitude, offset, period_ns, phase_ns % period_ns);
}

/* splitmix64: tiny, fast, any seed is fine (xorshift needs a non-zero one). */
static uint64_t sim_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* FNV-1a of "device.metric": the default seed, stable across runs. */
static uint64_t sim_default_seed(const struct lt_device *dev, const struct lt_metric *m)
{
	const char *parts[] = { lt_device_name(dev), ".", lt_metric_name(m) };
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < 3; i++)
		for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return h;
}

static int sim_device_option(struct lt_device *dev, const char *key, const char *value, char *err,
			     size_t errlen)
{
	return -ENOENT;
}

static int sim_metric_init(struct lt_metric *m)
{
	struct sim_metric *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->fn = SIM_SINE;
	s->opt[OPT_AMPLITUDE].d = 10;
	s->opt[OPT_OFFSET].d = 20;
	s->opt[OPT_PERIOD].u = 60 * NSEC_PER_SEC;
	s->opt[OPT_PHASE].u = 0;
	s->opt[OPT_START].d = 0;
	s->opt[OPT_STEP].d = 1;
	s->opt[OPT_MIN].d = -1e9;
	s->opt[OPT_MAX].d = 1e9;
	s->opt[OPT_VALUE].d = 0;
	lt_metric_set_priv(m, s);
	return 0;
}

static int set_period(void *field, const char *key, const char *value, char *err, size_t errlen)
{
	uint64_t u;
	int r = lt_parse_duration(value, &u, err, errlen);

	if (r == 0 && u == 0) {
		snprintf(err, errlen, "%s must be longer than 0", key);
		r = -EINVAL;
	}
	if (r == 0)
		*(uint64_t *)field = u;
	return r;
}

static const struct lt_opt_name sim_fn_opt_names[] = {
	{ "sine", SIM_SINE },
	{ "counter", SIM_COUNTER },
	{ "random_walk", SIM_RANDOM_WALK },
	{ "constant", SIM_CONSTANT },
	{ NULL, 0 },
};

#define SM struct sim_metric
#define SIM_DOUBLE(k, i)                                                                           \
	[i] = LT_OPT_DOUBLE(k, SM, opt[i].d, 0, -DBL_MAX, DBL_MAX, "see README: sim functions")

/* Options 0 to NOPTS - 1 in OPT_ order (their bits in set), then function. */
static const struct lt_opt sim_opts[] = {
	SIM_DOUBLE("amplitude", OPT_AMPLITUDE),
	SIM_DOUBLE("offset", OPT_OFFSET),
	[OPT_PERIOD] =
		LT_OPT_FUNC("period", SM, opt[OPT_PERIOD].u, 0, set_period, "sine period, above 0"),
	[OPT_PHASE] =
		LT_OPT_DURATION("phase", SM, opt[OPT_PHASE].u, 0, 0, UINT64_MAX, "sine phase"),
	SIM_DOUBLE("start", OPT_START),
	SIM_DOUBLE("step", OPT_STEP),
	SIM_DOUBLE("min", OPT_MIN),
	SIM_DOUBLE("max", OPT_MAX),
	[OPT_SEED] = LT_OPT_UINT("seed", SM, opt[OPT_SEED].u, 0, 0, UINT64_MAX, "random_walk seed"),
	SIM_DOUBLE("value", OPT_VALUE),
	[NOPTS] = LT_OPT_ENUM("function", SM, fn, LT_OPT_UNKNOWN_FORM, sim_fn_opt_names,
			      "sine, counter, random_walk or constant"),
	LT_OPT_END_SEEN(SM, set),
};

static int sim_metric_option(struct lt_metric *m, const char *key, const char *value, char *err,
			     size_t errlen)
{
	return lt_opts_set(sim_opts, lt_metric_priv(m), key, value, err, errlen);
}

static int sim_metric_check(struct lt_metric *m, char *err, size_t errlen)
{
	struct sim_metric *s = lt_metric_priv(m);

	/* Checked here, not in option(): "function" may come after the others. */
	for (size_t i = 0; i < NOPTS; i++) {
		if ((s->set & (1u << i)) && !(sim_fns[i] & FN(s->fn))) {
			snprintf(err, errlen, "%s does not apply to function %s", sim_opts[i].key,
				 sim_fn_names[s->fn]);
			return -EINVAL;
		}
	}
	if (s->fn != SIM_RANDOM_WALK)
		return 0;

	double start = s->opt[OPT_START].d, min = s->opt[OPT_MIN].d, max = s->opt[OPT_MAX].d;

	if (!(min < max)) {
		snprintf(err, errlen, "min must be lower than max");
		return -EINVAL;
	}
	if (s->opt[OPT_STEP].d < 0) {
		snprintf(err, errlen, "step must not be negative");
		return -EINVAL;
	}
	/* An implicit start of 0 is moved into [min, max]; an explicit one must be in it. */
	if ((s->set & (1u << OPT_START)) && (start < min || start > max)) {
		snprintf(err, errlen, "start must be between min and max");
		return -EINVAL;
	}
	return 0;
}

static double sim_walk(struct sim_metric *s)
{
	double min = s->opt[OPT_MIN].d, max = s->opt[OPT_MAX].d;
	/* uniform in [-1, 1) from the top 53 bits */
	double u = (double)(sim_rand(&s->rng) >> 11) * 0x1.0p-52 - 1.0;
	double v = s->walk + u * s->opt[OPT_STEP].d;

	/* Reflect off the bounds, then clamp when step is wider than the range. */
	if (v > max)
		v = max - (v - max);
	if (v < min)
		v = min + (min - v);
	return fmin(fmax(v, min), max);
}

static int sim_read(struct lt_device *dev, struct lt_metric *m, double *value)
{
	struct sim_metric *s = lt_metric_priv(m);
	struct timespec ts;

	switch (s->fn) {
	case SIM_SINE:
		if (!s->started) {
			s->started = true;
			s->phase_mod = s->opt[OPT_PHASE].u % s->opt[OPT_PERIOD].u;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		*value = sine_at((uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec,
				 s->opt[OPT_AMPLITUDE].d, s->opt[OPT_OFFSET].d,
				 s->opt[OPT_PERIOD].u, s->phase_mod);
		break;
	case SIM_COUNTER:
		/* from the count, not accumulated: no drift, exact for integer steps */
		*value = s->opt[OPT_START].d + (double)s->n++ * s->opt[OPT_STEP].d;
		break;
	case SIM_RANDOM_WALK:
		if (!s->started) {
			s->started = true;
			s->rng = (s->set & (1u << OPT_SEED)) ? s->opt[OPT_SEED].u
							     : sim_default_seed(dev, m);
			s->walk = fmin(fmax(s->opt[OPT_START].d, s->opt[OPT_MIN].d),
				       s->opt[OPT_MAX].d);
		} else {
			s->walk = sim_walk(s);
		}
		*value = s->walk;
		break;
	case SIM_CONSTANT:
		*value = s->opt[OPT_VALUE].d;
		break;
	}
	return 0;
}

static void sim_metric_free(struct lt_metric *m)
{
	free(lt_metric_priv(m));
	lt_metric_set_priv(m, NULL);
}

const struct lt_device_driver lt_device_sim = {
	.name = "sim",
	.device_option = sim_device_option,
	.metric_init = sim_metric_init,
	.metric_option = sim_metric_option,
	.metric_check = sim_metric_check,
	.read = sim_read,
	.metric_free = sim_metric_free,
};

static int sim_package_init(struct lt_package_ctx *ctx, char *err, size_t errlen)
{
	return lt_package_add_device_driver(ctx, &lt_device_sim, err, errlen);
}

LT_INTREE_PACKAGE(sim, .name = "sim", .version = PACKAGE_VERSION, .init = sim_package_init);
