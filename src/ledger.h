/* SPDX-License-Identifier: GPL-2.0-only */
/* The port ledger: every socket holding a local port (open and TIME_WAIT), per
 * destination pool (netns, saddr, daddr, dport) and per owner, against the
 * capacity of its namespace's ephemeral range. Kept current by events,
 * corrected by walking the kernel's sockets (reconcile), read as a view. */
#ifndef PB_LEDGER_H
#define PB_LEDGER_H
#include <stdbool.h>
#include <stdint.h>
#include "portburn_event.h"
#include "view.h"

struct owner_resolver;

struct cidr {
	uint16_t family;
	uint8_t prefix;
	uint8_t addr[16];
};
int cidr_parse(const char *s, struct cidr *out);
bool cidr_contains(const struct cidr *c, int family, const uint8_t *addr);

#define LEDGER_MAX_CIDRS 16

struct ledger_cfg {
	const char *host_root;
	const char *node;		/* NULL: hostname */
	uint32_t max_socks;		/* 0: 1 << 20; beyond it sockets are not tracked (counted) */
	uint32_t snat_budget;		/* 0: the host namespace's ephemeral range size */
	struct cidr cluster[LEDGER_MAX_CIDRS];	/* pod/service CIDRs: not SNATed */
	size_t n_cluster;
};

struct ledger_stats {
	uint64_t socks, dests, owners;
	uint64_t untracked;		/* max_socks reached */
	uint64_t drift_added;		/* reconcile found sockets events did not report */
	uint64_t drift_removed;		/* ... and reported sockets that were gone */
	uint64_t reconciles;
	uint64_t tw_expired;
};

/* What an event did, for the detectors: called by ledger_event() after the
 * ledger applied it. */
struct ledger_event_info {
	const struct pb_event *e;
	const struct owner_info *owner;
	uint32_t dest_in_use;		/* the event's pool after it */
	const struct owner_info *holder;	/* its biggest holder, NULL if none */
	uint32_t holder_in_use;
	uint32_t capacity;		/* of its namespace, 0 unknown */
	uint16_t range_lo, range_hi;
};
typedef void (*ledger_event_hook)(void *ctx, const struct ledger_event_info *i);

struct ledger *ledger_new(const struct ledger_cfg *cfg, struct owner_resolver *owners);
void ledger_set_hook(struct ledger *l, ledger_event_hook fn, void *ctx);
/* Called every few thousand sockets of a walk (a node holding a million
 * TIME_WAIT sockets takes seconds): drain the ring buffer meanwhile. */
void ledger_set_pump(struct ledger *l, void (*pump)(void *ctx), void *ctx);
void ledger_free(struct ledger *l);
void ledger_event(struct ledger *l, const struct pb_event *e, uint64_t now_ns);
/* Walk the kernel's sockets and make the ledger match them. INITIAL: what is
 * found is not drift (start-up). 0 or -errno. */
int ledger_reconcile(struct ledger *l, int iter_fd, uint64_t now_ns, bool initial);
/* Build the picture at NOW (monotonic). view_free() releases it. */
int ledger_view(struct ledger *l, struct view *v, uint64_t now_ns);
void ledger_stats(const struct ledger *l, struct ledger_stats *st);
/* Capacity of NETNS (its ephemeral range minus reserved ports), 0 if unknown. */
uint32_t ledger_capacity(const struct ledger *l, uint32_t netns);

#endif
