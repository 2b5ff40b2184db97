// SPDX-License-Identifier: GPL-2.0-only
/* The port ledger. Three tables:
 *   owners  (cgroup id, netns, comm)          -> resolved owner + counters (uthash)
 *   dests   (netns, family, saddr, daddr, dport) -> counts, per-owner counts (uthash)
 *   socks   (dest id, sport)                  -> state, owner, TIME_WAIT expiry
 * Sockets are the many (a million on a busy node): their key and value are
 * packed into the pointers of a GHashTable, no allocation per socket, about
 * 40 bytes each instead of ~120 with a hash handle.
 * Counts are kept incrementally, so a view costs one pass over dests and
 * owners, plus one pass over sockets for TIME_WAIT expiry. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>
#include <uthash.h>
#include "ledger.h"
#include "log.h"
#include "owner.h"
#include "sockwalk.h"
#include "util.h"

#define MAX_OWNERS 16384
#define OWNER_ERRNOS 6
/* Owners and destinations that hold nothing are dropped after this long, and
 * an owner's names are looked for this long at most. */
#define IDLE_NS 60000000000ULL

enum sock_state { S_OPEN = 0, S_TW = 1 };

/* How sure we are of an owner: better sources replace worse ones. */
enum owner_quality { Q_NETNS = 0, Q_CGROUP = 1, Q_TRACKED = 2 };

struct owner_key {
	uint64_t cgroup_id;
	uint32_t netns;
	char comm[PB_COMM_LEN];
	uint32_t pad;
};

struct owner_ent {
	struct owner_key key;
	UT_hash_handle hh;
	struct owner_info info;
	uint32_t open, tw;
	uint64_t connects, failures, exhaustion;
	uint64_t prev_connects, prev_failures;
	struct {
		int err;
		uint64_t n;
	} errs[OWNER_ERRNOS];
	uint64_t last_used_ns;
	int view_idx;			/* scratch while building a view */
	uint32_t id;			/* index in owner_by_id, packed into sockets */
	bool complete;			/* named for good (see owner_fill) */
	uint64_t created_ns;
};

struct dest_key {
	uint32_t netns;
	uint16_t family;
	uint16_t dport;
	uint8_t saddr[16];
	uint8_t daddr[16];
};

struct dest_owner {
	struct owner_ent *owner;
	uint32_t open, tw;
};

struct dest_ent {
	struct dest_key key;
	UT_hash_handle hh;
	uint32_t id;
	uint32_t open, tw;
	uint64_t opens, prev_opens;
	uint64_t first_open_ns;		/* first open of the current interval */
	bool opened_before;		/* the previous interval had opens */
	uint64_t last_used_ns;
	struct dest_owner *owners;
	uint32_t n_owners, cap_owners;
};

/* A socket, decoded from its packed value:
 *   bits  0-19 owner id, 20 state, 21-22 quality, 23-30 reconcile generation,
 *   32-63 TIME_WAIT expiry in seconds of CLOCK_MONOTONIC (0: open). */
struct sock_ent {
	uint64_t key;			/* dest id << 16 | sport */
	struct dest_ent *dest;
	struct owner_ent *owner;
	uint32_t tw_expire_s;
	uint8_t gen;
	uint8_t state;
	uint8_t quality;
};

struct ns_ent {
	uint32_t netns;
	UT_hash_handle hh;
	struct netns_range range;
	uint64_t refreshed_ns;		/* last re-read because of a failure */
	uint32_t gen;			/* reconcile that last saw it */
	uint32_t reborn_gen;		/* reconcile during or after which its
					 * cookie changed: a new namespace */
};

struct ledger {
	struct ledger_cfg cfg;
	char node[VIEW_NAME_LEN];
	struct owner_resolver *resolver;
	ledger_event_hook hook;
	void *hook_ctx;
	void (*pump)(void *ctx);
	void *pump_ctx;
	unsigned int rec_repumps;	/* this walk's pumps for tracked misses */
	unsigned int rec_drift_logged;	/* this walk's drift debug lines */
	uint64_t walked;
	struct owner_ent *owners;
	struct dest_ent *dests;
	struct dest_ent **dest_by_id;	/* id -> dest */
	uint32_t n_dest_ids, *free_dest_ids, n_free_dest_ids;
	struct owner_ent *owner_by_id[MAX_OWNERS];
	uint32_t free_owner_ids[MAX_OWNERS], n_free_owner_ids, n_owner_ids;
	GHashTable *socks;
	struct ns_ent *ns;
	uint32_t host_netns;
	uint32_t gen;
	uint64_t prev_view_ns;
	struct ledger_stats st;
	/* reconcile scratch */
	uint64_t rec_now;
	bool rec_initial;
	uint8_t listening[65536 / 8];	/* ports listened on in the netns being walked */
};

/* ---- addresses and CIDRs ---- */

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* v4-mapped IPv6 -> IPv4, so a pool is one key whatever the socket family. */
static void norm_addr(uint16_t *family, const uint8_t *in, uint8_t *out)
{
	memset(out, 0, 16);
	if (*family == AF_INET6 && !memcmp(in, v4mapped, 12)) {
		*family = AF_INET;
		memcpy(out, in + 12, 4);
	} else if (*family == AF_INET) {
		memcpy(out, in, 4);
	} else {
		memcpy(out, in, 16);
	}
}

int cidr_parse(const char *s, struct cidr *out)
{
	char buf[64], *slash;
	uint64_t prefix;

	memset(out, 0, sizeof(*out));
	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return -EINVAL;
	if (parse_u64(slash + 1, 0, out->family == AF_INET ? 32 : 128, &prefix))
		return -EINVAL;
	out->prefix = prefix;
	return 0;
}

bool cidr_contains(const struct cidr *c, int family, const uint8_t *addr)
{
	unsigned int full = c->prefix / 8, rest = c->prefix % 8;

	if (c->family != family)
		return false;
	if (memcmp(c->addr, addr, full))
		return false;
	return !rest || ((c->addr[full] ^ addr[full]) & (0xff << (8 - rest))) == 0;
}

static bool is_loopback(int family, const uint8_t *a)
{
	static const uint8_t lo6[16] = { [15] = 1 };

	return (family == AF_INET && a[0] == 127) || (family == AF_INET6 && !memcmp(a, lo6, 16));
}

/* ---- tables ---- */

/* Name the owner. Complete when its cgroup was found (and, for a container,
 * its names): one resolved before its cgroup or logs were there (it
 * connected as it started) stays incomplete and is asked again per view. */
static void owner_fill(struct ledger *l, struct owner_ent *o)
{
	const struct owner_key *k = &o->key;
	struct owner_info *i = &o->info;

	o->complete = true;
	if (!l->resolver) {
		snprintf(i->display, sizeof(i->display), "%s", k->comm[0] ? k->comm : "?");
		return;
	}
	memset(i, 0, sizeof(*i));
	if (k->cgroup_id)
		owner_resolve(l->resolver, k->cgroup_id, k->netns, 0, k->comm, i);
	/* The root cgroup (no process name either) says less than the netns. */
	if (!k->cgroup_id || (!k->comm[0] && i->kind == PB_KIND_ROOT)) {
		owner_resolve_netns(l->resolver, k->netns, i);
		return;
	}
	o->complete = i->source == PB_SRC_CGROUP &&
		      !(i->kind == PB_KIND_K8S_CONTAINER && (!i->names_known || !i->container[0]));
}

/* Holds nothing and has not been used for IDLE_NS (a deleted pod's). */
static bool owner_idle(const struct owner_ent *o, uint64_t now)
{
	return !o->open && !o->tw && now - o->last_used_ns > IDLE_NS;
}

/* Drop an owner that holds no socket (none refers to its id). */
static void owner_forget(struct ledger *l, struct owner_ent *o)
{
	HASH_DEL(l->owners, o);
	l->owner_by_id[o->id] = NULL;
	l->free_owner_ids[l->n_free_owner_ids++] = o->id;
	free(o);
}

static struct owner_ent *owner_get(struct ledger *l, uint64_t cgroup_id, uint32_t netns,
				   const char *comm, uint64_t now)
{
	struct owner_key k;
	struct owner_ent *o;

	memset(&k, 0, sizeof(k));
	k.cgroup_id = cgroup_id;
	k.netns = netns;
	if (comm)
		strncpy(k.comm, comm, sizeof(k.comm) - 1);
	HASH_FIND(hh, l->owners, &k, sizeof(k), o);
	if (o) {
		o->last_used_ns = now;
		return o;
	}
	if (HASH_COUNT(l->owners) >= MAX_OWNERS) {
		/* Forget idle owners that hold nothing. */
		struct owner_ent *x, *tmp;

		HASH_ITER(hh, l->owners, x, tmp) {
			if (owner_idle(x, now))
				owner_forget(l, x);
		}
		if (HASH_COUNT(l->owners) >= MAX_OWNERS)
			return NULL;
	}
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->key = k;
	o->last_used_ns = now;
	o->created_ns = now;
	o->id = l->n_free_owner_ids ? l->free_owner_ids[--l->n_free_owner_ids] : l->n_owner_ids++;
	l->owner_by_id[o->id] = o;
	owner_fill(l, o);
	HASH_ADD(hh, l->owners, key, sizeof(k), o);
	return o;
}

static struct dest_ent *dest_get(struct ledger *l, uint32_t netns, uint16_t family,
				 const uint8_t *saddr, const uint8_t *daddr, uint16_t dport,
				 uint64_t now)
{
	struct dest_key k;
	struct dest_ent *d;

	memset(&k, 0, sizeof(k));
	k.netns = netns;
	k.dport = dport;
	k.family = family;
	norm_addr(&k.family, saddr, k.saddr);
	norm_addr(&family, daddr, k.daddr);
	HASH_FIND(hh, l->dests, &k, sizeof(k), d);
	if (d) {
		d->last_used_ns = now;
		return d;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	if (l->n_free_dest_ids) {
		d->id = l->free_dest_ids[--l->n_free_dest_ids];
	} else {
		struct dest_ent **nb;
		uint32_t *nf;

		/* Ids start at 1; the free list can hold every id ever given. */
		nb = realloc(l->dest_by_id, (l->n_dest_ids + 2) * sizeof(*nb));
		if (nb)
			l->dest_by_id = nb;
		nf = realloc(l->free_dest_ids, (l->n_dest_ids + 2) * sizeof(*nf));
		if (nf)
			l->free_dest_ids = nf;
		if (!nb || !nf || l->n_dest_ids + 1 >= (1u << 31)) {
			free(d);
			return NULL;
		}
		d->id = ++l->n_dest_ids;
	}
	l->dest_by_id[d->id] = d;
	d->key = k;
	d->last_used_ns = now;
	HASH_ADD(hh, l->dests, key, sizeof(k), d);
	return d;
}

static struct dest_owner *dest_owner(struct dest_ent *d, struct owner_ent *o)
{
	for (uint32_t i = 0; i < d->n_owners; i++)
		if (d->owners[i].owner == o)
			return &d->owners[i];
	if (d->n_owners == d->cap_owners) {
		uint32_t nc = d->cap_owners ? d->cap_owners * 2 : 2;
		struct dest_owner *n = realloc(d->owners, nc * sizeof(*n));

		if (!n)
			return NULL;
		d->owners = n;
		d->cap_owners = nc;
	}
	d->owners[d->n_owners] = (struct dest_owner){ .owner = o };
	return &d->owners[d->n_owners++];
}

/* Add (+1) or remove (-1) a socket's share of every count. */
static void account(struct sock_ent *s, int sign)
{
	struct dest_owner *dow = dest_owner(s->dest, s->owner);

	if (s->state == S_TW) {
		s->dest->tw += sign;
		s->owner->tw += sign;
		if (dow)
			dow->tw += sign;
	} else {
		s->dest->open += sign;
		s->owner->open += sign;
		if (dow)
			dow->open += sign;
	}
}

static uint64_t sock_key(const struct dest_ent *d, uint16_t sport)
{
	return (uint64_t)d->id << 16 | sport;
}

static uint64_t sock_pack(const struct sock_ent *s)
{
	return (uint64_t)s->owner->id | (uint64_t)(s->state & 1) << 20 |
	       (uint64_t)(s->quality & 3) << 21 | (uint64_t)s->gen << 23 |
	       (uint64_t)s->tw_expire_s << 32;
}

static void sock_unpack(const struct ledger *l, uint64_t key, uint64_t v, struct sock_ent *s)
{
	s->key = key;
	s->dest = l->dest_by_id[key >> 16];
	s->owner = l->owner_by_id[v & 0xfffff];
	s->state = v >> 20 & 1;
	s->quality = v >> 21 & 3;
	s->gen = v >> 23 & 0xff;
	s->tw_expire_s = v >> 32;
}

static bool sock_find(struct ledger *l, struct dest_ent *d, uint16_t sport, struct sock_ent *s)
{
	uint64_t key = sock_key(d, sport);
	gpointer v;

	if (!g_hash_table_lookup_extended(l->socks, GSIZE_TO_POINTER(key), NULL, &v))
		return false;
	sock_unpack(l, key, GPOINTER_TO_SIZE(v), s);
	return true;
}

static void sock_del(struct ledger *l, struct sock_ent *s)
{
	account(s, -1);
	g_hash_table_remove(l->socks, GSIZE_TO_POINTER(s->key));
}

static uint32_t expire_s(uint64_t ns)
{
	return ns ? (uint32_t)((ns + 999999999ULL) / 1000000000ULL) : 0;
}

/* Insert or update the socket (D, SPORT). */
static void sock_set(struct ledger *l, struct dest_ent *d, uint16_t sport, struct owner_ent *o,
		     int quality, int state, uint64_t tw_expire_ns)
{
	struct sock_ent s;

	if (sock_find(l, d, sport, &s)) {
		account(&s, -1);
		if (quality >= s.quality) {
			s.owner = o;
			s.quality = quality;
		}
	} else {
		if (g_hash_table_size(l->socks) >= l->cfg.max_socks) {
			l->st.untracked++;
			return;
		}
		s = (struct sock_ent){ .key = sock_key(d, sport), .dest = d, .owner = o,
				       .quality = quality };
	}
	s.state = state;
	s.tw_expire_s = expire_s(tw_expire_ns);
	s.gen = l->gen;
	account(&s, +1);
	g_hash_table_insert(l->socks, GSIZE_TO_POINTER(s.key), GSIZE_TO_POINTER(sock_pack(&s)));
}

static guint hash_u64(gconstpointer p)
{
	uint64_t k = GPOINTER_TO_SIZE(p);

	/* splitmix64 finaliser: ids and ports are small and dense */
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ULL;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebULL;
	k ^= k >> 31;
	return (guint)k;
}

/* ---- life cycle ---- */

struct ledger *ledger_new(const struct ledger_cfg *cfg, struct owner_resolver *owners)
{
	struct ledger *l = calloc(1, sizeof(*l));
	char path[4096];
	struct stat st;

	if (!l)
		return NULL;
	l->cfg = *cfg;
	if (!l->cfg.max_socks)
		l->cfg.max_socks = 1u << 20;
	if (!l->cfg.host_root)
		l->cfg.host_root = "/";
	l->resolver = owners;
	l->socks = g_hash_table_new(hash_u64, g_direct_equal);
	if (cfg->node && cfg->node[0])
		snprintf(l->node, sizeof(l->node), "%s", cfg->node);
	else if (gethostname(l->node, sizeof(l->node) - 1))
		strcpy(l->node, "unknown");
	snprintf(path, sizeof(path), "%s/proc/1/ns/net",
		 strcmp(l->cfg.host_root, "/") ? l->cfg.host_root : "");
	if (!stat(path, &st))
		l->host_netns = st.st_ino;
	return l;
}

void ledger_free(struct ledger *l)
{
	struct dest_ent *d, *dt;
	struct owner_ent *o, *ot;
	struct ns_ent *n, *nt;

	if (!l)
		return;
	g_hash_table_destroy(l->socks);
	free(l->dest_by_id);
	free(l->free_dest_ids);
	HASH_ITER(hh, l->dests, d, dt) {
		HASH_DEL(l->dests, d);
		free(d->owners);
		free(d);
	}
	HASH_ITER(hh, l->owners, o, ot) {
		HASH_DEL(l->owners, o);
		free(o);
	}
	HASH_ITER(hh, l->ns, n, nt) {
		HASH_DEL(l->ns, n);
		free(n);
	}
	free(l);
}

void ledger_stats(const struct ledger *l, struct ledger_stats *st)
{
	*st = l->st;
	st->socks = g_hash_table_size(l->socks);
	st->dests = HASH_COUNT(l->dests);
	st->owners = HASH_COUNT(l->owners);
}

void ledger_set_pump(struct ledger *l, void (*pump)(void *ctx), void *ctx)
{
	l->pump = pump;
	l->pump_ctx = ctx;
}

void ledger_set_hook(struct ledger *l, ledger_event_hook fn, void *ctx)
{
	l->hook = fn;
	l->hook_ctx = ctx;
}

uint32_t ledger_capacity(const struct ledger *l, uint32_t netns)
{
	struct ns_ent *n;

	HASH_FIND(hh, l->ns, &netns, sizeof(netns), n);
	return n ? n->range.capacity : 0;
}

static struct ns_ent *ns_put(struct ledger *l, const struct netns_range *r, uint64_t now)
{
	struct ns_ent *n;

	HASH_FIND(hh, l->ns, &r->netns, sizeof(r->netns), n);
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return NULL;
		n->netns = r->netns;
		HASH_ADD(hh, l->ns, netns, sizeof(n->netns), n);
	} else if (n->range.cookie && r->cookie && n->range.cookie != r->cookie) {
		/* The inode went to a new namespace: the old one is gone,
		 * and its TIME_WAIT sockets with it. */
		n->reborn_gen = l->gen;
	}
	n->range = *r;
	n->gen = l->gen;
	return n;
}

/* Read the range of the event's namespace through its process when it is
 * new to us, or (at most once a second) when a port could not be allocated:
 * a range narrowed since the last walk must show in that very alert. */
static void ns_refresh(struct ledger *l, const struct pb_event *e, uint64_t now)
{
	struct ns_ent *n;
	struct netns_range r;
	bool failed = e->type == PB_EV_CONNECT_FAILED || e->type == PB_EV_BIND_FAILED;

	HASH_FIND(hh, l->ns, &e->owner.netns, sizeof(e->owner.netns), n);
	if (n && (!failed || now - n->refreshed_ns < 1000000000ULL))
		return;
	if (n)
		n->refreshed_ns = now; /* even if the read fails: not once per event */
	if (netns_range_of_pid(l->cfg.host_root, e->owner.tgid, &r) || r.netns != e->owner.netns)
		return; /* gone, or no right to enter: the walk will tell */
	ns_put(l, &r, now);
}

/* The range the kernel had at a connect(): a change shows at once (the
 * reserved ports are counted again at the next walk or failure). */
static void ns_range_seen(struct ledger *l, uint32_t netns, uint16_t lo, uint16_t hi)
{
	struct ns_ent *n;
	uint32_t size = (uint32_t)(hi - lo + 1);

	HASH_FIND(hh, l->ns, &netns, sizeof(netns), n);
	if (!n || (n->range.lo == lo && n->range.hi == hi))
		return;
	n->range.lo = lo;
	n->range.hi = hi;
	if (n->range.reserved >= size)
		n->range.reserved = 0;
	n->range.capacity = size - n->range.reserved;
}

/* ---- events ---- */

static void count_failure(struct owner_ent *o, int err)
{
	int i;

	o->failures++;
	if (err == EADDRNOTAVAIL || err == EADDRINUSE)
		o->exhaustion++;
	for (i = 0; i < OWNER_ERRNOS && o->errs[i].err && o->errs[i].err != err; i++)
		;
	if (i == OWNER_ERRNOS)
		i = OWNER_ERRNOS - 1; /* the last slot collects the rarest */
	o->errs[i].err = o->errs[i].err ? o->errs[i].err : err;
	o->errs[i].n++;
}

void ledger_event(struct ledger *l, const struct pb_event *e, uint64_t now)
{
	struct owner_ent *o;
	struct dest_ent *d;
	struct sock_ent s;

	o = owner_get(l, e->owner.cgroup_id, e->owner.netns, e->owner.comm, now);
	if (!o)
		return;
	d = dest_get(l, e->owner.netns, e->family, e->saddr, e->daddr, e->dport, now);
	if (!d)
		return;
	ns_refresh(l, e, now);
	if (e->range_hi && e->range_lo <= e->range_hi)
		ns_range_seen(l, e->owner.netns, e->range_lo, e->range_hi);
	switch (e->type) {
	case PB_EV_CONNECT:
		o->connects++;
		/* the kernel's time: events reach us up to a drain interval late */
		if (d->opens == d->prev_opens)
			d->first_open_ns = e->ts_ns && e->ts_ns <= now ? e->ts_ns : now;
		d->opens++;
		sock_set(l, d, e->sport, o, Q_TRACKED, S_OPEN, 0);
		break;
	case PB_EV_CONNECT_FAILED:
	case PB_EV_BIND_FAILED:
		count_failure(o, e->err);
		if (e->sport && sock_find(l, d, e->sport, &s))
			sock_del(l, &s);
		break;
	case PB_EV_CLOSE:
		if (sock_find(l, d, e->sport, &s))
			sock_del(l, &s);
		break;
	case PB_EV_TIME_WAIT:
		sock_set(l, d, e->sport, o, Q_TRACKED, S_TW, now + e->tw_ns);
		break;
	}
	if (l->hook) {
		struct ledger_event_info i = { .e = e, .owner = &o->info,
					       .dest_in_use = d->open + d->tw };
		struct ns_ent *n;

		if (e->type == PB_EV_CONNECT_FAILED || e->type == PB_EV_BIND_FAILED) {
			for (uint32_t k = 0; k < d->n_owners; k++) {
				uint32_t u = d->owners[k].open + d->owners[k].tw;

				if (u > i.holder_in_use) {
					i.holder_in_use = u;
					i.holder = &d->owners[k].owner->info;
				}
			}
		}
		HASH_FIND(hh, l->ns, &d->key.netns, sizeof(d->key.netns), n);
		if (n) {
			i.capacity = n->range.capacity;
			i.range_lo = n->range.lo;
			i.range_hi = n->range.hi;
		}
		l->hook(l->hook_ctx, &i);
	}
}

/* ---- reconciliation ---- */

static void rec_ns(void *ctx, const struct netns_range *r)
{
	struct ledger *l = ctx;
	struct ns_ent *n;
	bool fresh;

	HASH_FIND(hh, l->ns, &r->netns, sizeof(r->netns), n);
	fresh = !n;
	n = ns_put(l, r, l->rec_now);
	/* First seen by a walk: whatever the ledger holds under this inode came
	 * from events of a namespace whose range could not be read (gone
	 * already), possibly another one that had the inode before. */
	if (n && fresh && !l->rec_initial)
		n->reborn_gen = l->gen;
	memset(l->listening, 0, sizeof(l->listening));
}

static void rec_sock(void *ctx, const struct netns_range *r, const struct pb_sock *k)
{
	struct ledger *l = ctx;
	struct owner_ent *o;
	struct dest_ent *d;
	struct sock_ent s;
	bool known;
	int quality, state = k->state == 6 /* TCP_TIME_WAIT */ ? S_TW : S_OPEN;
	uint64_t now = l->rec_now;

	/* Events keep flowing while a long walk runs; what they add or remove
	 * is current (a socket they touch is marked seen by this walk). */
	if (l->pump && ++l->walked % 4096 == 0)
		l->pump(l->pump_ctx);
	if (k->state == 10 /* TCP_LISTEN: they come first */) {
		l->listening[k->sport / 8] |= 1 << (k->sport % 8);
		return;
	}
	/* Only outbound ports: in the ephemeral range, and not a listener's (an
	 * accepted socket shares its listener's port, whatever the range). */
	if (!(k->flags & PB_SOCK_TRACKED) &&
	    (k->sport < r->lo || k->sport > r->hi ||
	     (l->listening[k->sport / 8] & (1 << (k->sport % 8)))))
		return;
	d = dest_get(l, k->netns, k->family, k->saddr, k->daddr, k->dport, now);
	if (!d)
		return;
	known = sock_find(l, d, k->sport, &s);
	if (!known && (k->flags & PB_SOCK_TRACKED) && l->pump && l->rec_repumps < 256) {
		/* The tracer has it: its event is most likely still in the
		 * ring (the socket changed state while we walk). Take what is
		 * there and look again; bounded, for when events were lost. */
		l->rec_repumps++;
		l->pump(l->pump_ctx);
		d = dest_get(l, k->netns, k->family, k->saddr, k->daddr, k->dport, now);
		if (!d)
			return;
		known = sock_find(l, d, k->sport, &s);
	}
	if (k->flags & PB_SOCK_TRACKED) {
		quality = Q_TRACKED;
		o = owner_get(l, k->owner.cgroup_id, k->owner.netns, k->owner.comm, now);
	} else if (k->flags & PB_SOCK_CGROUP) {
		quality = Q_CGROUP;
		o = owner_get(l, k->owner.cgroup_id, k->netns, NULL, now);
	} else {
		quality = Q_NETNS;
		o = owner_get(l, 0, k->netns, NULL, now);
	}
	if (!o)
		return;
	if (known) {
		/* Keep the owner we know from the connect unless the kernel knows better. */
		if (quality < s.quality)
			o = s.owner;
	} else if (!l->rec_initial) {
		l->st.drift_added++;
		if (l->rec_drift_logged++ < 16) {
			char a[64], b[64];

			log_debug("drift: the walk found %s:%u > %s:%u (netns %u, state %u%s) not in the ledger",
				  addr_fmt(k->family, k->saddr, a, sizeof(a)), k->sport,
				  addr_fmt(k->family, k->daddr, b, sizeof(b)), k->dport, k->netns,
				  k->state, k->flags & PB_SOCK_TRACKED ? ", tracked" : "");
		}
	}
	sock_set(l, d, k->sport, o, quality, state,
		 state == S_TW ? now + k->tw_remaining_ns : 0);
}

/* A socket of the ledger the walk did not find: drift, unless it went in a
 * way no event tells of. Not drift: TIME_WAIT that ran out on its own, and
 * the sockets of a namespace that is gone (a deleted pod: the kernel purges
 * its TIME_WAIT sockets without a state change to trace), or whose inode a
 * new namespace took since the last walk. */
static bool gone_is_drift(struct ledger *l, const struct sock_ent *s, uint64_t now)
{
	struct ns_ent *n;

	if (s->state == S_TW && (uint64_t)s->tw_expire_s * 1000000000ULL <= now + 1000000000ULL)
		return false;
	HASH_FIND(hh, l->ns, &s->dest->key.netns, sizeof(s->dest->key.netns), n);
	if (!n || n->gen != l->gen)
		return false;
	return !(s->state == S_TW && n->reborn_gen && n->reborn_gen + 1 >= l->gen);
}

int ledger_reconcile(struct ledger *l, int iter_fd, uint64_t now, bool initial)
{
	struct sockwalk_stats ws;
	GHashTableIter it;
	gpointer k, v;
	int err;

	if (iter_fd < 0)
		return -EBADF;
	l->gen++;
	l->rec_now = now;
	l->rec_initial = initial;
	l->rec_repumps = 0;
	l->rec_drift_logged = 0;
	err = sockwalk(iter_fd, l->cfg.host_root, rec_ns, rec_sock, l, &ws);
	if (err)
		return err;
	g_hash_table_iter_init(&it, l->socks);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct sock_ent s;

		sock_unpack(l, GPOINTER_TO_SIZE(k), GPOINTER_TO_SIZE(v), &s);
		if (s.gen == (uint8_t)l->gen)
			continue;
		if (!initial && gone_is_drift(l, &s, now)) {
			l->st.drift_removed++;
			if (l->rec_drift_logged++ < 16)
				log_debug("drift: port %u of netns %u (%s) is gone without an event",
					  (unsigned int)(s.key & 0xffff), s.dest->key.netns,
					  s.state == S_TW ? "TIME_WAIT" : "open");
		}
		account(&s, -1);
		g_hash_table_iter_remove(&it);
	}
	{
		/* Namespaces that are gone (deleted pods) are forgotten. */
		struct ns_ent *n, *ntmp;

		HASH_ITER(hh, l->ns, n, ntmp) {
			if (n->gen != l->gen) {
				HASH_DEL(l->ns, n);
				free(n);
			}
		}
	}
	l->st.reconciles++;
	log_debug("reconciled: %u namespaces (%u not entered), %lu sockets walked, %u tracked",
		  ws.netns_seen, ws.netns_failed, ws.socks, g_hash_table_size(l->socks));
	return 0;
}

/* ---- the view ---- */

static int push(void **arr, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void *na = realloc(*arr, nc * size);

		if (!na)
			return -ENOMEM;
		*arr = na;
		*cap = nc;
	}
	memset((char *)*arr + *n * size, 0, size);
	return (*n)++;
}

/* Owners of one container are grouped: by namespace/pod/container/role on
 * Kubernetes, by display name elsewhere. */
static bool same_view_owner(const struct view_owner *v, const struct owner_info *i)
{
	return !strcmp(v->namespace_, i->namespace) && !strcmp(v->pod, i->pod) &&
	       !strcmp(v->container, i->container) && v->role == (enum view_role)i->role &&
	       (i->pod[0] || !strcmp(v->display, i->display));
}

static enum view_kind view_kind_of(const struct owner_info *i)
{
	switch (i->kind) {
	case PB_KIND_K8S_CONTAINER:
	case PB_KIND_K8S_POD:
		return VIEW_KIND_POD;
	case PB_KIND_HOST:
		return VIEW_KIND_HOST;
	case PB_KIND_UNIT:
	case PB_KIND_CONTAINER:
	case PB_KIND_ROOT:
		return VIEW_KIND_OTHER;
	default:
		/* An unknown cgroup layout still has a name (its path, or comm). */
		return i->display[0] ? VIEW_KIND_OTHER : VIEW_KIND_UNKNOWN;
	}
}

static const char *pod_name(const struct owner_info *i)
{
	return i->pod[0] ? i->pod : i->display;
}

static int find_pod(struct view *v, const struct owner_info *i)
{
	for (size_t p = 0; p < v->n_pods; p++)
		if (!strcmp(v->pods[p].namespace_, i->namespace) &&
		    !strcmp(v->pods[p].pod, pod_name(i)))
			return p;
	return -1;
}

int ledger_view(struct ledger *l, struct view *v, uint64_t now)
{
	size_t cap_o = 0, cap_p = 0, cap_d = 0, cap_s = 0, cap_f = 0;
	double dt = l->prev_view_ns && now > l->prev_view_ns ? (now - l->prev_view_ns) / 1e9 : 0;
	struct dest_ent *d, *dtmp;
	struct owner_ent *o, *otmp;
	GHashTableIter it;
	gpointer sk, sv;
	uint32_t host_cap = ledger_capacity(l, l->host_netns);
	uint32_t budget = l->cfg.snat_budget ? l->cfg.snat_budget : host_cap ? host_cap : 28232;
	int idx;

	memset(v, 0, sizeof(*v));
	snprintf(v->node, sizeof(v->node), "%s", l->node);
	v->ts_ns = mono_to_wall_ns(now);

	/* TIME_WAIT that has run out. */
	g_hash_table_iter_init(&it, l->socks);
	while (g_hash_table_iter_next(&it, &sk, &sv)) {
		struct sock_ent s;

		if (!(GPOINTER_TO_SIZE(sv) >> 20 & 1))
			continue; /* open */
		sock_unpack(l, GPOINTER_TO_SIZE(sk), GPOINTER_TO_SIZE(sv), &s);
		if (s.tw_expire_s && (uint64_t)s.tw_expire_s * 1000000000ULL <= now) {
			l->st.tw_expired++;
			account(&s, -1);
			g_hash_table_iter_remove(&it);
		}
	}

	/* Owners -> containers -> pods. */
	HASH_ITER(hh, l->owners, o, otmp) {
		struct owner_info *i = &o->info;
		struct view_owner *vo = NULL;

		o->view_idx = -1;
		/* Owners that hold nothing and have been idle a minute are
		 * forgotten (deleted pods); the metrics keep their counters. */
		if (owner_idle(o, now)) {
			owner_forget(l, o);
			continue;
		}
		if (!o->open && !o->tw && !o->connects && !o->failures)
			continue;
		/* The resolver's caches make this cheap and rate-limit misses.
		 * Only a cgroup answer is taken: once the cgroup is gone, its
		 * netns inode may already belong to another pod. Given up after
		 * a minute. */
		if (!o->complete && now - o->created_ns < IDLE_NS) {
			struct owner_info was = *i;

			owner_fill(l, o);
			if (i->source != PB_SRC_CGROUP)
				*i = was;
		} else {
			o->complete = true;
		}
		for (size_t k = 0; k < v->n_owners; k++)
			if (same_view_owner(&v->owners[k], i))
				vo = &v->owners[k];
		if (!vo) {
			if ((idx = push((void **)&v->owners, &v->n_owners, &cap_o, sizeof(*vo))) < 0)
				goto nomem;
			vo = &v->owners[idx];
			snprintf(vo->namespace_, sizeof(vo->namespace_), "%s", i->namespace);
			snprintf(vo->pod, sizeof(vo->pod), "%.*s", VIEW_NAME_LEN - 1, pod_name(i));
			snprintf(vo->container, sizeof(vo->container), "%s", i->container);
			snprintf(vo->display, sizeof(vo->display), "%s", i->display);
			vo->role = (enum view_role)i->role;
			vo->kind = view_kind_of(i);
			/* a few seconds to find a new container's names */
			vo->pending = !o->complete && now - o->created_ns < 3000000000ULL;
			vo->worst_dest = -1;
		}
		o->view_idx = vo - v->owners;
		vo->open += o->open;
		vo->time_wait += o->tw;
		vo->in_use += o->open + o->tw;
		vo->connects_total += o->connects;
		vo->failures_total += o->failures;
		vo->failures_eaddrnotavail += o->exhaustion;
		if (dt > 0) {
			vo->connects_per_s += (o->connects - o->prev_connects) / dt;
			vo->failures_per_s += (o->failures - o->prev_failures) / dt;
		}
		o->prev_connects = o->connects;
		o->prev_failures = o->failures;
		for (int k = 0; k < OWNER_ERRNOS && o->errs[k].err; k++) {
			struct view_failure *f = NULL;
			char eb[16];

			for (size_t j = 0; j < v->n_failures; j++)
				if (v->failures[j].owner == o->view_idx &&
				    v->failures[j].errno_name[0] &&
				    !strcmp(v->failures[j].errno_name,
					    errno_name(o->errs[k].err, eb, sizeof(eb))))
					f = &v->failures[j];
			if (!f) {
				if ((idx = push((void **)&v->failures, &v->n_failures, &cap_f,
						sizeof(*f))) < 0)
					goto nomem;
				f = &v->failures[idx];
				f->owner = o->view_idx;
				snprintf(f->errno_name, sizeof(f->errno_name), "%s",
					 errno_name(o->errs[k].err, eb, sizeof(eb)));
			}
			f->total += o->errs[k].n;
		}
	}
	for (size_t k = 0; k < v->n_owners; k++) {
		struct view_owner *vo = &v->owners[k];
		struct view_pod *vp = NULL;

		for (size_t p = 0; p < v->n_pods; p++)
			if (!strcmp(v->pods[p].namespace_, vo->namespace_) &&
			    !strcmp(v->pods[p].pod, vo->pod))
				vp = &v->pods[p];
		if (!vp) {
			if ((idx = push((void **)&v->pods, &v->n_pods, &cap_p, sizeof(*vp))) < 0)
				goto nomem;
			vp = &v->pods[idx];
			snprintf(vp->namespace_, sizeof(vp->namespace_), "%s", vo->namespace_);
			snprintf(vp->pod, sizeof(vp->pod), "%s", vo->pod);
			vp->worst_dest = -1;
		}
		vp->open += vo->open;
		vp->time_wait += vo->time_wait;
		vp->in_use += vo->in_use;
		vp->connects_total += vo->connects_total;
		vp->failures_total += vo->failures_total;
		vp->connects_per_s += vo->connects_per_s;
		vp->failures_per_s += vo->failures_per_s;
	}

	/* Destinations with sockets; SNAT sums. */
	HASH_ITER(hh, l->dests, d, dtmp) {
		struct view_dest *vd;
		uint32_t capacity;

		if (!d->open && !d->tw) {
			/* Idle pools are forgotten after a minute. */
			if (now - d->last_used_ns > IDLE_NS) {
				HASH_DEL(l->dests, d);
				l->dest_by_id[d->id] = NULL;
				l->free_dest_ids[l->n_free_dest_ids++] = d->id;
				free(d->owners);
				free(d);
			}
			continue;
		}
		if ((idx = push((void **)&v->dests, &v->n_dests, &cap_d, sizeof(*vd))) < 0)
			goto nomem;
		vd = &v->dests[idx];
		vd->netns = d->key.netns;
		vd->family = d->key.family;
		vd->dport = d->key.dport;
		memcpy(vd->saddr, d->key.saddr, 16);
		memcpy(vd->daddr, d->key.daddr, 16);
		vd->open = d->open;
		vd->time_wait = d->tw;
		vd->in_use = d->open + d->tw;
		capacity = ledger_capacity(l, d->key.netns);
		vd->capacity = capacity ? capacity : host_cap ? host_cap : 28232;
		vd->utilization = (double)vd->in_use / vd->capacity;
		vd->forecast_s = -1;
		if (dt > 0) {
			/* A pool that was quiet and started opening mid-interval: its
			 * rate over the part where it was active, not the whole second
			 * (the first forecast of a ramp would come out too long). */
			double span = dt;

			if (!d->opened_before && d->first_open_ns > l->prev_view_ns &&
			    now > d->first_open_ns)
				span = (now - d->first_open_ns) / 1e9;
			if (span < 0.1)
				span = 0.1;
			vd->opens_per_s = (d->opens - d->prev_opens) / span;
		}
		d->opened_before = d->opens != d->prev_opens;
		d->prev_opens = d->opens;
		vd->owners = calloc(d->n_owners ? d->n_owners : 1, sizeof(*vd->owners));
		if (!vd->owners)
			goto nomem;
		for (uint32_t k = 0; k < d->n_owners; k++) {
			struct dest_owner *dow = &d->owners[k];
			struct view_dest_owner *x = NULL;

			if (!dow->open && !dow->tw)
				continue;
			for (size_t j = 0; j < vd->n_owners; j++)
				if (vd->owners[j].owner == dow->owner->view_idx)
					x = &vd->owners[j];
			if (!x) {
				x = &vd->owners[vd->n_owners++];
				x->owner = dow->owner->view_idx;
			}
			x->open += dow->open;
			x->time_wait += dow->tw;
			x->in_use += dow->open + dow->tw;
			if (x->owner >= 0) {
				struct view_owner *vo = &v->owners[x->owner];
				int p = find_pod(v, &dow->owner->info);

				if (vd->utilization > vo->worst_utilization || vo->worst_dest < 0) {
					vo->worst_utilization = vd->utilization;
					vo->worst_dest = idx;
				}
				if (p >= 0 && (vd->utilization > v->pods[p].worst_utilization ||
					       v->pods[p].worst_dest < 0)) {
					v->pods[p].worst_utilization = vd->utilization;
					v->pods[p].worst_dest = idx;
				}
			}
		}
		/* Node SNAT view: pod namespaces to destinations outside the cluster. */
		if (d->key.netns != l->host_netns && !is_loopback(d->key.family, d->key.daddr)) {
			bool inside = false;
			struct view_snat *sn = NULL;

			for (size_t c = 0; c < l->cfg.n_cluster; c++)
				inside |= cidr_contains(&l->cfg.cluster[c], d->key.family, d->key.daddr);
			if (inside)
				continue;
			for (size_t j = 0; j < v->n_snat; j++)
				if (v->snat[j].family == d->key.family && v->snat[j].dport == d->key.dport &&
				    !memcmp(v->snat[j].daddr, d->key.daddr, 16))
					sn = &v->snat[j];
			if (!sn) {
				if ((idx = push((void **)&v->snat, &v->n_snat, &cap_s, sizeof(*sn))) < 0)
					goto nomem;
				sn = &v->snat[idx];
				sn->family = d->key.family;
				sn->dport = d->key.dport;
				memcpy(sn->daddr, d->key.daddr, 16);
				sn->budget = budget;
			}
			sn->in_use += d->open + d->tw;
			for (uint32_t k = 0; k < d->n_owners; k++) {
				struct dest_owner *dow = &d->owners[k];
				size_t q;
				int p;

				/* an owner holding nothing here may be gone (evicted) */
				if (!dow->open && !dow->tw)
					continue;
				p = find_pod(v, &dow->owner->info);
				if (p < 0)
					continue;
				for (q = 0; q < sn->n_pods && sn->pods[q] != p; q++)
					;
				if (q == sn->n_pods) {
					int *np = realloc(sn->pods, (q + 1) * sizeof(int));
					uint32_t *nu;

					if (!np)
						goto nomem;
					sn->pods = np;
					nu = realloc(sn->pod_in_use, (q + 1) * sizeof(uint32_t));
					if (!nu)
						goto nomem;
					sn->pod_in_use = nu;
					sn->pods[q] = p;
					sn->pod_in_use[q] = 0;
					sn->n_pods++;
				}
				sn->pod_in_use[q] += dow->open + dow->tw;
			}
		}
	}
	for (size_t j = 0; j < v->n_snat; j++)
		v->snat[j].utilization = (double)v->snat[j].in_use / v->snat[j].budget;
	v->reconcile_drift_total = l->st.drift_added + l->st.drift_removed;
	v->untracked_total = l->st.untracked;
	l->prev_view_ns = now;
	return 0;
nomem:
	view_free(v);
	return -ENOMEM;
}
