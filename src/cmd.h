/* SPDX-License-Identifier: GPL-2.0-only */
/* Subcommands and the options they share. */
#ifndef PB_CMD_H
#define PB_CMD_H
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include "detect.h"
#include "ledger.h"
#include "tracer.h"

struct common_opts {
	struct tracer_opts tracer;
	const char *host_root;		/* "/" unless --host-root */
	char cgroup2[4096];		/* cgroup v2 mount, "" if none */
	char cgroup_root[4096];		/* where owners' cgroups are: v2, or v1 memory */
	bool cgroup_v1;			/* --cgroup-v1, or no cgroup2 at all */
	const char *sidecar_names[33];	/* --sidecar-names, NULL-terminated; [0] NULL = default */
	char sidecar_buf[1024];
	struct ledger_cfg ledger;	/* snapshot, serve, top */
	uint64_t reconcile_s;		/* --reconcile, seconds */
	struct detect_cfg detect;	/* --warn, --crit, --window, --amplification */
};

/* Long options every subcommand accepts; their values start at 0x100. */
enum {
	OPT_MODE = 0x100,
	OPT_HOST_ROOT,
	OPT_RING_SIZE,
	OPT_MAX_SOCKS,
	OPT_SIDECAR_NAMES,
	OPT_CGROUP_V1,
	OPT_CLUSTER_CIDR,
	OPT_SNAT_BUDGET,
	OPT_NODE,
	OPT_RECONCILE,
	OPT_WARN,
	OPT_CRIT,
	OPT_WINDOW,
	OPT_AMPLIFICATION,
};
#define COMMON_LONG_OPTS                                                   \
	{ "mode", required_argument, NULL, OPT_MODE },                     \
	{ "host-root", required_argument, NULL, OPT_HOST_ROOT },           \
	{ "ring-size", required_argument, NULL, OPT_RING_SIZE },           \
	{ "max-socks", required_argument, NULL, OPT_MAX_SOCKS },           \
	{ "sidecar-names", required_argument, NULL, OPT_SIDECAR_NAMES },   \
	{ "cgroup-v1", no_argument, NULL, OPT_CGROUP_V1 },                 \
	{ "verbose", no_argument, NULL, 'v' }

/* Options of the commands that keep a ledger (snapshot, serve, top). */
#define LEDGER_LONG_OPTS                                                   \
	{ "cluster-cidr", required_argument, NULL, OPT_CLUSTER_CIDR },     \
	{ "snat-budget", required_argument, NULL, OPT_SNAT_BUDGET },       \
	{ "node", required_argument, NULL, OPT_NODE }
/* Options of the commands that raise alerts (trace, serve, top). */
#define DETECT_LONG_OPTS                                                   \
	{ "warn", required_argument, NULL, OPT_WARN },                     \
	{ "crit", required_argument, NULL, OPT_CRIT },                     \
	{ "window", required_argument, NULL, OPT_WINDOW },                 \
	{ "amplification", required_argument, NULL, OPT_AMPLIFICATION }
#define RECONCILE_LONG_OPT { "reconcile", required_argument, NULL, OPT_RECONCILE }

void common_init(struct common_opts *o);
/* Handle one common option (or an unknown one: usage error). 0 or 2. */
int common_opt(struct common_opts *o, int opt, const char *arg, void (*usage)(FILE *));
void common_usage(FILE *f);
/* After parsing: checks across options, privileges, cgroup v2 mount,
 * signals. 0, or the exit code: 1 runtime failure, 2 usage (logged). */
int common_setup(struct common_opts *o);
/* Print "portburn: MSG" and the usage line to stderr; returns 2. */
int usage_error(void (*usage)(FILE *), const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool stop_requested(void);
/* --help: the command's usage and the common options on stdout; returns 0. */
int common_help(void (*usage)(FILE *));
/* After getopt: no positional argument left, then common_setup(). 0 or the
 * exit code. */
int common_parsed(struct common_opts *o, int argc, char **argv, void (*usage)(FILE *));

int cmd_trace(int argc, char **argv, struct common_opts *o);
int cmd_snapshot(int argc, char **argv, struct common_opts *o);
int cmd_serve(int argc, char **argv, struct common_opts *o);
int cmd_top(int argc, char **argv, struct common_opts *o);

#endif
