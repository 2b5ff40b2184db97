/* SPDX-License-Identifier: GPL-2.0-only */
/* What the outputs show: one consistent picture of the port ledger, built
 * by the ledger (src/ledger.c) at a point in time and read by snapshot,
 * top and serve. Plain data, no pointers into the ledger; strings are raw
 * (untrusted) and escaped by each output. */
#ifndef PB_VIEW_H
#define PB_VIEW_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIEW_NAME_LEN 256	/* namespace, pod, container, display names */

enum view_role { VIEW_ROLE_APP = 0, VIEW_ROLE_SIDECAR = 1 };

/* Alert kinds (detectors, src/detect.h); bit (1 << kind) in alert_flags. */
enum alert_kind {
	ALERT_EXHAUSTION = 0,
	ALERT_PRESSURE = 1,
	ALERT_AMPLIFICATION = 2,
	ALERT_CHURN = 3,
	ALERT_SNAT_PRESSURE = 4,	/* pressure on a node SNAT pool */
	ALERT_KINDS = 5,
};

/* What an owner is, for outputs that label it (metrics). */
enum view_kind {
	VIEW_KIND_AUTO = 0,	/* infer from the names (namespace "" = not a pod) */
	VIEW_KIND_POD,		/* a pod's container (names may be unknown: pod-<uid>) */
	VIEW_KIND_HOST,		/* the host network namespace itself */
	VIEW_KIND_OTHER,	/* a systemd unit, docker container or process: pod = its name */
	VIEW_KIND_UNKNOWN,	/* nothing found */
};

/* Who holds ports: a container of a pod, or a non-Kubernetes owner (then
 * namespace = "", pod = "host" or a unit/process display name, container = ""). */
struct view_owner {
	char namespace_[VIEW_NAME_LEN];
	char pod[VIEW_NAME_LEN];
	char container[VIEW_NAME_LEN];	/* "" when unknown (TIME_WAIT from before start) */
	char display[VIEW_NAME_LEN * 2];	/* namespace/pod/container, or unit, or comm */
	enum view_role role;
	enum view_kind kind;
	bool pending;			/* names still being looked up (a container that
					 * just started): counters wait, not to be counted
					 * twice under two sets of labels */
	uint32_t open;			/* SYN_SENT..LAST_ACK sockets holding a local port */
	uint32_t time_wait;
	uint32_t in_use;		/* open + time_wait */
	uint64_t connects_total;	/* since start */
	uint64_t failures_total;	/* connect/bind failures since start */
	uint64_t failures_eaddrnotavail;/* of which EADDRNOTAVAIL/EADDRINUSE */
	double connects_per_s;		/* over the last window */
	double failures_per_s;
	int worst_dest;			/* index into view.dests, -1 if none */
	double worst_utilization;
	double amplification;		/* sidecar/app ratio for its pod, 0 if n/a */
	uint32_t alert_flags;		/* 1 << enum alert_kind, active alerts */
};

/* Per pod totals (all containers). */
struct view_pod {
	char namespace_[VIEW_NAME_LEN];
	char pod[VIEW_NAME_LEN];
	uint32_t open, time_wait, in_use;
	uint64_t connects_total, failures_total;
	double connects_per_s, failures_per_s;
	int worst_dest;
	double worst_utilization;
	double amplification;
	uint32_t alert_flags;
};

struct view_dest_owner {
	int owner;			/* index into view.owners */
	uint32_t in_use, open, time_wait;
};

/* One port pool: (netns, saddr, daddr, dport). */
struct view_dest {
	uint32_t netns;
	uint16_t family;		/* AF_INET / AF_INET6 (v4-mapped shown as AF_INET) */
	uint16_t dport;
	uint8_t saddr[16], daddr[16];
	uint32_t open, time_wait, in_use;
	uint32_t capacity;		/* ephemeral ports of that netns, minus reserved */
	double utilization;		/* in_use / capacity */
	double forecast_s;		/* seconds to exhaustion at the current rate, <0 n/a */
	double opens_per_s;
	struct view_dest_owner *owners;
	size_t n_owners;
};

/* Node SNAT view: pod traffic to one external (daddr, dport), all pods. */
struct view_snat {
	uint16_t family, dport;
	uint8_t daddr[16];
	uint32_t in_use;
	uint32_t budget;
	double utilization;
	int *pods;			/* indexes into view.pods */
	uint32_t *pod_in_use;
	size_t n_pods;
};

/* Sidecar amplification of one pod towards one destination (as the app saw it). */
struct view_amp {
	int pod;			/* index into view.pods */
	uint16_t family, dport;
	uint8_t daddr[16];
	double ratio;			/* sidecar / app connections over the window */
};

struct view {
	char node[VIEW_NAME_LEN];
	const char *mode;		/* "tracepoint", "kprobe", "fentry" */
	uint64_t ts_ns;			/* wall clock when built */
	struct view_owner *owners;
	size_t n_owners;
	struct view_pod *pods;
	size_t n_pods;
	struct view_dest *dests;
	size_t n_dests;
	struct view_snat *snat;
	size_t n_snat;
	struct view_amp *amps;
	size_t n_amps;
	/* Failures by owner and errno name, for the metrics. */
	struct view_failure {
		int owner;
		char errno_name[24];
		uint64_t total;
	} *failures;
	size_t n_failures;
	uint64_t events_lost_total;
	uint64_t untracked_total;	/* socks map full */
	uint64_t reconcile_drift_total;
	uint64_t alerts_total[8];	/* by enum alert_kind */
};

void view_free(struct view *v);		/* frees the arrays, not V itself */
/* Deep copy (mode keeps pointing at the same static string). 0 or -ENOMEM. */
int view_copy(struct view *dst, const struct view *src);

#endif
