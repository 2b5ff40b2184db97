// SPDX-License-Identifier: GPL-2.0-only
/* portburn top: rows, sorting, filtering and keys (pure), the --once frame
 * (exact text, hostile names, narrow widths), and the curses screen driven
 * through tmux: this binary runs itself as the UI on a fake view in a tmux
 * pane, and the test reads the pane back (capture-pane). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "top.h"
#include "util.h"
#include "fake_view.h"

#define T0 1700000000000000000ULL	/* 2023-11-14T22:13:20Z */

static const char evil_pod[] = "\x1b[2J\x1b[31mred\nline";

/* A node where batch/burner-5c is running out of ports towards 10.96.0.10:443. */
static void sample(struct view *v)
{
	int p, o, d;

	fv_init(v, "node-a", "tracepoint", T0);
	d = fv_dest(v, "10.244.1.5", "10.96.0.10", 443, 200, 27800, 28232);
	v->dests[d].forecast_s = 4;
	v->dests[d].opens_per_s = 466.7;
	d = fv_dest(v, "10.244.2.7", "10.96.5.5", 8080, 20, 100, 28232);
	v->dests[d].opens_per_s = 5.5;
	fv_dest(v, "2001:db8::7", "2001:db8::53", 53, 1, 2, 28232);

	p = fv_pod(v, "shop", "cart-7d9f", 20, 100);
	v->pods[p].worst_dest = 1;
	v->pods[p].worst_utilization = 120.0 / 28232;
	v->pods[p].connects_per_s = 5.5;
	v->pods[p].amplification = 2.0;
	v->pods[p].alert_flags = 1u << ALERT_AMPLIFICATION;
	p = fv_pod(v, "batch", "burner-5c", 200, 27800);
	v->pods[p].worst_dest = 0;
	v->pods[p].worst_utilization = 28000.0 / 28232;
	v->pods[p].connects_per_s = 466.7;
	v->pods[p].failures_per_s = 12.5;
	v->pods[p].alert_flags = 1u << ALERT_EXHAUSTION | 1u << ALERT_PRESSURE;
	p = fv_pod(v, "kube-system", "coredns-abc", 1, 2);
	v->pods[p].worst_dest = 2;
	v->pods[p].worst_utilization = 3.0 / 28232;
	fv_pod(v, "evil", evil_pod, 50, 0);

	o = fv_owner(v, "batch", "burner-5c", "app", VIEW_ROLE_APP, 200, 27800, 900000);
	v->owners[o].worst_dest = 0;
	v->owners[o].worst_utilization = 28000.0 / 28232;
	v->owners[o].connects_per_s = 466.7;
	v->owners[o].failures_per_s = 12.5;
	v->owners[o].alert_flags = 1u << ALERT_EXHAUSTION | 1u << ALERT_PRESSURE;
	fv_dest_owner(v, 0, o, 200, 27800);
	o = fv_owner(v, "shop", "cart-7d9f", "app", VIEW_ROLE_APP, 10, 40, 100);
	fv_dest_owner(v, 1, o, 10, 40);
	o = fv_owner(v, "shop", "cart-7d9f", "istio-proxy", VIEW_ROLE_SIDECAR, 10, 60, 200);
	fv_dest_owner(v, 1, o, 10, 60);
	o = fv_owner(v, "", "nginx.service", "", VIEW_ROLE_APP, 1, 2, 3);
	fv_dest_owner(v, 2, o, 1, 2);

	d = fv_snat(v, "203.0.113.9", 443, 900, 1024);
	fv_snat_pod(v, d, 1, 800);
	fv_snat_pod(v, d, 0, 100);
	v->events_lost_total = 7;
}

static char *once(const struct view *v, const struct top_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(top_print_once(v, f, o), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void assert_text(const char *got, const char *want)
{
	if (strcmp(got, want))
		fail_msg("--- got\n%s--- want\n%s", got, want);
}

/* The burning pod first, its flags, names escaped, 80 columns. */
static void test_once_pods_80(void **state)
{
	struct top_opts o;
	struct view v;
	char *out;

	(void)state;
	sample(&v);
	top_opts_init(&o);
	out = once(&v, &o);
	assert_text(out,
		    "node node-a  mode tracepoint  lost 7  2023-11-14T22:13:20Z  pods by in-use\n"
		    "NAMESPACE/POD          IN-USE    TW WORST DEST        UTIL CONN/s FAIL/s FLAGS\n"
		    "batch/burner-5c         28000 27800 10.96.0.10:443     99%    467   12.5 EXH,PRS\n"
		    "shop/cart-7d9f            120   100 10.96.5.5:8080     <1%    5.5      0 AMP\n"
		    "evil/\\x1b[2~ed\\x0aline     50     0 -                   0%      0      0\n"
		    "kube-system~oredns-abc      3     2 [2001:db8::53]:53  <1%      0      0\n");
	free(out);
	fv_free(&v);
}

/* As wide as the content (scripts, tickets): every column, whole names. */
static void test_once_unlimited(void **state)
{
	struct top_opts o;
	struct view v;
	char *out;

	(void)state;
	sample(&v);
	top_opts_init(&o);
	o.width = 0;
	o.mode = TOP_CONTAINERS;
	out = once(&v, &o);
	assert_text(out,
		    "node node-a  mode tracepoint  lost 7  2023-11-14T22:13:20Z  containers by in-use\n"
		    "NS/POD/CONTAINER           IN-USE OPEN    TW WORST DEST     UTIL CONN/s FAIL/s AMP FLAGS\n"
		    "batch/burner-5c/app         28000  200 27800 10.96.0.10:443  99%    467   12.5   - EXH,PRS\n"
		    "shop/cart-7d9f/istio-proxy     70   10    60 -                0%      0      0   -\n"
		    "shop/cart-7d9f/app             50   10    40 -                0%      0      0   -\n"
		    "nginx.service                   3    1     2 -                0%      0      0   -\n");
	free(out);

	o.mode = TOP_PODS;
	o.max_rows = 2;
	out = once(&v, &o);
	assert_text(out,
		    "node node-a  mode tracepoint  lost 7  2023-11-14T22:13:20Z  pods by in-use\n"
		    "NAMESPACE/POD   IN-USE OPEN    TW WORST DEST     UTIL CONN/s FAIL/s AMP FLAGS\n"
		    "batch/burner-5c  28000  200 27800 10.96.0.10:443  99%    467   12.5   - EXH,PRS\n"
		    "shop/cart-7d9f     120   20   100 10.96.5.5:8080  <1%    5.5      0 2.0 AMP\n");
	free(out);
	fv_free(&v);
}

static void test_once_dests_snat(void **state)
{
	struct top_opts o;
	struct view v;
	char *out;

	(void)state;
	sample(&v);
	top_opts_init(&o);
	o.mode = TOP_DESTS;
	out = once(&v, &o);
	assert_text(out,
		    "node node-a  mode tracepoint  lost 7  2023-11-14T22:13:20Z  dests by in-use\n"
		    "DESTINATION       IN-USE  OPEN    TW   CAP UTIL   ETA OPEN/s TOP OWNER\n"
		    "10.96.0.10:443     28000   200 27800 28232  99%    4s    467 batch/burner-5c/app\n"
		    "10.96.5.5:8080       120    20   100 28232  <1%     -    5.5 shop/cart~tio-proxy\n"
		    "[2001:db8::53]:53      3     1     2 28232  <1%     -      0 nginx.service\n");
	free(out);
	o.mode = TOP_SNAT;
	out = once(&v, &o);
	assert_text(out,
		    "node node-a  mode tracepoint  lost 7  2023-11-14T22:13:20Z  snat by in-use\n"
		    "DESTINATION     IN-USE BUDGET UTIL PODS TOP POD\n"
		    "203.0.113.9:443    900   1024  88%    2 batch/burner-5c\n");
	free(out);
	o.mode = TOP_DESTS;
	o.width = 0;
	out = once(&v, &o);
	assert_non_null(strstr(out, "DESTINATION       SOURCE      IN-USE"));
	assert_non_null(strstr(out, "[2001:db8::53]:53 2001:db8::7"));
	free(out);
	fv_free(&v);
}

static size_t names(const struct view *v, const struct top_opts *o, const char **out, size_t max)
{
	struct top_row *rows;
	int n = top_rows(v, o, &rows);

	assert_true(n >= 0);
	for (int i = 0; i < n && (size_t)i < max; i++)
		out[i] = o->mode == TOP_DESTS || o->mode == TOP_SNAT ? strdup(rows[i].addr) :
									 strdup(rows[i].pod);
	free(rows);
	return (size_t)n;
}

static void assert_order(const struct view *v, const struct top_opts *o, size_t n, ...)
{
	const char *got[16] = { 0 };
	size_t k = names(v, o, got, 16);
	va_list ap;

	va_start(ap, n);
	if (k != n)
		fail_msg("%zu rows, want %zu (sort %s, filter '%s')", k, n, top_sort_name(o->sort),
			 o->filter);
	for (size_t i = 0; i < n; i++) {
		const char *want = va_arg(ap, const char *);

		if (strcmp(got[i], want))
			fail_msg("row %zu is '%s', want '%s' (sort %s%s)", i, got[i], want,
				 top_sort_name(o->sort), o->reverse ? ", reversed" : "");
	}
	va_end(ap);
	for (size_t i = 0; i < k && i < 16; i++)
		free((void *)got[i]);
}

static void test_sort(void **state)
{
	struct top_opts o;
	struct view v;

	(void)state;
	sample(&v);
	top_opts_init(&o);
	assert_order(&v, &o, 4, "burner-5c", "cart-7d9f", evil_pod, "coredns-abc");
	o.reverse = true;
	assert_order(&v, &o, 4, "coredns-abc", evil_pod, "cart-7d9f", "burner-5c");
	o.reverse = false;
	o.sort = TOP_SORT_NAME;	/* by namespace: batch, evil, kube-system, shop */
	assert_order(&v, &o, 4, "burner-5c", evil_pod, "coredns-abc", "cart-7d9f");
	o.sort = TOP_SORT_AMP;	/* ties by ports in use */
	assert_order(&v, &o, 4, "cart-7d9f", "burner-5c", evil_pod, "coredns-abc");
	o.sort = TOP_SORT_OPEN;
	assert_order(&v, &o, 4, "burner-5c", evil_pod, "cart-7d9f", "coredns-abc");
	o.sort = TOP_SORT_UTIL;
	assert_order(&v, &o, 4, "burner-5c", "cart-7d9f", "coredns-abc", evil_pod);
	o.sort = TOP_SORT_FAIL;
	assert_order(&v, &o, 4, "burner-5c", "cart-7d9f", evil_pod, "coredns-abc");
	o.sort = TOP_SORT_TW;
	o.reverse = true;
	assert_order(&v, &o, 4, evil_pod, "coredns-abc", "cart-7d9f", "burner-5c");

	o.mode = TOP_DESTS;
	o.sort = TOP_SORT_NAME;
	o.reverse = false;
	assert_order(&v, &o, 3, "10.96.0.10:443", "10.96.5.5:8080", "[2001:db8::53]:53");
	o.sort = TOP_SORT_RATE;
	assert_order(&v, &o, 3, "10.96.0.10:443", "10.96.5.5:8080", "[2001:db8::53]:53");
	fv_free(&v);
}

static void test_filter(void **state)
{
	struct top_opts o;
	struct view v;

	(void)state;
	assert_true(top_filter_match("", "ns", "pod"));
	assert_true(top_filter_match(NULL, "ns", "pod"));
	assert_true(top_filter_match("pay", "payments", "api-1"));
	assert_true(top_filter_match("api", "payments", "api-1"));
	assert_true(top_filter_match("ments/ap", "payments", "api-1"));
	assert_true(top_filter_match("PAYMENTS", "payments", "api-1"));
	assert_false(top_filter_match("payments/x", "payments", "api-1"));
	assert_false(top_filter_match("/api", "", "api-1"));
	assert_true(top_filter_match("host", "", "host"));

	sample(&v);
	top_opts_init(&o);
	strcpy(o.filter, "shop");
	assert_order(&v, &o, 1, "cart-7d9f");
	strcpy(o.filter, "Kube-System/CORE");
	assert_order(&v, &o, 1, "coredns-abc");
	strcpy(o.filter, "nothing-like-it");
	assert_order(&v, &o, 0);
	strcpy(o.filter, "\x1b[2J");	/* raw names are searched, not escaped ones */
	assert_order(&v, &o, 1, evil_pod);
	o.mode = TOP_CONTAINERS;
	strcpy(o.filter, "cart");
	assert_order(&v, &o, 2, "cart-7d9f", "cart-7d9f");
	o.mode = TOP_DESTS;	/* destinations of the matching pods */
	strcpy(o.filter, "shop");
	assert_order(&v, &o, 1, "10.96.5.5:8080");
	o.mode = TOP_SNAT;
	strcpy(o.filter, "burner");
	assert_order(&v, &o, 1, "203.0.113.9:443");
	strcpy(o.filter, "coredns");
	assert_order(&v, &o, 0);
	fv_free(&v);
}

static void test_keys(void **state)
{
	struct top_opts o;

	(void)state;
	top_opts_init(&o);
	assert_int_equal(top_opts_key(&o, 'c'), TOP_ACT_REDRAW);
	assert_int_equal(o.mode, TOP_CONTAINERS);
	assert_int_equal(top_opts_key(&o, 'd'), TOP_ACT_REDRAW);
	assert_int_equal(o.mode, TOP_DESTS);
	assert_int_equal(top_opts_key(&o, 's'), TOP_ACT_REDRAW);
	assert_int_equal(o.mode, TOP_SNAT);
	assert_int_equal(top_opts_key(&o, 'p'), TOP_ACT_REDRAW);
	assert_int_equal(o.mode, TOP_PODS);

	assert_int_equal(top_opts_key(&o, 'u'), TOP_ACT_REDRAW);
	assert_int_equal(o.sort, TOP_SORT_UTIL);
	assert_false(o.reverse);
	assert_int_equal(top_opts_key(&o, 'u'), TOP_ACT_REDRAW);	/* again: reversed */
	assert_true(o.reverse);
	assert_int_equal(top_opts_key(&o, 'f'), TOP_ACT_REDRAW);
	assert_int_equal(o.sort, TOP_SORT_FAIL);
	assert_false(o.reverse);
	static const struct { int key; enum top_sort sort; } sorts[] = {
		{ 'i', TOP_SORT_IN_USE }, { 'o', TOP_SORT_OPEN }, { 't', TOP_SORT_TW },
		{ 'r', TOP_SORT_RATE },	  { 'a', TOP_SORT_AMP },  { 'n', TOP_SORT_NAME },
	};
	for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
		top_opts_key(&o, sorts[i].key);
		assert_int_equal(o.sort, sorts[i].sort);
	}
	assert_int_equal(top_opts_key(&o, '>'), TOP_ACT_REDRAW);
	assert_int_equal(o.sort, TOP_SORT_IN_USE);	/* wraps around */
	assert_int_equal(top_opts_key(&o, '<'), TOP_ACT_REDRAW);
	assert_int_equal(o.sort, TOP_SORT_NAME);

	assert_int_equal(top_opts_key(&o, ' '), TOP_ACT_PAUSE);
	assert_int_equal(top_opts_key(&o, 'h'), TOP_ACT_HELP);
	assert_int_equal(top_opts_key(&o, '?'), TOP_ACT_HELP);
	assert_int_equal(top_opts_key(&o, '/'), TOP_ACT_FILTER);
	assert_int_equal(top_opts_key(&o, 27), TOP_ACT_NONE);	/* Esc, no filter */
	strcpy(o.filter, "x");
	assert_int_equal(top_opts_key(&o, 27), TOP_ACT_REDRAW);
	assert_string_equal(o.filter, "");
	assert_int_equal(top_opts_key(&o, 'z'), TOP_ACT_NONE);
	assert_int_equal(top_opts_key(&o, 0x263a), TOP_ACT_NONE);
	assert_int_equal(top_opts_key(&o, 'q'), TOP_ACT_QUIT);

	assert_int_equal(top_sort_parse("util"), TOP_SORT_UTIL);
	assert_int_equal(top_sort_parse("bogus"), -1);
	assert_int_equal(top_sort_parse(NULL), -1);
	assert_int_equal(top_mode_parse("snat"), TOP_SNAT);
	assert_int_equal(top_mode_parse("pod"), -1);
	assert_string_equal(top_mode_name(TOP_DESTS), "dests");
}

static void test_flags(void **state)
{
	struct top_opts o;
	struct view v;
	char buf[64], *out;

	(void)state;
	assert_string_equal(top_flags_str(0, buf, sizeof(buf)), "");
	assert_string_equal(top_flags_str(1u << ALERT_EXHAUSTION, buf, sizeof(buf)), "EXH");
	assert_string_equal(top_flags_str(0x1f, buf, sizeof(buf)), "EXH,PRS,SNT,AMP,CHN");
	assert_string_equal(top_flags_str(1u << ALERT_CHURN | 1u << ALERT_PRESSURE, buf,
					  sizeof(buf)),
			    "PRS,CHN");
	/* more flags than the column holds: the first and how many more */
	sample(&v);
	v.pods[1].alert_flags = 0x1f;
	top_opts_init(&o);
	out = once(&v, &o);
	assert_non_null(strstr(out, "12.5 EXH+4\n"));
	free(out);
	fv_free(&v);
}

/* UTF-8 character count, the emoji of the hostile list being 2 columns. */
static size_t line_width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t k = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

		w += k == 4 ? 2 : 1;
		i += k;
	}
	return w;
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
			(*p & 0xf8) == 0xf0 ? 4 : 0;

		if (!n || (n == 2 && *p < 0xc2))
			return false;
		for (int i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

static const char *const hostile[] = {
	"quo\"te", "back\\slash", "new\nline", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07",
	"del\x7f", "c1\xc2\x9b" "2J", "bad\xff\xfe", "over\xc0\xaf", "trunc\xe2\x82",
	"bidi\xe2\x80\xae" "x", "caf\xc3\xa9-\xf0\x9f\x98\x80", "tab\there", "cr\rhere",
};

/* Whatever the names, a frame is its lines: no control character (but the
 * newline), no C1, valid UTF-8, no line wider than asked. */
static void test_hostile_names(void **state)
{
	static const unsigned int widths[] = { 80, 132, 40, 20, 0 };
	size_t nh = sizeof(hostile) / sizeof(hostile[0]);
	char long_name[254];
	struct top_opts o;
	struct view v;

	(void)state;
	memset(long_name, 'x', 253);
	long_name[253] = '\0';
	fv_init(&v, "node\x1b[2J\n", "trace\x07point", T0);
	for (size_t i = 0; i < nh; i++) {
		int d = fv_dest(&v, "10.0.0.1", "10.0.0.2", (uint16_t)(i + 1), 1, 0, 100);
		int w = fv_owner(&v, hostile[i], hostile[(i + 1) % nh], hostile[(i + 2) % nh],
				 VIEW_ROLE_APP, (uint32_t)i + 1, 0, 1);
		int p = fv_pod(&v, hostile[i], hostile[(i + 1) % nh], (uint32_t)i + 1, 0);

		fv_dest_owner(&v, d, w, 1, 0);
		v.pods[p].alert_flags = (uint32_t)i;
		v.pods[p].worst_dest = d;
		v.owners[w].worst_dest = d;
		fv_snat_pod(&v, fv_snat(&v, "198.51.100.1", (uint16_t)(i + 1), 5, 10), p, 5);
	}
	fv_pod(&v, long_name, long_name, 1000, 0);
	fv_owner(&v, long_name, long_name, long_name, VIEW_ROLE_SIDECAR, 1000, 0, 1);
	strcpy(v.owners[v.n_owners - 1].display, long_name);
	for (enum top_mode m = 0; m < TOP_MODES; m++) {
		for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
			size_t lines = 0;
			char *out;

			top_opts_init(&o);
			o.mode = m;
			o.width = widths[wi];
			out = once(&v, &o);
			assert_true(valid_utf8(out));
			for (const unsigned char *p = (const unsigned char *)out; *p; p++) {
				if (*p == '\n')
					lines++;
				else if (*p < 0x20 || *p == 0x7f ||
					 (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) ||
					 (p[0] == 0xe2 && p[1] == 0x80 && p[2] == 0xae))
					fail_msg("control in the %s frame at %u columns: %s",
						 top_mode_name(m), widths[wi], out);
			}
			assert_int_equal(lines, 2 + (m == TOP_DESTS ? nh :
						     m == TOP_SNAT ? nh : nh + 1));
			for (char *l = out, *e; widths[wi] && (e = strchr(l, '\n')); l = e + 1)
				if (line_width(l, (size_t)(e - l)) > widths[wi])
					fail_msg("line wider than %u: '%.*s'", widths[wi],
						 (int)(e - l), l);
			if (m == TOP_PODS && widths[wi] == 0) {
				char want[600];

				snprintf(want, sizeof(want), "%s/%s", long_name, long_name);
				assert_non_null(strstr(out, want));
				assert_non_null(strstr(out, "\\x1b[31mred\\x1b[0m/"));
				assert_non_null(strstr(out, "bad\\xff\\xfe/"));
				assert_non_null(strstr(out, "bidi\\u202ex/"));
				assert_non_null(strstr(out, "node node\\x1b[2J\\x0a  "
								 "mode trace\\x07point"));
			}
			free(out);
		}
	}
	fv_free(&v);
}

static void test_empty_and_bad_indexes(void **state)
{
	struct top_opts o;
	struct view v;
	char *out;

	(void)state;
	fv_init(&v, "n", NULL, 0);
	top_opts_init(&o);
	out = once(&v, &o);
	assert_text(out, "node n  mode -  lost 0  1970-01-01T00:00:00Z  pods by in-use\n"
			 "NAMESPACE/POD        IN-USE  OPEN    TW WORST DEST UTIL CONN/s FAIL/s  AMP FLAGS\n");
	free(out);
	/* a worst_dest out of range shows as none */
	fv_pod(&v, "ns", "p", 1, 0);
	v.pods[0].worst_dest = 99;
	out = once(&v, &o);
	assert_non_null(strstr(out, "ns/p"));
	free(out);
	fv_free(&v);
}

static void test_ui_needs_a_terminal(void **state)
{
	int saved = dup(STDIN_FILENO), null = open("/dev/null", O_RDONLY);

	(void)state;
	assert_true(saved >= 0 && null >= 0);
	assert_int_equal(dup2(null, STDIN_FILENO), STDIN_FILENO);
	assert_null(top_ui_new(NULL));
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	close(null);
	top_ui_free(NULL);
}

/* --- the screen, in tmux ------------------------------------------------------ */

static char tmux_sock[64], rc_file[64];

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *capture(void)
{
	char cmd[256], *buf = NULL;
	size_t len = 0;
	FILE *p, *m = open_memstream(&buf, &len);
	int c;

	snprintf(cmd, sizeof(cmd), "tmux -S %s capture-pane -p -t pbtop 2>/dev/null", tmux_sock);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(m);
	while ((c = fgetc(p)) != EOF)
		fputc(c, m);
	pclose(p);
	fclose(m);
	return buf;
}

/* Line I of the pane (0-based), without the newline. */
static char *pane_line(const char *pane, int i, char *buf, size_t len)
{
	const char *p = pane;

	while (i-- > 0 && p && (p = strchr(p, '\n')))
		p++;
	buf[0] = '\0';
	if (p)
		snprintf(buf, len, "%.*s", (int)strcspn(p, "\n"), p);
	return buf;
}

/* Poll the pane until line LINE contains WANT (-1: any line), 10 s at most. */
static char *wait_pane(int line, const char *want)
{
	uint64_t deadline = mono_ns() + 10000000000ULL;
	char l[512];

	for (;;) {
		char *pane = capture();

		if (line < 0 ? strstr(pane, want) != NULL :
			       strstr(pane_line(pane, line, l, sizeof(l)), want) != NULL)
			return pane;
		if (mono_ns() > deadline)
			fail_msg("pane line %d never showed '%s':\n%s", line, want, pane);
		free(pane);
		usleep(20000);	/* polling the pane, not waiting for it */
	}
}

/* Poll the pane until WHAT is nowhere on it, 10 s at most. */
static char *wait_pane_gone(const char *what)
{
	uint64_t deadline = mono_ns() + 10000000000ULL;

	for (;;) {
		char *pane = capture();

		if (!strstr(pane, what))
			return pane;
		if (mono_ns() > deadline)
			fail_msg("'%s' stayed on the pane:\n%s", what, pane);
		free(pane);
		usleep(20000);
	}
}

static void keys(const char *k)
{
	assert_int_equal(sh("tmux -S %s send-keys -t pbtop %s", tmux_sock, k), 0);
}

static const char *self_exe;

/* The UI on the sample view, redrawn every 200 ms, until q. */
static int ui_child(void)
{
	struct top_ui *ui = top_ui_new(NULL);
	struct view v;
	int quit = 0;

	if (!ui)
		return 1;
	sample(&v);
	while (!quit) {
		if (top_ui_draw(ui, &v))
			break;
		v.events_lost_total++;	/* a new view each time */
		quit = top_ui_handle_input(ui, 200);
	}
	top_ui_free(ui);
	fv_free(&v);
	return quit == 1 ? 0 : 1;
}

static void test_ui_in_tmux(void **state)
{
	char l[512], *pane;

	(void)state;
	snprintf(tmux_sock, sizeof(tmux_sock), "/tmp/pb-top-%d.sock", getpid());
	snprintf(rc_file, sizeof(rc_file), "/tmp/pb-top-%d.rc", getpid());
	unlink(rc_file);
	assert_int_equal(sh("tmux -S %s -f /dev/null new-session -d -s pbtop -x 80 -y 24 "
			    "'%s --ui-child; echo rc=$? >%s'",
			    tmux_sock, self_exe, rc_file),
			 0);
	sh("tmux -S %s set-option -t pbtop remain-on-exit on", tmux_sock);

	/* The burning pod on the first row, with its flags; hostile names inert. */
	pane = wait_pane(2, "batch/burner-5c");
	assert_non_null(strstr(pane_line(pane, 2, l, sizeof(l)), "EXH,PRS"));
	assert_non_null(strstr(pane_line(pane, 0, l, sizeof(l)), "node node-a  mode tracepoint"));
	assert_non_null(strstr(pane_line(pane, 1, l, sizeof(l)), "NAMESPACE/POD"));
	assert_non_null(strstr(pane, "evil/\\x1b[2"));
	assert_non_null(strstr(pane_line(pane, 23, l, sizeof(l)), "q quit"));
	free(pane);

	keys("c");
	free(wait_pane(1, "NS/POD/CONTAINER"));
	keys("d");
	pane = wait_pane(1, "DESTINATION");
	assert_non_null(strstr(pane_line(pane, 2, l, sizeof(l)), "10.96.0.10:443"));
	free(pane);
	keys("s");
	free(wait_pane(1, "BUDGET"));
	keys("p");
	free(wait_pane(1, "NAMESPACE/POD"));

	/* Filter: live while typing, Enter keeps it, Esc (outside the prompt) drops it. */
	keys("/");
	free(wait_pane(23, "filter (namespace or pod):"));
	keys("s h o p Enter");
	pane = wait_pane(0, "filter 'shop'");
	assert_non_null(strstr(pane_line(pane, 2, l, sizeof(l)), "shop/cart-7d9f"));
	assert_string_equal(pane_line(pane, 3, l, sizeof(l)), "");
	free(pane);
	keys("Escape");
	free(wait_pane(2, "batch/burner-5c"));

	/* Sort by name, twice reverses. */
	keys("n");
	free(wait_pane(2, "batch/burner-5c"));
	pane = wait_pane(0, "by name");
	assert_non_null(strstr(pane_line(pane, 3, l, sizeof(l)), "evil/"));
	free(pane);
	keys("n");
	free(wait_pane(2, "shop/cart-7d9f"));
	keys("i");
	free(wait_pane(2, "batch/burner-5c"));

	/* Resize: narrower and shorter, still the burner first, nothing wraps. */
	assert_int_equal(sh("tmux -S %s resize-window -t pbtop -x 50 -y 12", tmux_sock), 0);
	pane = wait_pane(11, "q quit");
	assert_non_null(strstr(pane_line(pane, 2, l, sizeof(l)), "batch/burner"));
	assert_non_null(strstr(pane_line(pane, 2, l, sizeof(l)), "EXH"));
	free(pane);
	assert_int_equal(sh("tmux -S %s resize-window -t pbtop -x 80 -y 24", tmux_sock), 0);
	free(wait_pane(23, "q quit"));

	/* Help, any key closes it; pause. */
	keys("h");
	free(wait_pane(-1, "this help"));
	keys("x");
	pane = wait_pane_gone("this help");
	assert_non_null(strstr(pane_line(pane, 2, l, sizeof(l)), "batch/burner-5c"));
	free(pane);
	keys("Space");
	free(wait_pane(0, "PAUSED"));
	keys("Space");
	pane = capture();
	free(pane);

	/* q quits with 0. tmux's own #{pane_dead_status} can stay empty (seen
	 * under valgrind), so the pane's shell writes the exit code down. */
	keys("q");
	{
		uint64_t deadline = mono_ns() + 10000000000ULL;
		char rc[32] = "";
		FILE *f;

		while (!(f = fopen(rc_file, "r")) || !fgets(rc, sizeof(rc), f) || !strchr(rc, '\n')) {
			if (f)
				fclose(f);
			if (mono_ns() > deadline)
				fail_msg("top did not quit on q:\n%s", capture());
			usleep(20000);
		}
		fclose(f);
		assert_string_equal(rc, "rc=0\n");
	}
}

/* Also after a failed assertion: no tmux server or socket left behind. */
static int tmux_teardown(void **state)
{
	(void)state;
	if (tmux_sock[0]) {
		sh("tmux -S %s kill-server 2>/dev/null", tmux_sock);
		unlink(tmux_sock);
		unlink(rc_file);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once_pods_80),
		cmocka_unit_test(test_once_unlimited),
		cmocka_unit_test(test_once_dests_snat),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_empty_and_bad_indexes),
		cmocka_unit_test(test_ui_needs_a_terminal),
		cmocka_unit_test_teardown(test_ui_in_tmux, tmux_teardown),
	};

	if (argc > 1 && !strcmp(argv[1], "--ui-child"))
		return ui_child();
	self_exe = realpath("/proc/self/exe", NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
