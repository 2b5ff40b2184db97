/* SPDX-License-Identifier: GPL-2.0-only */
/* Detectors: the ledger feeds connection events and per-destination samples,
 * the engine says when something is wrong and what to do about it.
 *
 *   exhaustion     an allocation failed (EADDRNOTAVAIL / EADDRINUSE), per
 *                  container and destination: START within the same call.
 *   pressure       a port pool's utilization is at or above warn (crit), or
 *                  the steady-state model says it runs dry within the horizon;
 *                  with a forecast "exhausted in ~N s at the current rate".
 *   amplification  per pod and destination over the window: connections
 *                  opened by sidecar containers / by app containers. Matched
 *                  on the destination as the app's socket saw it (iptables
 *                  REDIRECT leaves the original one there; a proxy forwarding
 *                  to that address:port matches exactly). When the proxy
 *                  connects where the app did not (Service address ->
 *                  endpoint, remapped port), the ratio is taken per pod over
 *                  all destinations instead (dest family 0, "*"). A sidecar's
 *                  connections to loopback or its pod's own address (the
 *                  inbound leg to the app) never count. Kubernetes pods only.
 *   churn          a container opening >= churn_per_s short-lived connections
 *                  per second over the window.
 *
 * Pure and clock-injected: every call takes now_ns (CLOCK_MONOTONIC in
 * production, anything monotonic in tests); nothing here reads a clock, does
 * I/O or logs. A NOW older than one already seen is treated as that one.
 * Not thread-safe: one caller (the ledger's thread) at a time.
 *
 * Every condition goes START -> SUMMARY every summary_every_ns while it lasts
 * -> CLEAR once it has been false for clear_after_ns: never a storm. While a
 * condition is active it holds at 0.9 x its start threshold (hysteresis).
 * START is emitted by the call that makes the condition true; SUMMARY and
 * CLEAR by detect_tick() (pressure: also by detect_utilization()). Memory is
 * bounded: each table holds at most max_keys entries; the least recently
 * seen one is evicted (a CLEAR is emitted first if it held an alert) and
 * counted. Strings are raw, untrusted bytes: outputs escape them. */
#ifndef PB_DETECT_H
#define PB_DETECT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "kubelog.h"
#include "owner.h"
#include "view.h"

struct json_object;

struct detect_cfg {
	double warn, crit;		/* pressure: utilization 0.70, 0.90 */
	uint64_t horizon_ns;		/* pressure also starts when the forecast is <= this
					 * (30 s) and rate x TIME_WAIT > capacity; 0 = off */
	uint64_t window_ns;		/* sliding window of amplification, churn, growth: 10 s */
	double amplification;		/* sidecar/app ratio at or above which it fires: 2.0 */
	uint32_t amp_min_count;		/* app connections in the window needed: 20 */
	double churn_per_s;		/* short-lived connections/s of a container: 50 */
	uint64_t churn_max_life_ns;	/* "short-lived": lifetime below 1 s */
	uint64_t summary_every_ns;	/* 30 s */
	uint64_t clear_after_ns;	/* condition false this long before CLEAR: 15 s */
	uint32_t max_keys;		/* per table (containers, pods, flows, pools,
					 * failing pairs): 4096, < 1 KiB each */
};

void detect_cfg_default(struct detect_cfg *cfg);

/* Who: a container of a pod (namespace, pod, container), or a plain host
 * owner (namespace "", pod = unit/comm display name, container ""). Identity
 * is the three strings; ROLE is what the container is. */
struct detect_owner {
	char namespace_[PB_NS_LEN];
	char pod[PB_POD_LEN];
	char container[PB_CTR_LEN];
	enum pb_role role;
};

/* Fill O from an attributed owner (kind decides the host fallback). */
void detect_owner_from_info(struct detect_owner *o, const struct owner_info *oi);

/* Towards what: one port pool (netns, saddr, daddr, dport) of the ledger, or a
 * node SNAT pool (netns 0, saddr zero). Addresses as in pb_event (IPv4 in
 * the first 4 bytes with AF_INET). family 0 = any destination (bind()). */
struct detect_dest {
	uint32_t netns;
	uint16_t family;
	uint16_t dport;
	uint8_t daddr[16];
	uint8_t saddr[16];
};

enum detect_pool_kind {
	DETECT_POOL_NETNS = 0,		/* the netns's ip_local_port_range */
	DETECT_POOL_SNAT,		/* the node's SNAT ports towards one destination */
};

/* The pool a failure ran dry in, for the hint. Zero fields are "unknown". */
struct detect_pool {
	enum detect_pool_kind kind;
	uint32_t size;			/* ports in the pool (range size or SNAT budget) */
	uint32_t in_use;		/* ports held towards that destination */
	uint16_t range_lo, range_hi;	/* ip_local_port_range of the netns */
	char holder[128];		/* display name of the biggest holder, "" unknown */
	uint32_t holder_in_use;
};

/* One ledger sample of a pool towards a destination. */
struct detect_sample {
	enum detect_pool_kind pool;
	uint32_t in_use;		/* open + TIME_WAIT sockets holding a port */
	uint32_t open;			/* of which open */
	uint32_t capacity;		/* ports in the pool; 0 = unknown (no pressure) */
	double opens_per_s;		/* new connections/s towards it; < 0 unknown */
	uint64_t tw_len_ns;		/* TIME_WAIT length; 0 = 60 s */
};

enum alert_phase { ALERT_START = 0, ALERT_SUMMARY, ALERT_CLEAR };
enum alert_level { ALERT_WARNING = 0, ALERT_CRITICAL };

struct alert {
	enum alert_kind kind;
	enum alert_phase phase;
	enum alert_level level;		/* exhaustion: critical; pressure: crit threshold */
	uint64_t ts_ns;			/* the NOW of the call that emitted it */
	uint64_t since_ns;		/* NOW of its START */
	struct detect_owner owner;	/* amplification: the pod's sidecar container */
	struct detect_dest dest;	/* family 0: any destination (amplification by pod) */
	/* Events since the previous line of this alert (START: those that made it
	 * fire); total since START. Exhaustion: failures; pressure: samples at or
	 * above the threshold; amplification: sidecar connections; churn:
	 * short-lived connections. */
	uint64_t count, total;
	/* exhaustion: latest errno, the pool (in_use / capacity = its numbers) */
	int err;
	enum detect_pool_kind pool;
	uint32_t in_use, capacity;
	/* pressure */
	double utilization;
	double forecast_s;		/* seconds to exhaustion, < 0 n/a */
	double opens_per_s;
	/* amplification, over the window */
	double ratio;
	bool pod_scope;			/* matched per pod, not per destination */
	uint32_t app_conns, sidecar_conns, sidecar_failed;
	/* churn: short-lived connections per second over the window */
	double rate_per_s;
	char hint[256];			/* one line, may contain untrusted names */
};

/* Called synchronously from the input and tick calls. It may use the
 * read-only queries below, never feed the engine. */
typedef void (*detect_alert_fn)(const struct alert *a, void *ctx);

struct detect;

/* CFG NULL = defaults; out-of-range fields are replaced by defaults. FN may
 * be NULL (count only). NULL only on allocation failure. */
struct detect *detect_new(const struct detect_cfg *cfg, detect_alert_fn fn, void *ctx);
void detect_free(struct detect *d);

/* A connection of O towards DEST got its source port (PB_EV_CONNECT). Every
 * attempt that got a port counts, including ones that fail later. */
void detect_connect(struct detect *d, uint64_t now_ns, const struct detect_owner *o,
		    const struct detect_dest *dest);
/* A connection ended (PB_EV_CLOSE or PB_EV_TIME_WAIT) after LIFETIME_NS. */
void detect_close(struct detect *d, uint64_t now_ns, const struct detect_owner *o,
		  const struct detect_dest *dest, uint64_t lifetime_ns);
/* connect()/bind() failed with ERR (positive errno; PB_EV_CONNECT_FAILED,
 * PB_EV_BIND_FAILED). EADDRNOTAVAIL / EADDRINUSE: exhaustion of POOL (may be
 * NULL), START emitted before this returns. Any errno of a sidecar counts as a
 * failed sidecar connection for amplification. */
void detect_failure(struct detect *d, uint64_t now_ns, const struct detect_owner *o,
		    const struct detect_dest *dest, int err, const struct detect_pool *pool);
/* Ledger tick (~1 s), for every pool holding ports: TOP = its biggest holder
 * (may be NULL). Only pools at >= warn/2 or running dry within the horizon
 * are tracked (growth measured from then on). Returns the forecast in
 * seconds to exhaustion (< 0 n/a) for view_dest.forecast_s. */
double detect_utilization(struct detect *d, uint64_t now_ns, const struct detect_dest *dest,
			  const struct detect_owner *top, const struct detect_sample *s);
/* Evaluate windows (amplification, churn), emit summaries and clears, expire
 * idle keys. Call about once a second, after the tick's samples. */
void detect_tick(struct detect *d, uint64_t now_ns);

/* Pure steady-state forecast: seconds until in_use reaches capacity growing
 * at GROWTH_PER_S (NAN = unknown: opens_per_s is used, as before any port
 * expires). 0 when full; < 0 (n/a) when not growing or when opens_per_s x
 * TIME_WAIT + open stays below capacity (it levels off). */
double detect_forecast_s(const struct detect_sample *s, double growth_per_s);

/* For the view: active alerts as bits (1 << enum alert_kind). An owner has
 * its container's exhaustion and churn, its pod's amplification, and
 * pressure on pools it is the biggest holder of; a pod has all of its
 * containers'. */
uint32_t detect_owner_flags(const struct detect *d, const struct detect_owner *o);
uint32_t detect_pod_flags(const struct detect *d, const char *namespace_, const char *pod);
/* Sidecar/app connection ratio of a pod over the window (all destinations),
 * as of the last detect_tick(); 0 when the app opened none. */
double detect_pod_amplification(const struct detect *d, const char *namespace_, const char *pod);
/* Call FN with the current state of every active alert (phase SUMMARY,
 * counts since its last line; nothing is reset). */
/* Each (pod, destination) flow with sidecar or app connections in the window:
 * its amplification ratio (sidecar / app; 0 while the app made none). */
typedef void (*detect_flow_fn)(void *ctx, const char *namespace_, const char *pod, int family,
			       const uint8_t *daddr, uint16_t dport, double ratio);
void detect_foreach_flow(const struct detect *d, detect_flow_fn fn, void *ctx);

void detect_foreach_active(const struct detect *d, uint64_t now_ns, detect_alert_fn fn,
			   void *ctx);

struct detect_stats {
	size_t containers, pods, flows, pools, failing;	/* tracked keys */
	uint64_t evicted;				/* keys evicted by max_keys */
	uint64_t alerts_total[ALERT_KINDS];		/* STARTs since detect_new() */
	uint32_t active[ALERT_KINDS];
};
void detect_stats(const struct detect *d, struct detect_stats *st);
uint64_t detect_alerts_total(const struct detect *d, enum alert_kind kind);

const char *alert_kind_name(enum alert_kind kind);	/* "exhaustion", ... */
const char *alert_phase_name(enum alert_phase phase);	/* "start", "summary", "clear" */

/* The alert as a JSON object ("type":"alert", "kind", "phase", "severity",
 * "ts_ns", "namespace", "pod", "container", "role", "daddr" ("*" for any),
 * "dport", "count", "total", the kind's numbers, "hint"); strings made valid
 * UTF-8. TS_NS is printed as "ts_ns" (outputs pass mono_to_wall_ns(a->ts_ns)).
 * NULL on allocation failure; release with json_object_put(). */
struct json_object *detect_alert_json(const struct alert *a, uint64_t ts_ns);
/* One terminal line (no newline), names and hint escaped for the terminal.
 * Returns strlen(BUF). */
size_t detect_alert_text(const struct alert *a, char *buf, size_t len);

#endif
