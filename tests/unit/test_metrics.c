// SPDX-License-Identifier: GPL-2.0-only
/* The Prometheus exposition against deploy/METRICS.md: exact text for small
 * views, escaping of hostile names, top-5 folding, zero gauges, counters kept
 * 10 minutes and never going down, and `promtool check metrics` on the output. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "metrics.h"
#include "fake_view.h"

#define T0 1700000000000000000ULL	/* view time, ns */
#define SEC 1000000000ULL

/* The exposition of V, with the build's version (PORTBURN_VERSION of the
 * library, git describe: not this file's) replaced by @VERSION@ once checked. */
static char *render(const struct view *v, struct metrics_state *s)
{
	static const char key[] = "portburn_build_info{version=\"";
	char *buf, *at, *end, *out;
	size_t len;

	assert_int_equal(metrics_render(v, s, &buf, &len), 0);
	assert_non_null(buf);
	assert_int_equal(strlen(buf), len);
	at = strstr(buf, key);
	assert_non_null(at);
	at += strlen(key);
	end = strchr(at, '"');
	assert_non_null(end);
	assert_true(end > at);
	assert_true(asprintf(&out, "%.*s@VERSION@%s", (int)(at - buf), buf, end) > 0);
	free(buf);
	return out;
}

/* The sample lines of BUF (no comments) that start with PREFIX, concatenated. */
static char *samples(const char *buf, const char *prefix)
{
	size_t cap = strlen(buf) + 1, n = 0, pl = strlen(prefix);
	char *out = calloc(1, cap);

	assert_non_null(out);
	for (const char *p = buf; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) + 1 : strlen(p);

		if (p[0] != '#' && !strncmp(p, prefix, pl)) {
			memcpy(out + n, p, l);
			n += l;
		}
		p += l;
	}
	return out;
}

static void assert_samples(const char *buf, const char *prefix, const char *want)
{
	char *got = samples(buf, prefix);

	if (strcmp(got, want))
		fail_msg("samples of %s:\n--- got\n%s--- want\n%s", prefix, got, want);
	free(got);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* promtool does not see a series twice (Prometheus drops the scrape's
 * duplicates): every name{labels} is unique. */
static void assert_unique_series(const char *text)
{
	char *copy = strdup(text), **series = NULL, *save = NULL;
	size_t n = 0;

	assert_non_null(copy);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(l, ' ');

		if (l[0] == '#')
			continue;
		assert_non_null(sp);
		*sp = '\0';
		series = realloc(series, (n + 1) * sizeof(*series));
		assert_non_null(series);
		series[n++] = l;
	}
	qsort(series, n, sizeof(*series), cmp_str);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(series[i - 1], series[i]))
			fail_msg("series twice: %s", series[i]);
	free(series);
	free(copy);
}

/* `promtool check metrics` reads the exposition on stdin: exit 0 is clean
 * (1: does not parse, 3: lint problems). */
static void assert_promtool(const char *text)
{
	char path[] = "/tmp/pb-metrics-XXXXXX", cmd[256];
	int fd = mkstemp(path), st;
	FILE *f;

	assert_unique_series(text);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
	st = system(cmd);
	if (st != 0) {
		fprintf(stderr, "promtool check metrics failed (%d) on:\n%s", st, text);
		unlink(path);
		fail_msg("promtool check metrics: exit %d (is /usr/bin/promtool installed?)",
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	unlink(path);
}

static void small_view(struct view *v)
{
	int app, side, d;

	fv_init(v, "node-1", "tracepoint", T0);
	app = fv_owner(v, "shop", "cart-7d9f", "app", VIEW_ROLE_APP, 3, 120, 500);
	side = fv_owner(v, "shop", "cart-7d9f", "istio-proxy", VIEW_ROLE_SIDECAR, 2, 0, 1000);
	d = fv_dest(v, "10.0.0.5", "10.96.0.10", 443, 5, 120, 28232);
	fv_dest_owner(v, d, app, 3, 120);
	fv_dest_owner(v, d, side, 2, 0);
	fv_snat(v, "203.0.113.9", 443, 256, 1024);
	fv_failure(v, app, "EADDRNOTAVAIL", 7);
	v->events_lost_total = 3;
	v->untracked_total = 2;
	v->reconcile_drift_total = 1;
	v->alerts_total[ALERT_EXHAUSTION] = 1;
	v->alerts_total[ALERT_CHURN] = 4;
}

static void test_exact_small(void **state)
{
	static const char want[] =
		"# HELP portburn_ports_in_use Local ports held by connections the owner opened, "
		"by state (open or time_wait).\n"
		"# TYPE portburn_ports_in_use gauge\n"
		"portburn_ports_in_use{namespace=\"shop\",pod=\"cart-7d9f\",container=\"app\","
		"state=\"open\"} 3\n"
		"portburn_ports_in_use{namespace=\"shop\",pod=\"cart-7d9f\",container=\"app\","
		"state=\"time_wait\"} 120\n"
		"portburn_ports_in_use{namespace=\"shop\",pod=\"cart-7d9f\",container=\"istio-proxy\","
		"state=\"open\"} 2\n"
		"# HELP portburn_destination_utilization_ratio Ports in use from the pod's network "
		"namespace towards daddr:dport over its ephemeral capacity (top 5 per pod, the "
		"largest of the rest as other).\n"
		"# TYPE portburn_destination_utilization_ratio gauge\n"
		"portburn_destination_utilization_ratio{namespace=\"shop\",pod=\"cart-7d9f\","
		"daddr=\"10.96.0.10\",dport=\"443\"} 0.004427599886653443\n"
		"# HELP portburn_snat_utilization_ratio Ports held by all pods of the node towards "
		"an external daddr:dport over the SNAT port budget (top 5, the largest of the rest "
		"as other).\n"
		"# TYPE portburn_snat_utilization_ratio gauge\n"
		"portburn_snat_utilization_ratio{daddr=\"203.0.113.9\",dport=\"443\"} 0.25\n"
		"# HELP portburn_connects_total Outbound TCP connections opened (a source port was "
		"allocated), by role.\n"
		"# TYPE portburn_connects_total counter\n"
		"portburn_connects_total{namespace=\"shop\",pod=\"cart-7d9f\",container=\"app\","
		"role=\"app\"} 500\n"
		"portburn_connects_total{namespace=\"shop\",pod=\"cart-7d9f\",container=\"istio-proxy\","
		"role=\"sidecar\"} 1000\n"
		"# HELP portburn_connect_failures_total Outbound connection attempts that failed in "
		"connect() or the bind() before it, by errno.\n"
		"# TYPE portburn_connect_failures_total counter\n"
		"portburn_connect_failures_total{namespace=\"shop\",pod=\"cart-7d9f\",container=\"app\","
		"errno=\"EADDRNOTAVAIL\"} 7\n"
		"# HELP portburn_amplification_ratio Connections the pod's sidecar opened per "
		"connection its app opened towards daddr:dport over the amplification window (top 5 "
		"per pod).\n"
		"# TYPE portburn_amplification_ratio gauge\n"
		"# HELP portburn_alerts_total Alerts raised by the detectors, by kind.\n"
		"# TYPE portburn_alerts_total counter\n"
		"portburn_alerts_total{kind=\"exhaustion\"} 1\n"
		"portburn_alerts_total{kind=\"pressure\"} 0\n"
		"portburn_alerts_total{kind=\"snat_pressure\"} 0\n"
		"portburn_alerts_total{kind=\"amplification\"} 0\n"
		"portburn_alerts_total{kind=\"churn\"} 4\n"
		"# HELP portburn_events_lost_total Kernel events lost: ring buffer records not "
		"reserved plus map updates that failed for lack of room.\n"
		"# TYPE portburn_events_lost_total counter\n"
		"portburn_events_lost_total 5\n"
		"# HELP portburn_reconcile_drift_total Sockets the reconciliation against the kernel "
		"found missing from, or extra in, the ledger.\n"
		"# TYPE portburn_reconcile_drift_total counter\n"
		"portburn_reconcile_drift_total 1\n"
		"# HELP portburn_build_info Always 1: the portburn version and the hook mode in use.\n"
		"# TYPE portburn_build_info gauge\n"
		"portburn_build_info{version=\"@VERSION@\",mode=\"tracepoint\"} 1\n";
	struct metrics_state *s = metrics_state_new();
	struct view v;
	char *buf;

	(void)state;
	small_view(&v);
	buf = render(&v, s);
	if (strcmp(buf, want))
		fail_msg("exposition:\n--- got\n%s--- want\n%s", buf, want);
	assert_promtool(buf);
	free(buf);
	fv_free(&v);
	metrics_state_free(s);
}

/* An empty view (the second portburn starts on a quiet node): node-wide
 * counters from 0, build_info, every family declared, and promtool is happy. */
static void test_empty_view(void **state)
{
	struct metrics_state *s = metrics_state_new();
	struct view v;
	char *buf;

	(void)state;
	fv_init(&v, "n", "fentry", T0);
	buf = render(&v, s);
	assert_samples(buf, "portburn_ports_in_use", "");
	assert_samples(buf, "portburn_events_lost_total", "portburn_events_lost_total 0\n");
	assert_samples(buf, "portburn_reconcile_drift_total", "portburn_reconcile_drift_total 0\n");
	assert_samples(buf, "portburn_build_info",
		       "portburn_build_info{version=\"@VERSION@\",mode=\"fentry\"} 1\n");
	assert_non_null(strstr(buf, "# TYPE portburn_connects_total counter\n"));
	assert_non_null(strstr(buf, "# TYPE portburn_amplification_ratio gauge\n"));
	assert_promtool(buf);
	free(buf);
	metrics_state_free(s);
}

static const char *const hostile[] = {
	"quo\"te", "back\\slash", "new\nline", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07",
	"del\x7f", "c1\xc2\x9b" "2J", "bad\xff\xfe", "over\xc0\xaf", "trunc\xe2\x82",
	"bidi\xe2\x80\xae" "x", "caf\xc3\xa9-\xf0\x9f\x98\x80", "} 1\nportburn_fake 2\n#",
};

static void test_hostile_names(void **state)
{
	struct metrics_state *s = metrics_state_new();
	char long_name[254];
	struct view v;
	char *buf;
	int o, d;

	(void)state;
	memset(long_name, 'a', 253);
	long_name[253] = '\0';
	fv_init(&v, "n", "tracepoint", T0);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		o = fv_owner(&v, hostile[i], hostile[i], hostile[i], VIEW_ROLE_APP, 1, 1, 1);
		d = fv_dest(&v, "10.0.0.1", "10.0.0.2", (uint16_t)(1000 + i), 1, 1, 100);
		fv_dest_owner(&v, d, o, 1, 1);
		fv_failure(&v, o, "ECONNREFUSED", 1);
	}
	o = fv_owner(&v, long_name, long_name, long_name, VIEW_ROLE_SIDECAR, 1, 0, 1);
	buf = render(&v, s);

	/* The exact escapes METRICS.md asks for. */
	assert_non_null(strstr(buf, "pod=\"quo\\\"te\""));
	assert_non_null(strstr(buf, "pod=\"back\\\\slash\""));
	assert_non_null(strstr(buf, "pod=\"new\\nline\""));
	assert_non_null(strstr(buf, "pod=\"\xef\xbf\xbd[31mred\xef\xbf\xbd[0m\""));
	assert_non_null(strstr(buf, "pod=\"bad\xef\xbf\xbd\xef\xbf\xbd\""));
	assert_non_null(strstr(buf, "pod=\"caf\xc3\xa9-\xf0\x9f\x98\x80\""));
	assert_non_null(strstr(buf, "pod=\"} 1\\nportburn_fake 2\\n#\""));
	{
		char want[300];

		snprintf(want, sizeof(want), "container=\"%s\",role=\"sidecar\"} 1\n", long_name);
		assert_non_null(strstr(buf, want));
	}
	/* Nothing can sneak in a sample of its own or a control character. */
	assert_null(strstr(buf, "\nportburn_fake"));
	for (const unsigned char *p = (const unsigned char *)buf; *p; p++) {
		assert_false(*p < 0x20 && *p != '\n');
		assert_false(*p == 0x7f);
		assert_false(p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
	}
	assert_promtool(buf);
	free(buf);
	fv_free(&v);
	metrics_state_free(s);
}

/* A pod with 8 destinations: the 5 largest, then the largest of the other 3
 * as daddr="other"; the same destination from two source addresses counts
 * once with its larger value; a pool with no port of the pod is not its. */
static void test_top5_fold(void **state)
{
	static const uint32_t in_use[] = { 10, 800, 20, 900, 30, 700, 40, 600 };
	struct metrics_state *s = metrics_state_new();
	struct view v;
	char *buf;
	int a, b, d;

	(void)state;
	fv_init(&v, "n", "tracepoint", T0);
	a = fv_owner(&v, "ns", "burner", "app", VIEW_ROLE_APP, 0, 3100, 0);
	b = fv_owner(&v, "ns", "quiet", "app", VIEW_ROLE_APP, 1, 0, 0);
	for (int i = 0; i < 8; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "192.0.2.%d", i + 1);
		d = fv_dest(&v, "10.0.0.1", addr, 80, 0, in_use[i], 1000);
		fv_dest_owner(&v, d, a, 0, in_use[i]);
	}
	/* 192.0.2.1:80 again from another source address: 0.95 wins over 0.01 */
	d = fv_dest(&v, "10.0.0.9", "192.0.2.1", 80, 0, 950, 1000);
	fv_dest_owner(&v, d, a, 0, 950);
	/* quiet has an owner entry in a pool but no port there */
	fv_dest_owner(&v, d, b, 0, 0);
	d = fv_dest(&v, "10.0.0.2", "2001:db8::1", 8443, 1, 0, 4);
	fv_dest_owner(&v, d, b, 1, 0);
	d = fv_dest(&v, "10.0.0.2", "::ffff:198.51.100.7", 53, 0, 0, 100);	/* zero: omitted */
	fv_dest_owner(&v, d, b, 0, 0);
	buf = render(&v, s);
	assert_samples(buf, "portburn_destination_utilization_ratio",
		       "portburn_destination_utilization_ratio{namespace=\"ns\",pod=\"burner\","
		       "daddr=\"192.0.2.1\",dport=\"80\"} 0.95\n"
		       "portburn_destination_utilization_ratio{namespace=\"ns\",pod=\"burner\","
		       "daddr=\"192.0.2.4\",dport=\"80\"} 0.9\n"
		       "portburn_destination_utilization_ratio{namespace=\"ns\",pod=\"burner\","
		       "daddr=\"192.0.2.2\",dport=\"80\"} 0.8\n"
		       "portburn_destination_utilization_ratio{namespace=\"ns\",pod=\"burner\","
		       "daddr=\"192.0.2.6\",dport=\"80\"} 0.7\n"
		       "portburn_destination_utilization_ratio{namespace=\"ns\",pod=\"burner\","
		       "daddr=\"192.0.2.8\",dport=\"80\"} 0.6\n"
		       "portburn_destination_utilization_ratio{namespace=\"ns\",pod=\"burner\","
		       "daddr=\"other\",dport=\"other\"} 0.04\n"
		       "portburn_destination_utilization_ratio{namespace=\"ns\",pod=\"quiet\","
		       "daddr=\"2001:db8::1\",dport=\"8443\"} 0.25\n");
	assert_promtool(buf);
	free(buf);
	fv_free(&v);
	metrics_state_free(s);
}

static void test_snat_fold(void **state)
{
	struct metrics_state *s = metrics_state_new();
	struct view v;
	char *buf;

	(void)state;
	fv_init(&v, "n", "tracepoint", T0);
	fv_snat(&v, "198.51.100.1", 443, 100, 1000);
	fv_snat(&v, "198.51.100.2", 443, 1200, 1000);	/* over budget: may exceed 1 */
	fv_snat(&v, "198.51.100.3", 443, 300, 1000);
	fv_snat(&v, "198.51.100.4", 443, 0, 1000);	/* zero: omitted */
	fv_snat(&v, "198.51.100.5", 443, 500, 1000);
	fv_snat(&v, "198.51.100.6", 443, 200, 1000);
	fv_snat(&v, "198.51.100.7", 443, 600, 1000);
	fv_snat(&v, "198.51.100.8", 443, 50, 1000);
	buf = render(&v, s);
	assert_samples(buf, "portburn_snat_utilization_ratio",
		       "portburn_snat_utilization_ratio{daddr=\"198.51.100.2\",dport=\"443\"} 1.2\n"
		       "portburn_snat_utilization_ratio{daddr=\"198.51.100.7\",dport=\"443\"} 0.6\n"
		       "portburn_snat_utilization_ratio{daddr=\"198.51.100.5\",dport=\"443\"} 0.5\n"
		       "portburn_snat_utilization_ratio{daddr=\"198.51.100.3\",dport=\"443\"} 0.3\n"
		       "portburn_snat_utilization_ratio{daddr=\"198.51.100.6\",dport=\"443\"} 0.2\n"
		       "portburn_snat_utilization_ratio{daddr=\"other\",dport=\"other\"} 0.1\n");
	assert_promtool(buf);
	free(buf);
	fv_free(&v);
	metrics_state_free(s);
}

/* Owners outside Kubernetes and owners nobody could name, as METRICS.md
 * labels them; owners with equal labels are one series; zero gauges are not
 * exported while the counters of the owner are. */
static void test_owner_labels(void **state)
{
	struct metrics_state *s = metrics_state_new();
	struct view v;
	char *buf;

	(void)state;
	fv_init(&v, "n", "tracepoint", T0);
	fv_owner(&v, "", "nginx.service", "", VIEW_ROLE_APP, 2, 0, 9);
	fv_owner(&v, "", "host", "", VIEW_ROLE_APP, 0, 4, 0);
	fv_owner(&v, "", "unknown", "", VIEW_ROLE_APP, 1, 0, 0);
	fv_owner(&v, "", "", "", VIEW_ROLE_APP, 1, 0, 0);
	fv_owner(&v, "ns", "old-pod", "", VIEW_ROLE_APP, 0, 7, 0);
	fv_owner(&v, "ns", "p", "c", VIEW_ROLE_APP, 0, 0, 3);	/* nothing held now */
	fv_owner(&v, "ns", "p", "c", VIEW_ROLE_APP, 1, 0, 2);	/* same labels */
	buf = render(&v, s);
	assert_samples(buf, "portburn_ports_in_use",
		       "portburn_ports_in_use{namespace=\"\",pod=\"host\",container=\"\","
		       "state=\"time_wait\"} 4\n"
		       "portburn_ports_in_use{namespace=\"\",pod=\"host\",container=\"nginx.service\","
		       "state=\"open\"} 2\n"
		       "portburn_ports_in_use{namespace=\"\",pod=\"unknown\",container=\"\","
		       "state=\"open\"} 2\n"
		       "portburn_ports_in_use{namespace=\"ns\",pod=\"old-pod\",container=\"\","
		       "state=\"time_wait\"} 7\n"
		       "portburn_ports_in_use{namespace=\"ns\",pod=\"p\",container=\"c\","
		       "state=\"open\"} 1\n");
	assert_samples(buf, "portburn_connects_total",
		       "portburn_connects_total{namespace=\"\",pod=\"host\",container=\"\","
		       "role=\"app\"} 0\n"
		       "portburn_connects_total{namespace=\"\",pod=\"host\",container=\"nginx.service\","
		       "role=\"app\"} 9\n"
		       "portburn_connects_total{namespace=\"\",pod=\"unknown\",container=\"\","
		       "role=\"app\"} 0\n"
		       "portburn_connects_total{namespace=\"ns\",pod=\"old-pod\",container=\"\","
		       "role=\"app\"} 0\n"
		       "portburn_connects_total{namespace=\"ns\",pod=\"p\",container=\"c\","
		       "role=\"app\"} 5\n");
	assert_promtool(buf);
	free(buf);
	fv_free(&v);
	metrics_state_free(s);
}

/* errno by name; a number without a name as its decimal value. */
static void test_errno_labels(void **state)
{
	struct metrics_state *s = metrics_state_new();
	struct view v;
	char *buf;
	int o;

	(void)state;
	fv_init(&v, "n", "tracepoint", T0);
	o = fv_owner(&v, "ns", "p", "c", VIEW_ROLE_APP, 0, 0, 1);
	fv_failure(&v, o, "EADDRINUSE", 2);
	fv_failure(&v, o, "E200", 1);
	fv_failure(&v, o, "EADDRNOTAVAIL", 3);
	buf = render(&v, s);
	assert_samples(buf, "portburn_connect_failures_total",
		       "portburn_connect_failures_total{namespace=\"ns\",pod=\"p\",container=\"c\","
		       "errno=\"200\"} 1\n"
		       "portburn_connect_failures_total{namespace=\"ns\",pod=\"p\",container=\"c\","
		       "errno=\"EADDRINUSE\"} 2\n"
		       "portburn_connect_failures_total{namespace=\"ns\",pod=\"p\",container=\"c\","
		       "errno=\"EADDRNOTAVAIL\"} 3\n");
	free(buf);
	fv_free(&v);
	metrics_state_free(s);
}

/* A pod's counters stay 10 minutes after it left the view, then go; a series
 * never goes down (an owner that comes back starts from where it was; one of
 * two owners with the same labels leaving keeps the sum). */
static void test_counter_retention(void **state)
{
	struct metrics_state *s = metrics_state_new();
	struct view v;
	char *buf;
	int o;

	(void)state;
	fv_init(&v, "n", "tracepoint", T0);
	o = fv_owner(&v, "ns", "gone", "app", VIEW_ROLE_APP, 1, 0, 10);
	fv_failure(&v, o, "EADDRNOTAVAIL", 3);
	fv_owner(&v, "ns", "two", "app", VIEW_ROLE_APP, 1, 0, 4);
	fv_owner(&v, "ns", "two", "app", VIEW_ROLE_APP, 1, 0, 6);
	free(render(&v, s));
	fv_free(&v);

	/* 1 s later: "gone" left, one of the two "two" left. */
	fv_init(&v, "n", "tracepoint", T0 + SEC);
	fv_owner(&v, "ns", "two", "app", VIEW_ROLE_APP, 1, 0, 7);
	buf = render(&v, s);
	assert_samples(buf, "portburn_connects_total",
		       "portburn_connects_total{namespace=\"ns\",pod=\"gone\",container=\"app\","
		       "role=\"app\"} 10\n"
		       "portburn_connects_total{namespace=\"ns\",pod=\"two\",container=\"app\","
		       "role=\"app\"} 10\n");
	assert_samples(buf, "portburn_connect_failures_total",
		       "portburn_connect_failures_total{namespace=\"ns\",pod=\"gone\","
		       "container=\"app\",errno=\"EADDRNOTAVAIL\"} 3\n");
	assert_samples(buf, "portburn_ports_in_use",
		       "portburn_ports_in_use{namespace=\"ns\",pod=\"two\",container=\"app\","
		       "state=\"open\"} 1\n");
	free(buf);
	fv_free(&v);

	/* 5 min later "gone" is back (a StatefulSet pod re-created): counts on. */
	fv_init(&v, "n", "tracepoint", T0 + 300 * SEC);
	o = fv_owner(&v, "ns", "gone", "app", VIEW_ROLE_APP, 1, 0, 2);
	fv_failure(&v, o, "EADDRNOTAVAIL", 1);
	fv_owner(&v, "ns", "two", "app", VIEW_ROLE_APP, 1, 0, 9);
	buf = render(&v, s);
	assert_samples(buf, "portburn_connects_total",
		       "portburn_connects_total{namespace=\"ns\",pod=\"gone\",container=\"app\","
		       "role=\"app\"} 12\n"
		       "portburn_connects_total{namespace=\"ns\",pod=\"two\",container=\"app\","
		       "role=\"app\"} 12\n");
	assert_samples(buf, "portburn_connect_failures_total",
		       "portburn_connect_failures_total{namespace=\"ns\",pod=\"gone\","
		       "container=\"app\",errno=\"EADDRNOTAVAIL\"} 4\n");
	free(buf);
	fv_free(&v);

	/* Gone again (last seen at +300 s): shown until +900 s, dropped after. */
	fv_init(&v, "n", "tracepoint", T0 + 900 * SEC);
	fv_owner(&v, "ns", "two", "app", VIEW_ROLE_APP, 1, 0, 9);
	buf = render(&v, s);
	assert_non_null(strstr(buf, "pod=\"gone\",container=\"app\",role=\"app\"} 12\n"));
	free(buf);
	fv_free(&v);
	fv_init(&v, "n", "tracepoint", T0 + 901 * SEC);
	fv_owner(&v, "ns", "two", "app", VIEW_ROLE_APP, 1, 0, 9);
	buf = render(&v, s);
	assert_samples(buf, "portburn_connects_total",
		       "portburn_connects_total{namespace=\"ns\",pod=\"two\",container=\"app\","
		       "role=\"app\"} 12\n");
	assert_samples(buf, "portburn_connect_failures_total", "");
	assert_promtool(buf);
	free(buf);
	fv_free(&v);
	metrics_state_free(s);
}

/* A node-sized view with hostile names everywhere: promtool still passes and
 * the output stays bounded (5 + 1 destinations per pod). */
static void test_big_view_promtool(void **state)
{
	struct metrics_state *s = metrics_state_new();
	size_t nh = sizeof(hostile) / sizeof(hostile[0]), lines = 0;
	struct view v;
	char *buf;

	(void)state;
	fv_init(&v, "n\"ode\n", "kprobe", T0);
	for (int p = 0; p < 40; p++) {
		char ns[64], pod[300];
		int a, sc;

		snprintf(ns, sizeof(ns), "ns-%d", p % 7);
		snprintf(pod, sizeof(pod), "pod-%d-%s", p, hostile[p % nh]);
		a = fv_owner(&v, ns, pod, "app", VIEW_ROLE_APP, 10, 100, 1000);
		sc = fv_owner(&v, ns, pod, "envoy", VIEW_ROLE_SIDECAR, 5, 50, 3000);
		for (int d = 0; d < 20; d++) {
			char addr[32];
			int di;

			snprintf(addr, sizeof(addr), "10.%d.%d.1", p, d);
			di = fv_dest(&v, "10.244.0.1", addr, (uint16_t)(8000 + d), 1, (uint32_t)d,
				     28232);
			fv_dest_owner(&v, di, d % 2 ? a : sc, 1, (uint32_t)d);
		}
		fv_failure(&v, a, p % 2 ? "EADDRNOTAVAIL" : "ECONNREFUSED", (uint64_t)p);
	}
	for (int i = 0; i < 30; i++) {
		char addr[32];

		snprintf(addr, sizeof(addr), "203.0.113.%d", i);
		fv_snat(&v, addr, 443, (uint32_t)(i * 10), 1024);
	}
	buf = render(&v, s);
	for (const char *p = buf; (p = strstr(p, "portburn_destination_utilization_ratio{")); p++)
		lines++;
	assert_int_equal(lines, 40 * 6);
	assert_promtool(buf);
	free(buf);
	fv_free(&v);
	metrics_state_free(s);
}

static void test_free_null(void **state)
{
	(void)state;
	metrics_state_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_small),
		cmocka_unit_test(test_empty_view),
		cmocka_unit_test(test_hostile_names),
		cmocka_unit_test(test_top5_fold),
		cmocka_unit_test(test_snat_fold),
		cmocka_unit_test(test_owner_labels),
		cmocka_unit_test(test_errno_labels),
		cmocka_unit_test(test_counter_retention),
		cmocka_unit_test(test_big_view_promtool),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
