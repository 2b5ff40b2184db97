// SPDX-License-Identifier: GPL-2.0-only
/* portburn trace: one line (or NDJSON object) per TCP event, live. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "cmd.h"
#include "detect.h"
#include "engine.h"
#include "event_fmt.h"
#include "log.h"
#include "tracer.h"
#include "util.h"

struct trace_ctx {
	const struct common_opts *common;
	struct event_fmt *fmt;
	bool json;
	uint64_t pid;		/* 0 = any */
	uint64_t dport;		/* 0 = any */
	const char *cgroup;	/* NULL = any; relative to the cgroup v2 root */
	uint64_t seen, printed;
};

static void on_event(void *arg, const struct pb_event *e)
{
	struct trace_ctx *c = arg;

	c->seen++;
	if (c->pid && e->owner.tgid != c->pid)
		return;
	if (c->dport && e->dport != c->dport)
		return;
	if (c->cgroup && !event_fmt_in_cgroup(c->fmt, e, c->cgroup))
		return;
	c->printed++;
	if (c->json)
		event_fmt_json(c->fmt, e, stdout);
	else
		event_fmt_text(c->fmt, e, stdout);
}

/* Alerts are not filtered by --pid/--cgroup: they are about pools and pods. */
static void on_alert(void *arg, const struct alert *a)
{
	struct trace_ctx *c = arg;
	char buf[1024];

	if (c->dport && a->dest.family && a->dest.dport != c->dport)
		return;
	if (c->json) {
		struct json_object *o = detect_alert_json(a, mono_to_wall_ns(a->ts_ns));

		fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE),
		      stdout);
		fputc('\n', stdout);
		json_object_put(o);
	} else {
		detect_alert_text(a, buf, sizeof(buf));
		printf("%s\n", buf);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: portburn trace [--json] [--pid PID] [--cgroup PATH] [--dport PORT] "
		   "[--duration SECONDS] [--warn PCT] [--crit PCT] [--window S] [--amplification R] [common options]\n");
}

int cmd_trace(int argc, char **argv, struct common_opts *common)
{
	static const struct option long_opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "dport", required_argument, NULL, 'd' },
		{ "duration", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		COMMON_LONG_OPTS,
		DETECT_LONG_OPTS,
		{ 0 },
	};
	struct trace_ctx c = { .common = common };
	struct engine *eng = NULL;
	struct tracer *t;
	uint64_t duration = 0, deadline = 0;
	int opt, err, ret = 1;

	while ((opt = getopt_long(argc, argv, "+hv", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			c.json = true;
			break;
		case 'p':
			if (parse_u64(optarg, 1, UINT32_MAX, &c.pid))
				return usage_error(usage, "invalid --pid '%s'", optarg);
			break;
		case 'd':
			if (parse_u64(optarg, 1, 65535, &c.dport))
				return usage_error(usage, "invalid --dport '%s' (1-65535)", optarg);
			break;
		case 'c':
			if (!optarg[0])
				return usage_error(usage, "empty --cgroup");
			c.cgroup = optarg;
			break;
		case 'D':
			if (parse_u64(optarg, 1, 365ULL * 86400, &duration))
				return usage_error(usage, "invalid --duration '%s' (seconds)", optarg);
			break;
		case 'h':
			return common_help(usage);
		default:
			if (common_opt(common, opt, optarg, usage))
				return 2;
			break;
		}
	}
	if ((ret = common_parsed(common, argc, argv, usage)))
		return ret;
	ret = 1; /* until it has run */

	/* Set up: load and attach, in the best mode the kernel allows; the
	 * ledger and detectors behind it give the alerts. No event is handled
	 * before the first engine_poll(), so the formatter can come after. */
	eng = engine_new(common, on_event, on_alert, &c);
	if (!eng)
		goto out;
	c.fmt = event_fmt_new(common, engine_owners(eng));
	if (!c.fmt)
		goto out;
	if (c.cgroup && event_fmt_set_cgroup_filter(c.fmt, &c.cgroup)) {
		ret = 2;
		goto out;
	}
	t = engine_tracer(eng);
	log_info("ready (mode %s)", pb_mode_name(tracer_mode(t)));
	if (duration)
		deadline = mono_ns() + duration * 1000000000ULL;

	/* Run: drain until a signal or the deadline. */
	while (!stop_requested()) {
		err = engine_poll(eng);
		if (err < 0 && err != -EINTR) {
			errno = -err;
			log_warn("failed to read events");
			goto out;
		}
		fflush(stdout);
		if (deadline && mono_ns() >= deadline)
			break;
	}
	/* Detach, drain what is left, then report losses. */
	tracer_stop(t);
	fflush(stdout);
	log_info("%llu events received, %llu lost (ring buffer full) of %llu sent; %llu "
		 "connections untracked (socks map full); %llu program runs missed (re-entered on "
		 "one CPU)",
		 (unsigned long long)c.seen,
		 (unsigned long long)tracer_drops(t, PB_DROP_RINGBUF),
		 (unsigned long long)tracer_drops(t, PB_STAT_EVENTS),
		 (unsigned long long)tracer_drops(t, PB_DROP_SOCKS_FULL),
		 (unsigned long long)tracer_missed(t));
	ret = 0;
out:
	engine_free(eng);
	event_fmt_free(c.fmt);
	return ret;
}
