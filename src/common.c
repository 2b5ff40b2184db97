// SPDX-License-Identifier: GPL-2.0-only
/* Options shared by every subcommand, privilege checks, signals. */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/capability.h>
#include "cgroup.h"
#include "cmd.h"
#include "log.h"
#include "util.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	stopping = 1;
}

bool stop_requested(void)
{
	return stopping;
}

void common_init(struct common_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->host_root = "/";
	o->tracer.mode = PB_MODE_AUTO;
	o->reconcile_s = 10;
	detect_cfg_default(&o->detect);
}

void common_usage(FILE *f)
{
	fprintf(f, "common options:\n"
		   "  --mode auto|fentry|kprobe|tracepoint  hook mode (default auto)\n"
		   "  --host-root DIR     read /proc, /sys and /var/log under DIR (default /)\n"
		   "  --ring-size BYTES   ring buffer size, power of two >= 4k (default 8m)\n"
		   "  --max-socks N       connections tracked in the kernel (default 131072,\n"
		   "                      ~170 bytes of kernel memory each)\n"
		   "  --cgroup-v1         owners by their cgroup v1 memory hierarchy (hosts whose\n"
		   "                      runtime uses v1; automatic without cgroup2)\n"
		   "  --sidecar-names A,B containers counted as sidecars (default istio-proxy,\n"
		   "                      linkerd-proxy,envoy,cilium-envoy)\n"
		   "  -v, --verbose       log hook choices (twice: libbpf debug)\n");
}

int usage_error(void (*usage)(FILE *), const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "portburn: %s\n", buf);
	if (usage)
		usage(stderr);
	return 2;
}

int common_opt(struct common_opts *o, int opt, const char *arg, void (*usage)(FILE *))
{
	uint64_t v;

	switch (opt) {
	case 'v':
		log_verbose++;
		return 0;
	case OPT_MODE:
		if (pb_mode_parse(arg, &o->tracer.mode))
			return usage_error(usage, "invalid --mode '%s' (auto|fentry|kprobe|tracepoint)",
					   arg);
		return 0;
	case OPT_HOST_ROOT:
		if (!arg[0] || arg[0] != '/')
			return usage_error(usage, "invalid --host-root '%s' (absolute path)", arg);
		o->host_root = arg;
		return 0;
	case OPT_RING_SIZE:
		if (parse_size(arg, 4096, 1ULL << 30, &v) || (v & (v - 1)))
			return usage_error(usage, "invalid --ring-size '%s' (power of two, 4k-1g)",
					   arg);
		o->tracer.ring_size = v;
		return 0;
	case OPT_MAX_SOCKS:
		if (parse_u64(arg, 1, 1ULL << 24, &v))
			return usage_error(usage, "invalid --max-socks '%s' (1-16777216)", arg);
		o->tracer.max_socks = v;
		return 0;
	case OPT_CGROUP_V1:
		o->cgroup_v1 = true;
		return 0;
	case OPT_CLUSTER_CIDR:
		if (o->ledger.n_cluster == LEDGER_MAX_CIDRS)
			return usage_error(usage, "too many --cluster-cidr (max %d)", LEDGER_MAX_CIDRS);
		if (cidr_parse(arg, &o->ledger.cluster[o->ledger.n_cluster]))
			return usage_error(usage, "invalid --cluster-cidr '%s' (ADDR/PREFIX)", arg);
		o->ledger.n_cluster++;
		return 0;
	case OPT_SNAT_BUDGET:
		if (parse_u64(arg, 1, 65535 * 256, &v))
			return usage_error(usage, "invalid --snat-budget '%s' (1-16776960)", arg);
		o->ledger.snat_budget = v;
		return 0;
	case OPT_NODE:
		if (!arg[0] || strlen(arg) > 253)
			return usage_error(usage, "invalid --node '%s'", arg);
		o->ledger.node = arg;
		return 0;
	case OPT_WARN:
	case OPT_CRIT:
		if (parse_u64(arg, 1, 100, &v))
			return usage_error(usage, "invalid --%s '%s' (percent, 1-100)",
					   opt == OPT_WARN ? "warn" : "crit", arg);
		*(opt == OPT_WARN ? &o->detect.warn : &o->detect.crit) = v / 100.0;
		return 0;
	case OPT_WINDOW:
		if (parse_u64(arg, 1, 3600, &v))
			return usage_error(usage, "invalid --window '%s' (1-3600 seconds)", arg);
		o->detect.window_ns = v * 1000000000ULL;
		return 0;
	case OPT_AMPLIFICATION: {
		char *end;
		double r;

		/* plain decimal only: strtod would take " 5", "+5", "0x10", "inf" */
		errno = 0;
		r = strtod(arg, &end);
		if (!isdigit((unsigned char)arg[0]) || strspn(arg, "0123456789.") != strlen(arg) ||
		    *end || errno || !(r >= 1.0 && r <= 100.0))
			return usage_error(usage, "invalid --amplification '%s' (ratio, 1-100)", arg);
		o->detect.amplification = r;
		return 0;
	}
	case OPT_RECONCILE:
		if (parse_u64(arg, 1, 3600, &v))
			return usage_error(usage, "invalid --reconcile '%s' (1-3600 seconds)", arg);
		o->reconcile_s = v;
		return 0;
	case OPT_SIDECAR_NAMES: {
		size_t n = 0;
		char *tok, *save = NULL;

		if (!arg[0] || strlen(arg) >= sizeof(o->sidecar_buf))
			return usage_error(usage, "invalid --sidecar-names '%s'", arg);
		strcpy(o->sidecar_buf, arg);
		for (tok = strtok_r(o->sidecar_buf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			if (n + 1 >= sizeof(o->sidecar_names) / sizeof(o->sidecar_names[0]))
				return usage_error(usage, "too many --sidecar-names (max 32)");
			o->sidecar_names[n++] = tok;
		}
		if (!n)
			return usage_error(usage, "invalid --sidecar-names '%s'", arg);
		o->sidecar_names[n] = NULL;
		return 0;
	}
	default:
		/* getopt already printed what was wrong with it. */
		if (usage)
			usage(stderr);
		return 2;
	}
}

/* CAP_BPF + CAP_PERFMON load tracing programs (v5.8+), CAP_NET_ADMIN attaches
 * the cgroup sockops program, CAP_SYS_ADMIN enters the pods' network
 * namespaces (their sockets and port ranges) and covers BPF on older kernels.
 * CAP_SYS_PTRACE opens other users' /proc/<pid>/ns/net: without it those
 * namespaces are skipped (said once). */
static int check_caps(void)
{
	static const struct {
		cap_value_t cap;
		const char *name;
	} need[] = {
		{ CAP_BPF, "CAP_BPF" },
		{ CAP_PERFMON, "CAP_PERFMON" },
		{ CAP_NET_ADMIN, "CAP_NET_ADMIN" },
		{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN" },
	};
	cap_t caps = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;
	char missing[128] = "";

	if (!caps) {
		log_warn("failed to read capabilities");
		return -1;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (cap_get_flag(caps, need[i].cap, CAP_EFFECTIVE, &v) || v != CAP_SET) {
			if (missing[0])
				strcat(missing, ", ");
			strcat(missing, need[i].name);
		}
	}
	cap_free(caps);
	if (missing[0]) {
		log_warnx("missing capability %s: run as root or grant CAP_BPF, CAP_PERFMON, "
			  "CAP_NET_ADMIN and CAP_SYS_ADMIN (and CAP_SYS_PTRACE)", missing);
		return -1;
	}
	caps = cap_get_proc();
	if (caps && (cap_get_flag(caps, CAP_SYS_PTRACE, CAP_EFFECTIVE, &v) || v != CAP_SET))
		log_warnx("no CAP_SYS_PTRACE: network namespaces of other users' processes are "
			  "not walked");
	cap_free(caps);
	return 0;
}

int common_setup(struct common_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int err;

	if (o->detect.warn > o->detect.crit)
		return usage_error(NULL, "--warn (%.0f%%) must not be above --crit (%.0f%%)",
				   o->detect.warn * 100, o->detect.crit * 100);
	log_setup_libbpf();
	if (check_caps())
		return 1;
	err = cgroup2_mount_find(o->host_root, o->cgroup2, sizeof(o->cgroup2));
	if (err) {
		log_debug("no cgroup v2 mount found (%s): no sockops", strerror(-err));
		o->cgroup2[0] = '\0';
		o->cgroup_v1 = true;
	} else {
		o->tracer.cgroup2 = o->cgroup2;
		log_debug("cgroup v2 at %s", o->cgroup2);
	}
	if (o->cgroup_v1) {
		err = cgroup_v1_mount_find(o->host_root, "memory", o->cgroup_root,
					   sizeof(o->cgroup_root));
		if (err) {
			log_warnx("no cgroup v2 nor v1 memory hierarchy found: owners are named by "
				  "process and network namespace only");
			o->cgroup_root[0] = '\0';
		} else {
			log_debug("owners by cgroup v1 memory hierarchy at %s", o->cgroup_root);
		}
	} else {
		snprintf(o->cgroup_root, sizeof(o->cgroup_root), "%s", o->cgroup2);
	}
	o->tracer.cgroup_v1 = o->cgroup_v1;
	/* No SA_RESTART: a signal ends the ring buffer wait at once. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int common_help(void (*usage)(FILE *))
{
	usage(stdout);
	common_usage(stdout);
	return 0;
}

int common_parsed(struct common_opts *o, int argc, char **argv, void (*usage)(FILE *))
{
	if (optind < argc)
		return usage_error(usage, "unexpected argument '%s'", argv[optind]);
	return common_setup(o);
}
