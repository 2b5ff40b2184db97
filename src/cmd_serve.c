// SPDX-License-Identifier: GPL-2.0-only
/* portburn serve: Prometheus /metrics and /healthz, alerts as JSON lines on
 * stdout (the pod's log is the event stream). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "cmd.h"
#include "detect.h"
#include "engine.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "view_json.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: portburn serve [--listen ADDR:PORT] [--reconcile SECONDS] "
		   "[--cluster-cidr CIDR]... [--snat-budget N] [--node NAME] [--warn PCT] [--crit PCT] "
		   "[--window S] [--amplification R] [common options]\n");
}

static void on_alert(void *ctx, const struct alert *a)
{
	struct json_object *o = detect_alert_json(a, mono_to_wall_ns(a->ts_ns));

	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						JSON_C_TO_STRING_NOSLASHESCAPE),
	      stdout);
	fputc('\n', stdout);
	fflush(stdout);
	json_object_put(o);
}

int cmd_serve(int argc, char **argv, struct common_opts *common)
{
	static const struct option long_opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		COMMON_LONG_OPTS,
		DETECT_LONG_OPTS,
		LEDGER_LONG_OPTS,
		RECONCILE_LONG_OPT,
		{ 0 },
	};
	const char *listen = "127.0.0.1:9808";
	struct metrics_state *ms = NULL;
	struct http_server *srv = NULL;
	struct engine *eng = NULL;
	bool usage_err = false;
	int opt, n, ret = 1;

	while ((opt = getopt_long(argc, argv, "+hv", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			listen = optarg;
			break;
		case 'h':
			return common_help(usage);
		default:
			if (common_opt(common, opt, optarg, usage))
				return 2;
		}
	}
	if ((ret = common_parsed(common, argc, argv, usage)))
		return ret;
	ret = 1; /* until it has run */

	/* Set up: the listener first (a bad address is a usage error), then the
	 * programs, the ledger and the detectors. */
	srv = http_new(listen, NULL, &usage_err);
	if (!srv) {
		if (usage_err)
			usage(stderr);
		return usage_err ? 2 : 1;
	}
	ms = metrics_state_new();
	eng = engine_new(common, NULL, on_alert, NULL);
	if (!ms || !eng)
		goto out;
	log_info("ready (mode %s), serving /metrics, /healthz and /snapshot on %s",
		 engine_mode(eng), listen);

	/* Run: events in, a fresh exposition every second. */
	while (!stop_requested()) {
		char *buf = NULL;
		size_t len = 0;

		n = engine_poll(eng);
		if (n < 0 && n != -EINTR) {
			log_warnx("failed to read events: %s", strerror(-n));
			goto out;
		}
		if (n != 1)
			continue;
		if (metrics_render(engine_view(eng), ms, &buf, &len) == 0)
			http_publish(srv, buf, len, true);
		if (http_snapshot_wanted(srv)) {
			struct json_object *o = view_to_json(engine_view(eng));
			const char *js = json_object_to_json_string_ext(
				o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
			char *copy = strdup(js);

			if (copy)
				http_publish_snapshot(srv, copy, strlen(copy));
			json_object_put(o);
		}
	}
	http_publish(srv, NULL, 0, false);
	engine_stop(eng);
	log_info("%llu events lost (ring buffer full or program runs missed)",
		 (unsigned long long)engine_lost(eng));
	ret = 0;
out:
	http_free(srv);
	engine_free(eng);
	metrics_state_free(ms);
	return ret;
}
