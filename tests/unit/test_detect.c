// SPDX-License-Identifier: GPL-2.0-only
/* Detectors on a fake clock: window and rate math, the forecast of a ramp,
 * exhaustion in the same call, hysteresis and deduplication, amplification,
 * churn, no false positive for a keep-alive workload, bounded memory, and
 * the JSON line. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "detect.h"

#define S(x) ((uint64_t)((x) * 1e9))	/* seconds -> ns */
#define T0 S(1000)			/* the fake clock starts far from 0 */
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)	/* as trace */

/* ---- alert recorder ---- */

struct rec {
	struct alert *a;
	size_t n, cap;
};

static void record(const struct alert *a, void *ctx)
{
	struct rec *r = ctx;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->a = realloc(r->a, r->cap * sizeof(*r->a));
		assert_non_null(r->a);
	}
	r->a[r->n++] = *a;
}

static size_t count_of(const struct rec *r, enum alert_kind kind, enum alert_phase phase)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->a[i].kind == kind && r->a[i].phase == phase;
	return n;
}

static const struct alert *first_of(const struct rec *r, enum alert_kind kind,
				    enum alert_phase phase)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->a[i].kind == kind && r->a[i].phase == phase)
			return &r->a[i];
	return NULL;
}

static void rec_reset(struct rec *r)
{
	free(r->a);
	memset(r, 0, sizeof(*r));
}

/* ---- keys ---- */

static struct detect_owner owner(const char *ns, const char *pod, const char *ctr,
				 enum pb_role role)
{
	struct detect_owner o;

	memset(&o, 0, sizeof(o));
	snprintf(o.namespace_, sizeof(o.namespace_), "%s", ns);
	snprintf(o.pod, sizeof(o.pod), "%s", pod);
	snprintf(o.container, sizeof(o.container), "%s", ctr);
	o.role = role;
	return o;
}

static struct detect_dest dest4(const char *daddr, uint16_t dport, const char *saddr)
{
	struct detect_dest d;

	memset(&d, 0, sizeof(d));
	d.netns = 4026532000u;
	d.family = AF_INET;
	d.dport = dport;
	assert_int_equal(inet_pton(AF_INET, daddr, d.daddr), 1);
	if (saddr)
		assert_int_equal(inet_pton(AF_INET, saddr, d.saddr), 1);
	return d;
}

static struct detect *new_detect(struct detect_cfg *cfg, struct rec *r)
{
	struct detect *d = detect_new(cfg, record, r);

	assert_non_null(d);
	return d;
}

/* ---- window and rate ---- */

/* A steady rate is measured exactly at any phase of the buckets; the window
 * forgets what is older than itself. */
static void test_window_rate(void **state)
{
	struct rec r = { 0 };
	struct detect *d = new_detect(NULL, &r);
	struct detect_owner web = owner("shop", "web-1", "app", PB_ROLE_APP);
	struct detect_dest db = dest4("10.0.0.9", 5432, "10.244.0.5");
	struct alert a;
	uint64_t t = T0;

	(void)state;
	/* 120 short-lived closes/s for 20 s, evenly spread */
	for (int i = 0; i < 20 * 120; i++) {
		t = T0 + (uint64_t)i * (S(1) / 120);
		detect_close(d, t, &web, &db, S(0.05));
		if (i % 120 == 119)
			detect_tick(d, t);
	}
	assert_int_equal(count_of(&r, ALERT_CHURN, ALERT_START), 1);
	/* the last summary-free snapshot holds the rate */
	memset(&a, 0, sizeof(a));
	r.n = 0;
	detect_foreach_active(d, t, record, &r);
	assert_int_equal(r.n, 1);
	a = r.a[0];
	assert_int_equal(a.kind, ALERT_CHURN);
	assert_true(fabs(a.rate_per_s - 120) < 120 * 0.02);
	/* the churn START came once the window held >= 50/s: not before 50 / 120 of it */
	rec_reset(&r);
	detect_free(d);

	/* 40/s: below the threshold, never an alert; long-lived ones never count */
	d = new_detect(NULL, &r);
	for (int i = 0; i < 60 * 40; i++) {
		t = T0 + (uint64_t)i * (S(1) / 40);
		detect_close(d, t, &web, &db, S(0.05));
		detect_close(d, t, &web, &db, S(5));
		detect_close(d, t, &web, &db, S(1));	/* exactly the limit: not short */
		if (i % 40 == 39)
			detect_tick(d, t);
	}
	assert_int_equal(r.n, 0);
	rec_reset(&r);
	detect_free(d);
}

/* ---- forecast ---- */

static void test_forecast_model(void **state)
{
	struct detect_sample s = {
		.in_use = 600, .open = 10, .capacity = 1000, .opens_per_s = 100, .tw_len_ns = S(60),
	};

	(void)state;
	/* growing 100/s: 400 ports left -> 4 s */
	assert_true(fabs(detect_forecast_s(&s, 100) - 4) < 1e-9);
	/* nothing measured yet: the open rate (no port has expired) */
	assert_true(fabs(detect_forecast_s(&s, NAN) - 4) < 1e-9);
	/* shrinking or flat: n/a */
	assert_true(detect_forecast_s(&s, 0) < 0);
	assert_true(detect_forecast_s(&s, -5) < 0);
	/* full: 0 */
	s.in_use = 1000;
	assert_true(detect_forecast_s(&s, 100) == 0);
	/* 10/s x 60 s + 10 open = 610 < 1000: levels off, n/a even while growing */
	s.in_use = 300;
	s.opens_per_s = 10;
	assert_true(detect_forecast_s(&s, 10) < 0);
	/* the TIME_WAIT length counts: 10/s x 120 s = 1200 > 1000 */
	s.tw_len_ns = S(120);
	assert_true(fabs(detect_forecast_s(&s, 10) - 70) < 1e-9);
	/* default TIME_WAIT is 60 s; unknown open rate: growth alone decides */
	s.tw_len_ns = 0;
	s.opens_per_s = -1;
	assert_true(fabs(detect_forecast_s(&s, 7) - 100) < 1e-9);
	s.capacity = 0;
	assert_true(detect_forecast_s(&s, 7) < 0);
}

struct ramp_result {
	double t_start;		/* s after T0 of the pressure START, -1 none */
	double start_forecast;
	double t_full;		/* when in_use reached capacity */
	double t_fail;		/* first failure (-1 none) */
	double worst_err;	/* worst |forecast - actual| / actual over the ticks */
	size_t forecasts;
};

/* The ledger's view of a TIME_WAIT storm: R new connections per second (times
 * 1 + JITTER x noise), each holding its port TW s; ticks every second; a
 * failure at the instant in_use would exceed CAP. */
static void ramp(struct detect_cfg *cfg, uint32_t cap, double r, double jitter, double tw,
		 struct ramp_result *res)
{
	struct rec rec = { 0 };
	struct detect *d = new_detect(cfg, &rec);
	struct detect_owner app = owner("load", "burner-0", "app", PB_ROLE_APP);
	struct detect_dest web = dest4("10.96.0.20", 80, "10.244.1.7");
	struct detect_pool pool = { .kind = DETECT_POOL_NETNS, .size = cap };
	double in_use[400] = { 0 }, opened[400] = { 0 }, fc[400];
	unsigned int seed = 12345, k, n = 300;

	memset(res, 0, sizeof(*res));
	res->t_start = res->t_fail = res->t_full = -1;
	/* the trajectory first: opened[k] connections in second k, expiring after TW */
	for (k = 1; k < n; k++) {
		double u;

		seed = seed * 1103515245u + 12345u;
		u = ((seed >> 16) & 0x7fff) / 32767.0 * 2 - 1;
		opened[k] = r * (1 + jitter * u);
		in_use[k] = in_use[k - 1] + opened[k] - (k > tw ? opened[k - (unsigned int)tw] : 0);
		if (in_use[k] >= cap && res->t_full < 0)
			/* linear within the second */
			res->t_full = k - 1 + (cap - in_use[k - 1]) / (in_use[k] - in_use[k - 1]);
	}
	for (k = 1; k < n; k++) {
		struct detect_sample s = {
			.pool = DETECT_POOL_NETNS,
			.in_use = in_use[k] < cap ? (uint32_t)in_use[k] : cap,
			.capacity = cap,
			.tw_len_ns = S(tw),
		};
		double sum = 0;
		unsigned int m = 0;

		for (unsigned int j = k; j > 0 && m < 10; j--, m++)
			sum += opened[j];
		s.opens_per_s = sum / m;	/* the ledger's rate over its window */
		if (res->t_full >= 0 && k > res->t_full && res->t_fail < 0) {
			res->t_fail = res->t_full;
			pool.in_use = cap;
			detect_failure(d, T0 + S(res->t_fail), &app, &web, EADDRNOTAVAIL, &pool);
		}
		fc[k] = detect_utilization(d, T0 + S(k), &web, &app, &s);
		detect_tick(d, T0 + S(k));
		if (res->t_full >= 0 && k < res->t_full && fc[k] >= 0) {
			double actual = res->t_full - k;
			double err = fabs(fc[k] - actual) / actual;

			/* judged once the window has seen two samples */
			if (k >= 2 && err > res->worst_err)
				res->worst_err = err;
			res->forecasts++;
		}
	}
	for (size_t i = 0; i < rec.n; i++) {
		if (rec.a[i].kind == ALERT_PRESSURE && rec.a[i].phase == ALERT_START) {
			res->t_start = (rec.a[i].ts_ns - T0) / 1e9;
			res->start_forecast = rec.a[i].forecast_s;
			break;
		}
	}
	assert_true(count_of(&rec, ALERT_PRESSURE, ALERT_START) <= 1);
	assert_true(count_of(&rec, ALERT_EXHAUSTION, ALERT_START) <= 1);
	rec_reset(&rec);
	detect_free(d);
}

/* A linear ramp to exhaustion: pressure fires before the first failure and
 * its forecast is within 25 % of the time it actually took. */
static void test_forecast_linear_ramp(void **state)
{
	static const struct {
		uint32_t cap;
		double r;
	} cases[] = {
		{ 28232, 500 },		/* the design's example: exhausted after 56 s */
		{ 28232, 1000 },
		{ 28232, 3000 },
		{ 1000, 400 },		/* the lab's timewait-storm pod: full in 2.5 s */
		{ 1024, 20 },		/* a small SNAT budget, slowly */
		{ 50, 30 },		/* the lab's port-burn range: full within 2 ticks */
	};
	struct detect_cfg cfg;
	struct ramp_result res;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int horizon = 0; horizon < 2; horizon++) {
			detect_cfg_default(&cfg);
			/* thresholds alone need a tick between 70 % and 100 % */
			if (!horizon && cases[i].cap * (1 - cfg.warn) / cases[i].r < 1)
				continue;
			if (!horizon)
				cfg.horizon_ns = 0;
			ramp(&cfg, cases[i].cap, cases[i].r, 0, 60, &res);
			print_message("ramp %u ports at %.0f/s (horizon %s): full at %.2f s, "
				      "pressure at %.2f s forecasting %.2f s, worst error %.1f%%\n",
				      cases[i].cap, cases[i].r, horizon ? "on" : "off", res.t_full,
				      res.t_start, res.start_forecast, res.worst_err * 100);
			assert_true(res.t_full > 0);
			assert_true(res.t_start >= 0);
			assert_true(res.t_start < res.t_fail);	/* before the first failure */
			assert_true(res.start_forecast >= 0);
			assert_true(fabs(res.start_forecast - (res.t_full - res.t_start)) <=
				    0.25 * (res.t_full - res.t_start));
			assert_true(res.worst_err <= 0.25);
		}
	}
}

/* Noisy arrivals (+-30 % per second): the least-squares growth keeps the
 * forecast within 25 %. */
static void test_forecast_noisy_ramp(void **state)
{
	struct detect_cfg cfg;
	struct ramp_result res;

	(void)state;
	detect_cfg_default(&cfg);
	ramp(&cfg, 28232, 600, 0.3, 60, &res);
	print_message("noisy ramp: full at %.2f s, pressure at %.2f s forecasting %.2f s, "
		      "worst error %.1f%%\n", res.t_full, res.t_start, res.start_forecast,
		      res.worst_err * 100);
	assert_true(res.t_start >= 0 && res.t_start < res.t_fail);
	assert_true(fabs(res.start_forecast - (res.t_full - res.t_start)) <=
		    0.25 * (res.t_full - res.t_start));
	assert_true(res.worst_err <= 0.25);
}

/* A storm that levels off below capacity (300/s x 60 s = 18,000 of 28,232
 * ports, 64 %) never raises pressure: the steady-state model says n/a. */
static void test_pressure_levels_off(void **state)
{
	struct detect_cfg cfg;
	struct ramp_result res;

	(void)state;
	detect_cfg_default(&cfg);
	ramp(&cfg, 28232, 300, 0, 60, &res);
	assert_true(res.t_full < 0);
	assert_true(res.t_start < 0);
	assert_int_equal(res.forecasts, 0);
}

/* Utilization thresholds, escalation to critical in one line, hysteresis. */
static void test_pressure_levels(void **state)
{
	struct rec r = { 0 };
	struct detect_cfg cfg;
	struct detect *d;
	struct detect_owner app = owner("shop", "web-1", "app", PB_ROLE_APP);
	struct detect_dest db = dest4("10.0.0.9", 5432, "10.244.0.5");
	struct detect_sample s = { .capacity = 1000, .opens_per_s = 1, .tw_len_ns = S(60) };
	const uint32_t steps[] = { 500, 690, 700, 800, 900, 950, 850, 700, 640, 640 };
	uint64_t t = T0;

	(void)state;
	detect_cfg_default(&cfg);
	cfg.summary_every_ns = S(3600);
	d = new_detect(&cfg, &r);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		t = T0 + S(i);
		s.in_use = steps[i];
		detect_utilization(d, t, &db, &app, &s);
		detect_tick(d, t);
		if (steps[i] == 690)
			assert_int_equal(r.n, 0);	/* 69 %: not yet */
		if (steps[i] == 700 && i == 2) {
			assert_int_equal(r.n, 1);
			assert_int_equal(r.a[0].phase, ALERT_START);
			assert_int_equal(r.a[0].level, ALERT_WARNING);
			assert_true(fabs(r.a[0].utilization - 0.70) < 1e-9);
			assert_true(r.a[0].forecast_s < 0);	/* 1/s: it levels off */
			assert_non_null(strstr(r.a[0].hint, "700 of 1000 ephemeral ports (70%)"));
			assert_non_null(strstr(r.a[0].hint, "tcp_tw_reuse"));
			assert_non_null(strstr(r.a[0].hint, "ip_local_port_range"));
			assert_string_equal(r.a[0].owner.pod, "web-1");
		}
		if (steps[i] == 900) {		/* escalation: one SUMMARY, critical */
			assert_int_equal(r.n, 2);
			assert_int_equal(r.a[1].phase, ALERT_SUMMARY);
			assert_int_equal(r.a[1].level, ALERT_CRITICAL);
		}
	}
	/* 950 -> 850 (above 0.9 x crit: still critical) -> 700 -> 640 (above
	 * 0.9 x warn = 63 %): still active, nothing said */
	assert_int_equal(r.n, 2);
	assert_int_equal(count_of(&r, ALERT_PRESSURE, ALERT_START), 1);
	assert_int_equal(detect_owner_flags(d, &app), 1u << ALERT_PRESSURE);
	/* below 63 %: CLEAR once it stayed there clear_after_ns */
	s.in_use = 600;
	for (int i = 1; i <= 20; i++) {
		t += S(1);
		detect_utilization(d, t, &db, &app, &s);
		detect_tick(d, t);
		if (i < 15)
			assert_int_equal(count_of(&r, ALERT_PRESSURE, ALERT_CLEAR), 0);
	}
	assert_int_equal(count_of(&r, ALERT_PRESSURE, ALERT_CLEAR), 1);
	assert_int_equal(r.a[r.n - 1].phase, ALERT_CLEAR);
	assert_int_equal(detect_owner_flags(d, &app), 0);
	assert_int_equal(detect_alerts_total(d, ALERT_PRESSURE), 1);
	rec_reset(&r);
	detect_free(d);
}

/* ---- exhaustion ---- */

struct same_call {
	struct rec rec;
	bool inside;		/* set around the detect_failure() call */
	size_t seen_inside;
};

static void record_inside(const struct alert *a, void *ctx)
{
	struct same_call *sc = ctx;

	sc->seen_inside += sc->inside;
	record(a, &sc->rec);
}

/* The first EADDRNOTAVAIL raises the alert before detect_failure() returns,
 * naming the pod, container, destination and the pool; the neighbour pod
 * (same destination, no failure) gets nothing. */
static void test_exhaustion_same_call(void **state)
{
	struct same_call sc = { 0 };
	struct detect *d = detect_new(NULL, record_inside, &sc);
	struct detect_owner burner = owner("lab", "plain-0", "app", PB_ROLE_APP);
	struct detect_owner neighbour = owner("lab", "plain-1", "app", PB_ROLE_APP);
	struct detect_dest web = dest4("10.77.0.2", 80, "10.77.1.2");
	struct detect_pool pool = {
		.kind = DETECT_POOL_NETNS, .size = 50, .in_use = 50,
		.range_lo = 40000, .range_hi = 40049, .holder = "lab/plain-0/app",
		.holder_in_use = 50,
	};
	const struct alert *a;

	(void)state;
	assert_non_null(d);
	for (int i = 0; i < 80; i++)
		detect_connect(d, T0 + S(0.001 * i), &neighbour, &web);
	sc.inside = true;
	detect_failure(d, T0 + S(0.5), &burner, &web, EADDRNOTAVAIL, &pool);
	sc.inside = false;
	assert_int_equal(sc.seen_inside, 1);
	assert_int_equal(sc.rec.n, 1);
	a = &sc.rec.a[0];
	assert_int_equal(a->kind, ALERT_EXHAUSTION);
	assert_int_equal(a->phase, ALERT_START);
	assert_int_equal(a->level, ALERT_CRITICAL);
	assert_int_equal(a->ts_ns, T0 + S(0.5));
	assert_string_equal(a->owner.namespace_, "lab");
	assert_string_equal(a->owner.pod, "plain-0");
	assert_string_equal(a->owner.container, "app");
	assert_memory_equal(&a->dest, &web, sizeof(web));
	assert_int_equal(a->err, EADDRNOTAVAIL);
	assert_int_equal(a->count, 1);
	assert_int_equal(a->capacity, 50);
	print_message("hint: %s\n", a->hint);
	assert_non_null(strstr(a->hint, "EADDRNOTAVAIL"));
	assert_non_null(strstr(a->hint, "ip_local_port_range 40000-40049 ran dry towards "
				   "10.77.0.2:80 (50 of 50 in use)"));
	assert_non_null(strstr(a->hint, "tcp_tw_reuse"));
	assert_non_null(strstr(a->hint, "lab/plain-0/app (50)"));

	assert_int_equal(detect_owner_flags(d, &burner), 1u << ALERT_EXHAUSTION);
	assert_int_equal(detect_pod_flags(d, "lab", "plain-0"), 1u << ALERT_EXHAUSTION);
	assert_int_equal(detect_owner_flags(d, &neighbour), 0);
	assert_int_equal(detect_pod_flags(d, "lab", "plain-1"), 0);

	/* bind() failure (any destination) of the same container is its own alert;
	 * a node SNAT pool says so */
	pool = (struct detect_pool){ .kind = DETECT_POOL_SNAT, .size = 1024, .in_use = 1024 };
	detect_failure(d, T0 + S(0.6), &burner, NULL, EADDRINUSE, &pool);
	assert_int_equal(sc.rec.n, 2);
	assert_int_equal(sc.rec.a[1].dest.family, 0);
	assert_non_null(strstr(sc.rec.a[1].hint, "SNAT"));
	assert_non_null(strstr(sc.rec.a[1].hint, "1024 of 1024"));
	/* other errnos are no exhaustion */
	detect_failure(d, T0 + S(0.7), &neighbour, &web, ECONNREFUSED, NULL);
	detect_failure(d, T0 + S(0.7), &neighbour, &web, ETIMEDOUT, NULL);
	assert_int_equal(sc.rec.n, 2);
	assert_int_equal(detect_alerts_total(d, ALERT_EXHAUSTION), 2);
	rec_reset(&sc.rec);
	detect_free(d);
}

/* 10,000 EADDRNOTAVAIL in one second: one START; while failures go on, a
 * SUMMARY every summary_every_ns with the count since the previous line; one
 * CLEAR clear_after_ns after the last failure. */
static void test_storm_dedup(void **state)
{
	struct rec r = { 0 };
	struct detect *d = new_detect(NULL, &r);	/* summary 30 s, clear after 15 s */
	struct detect_owner app = owner("shop", "checkout-7", "app", PB_ROLE_APP);
	struct detect_dest psp = dest4("203.0.113.40", 443, "10.244.3.3");
	uint64_t total = 0, summed = 0, last = 0;
	size_t lines;

	(void)state;
	for (int i = 0; i < 10000; i++)
		detect_failure(d, T0 + (uint64_t)i * 100000, &app, &psp, EADDRNOTAVAIL, NULL);
	total = 10000;
	assert_int_equal(r.n, 1);
	/* 100 s more of 50 failures a second, ticking every second */
	for (int s = 1; s <= 100; s++) {
		for (int i = 0; i < 50; i++) {
			last = T0 + S(s) + (uint64_t)i * S(0.01);
			detect_failure(d, last, &app, &psp, EADDRNOTAVAIL, NULL);
			total++;
		}
		detect_tick(d, T0 + S(s) + S(0.5));
	}
	assert_int_equal(count_of(&r, ALERT_EXHAUSTION, ALERT_START), 1);
	/* summaries at 30, 60, 90 s after the START */
	assert_int_equal(count_of(&r, ALERT_EXHAUSTION, ALERT_SUMMARY), 3);
	for (size_t i = 0; i < r.n; i++) {
		summed += r.a[i].count;
		if (r.a[i].phase == ALERT_SUMMARY)
			assert_int_equal(r.a[i].ts_ns - r.a[0].ts_ns,
					 S(30) * (uint64_t)i + S(0.5));
	}
	/* quiet now: CLEAR after 15 s, not before */
	for (int s = 1; s <= 40; s++) {
		detect_tick(d, last + S(s));
		if (s < 15)
			assert_int_equal(count_of(&r, ALERT_EXHAUSTION, ALERT_CLEAR), 0);
	}
	assert_int_equal(count_of(&r, ALERT_EXHAUSTION, ALERT_CLEAR), 1);
	lines = r.n;
	assert_int_equal(lines, 1 + 3 + 1);
	summed += r.a[r.n - 1].count;
	assert_int_equal(summed, total);	/* every failure counted once */
	assert_int_equal(r.a[r.n - 1].total, total);
	assert_int_equal(r.a[r.n - 1].ts_ns, last + S(15));
	/* a new failure later is a new episode */
	detect_failure(d, last + S(100), &app, &psp, EADDRNOTAVAIL, NULL);
	assert_int_equal(count_of(&r, ALERT_EXHAUSTION, ALERT_START), 2);
	assert_int_equal(detect_alerts_total(d, ALERT_EXHAUSTION), 2);
	rec_reset(&r);
	detect_free(d);
}

/* ---- amplification ---- */

/* One second of a pod's traffic: APP app connections, SIDE sidecar ones of
 * which FAILED were refused, towards APP_DST and SIDE_DST. */
static void pod_second(struct detect *d, uint64_t t, const char *pod, int app, int side,
		       int failed, const struct detect_dest *app_dst,
		       const struct detect_dest *side_dst)
{
	struct detect_owner a = owner("mesh", pod, "app", PB_ROLE_APP);
	struct detect_owner s = owner("mesh", pod, "istio-proxy", PB_ROLE_SIDECAR);

	for (int i = 0; i < app; i++)
		detect_connect(d, t + (uint64_t)i * (S(1) / (app + 1)), &a, app_dst);
	for (int i = 0; i < side; i++) {
		uint64_t ts = t + (uint64_t)i * (S(1) / (side + 1));

		detect_connect(d, ts, &s, side_dst);
		if (i < failed)
			detect_failure(d, ts + 1000, &s, side_dst,
				       i % 2 ? ECONNRESET : ECONNREFUSED, NULL);
	}
}

/* Exact ratio for known counts; hysteresis; clears when retries stop. */
static void test_amplification_exact(void **state)
{
	struct rec r = { 0 };
	struct detect *d = new_detect(NULL, &r);
	struct detect_dest up = dest4("203.0.113.11", 80, "10.88.0.5");
	struct detect_owner side = owner("mesh", "mesh-0", "istio-proxy", PB_ROLE_SIDECAR);
	const struct alert *a;
	uint64_t t = T0;
	int s;

	(void)state;
	/* 10 app and 31 sidecar connections a second (21 retries, 9 refused/reset):
	 * after 10 s, 100 vs 310 in the window */
	for (s = 0; s < 10; s++) {
		t = T0 + S(s);
		pod_second(d, t, "mesh-0", 10, 31, 9, &up, &up);
		detect_tick(d, t + S(0.999));
	}
	a = first_of(&r, ALERT_AMPLIFICATION, ALERT_START);
	assert_non_null(a);
	assert_int_equal(count_of(&r, ALERT_AMPLIFICATION, ALERT_START), 1);
	/* fired as soon as 20 app connections were in: 20 vs 62 */
	assert_int_equal(a->app_conns, 20);
	assert_int_equal(a->sidecar_conns, 62);
	assert_true(fabs(a->ratio - 3.1) < 1e-9);
	assert_false(a->pod_scope);
	assert_string_equal(a->owner.pod, "mesh-0");
	assert_string_equal(a->owner.container, "istio-proxy");
	assert_int_equal(a->dest.family, AF_INET);
	assert_int_equal(a->dest.dport, 80);
	/* the full window: exactly 100 vs 310, 90 failed */
	r.n = 0;
	detect_foreach_active(d, t + S(0.999), record, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.a[0].app_conns, 100);
	assert_int_equal(r.a[0].sidecar_conns, 310);
	assert_int_equal(r.a[0].sidecar_failed, 90);
	assert_true(fabs(r.a[0].ratio - 3.1) < 1e-9);
	print_message("hint: %s\n", r.a[0].hint);
	assert_non_null(strstr(r.a[0].hint, "3.10 conns per app conn"));
	assert_non_null(strstr(r.a[0].hint, "310 vs 100 in 10 s; 210 extra, 90 failed"));
	assert_non_null(strstr(r.a[0].hint, "DestinationRule connectionPool"));
	assert_true(fabs(detect_pod_amplification(d, "mesh", "mesh-0") - 3.1) < 1e-9);
	assert_int_equal(detect_pod_flags(d, "mesh", "mesh-0"), 1u << ALERT_AMPLIFICATION);
	assert_int_equal(detect_owner_flags(d, &side), 1u << ALERT_AMPLIFICATION);

	/* retries drop to 1.9 per app connection: above 0.9 x 2.0, still active */
	r.n = 0;
	for (; s < 40; s++) {
		t = T0 + S(s);
		pod_second(d, t, "mesh-0", 10, 19, 0, &up, &up);
		detect_tick(d, t + S(0.999));
	}
	assert_int_equal(count_of(&r, ALERT_AMPLIFICATION, ALERT_CLEAR), 0);
	assert_int_equal(count_of(&r, ALERT_AMPLIFICATION, ALERT_SUMMARY), 1);
	/* retries off (1 sidecar connection per app one): CLEAR once the window
	 * slid past (<= 10 s) and the hold (15 s) passed: once */
	for (; s < 80; s++) {
		t = T0 + S(s);
		pod_second(d, t, "mesh-0", 10, 10, 0, &up, &up);
		detect_tick(d, t + S(0.999));
		if (s < 40 + 15)
			assert_int_equal(count_of(&r, ALERT_AMPLIFICATION, ALERT_CLEAR), 0);
	}
	assert_int_equal(count_of(&r, ALERT_AMPLIFICATION, ALERT_CLEAR), 1);
	a = first_of(&r, ALERT_AMPLIFICATION, ALERT_CLEAR);
	assert_true(a->ts_ns <= T0 + S(40 + 10 + 15 + 1));
	assert_true(fabs(a->ratio - 1.0) < 1e-9);
	assert_true(fabs(detect_pod_amplification(d, "mesh", "mesh-0") - 1.0) < 1e-9);
	assert_int_equal(detect_pod_flags(d, "mesh", "mesh-0"), 0);
	assert_int_equal(detect_alerts_total(d, ALERT_AMPLIFICATION), 1);
	rec_reset(&r);
	detect_free(d);
}

/* Under REDIRECT the proxy may connect elsewhere than the app's socket says
 * (Service address -> endpoint): matched per pod, destination "*". The
 * proxy's inbound legs (loopback, its own pod address) never count; nor does
 * a ratio below the minimum count. */
static void test_amplification_by_pod(void **state)
{
	struct rec r = { 0 };
	struct detect *d = new_detect(NULL, &r);
	struct detect_dest svc = dest4("10.96.0.10", 80, "10.244.2.9");
	struct detect_dest ep = dest4("10.244.1.5", 8080, "10.244.2.9");
	struct detect_dest lo = dest4("127.0.0.1", 8080, "127.0.0.6");
	struct detect_dest self = dest4("10.244.2.9", 8080, "10.244.2.9");
	struct detect_owner side = owner("mesh", "cart-1", "istio-proxy", PB_ROLE_SIDECAR);
	struct json_object *j;
	const char *line;
	const struct alert *a;

	(void)state;
	for (int s = 0; s < 10; s++) {
		pod_second(d, T0 + S(s), "cart-1", 10, 25, 5, &svc, &ep);
		/* inbound traffic handed to the app: 50/s, not amplification */
		for (int i = 0; i < 25; i++) {
			detect_connect(d, T0 + S(s) + (uint64_t)i, &side, &lo);
			detect_connect(d, T0 + S(s) + (uint64_t)i, &side, &self);
		}
		/* a quiet pod: 1 app, 9 sidecar connections a second (10 in the window) */
		pod_second(d, T0 + S(s), "quiet-1", 1, 9, 0, &svc, &svc);
		detect_tick(d, T0 + S(s) + S(0.999));
	}
	assert_int_equal(count_of(&r, ALERT_AMPLIFICATION, ALERT_START), 1);
	a = first_of(&r, ALERT_AMPLIFICATION, ALERT_START);
	assert_true(a->pod_scope);
	assert_int_equal(a->dest.family, 0);
	assert_string_equal(a->owner.pod, "cart-1");
	assert_true(fabs(a->ratio - 2.5) < 1e-9);
	assert_true(fabs(detect_pod_amplification(d, "mesh", "cart-1") - 2.5) < 1e-9);
	assert_true(fabs(detect_pod_amplification(d, "mesh", "quiet-1") - 9.0) < 1e-9);
	assert_int_equal(detect_pod_flags(d, "mesh", "quiet-1"), 0);

	j = detect_alert_json(a, 1700000000123456789ULL);
	assert_non_null(j);
	line = json_object_to_json_string_ext(j, JSON_FLAGS);
	print_message("%s\n", line);
	assert_non_null(strstr(line, "\"daddr\":\"*\""));
	assert_non_null(strstr(line, "\"scope\":\"pod\""));
	assert_non_null(strstr(line, "\"ratio\":2.5"));
	json_object_put(j);
	rec_reset(&r);
	detect_free(d);
}

/* ---- churn ---- */

static void test_churn(void **state)
{
	struct rec r = { 0 };
	struct detect *d = new_detect(NULL, &r);
	struct detect_owner cron = owner("batch", "report-x", "worker", PB_ROLE_APP);
	struct detect_dest api = dest4("10.96.0.1", 443, "10.244.5.5");
	const struct alert *a;
	uint64_t t;
	int s;

	(void)state;
	for (s = 0; s < 30; s++) {
		for (int i = 0; i < 80; i++)
			detect_close(d, T0 + S(s) + (uint64_t)i * (S(1) / 80), &cron, &api,
				     S(0.02));
		detect_tick(d, T0 + S(s + 1));
	}
	assert_int_equal(count_of(&r, ALERT_CHURN, ALERT_START), 1);
	a = first_of(&r, ALERT_CHURN, ALERT_START);
	/* a 10 s window of 80/s crosses 50/s after ~6.25 s */
	assert_true(a->ts_ns >= T0 + S(6) && a->ts_ns <= T0 + S(8));
	assert_string_equal(a->owner.container, "worker");
	assert_non_null(strstr(a->hint, "keep-alive"));
	assert_int_equal(detect_owner_flags(d, &cron), 1u << ALERT_CHURN);
	/* pooling turned on: connections live long, CLEAR once */
	for (; s < 60; s++) {
		detect_close(d, T0 + S(s), &cron, &api, S(120));
		detect_tick(d, T0 + S(s + 1));
	}
	assert_int_equal(count_of(&r, ALERT_CHURN, ALERT_CLEAR), 1);
	t = first_of(&r, ALERT_CHURN, ALERT_CLEAR)->ts_ns;
	/* the rate falls below 45/s ~4.4 s into the quiet, then the 15 s hold */
	assert_true(t >= T0 + S(30 + 15) && t <= T0 + S(30 + 10 + 15 + 1));
	rec_reset(&r);
	detect_free(d);
}

/* ---- false positives ---- */

/* Two minutes of a normal mesh workload with keep-alive: 20 pods, each app
 * reusing a handful of connections (a new one every few seconds), its
 * sidecar one upstream connection per app one, pools far from full. Nothing. */
static void test_keepalive_no_alert(void **state)
{
	struct rec r = { 0 };
	struct detect *d = new_detect(NULL, &r);
	struct detect_stats st;

	(void)state;
	for (int s = 0; s < 120; s++) {
		uint64_t t = T0 + S(s);

		for (int p = 0; p < 20; p++) {
			char pod[32];
			struct detect_owner app, side;
			struct detect_dest up = dest4("10.96.3.3", 8080, "10.244.9.9");
			struct detect_sample smp = {
				.in_use = 40 + (s + p) % 7, .open = 30, .capacity = 28232,
				.opens_per_s = 0.5, .tw_len_ns = S(60),
			};

			snprintf(pod, sizeof(pod), "api-%d", p);
			app = owner("prod", pod, "app", PB_ROLE_APP);
			side = owner("prod", pod, "istio-proxy", PB_ROLE_SIDECAR);
			up.saddr[3] = (uint8_t)p;
			/* keep-alive: a reconnect every 2 s, after a long life */
			if ((s + p) % 2 == 0) {
				detect_connect(d, t + S(0.1), &app, &up);
				detect_connect(d, t + S(0.1) + 1000, &side, &up);
				detect_close(d, t + S(0.2), &app, &up, S(30 + p));
				detect_close(d, t + S(0.2), &side, &up, S(30 + p));
			}
			/* a health check now and then: short, but rare */
			if ((s + p) % 10 == 0)
				detect_close(d, t + S(0.3), &app, &up, S(0.01));
			/* an occasional refused connect */
			if ((s * 7 + p) % 37 == 0)
				detect_failure(d, t + S(0.4), &side, &up, ECONNREFUSED, NULL);
			up.netns = 4026533000u + p;
			detect_utilization(d, t + S(0.9), &up, &app, &smp);
		}
		detect_tick(d, t + S(0.95));
	}
	for (size_t i = 0; i < r.n; i++)
		print_message("unexpected: %s %s %s\n", alert_kind_name(r.a[i].kind),
			      r.a[i].owner.pod, r.a[i].hint);
	assert_int_equal(r.n, 0);
	detect_stats(d, &st);
	for (int k = 0; k < ALERT_KINDS; k++)
		assert_int_equal(st.alerts_total[k], 0);
	assert_int_equal(st.pools, 0);		/* quiet pools take no key */
	assert_int_equal(st.containers, 20);	/* the health checks' churn windows */
	rec_reset(&r);
	detect_free(d);
}

/* ---- memory ---- */

/* 10,000 containers, pods, destinations and failing pairs into tables of
 * 64: never more than 64 each, evictions counted, every START evicted gets
 * its CLEAR, and idle keys go away on their own. */
static void test_bounded_memory(void **state)
{
	struct rec r = { 0 };
	struct detect_cfg cfg;
	struct detect *d;
	struct detect_stats st;
	struct detect_sample smp = { .in_use = 900, .capacity = 1000, .opens_per_s = -1 };
	uint64_t t = T0;

	(void)state;
	detect_cfg_default(&cfg);
	cfg.max_keys = 64;
	d = new_detect(&cfg, &r);
	for (int i = 0; i < 10000; i++) {
		char pod[32];
		struct detect_owner o, s;
		struct detect_dest dst = dest4("10.1.0.0", 80, "10.244.0.1");

		snprintf(pod, sizeof(pod), "p-%d", i);
		o = owner("ns", pod, "app", PB_ROLE_APP);
		s = owner("ns", pod, "envoy", PB_ROLE_SIDECAR);
		dst.daddr[2] = (uint8_t)(i >> 8);
		dst.daddr[3] = (uint8_t)i;
		t = T0 + (uint64_t)i * 1000;
		detect_connect(d, t, &o, &dst);
		detect_connect(d, t, &s, &dst);
		detect_close(d, t, &o, &dst, 1000);
		detect_failure(d, t, &o, &dst, EADDRNOTAVAIL, NULL);
		detect_utilization(d, t, &dst, &o, &smp);
		detect_stats(d, &st);
		assert_true(st.containers <= 64 && st.pods <= 64 && st.flows <= 64);
		assert_true(st.pools <= 64 && st.failing <= 64);
	}
	detect_stats(d, &st);
	print_message("evicted %llu keys\n", (unsigned long long)st.evicted);
	assert_true(st.evicted >= 4 * (10000 - 64));
	assert_int_equal(st.active[ALERT_EXHAUSTION], 64);
	assert_int_equal(st.active[ALERT_PRESSURE], 64);
	assert_int_equal(count_of(&r, ALERT_EXHAUSTION, ALERT_START), 10000);
	assert_int_equal(count_of(&r, ALERT_EXHAUSTION, ALERT_CLEAR), 10000 - 64);
	assert_int_equal(count_of(&r, ALERT_PRESSURE, ALERT_CLEAR), 10000 - 64);
	/* quiet: everything clears, then every key expires */
	for (int s = 1; s <= 60; s++)
		detect_tick(d, t + S(s));
	detect_stats(d, &st);
	assert_int_equal(st.containers + st.pods + st.flows + st.pools + st.failing, 0);
	for (int k = 0; k < ALERT_KINDS; k++)
		assert_int_equal(st.active[k], 0);
	assert_int_equal(count_of(&r, ALERT_EXHAUSTION, ALERT_CLEAR), 10000);
	rec_reset(&r);
	detect_free(d);
}

/* ---- robustness and output ---- */

/* Events a little out of order (ring buffers of several CPUs) and NULLs. */
static void test_clock_and_nulls(void **state)
{
	struct rec r = { 0 };
	struct detect *d = new_detect(NULL, &r);
	struct detect_owner app = owner("a", "b", "c", PB_ROLE_APP);
	struct detect_dest x = dest4("10.0.0.1", 80, NULL);

	(void)state;
	detect_free(NULL);
	detect_tick(NULL, 0);
	detect_connect(NULL, 0, &app, &x);
	detect_connect(d, T0, NULL, &x);
	detect_connect(d, T0, &app, NULL);
	detect_close(d, T0, NULL, &x, 0);
	detect_failure(d, T0, NULL, &x, EADDRNOTAVAIL, NULL);
	assert_true(detect_utilization(d, T0, &x, NULL, NULL) < 0);
	assert_int_equal(detect_owner_flags(NULL, &app), 0);
	assert_int_equal(detect_alerts_total(NULL, ALERT_CHURN), 0);
	detect_failure(d, T0 + S(5), &app, &x, EADDRNOTAVAIL, NULL);
	detect_failure(d, T0 + S(4.9), &app, &x, EADDRNOTAVAIL, NULL);	/* late */
	detect_tick(d, T0 + S(4));					/* backwards */
	assert_int_equal(r.n, 1);
	assert_int_equal(r.a[0].ts_ns, T0 + S(5));
	detect_tick(d, T0 + S(5 + 15));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.a[1].phase, ALERT_CLEAR);
	assert_int_equal(r.a[1].total, 2);
	rec_reset(&r);
	detect_free(d);
}

/* The JSON line: the documented keys, hostile names made valid, null forecast. */
static void test_json(void **state)
{
	struct rec r = { 0 };
	struct detect *d = new_detect(NULL, &r);
	struct detect_owner evil = owner("ns\"x", "pod\n\x1b[31m", "c\xff\xfe", PB_ROLE_APP);
	struct detect_dest x = dest4("192.0.2.1", 8443, "10.0.0.2");
	struct detect_sample smp = { .in_use = 950, .capacity = 1000, .opens_per_s = 0.5 };
	struct json_object *j, *v;
	char text[2048];
	const char *line;

	(void)state;
	detect_failure(d, T0, &evil, &x, EADDRNOTAVAIL, NULL);
	detect_utilization(d, T0, &x, &evil, &smp);
	assert_int_equal(r.n, 2);

	j = detect_alert_json(&r.a[0], 42);
	assert_non_null(j);
	line = json_object_to_json_string_ext(j, JSON_FLAGS);
	print_message("%s\n", line);
	v = json_tokener_parse(line);
	assert_non_null(v);
	json_object_put(v);
	assert_non_null(strstr(line, "\"type\":\"alert\""));
	assert_non_null(strstr(line, "\"kind\":\"exhaustion\""));
	assert_non_null(strstr(line, "\"phase\":\"start\""));
	assert_non_null(strstr(line, "\"ts_ns\":42"));
	assert_non_null(strstr(line, "\"namespace\":\"ns\\\"x\""));
	assert_non_null(strstr(line, "\"pod\":\"pod\\n\\u001b[31m\""));
	assert_non_null(strstr(line, "\"container\":\"c\xef\xbf\xbd\xef\xbf\xbd\""));
	assert_non_null(strstr(line, "\"daddr\":\"192.0.2.1\""));
	assert_non_null(strstr(line, "\"dport\":8443"));
	assert_non_null(strstr(line, "\"count\":1"));
	assert_non_null(strstr(line, "\"errno\":\"EADDRNOTAVAIL\""));
	assert_non_null(strstr(line, "\"hint\":\""));
	json_object_put(j);

	j = detect_alert_json(&r.a[1], 43);
	line = json_object_to_json_string_ext(j, JSON_FLAGS);
	print_message("%s\n", line);
	assert_non_null(strstr(line, "\"kind\":\"pressure\""));
	assert_non_null(strstr(line, "\"severity\":\"critical\""));
	assert_non_null(strstr(line, "\"utilization\":0.95"));
	assert_non_null(strstr(line, "\"forecast_s\":null"));
	json_object_put(j);

	/* the terminal line: no raw control characters */
	detect_alert_text(&r.a[0], text, sizeof(text));
	print_message("%s\n", text);
	assert_null(strchr(text, '\x1b'));
	assert_null(strchr(text, '\n'));
	assert_non_null(strstr(text, "ALERT exhaustion start (critical)"));
	rec_reset(&r);
	detect_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_rate),
		cmocka_unit_test(test_forecast_model),
		cmocka_unit_test(test_forecast_linear_ramp),
		cmocka_unit_test(test_forecast_noisy_ramp),
		cmocka_unit_test(test_pressure_levels_off),
		cmocka_unit_test(test_pressure_levels),
		cmocka_unit_test(test_exhaustion_same_call),
		cmocka_unit_test(test_storm_dedup),
		cmocka_unit_test(test_amplification_exact),
		cmocka_unit_test(test_amplification_by_pod),
		cmocka_unit_test(test_churn),
		cmocka_unit_test(test_keepalive_no_alert),
		cmocka_unit_test(test_bounded_memory),
		cmocka_unit_test(test_clock_and_nulls),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
