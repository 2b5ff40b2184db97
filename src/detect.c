// SPDX-License-Identifier: GPL-2.0-only
/* Detectors: exhaustion, pressure with a forecast, sidecar amplification and
 * churn, with hysteresis, summaries and bounded memory. See detect.h.
 *
 * Five tables, each a uthash kept in least-recently-seen order (utlist) for
 * eviction and idle expiry. An entry holds its key as a zero-padded struct
 * (names for the alerts) and hashes a packed copy ("ns\0pod\0ctr\0" +
 * address bytes, a few dozen bytes instead of hundreds):
 *   containers  (namespace, pod, container)        churn
 *   pods        (namespace, pod)                   amplification by pod
 *   flows       (pod, family, daddr, dport)        amplification by destination
 *   pools       struct detect_dest                 pressure
 *   failing     (container, struct detect_dest)    exhaustion
 * Alert conditions (struct cond) live in those entries; the active ones are
 * also on one list, which the flag queries walk. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <json-c/json.h>
#define HASH_NONFATAL_OOM 1
#include <uthash.h>
#include <utlist.h>
#include "detect.h"
#include "escape.h"
#include "util.h"

#define NSEC 1000000000ULL
#define WIN_SLOTS 10		/* buckets per window */
#define SAMPLES 32		/* pressure samples kept per pool */
#define HOLD 0.9		/* an active condition holds at 0.9 x its threshold */
#define DEFAULT_TW_NS (60 * NSEC)

/* ---- tables ---- */

struct node {
	UT_hash_handle hh;		/* keyed by the packed key after the entry */
	struct node *lru_prev, *lru_next;	/* head: least recently seen */
	uint64_t seen_ns;
	bool fresh;			/* just created: the caller fills it in */
};

struct detect;

struct table {
	struct node *hash;
	struct node *lru;
	size_t size;			/* of the entry, without its packed key */
	/* undo what the entry holds (active alert, links) before it is freed */
	void (*drop)(struct detect *d, struct node *n);
	bool (*active)(const struct node *n);
};

/* Events per bucket over a sliding window of WIN_SLOTS buckets. */
struct win {
	uint64_t slot[WIN_SLOTS];	/* bucket number + 1; 0 = empty */
	uint32_t n[WIN_SLOTS];
};

enum cond_of { OF_FAILING, OF_POOL, OF_FLOW, OF_POD, OF_CONTAINER };

struct cond {
	enum alert_kind kind;
	enum cond_of of;
	enum alert_level level;
	bool active;
	uint64_t since_ns, last_true_ns, last_line_ns;
	uint64_t count, total;
	struct node *ent;		/* the entry holding it */
	struct cond *prev, *next;	/* on detect.active while active */
};

struct okey {
	char ns[PB_NS_LEN];
	char pod[PB_POD_LEN];
	char ctr[PB_CTR_LEN];
};

struct pkey {
	char ns[PB_NS_LEN];
	char pod[PB_POD_LEN];
};

struct flow_addr {
	uint16_t family, dport;
	uint8_t daddr[16];
};

struct fkey {
	struct pkey pod;
	struct flow_addr addr;
};

struct xkey {
	struct okey owner;
	struct detect_dest dest;
};

struct ctr_ent {
	struct node node;
	struct okey key;
	enum pb_role role;
	struct win short_lived;
	double rate;
	struct cond churn;
};

struct flow_ent;

struct pod_ent {
	struct node node;
	struct pkey key;
	struct flow_ent *flows;
	char sidecar[PB_CTR_LEN];	/* the sidecar container last seen connecting */
	uint32_t app, side, fail;	/* window sums as of the last tick */
	double ratio;
	struct cond amp;
};

struct flow_ent {
	struct node node;
	struct fkey key;
	struct pod_ent *pod;
	struct flow_ent *fprev, *fnext;
	struct win app, side, fail;
	char sidecar[PB_CTR_LEN];
	uint32_t a, s, f;		/* window sums as of the last tick */
	double ratio;
	struct cond amp;
};

struct pool_ent {
	struct node node;
	struct detect_dest key;
	struct detect_owner top;
	struct detect_sample last;
	uint64_t t[SAMPLES];
	uint32_t v[SAMPLES];
	unsigned int head, n;		/* ring: newest at head - 1 */
	double util, forecast, growth;
	struct cond pressure;
};

struct fail_ent {
	struct node node;
	struct xkey key;
	enum pb_role role;
	int err;
	struct detect_pool pool;
	struct cond exh;
};

struct detect {
	struct detect_cfg cfg;
	detect_alert_fn fn;
	void *ctx;
	uint64_t now;			/* latest NOW seen */
	uint64_t bucket_ns;
	struct table containers, pods, flows, pools, failing;
	struct cond *active;
	uint64_t evicted;
	uint64_t alerts_total[ALERT_KINDS];
	uint32_t n_active[ALERT_KINDS];
};

static uint64_t since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void emit(struct detect *d, struct cond *c, enum alert_phase phase, uint64_t now);

#define PACKED_MAX 512

struct packed {
	size_t len;
	uint8_t b[PACKED_MAX];
};

static void pack(struct packed *p, const void *v, size_t len)
{
	memcpy(p->b + p->len, v, len);
	p->len += len;
}

static void pack_str(struct packed *p, const char *s, size_t max)
{
	size_t n = strnlen(s, max - 1);

	memcpy(p->b + p->len, s, n);
	p->b[p->len + n] = '\0';
	p->len += n + 1;
}

static struct node *tab_find(const struct table *t, const struct packed *pk)
{
	struct node *n = NULL;

	HASH_FIND(hh, t->hash, pk->b, pk->len, n);
	return n;
}

static void tab_del(struct detect *d, struct table *t, struct node *n)
{
	if (t->drop)
		t->drop(d, n);
	HASH_DELETE(hh, t->hash, n);
	DL_DELETE2(t->lru, n, lru_prev, lru_next);
	free(n);
}

/* The entry for PK, created (fresh, evicting the least recently seen one
 * when the table is full) if CREATE; marked seen at NOW. NULL if absent or
 * out of memory. */
static struct node *tab_get(struct detect *d, struct table *t, const struct packed *pk,
			    uint64_t now, bool create)
{
	struct node *n = tab_find(t, pk);
	unsigned int before;
	char *kp;

	if (n) {
		DL_DELETE2(t->lru, n, lru_prev, lru_next);
		DL_APPEND2(t->lru, n, lru_prev, lru_next);
		n->seen_ns = now;
		return n;
	}
	if (!create)
		return NULL;
	if (t->lru && HASH_COUNT(t->hash) >= d->cfg.max_keys) {
		tab_del(d, t, t->lru);
		d->evicted++;
	}
	n = calloc(1, t->size + pk->len);
	if (!n)
		return NULL;
	n->fresh = true;
	kp = (char *)n + t->size;
	memcpy(kp, pk->b, pk->len);
	before = HASH_COUNT(t->hash);
	HASH_ADD_KEYPTR(hh, t->hash, kp, pk->len, n);
	if (HASH_COUNT(t->hash) == before) {	/* uthash could not grow */
		free(n);
		return NULL;
	}
	DL_APPEND2(t->lru, n, lru_prev, lru_next);
	n->seen_ns = now;
	return n;
}

/* Free entries not seen for IDLE_NS that hold no active alert. */
static void tab_expire(struct detect *d, struct table *t, uint64_t now, uint64_t idle_ns)
{
	struct node *n, *tmp;

	DL_FOREACH_SAFE2(t->lru, n, tmp, lru_next) {
		if (since(now, n->seen_ns) < idle_ns)
			break;
		if (t->active && t->active(n))
			continue;
		tab_del(d, t, n);
	}
}

static void tab_clear(struct detect *d, struct table *t)
{
	while (t->lru)
		tab_del(d, t, t->lru);
}

/* ---- windows ---- */

static uint64_t bucket_of(const struct detect *d, uint64_t now)
{
	return now / d->bucket_ns;
}

static void win_add(const struct detect *d, struct win *w, uint64_t now, uint32_t k)
{
	uint64_t b = bucket_of(d, now), i = b % WIN_SLOTS;

	if (w->slot[i] != b + 1) {
		w->slot[i] = b + 1;
		w->n[i] = 0;
	}
	w->n[i] += k;
}

static uint32_t win_sum(const struct detect *d, const struct win *w, uint64_t now)
{
	uint64_t b = bucket_of(d, now);
	uint32_t sum = 0;

	for (int i = 0; i < WIN_SLOTS; i++)
		if (w->slot[i] && w->slot[i] - 1 <= b && w->slot[i] - 1 + WIN_SLOTS > b)
			sum += w->n[i];
	return sum;
}

/* Seconds the window covers at NOW: the full buckets plus the current one. */
static double win_span_s(const struct detect *d, uint64_t now)
{
	uint64_t elapsed = now - bucket_of(d, now) * d->bucket_ns;

	return ((WIN_SLOTS - 1) * d->bucket_ns + elapsed) / 1e9;
}

/* ---- conditions ---- */

static void cond_init(struct cond *c, enum alert_kind kind, enum cond_of of, struct node *ent)
{
	c->kind = kind;
	c->of = of;
	c->ent = ent;
}

static void cond_start(struct detect *d, struct cond *c, uint64_t now, uint64_t count)
{
	c->active = true;
	c->since_ns = c->last_line_ns = now;
	c->count = c->total = count;
	DL_APPEND(d->active, c);
	d->n_active[c->kind]++;
	d->alerts_total[c->kind]++;
	emit(d, c, ALERT_START, now);
	c->count = 0;
}

static void cond_end(struct detect *d, struct cond *c, uint64_t now)
{
	emit(d, c, ALERT_CLEAR, now);
	c->active = false;
	DL_DELETE(d->active, c);
	d->n_active[c->kind]--;
}

static void cond_line(struct detect *d, struct cond *c, uint64_t now)
{
	emit(d, c, ALERT_SUMMARY, now);
	c->last_line_ns = now;
	c->count = 0;
}

/* K more events of an active condition. */
static void cond_event(struct cond *c, uint64_t k)
{
	if (c->active) {
		c->count += k;
		c->total += k;
	}
}

/* The condition is ON (or not) at NOW: START, SUMMARY when due, CLEAR once it
 * has been off for clear_after_ns. START_COUNT: the events that made it fire. */
static void cond_eval(struct detect *d, struct cond *c, uint64_t now, bool on,
		      uint64_t start_count)
{
	if (on) {
		c->last_true_ns = now;
		if (!c->active) {
			cond_start(d, c, now, start_count);
			return;
		}
	}
	if (!c->active)
		return;
	if (!on && since(now, c->last_true_ns) >= d->cfg.clear_after_ns)
		cond_end(d, c, now);
	else if (since(now, c->last_line_ns) >= d->cfg.summary_every_ns)
		cond_line(d, c, now);
}

/* ---- keys ---- */

static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = src ? strnlen(src, len - 1) : 0;

	memcpy(dst, src, n);
	memset(dst + n, 0, len - n);
}

static void okey_of(struct okey *k, const struct detect_owner *o)
{
	copy_str(k->ns, sizeof(k->ns), o->namespace_);
	copy_str(k->pod, sizeof(k->pod), o->pod);
	copy_str(k->ctr, sizeof(k->ctr), o->container);
}

static void pkey_of(struct pkey *k, const char *ns, const char *pod)
{
	copy_str(k->ns, sizeof(k->ns), ns);
	copy_str(k->pod, sizeof(k->pod), pod);
}

static void dest_of(struct detect_dest *k, const struct detect_dest *dest)
{
	memset(k, 0, sizeof(*k));
	if (dest)
		*k = *dest;
}

static bool addr_is_zero(const uint8_t *a)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, 16);
}

/* The destination as the app saw it: v4-mapped shown as IPv4, so an app's
 * dual-stack socket and the proxy's IPv4 one meet. */
static void flow_addr_of(struct flow_addr *k, const struct detect_dest *dest)
{
	memset(k, 0, sizeof(*k));
	k->dport = dest->dport;
	if (addr_is_v4(dest->family, dest->daddr)) {
		k->family = AF_INET;
		memcpy(k->daddr, dest->family == AF_INET ? dest->daddr : dest->daddr + 12, 4);
	} else {
		k->family = dest->family;
		memcpy(k->daddr, dest->daddr, 16);
	}
}

/* A sidecar's connection to its own pod (loopback or its own address) is the
 * inbound leg towards the app, not amplification of the app's outbound. */
static bool to_own_pod(const struct detect_dest *dest)
{
	const uint8_t *a = dest->daddr;

	if (addr_is_v4(dest->family, a)) {
		const uint8_t *v4 = dest->family == AF_INET ? a : a + 12;

		if (v4[0] == 127)
			return true;
	} else if (dest->family == AF_INET6) {
		static const uint8_t lo6[16] = { [15] = 1 };

		if (!memcmp(a, lo6, 16))
			return true;
	}
	return !addr_is_zero(dest->saddr) && !memcmp(dest->saddr, dest->daddr, 16);
}

static bool in_pod(const struct detect_owner *o)
{
	return o->namespace_[0] && o->pod[0];
}

static void pack_pod(struct packed *p, const char *ns, const char *pod)
{
	p->len = 0;
	pack_str(p, ns ? ns : "", PB_NS_LEN);
	pack_str(p, pod ? pod : "", PB_POD_LEN);
}

static void pack_owner(struct packed *p, const struct detect_owner *o)
{
	pack_pod(p, o->namespace_, o->pod);
	pack_str(p, o->container, PB_CTR_LEN);
}

static void pack_dest(struct packed *p, const struct detect_dest *dest)
{
	struct detect_dest k;

	dest_of(&k, dest);
	pack(p, &k, sizeof(k));
}

/* ---- entry hooks ---- */

/* Every entry starts with its struct node. */
#define ENT(n, type) ((struct type *)(n))

static void drop_cond(struct detect *d, struct cond *c)
{
	if (c->active)
		cond_end(d, c, d->now);
}

static void drop_container(struct detect *d, struct node *n)
{
	drop_cond(d, &ENT(n, ctr_ent)->churn);
}

static void drop_flow(struct detect *d, struct node *n)
{
	struct flow_ent *f = ENT(n, flow_ent);

	drop_cond(d, &f->amp);
	if (f->pod)
		DL_DELETE2(f->pod->flows, f, fprev, fnext);
}

static void drop_pod(struct detect *d, struct node *n)
{
	struct pod_ent *p = ENT(n, pod_ent);

	while (p->flows)
		tab_del(d, &d->flows, &p->flows->node);
	drop_cond(d, &p->amp);
}

static void drop_pool(struct detect *d, struct node *n)
{
	drop_cond(d, &ENT(n, pool_ent)->pressure);
}

static void drop_failing(struct detect *d, struct node *n)
{
	drop_cond(d, &ENT(n, fail_ent)->exh);
}

static bool active_container(const struct node *n)
{
	return ENT(n, ctr_ent)->churn.active;
}

static bool active_pod(const struct node *n)
{
	const struct pod_ent *p = ENT(n, pod_ent);
	const struct flow_ent *f;

	if (p->amp.active)
		return true;
	DL_FOREACH2(p->flows, f, fnext)
		if (f->amp.active)
			return true;
	return false;
}

static bool active_flow(const struct node *n)
{
	return ENT(n, flow_ent)->amp.active;
}

static bool active_pool(const struct node *n)
{
	return ENT(n, pool_ent)->pressure.active;
}

static bool active_failing(const struct node *n)
{
	return ENT(n, fail_ent)->exh.active;
}

static struct ctr_ent *container_get(struct detect *d, const struct detect_owner *o,
				     uint64_t now)
{
	struct packed pk;
	struct node *n;
	struct ctr_ent *c;

	pack_owner(&pk, o);
	n = tab_get(d, &d->containers, &pk, now, true);
	if (!n)
		return NULL;
	c = ENT(n, ctr_ent);
	if (n->fresh) {
		n->fresh = false;
		okey_of(&c->key, o);
		cond_init(&c->churn, ALERT_CHURN, OF_CONTAINER, n);
	}
	c->role = o->role;
	return c;
}

static struct flow_ent *flow_get(struct detect *d, const struct detect_owner *o,
				 const struct detect_dest *dest, uint64_t now)
{
	struct packed pk;
	struct flow_addr fa;
	struct node *pn, *fn;
	struct pod_ent *p;
	struct flow_ent *f;

	pack_pod(&pk, o->namespace_, o->pod);
	pn = tab_get(d, &d->pods, &pk, now, true);
	if (!pn)
		return NULL;
	p = ENT(pn, pod_ent);
	if (pn->fresh) {
		pn->fresh = false;
		pkey_of(&p->key, o->namespace_, o->pod);
		cond_init(&p->amp, ALERT_AMPLIFICATION, OF_POD, pn);
	}
	flow_addr_of(&fa, dest);
	pack(&pk, &fa.family, sizeof(fa.family));
	pack(&pk, &fa.dport, sizeof(fa.dport));
	pack(&pk, fa.daddr, fa.family == AF_INET ? 4 : 16);
	fn = tab_get(d, &d->flows, &pk, now, true);
	if (!fn)
		return NULL;
	f = ENT(fn, flow_ent);
	if (fn->fresh) {
		fn->fresh = false;
		f->key.pod = p->key;
		f->key.addr = fa;
		cond_init(&f->amp, ALERT_AMPLIFICATION, OF_FLOW, fn);
		f->pod = p;
		DL_APPEND2(p->flows, f, fprev, fnext);
	}
	return f;
}

/* ---- configuration ---- */

void detect_cfg_default(struct detect_cfg *cfg)
{
	*cfg = (struct detect_cfg){
		.warn = 0.70,
		.crit = 0.90,
		.horizon_ns = 30 * NSEC,
		.window_ns = 10 * NSEC,
		.amplification = 2.0,
		.amp_min_count = 20,
		.churn_per_s = 50,
		.churn_max_life_ns = NSEC,
		.summary_every_ns = 30 * NSEC,
		.clear_after_ns = 15 * NSEC,
		.max_keys = 4096,
	};
}

static void cfg_check(struct detect_cfg *c)
{
	struct detect_cfg def;

	detect_cfg_default(&def);
	if (!(c->warn > 0 && c->warn <= 1))
		c->warn = def.warn;
	if (!(c->crit >= c->warn && c->crit <= 1))
		c->crit = c->warn > def.crit ? c->warn : def.crit;
	if (c->window_ns < WIN_SLOTS * 1000000ULL)	/* at least 1 ms buckets */
		c->window_ns = def.window_ns;
	if (!(c->amplification > 0))
		c->amplification = def.amplification;
	if (!c->amp_min_count)
		c->amp_min_count = 1;
	if (!(c->churn_per_s > 0))
		c->churn_per_s = def.churn_per_s;
	if (!c->churn_max_life_ns)
		c->churn_max_life_ns = def.churn_max_life_ns;
	if (!c->summary_every_ns)
		c->summary_every_ns = def.summary_every_ns;
	if (c->max_keys < 2)
		c->max_keys = 2;
}

static void tab_init(struct table *t, size_t size, void (*drop)(struct detect *, struct node *),
		     bool (*active)(const struct node *))
{
	t->size = size;
	t->drop = drop;
	t->active = active;
}

#define TAB_INIT(t, type, dropfn, activefn) tab_init(t, sizeof(struct type), dropfn, activefn)

struct detect *detect_new(const struct detect_cfg *cfg, detect_alert_fn fn, void *ctx)
{
	struct detect *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (cfg)
		d->cfg = *cfg;
	else
		detect_cfg_default(&d->cfg);
	cfg_check(&d->cfg);
	d->bucket_ns = d->cfg.window_ns / WIN_SLOTS;
	d->fn = fn;
	d->ctx = ctx;
	TAB_INIT(&d->containers, ctr_ent, drop_container, active_container);
	TAB_INIT(&d->pods, pod_ent, drop_pod, active_pod);
	TAB_INIT(&d->flows, flow_ent, drop_flow, active_flow);
	TAB_INIT(&d->pools, pool_ent, drop_pool, active_pool);
	TAB_INIT(&d->failing, fail_ent, drop_failing, active_failing);
	return d;
}

void detect_free(struct detect *d)
{
	if (!d)
		return;
	d->fn = NULL;	/* no CLEAR storm at exit */
	tab_clear(d, &d->pods);	/* and their flows */
	tab_clear(d, &d->flows);
	tab_clear(d, &d->containers);
	tab_clear(d, &d->pools);
	tab_clear(d, &d->failing);
	free(d);
}

static uint64_t clock_at(struct detect *d, uint64_t now)
{
	if (now > d->now)
		d->now = now;
	return d->now;
}

/* ---- inputs ---- */

void detect_connect(struct detect *d, uint64_t now, const struct detect_owner *o,
		    const struct detect_dest *dest)
{
	struct flow_ent *f;
	bool sidecar;

	if (!d || !o || !dest || !in_pod(o))
		return;
	now = clock_at(d, now);
	sidecar = o->role == PB_ROLE_SIDECAR;
	if (sidecar && to_own_pod(dest))
		return;
	f = flow_get(d, o, dest, now);
	if (!f)
		return;
	if (!sidecar) {
		win_add(d, &f->app, now, 1);
		return;
	}
	win_add(d, &f->side, now, 1);
	copy_str(f->sidecar, sizeof(f->sidecar), o->container);
	copy_str(f->pod->sidecar, sizeof(f->pod->sidecar), o->container);
	cond_event(&f->amp, 1);
	cond_event(&f->pod->amp, 1);
}

void detect_close(struct detect *d, uint64_t now, const struct detect_owner *o,
		  const struct detect_dest *dest, uint64_t lifetime_ns)
{
	struct ctr_ent *c;

	if (!d || !o || lifetime_ns >= d->cfg.churn_max_life_ns)
		return;
	now = clock_at(d, now);
	c = container_get(d, o, now);
	if (!c)
		return;
	win_add(d, &c->short_lived, now, 1);
	cond_event(&c->churn, 1);
}

void detect_failure(struct detect *d, uint64_t now, const struct detect_owner *o,
		    const struct detect_dest *dest, int err, const struct detect_pool *pool)
{
	if (!d || !o)
		return;
	now = clock_at(d, now);
	if (o->role == PB_ROLE_SIDECAR && dest && dest->family && in_pod(o) &&
	    !to_own_pod(dest)) {
		struct flow_ent *f = flow_get(d, o, dest, now);

		if (f)
			win_add(d, &f->fail, now, 1);
	}
	if (err == EADDRNOTAVAIL || err == EADDRINUSE) {
		struct packed pk;
		struct node *n;
		struct fail_ent *x;

		pack_owner(&pk, o);
		pack_dest(&pk, dest);
		n = tab_get(d, &d->failing, &pk, now, true);
		if (!n)
			return;
		x = ENT(n, fail_ent);
		if (n->fresh) {
			n->fresh = false;
			okey_of(&x->key.owner, o);
			dest_of(&x->key.dest, dest);
			cond_init(&x->exh, ALERT_EXHAUSTION, OF_FAILING, n);
		}
		x->role = o->role;
		x->err = err;
		if (pool)
			x->pool = *pool;
		x->pool.holder[sizeof(x->pool.holder) - 1] = '\0';
		x->exh.level = ALERT_CRITICAL;
		x->exh.last_true_ns = now;
		if (x->exh.active)
			cond_event(&x->exh, 1);	/* summaries are detect_tick()'s */
		else
			cond_start(d, &x->exh, now, 1);
	}
}

double detect_forecast_s(const struct detect_sample *s, double growth_per_s)
{
	double tw_s = (s->tw_len_ns ? s->tw_len_ns : DEFAULT_TW_NS) / 1e9;
	double left, g = growth_per_s;

	if (!s->capacity)
		return -1;
	if (s->in_use >= s->capacity)
		return 0;
	/* Steady state: every port is held for its life plus TIME_WAIT; below
	 * capacity, in_use levels off instead of running out. */
	if (s->opens_per_s >= 0 && s->opens_per_s * tw_s + s->open < s->capacity)
		return -1;
	if (isnan(g))
		g = s->opens_per_s;	/* nothing measured yet: no port has expired */
	if (!(g > 0))
		return -1;
	left = (double)s->capacity - s->in_use;
	return left / g;
}

/* Least-squares slope of in_use over the samples of the last window, NAN
 * with fewer than two samples. */
static double pool_growth(const struct detect *d, const struct pool_ent *p, uint64_t now)
{
	double st = 0, sv = 0, stt = 0, stv = 0, t, v;
	unsigned int k = 0;

	for (unsigned int i = 0; i < p->n; i++) {
		unsigned int j = (p->head + SAMPLES - 1 - i) % SAMPLES;

		if (since(now, p->t[j]) > d->cfg.window_ns)
			break;
		t = -(double)since(now, p->t[j]) / 1e9;
		v = p->v[j];
		st += t;
		sv += v;
		stt += t * t;
		stv += t * v;
		k++;
	}
	if (k < 2 || stt * k - st * st <= 0)
		return NAN;
	return (k * stv - st * sv) / (k * stt - st * st);
}

double detect_utilization(struct detect *d, uint64_t now, const struct detect_dest *dest,
			  const struct detect_owner *top, const struct detect_sample *s)
{
	struct packed pk;
	struct node *n;
	struct pool_ent *p;
	double warn, crit, fc;
	enum alert_level level;
	bool on, soon;

	if (!d || !s)
		return -1;
	now = clock_at(d, now);
	fc = detect_forecast_s(s, NAN);
	/* Only pools worth watching take a key: at half the warn threshold, or
	 * running dry within the horizon at the open rate. A node's thousands of
	 * quiet pools cost nothing. */
	soon = d->cfg.horizon_ns && s->opens_per_s >= 0 && fc >= 0 &&
	       fc * 1e9 <= (double)d->cfg.horizon_ns;
	pk.len = 0;
	pack_dest(&pk, dest);
	n = tab_get(d, &d->pools, &pk, now,
		    s->capacity && ((double)s->in_use >= s->capacity * d->cfg.warn / 2 || soon));
	if (!n)
		return fc;
	p = ENT(n, pool_ent);
	if (n->fresh) {
		n->fresh = false;
		dest_of(&p->key, dest);
		cond_init(&p->pressure, s->pool == DETECT_POOL_SNAT ? ALERT_SNAT_PRESSURE
								    : ALERT_PRESSURE,
			  OF_POOL, n);
	}
	if (top)
		p->top = *top;
	p->last = *s;
	/* a second sample at the same instant replaces the first */
	if (p->n && p->t[(p->head + SAMPLES - 1) % SAMPLES] == now)
		p->head = (p->head + SAMPLES - 1) % SAMPLES, p->n--;
	p->t[p->head] = now;
	p->v[p->head] = s->in_use;
	p->head = (p->head + 1) % SAMPLES;
	if (p->n < SAMPLES)
		p->n++;

	p->util = s->capacity ? (double)s->in_use / s->capacity : 0;
	p->growth = pool_growth(d, p, now);
	fc = p->forecast = detect_forecast_s(s, p->growth);
	warn = d->cfg.warn * (p->pressure.active ? HOLD : 1);
	crit = d->cfg.crit * (p->pressure.active && p->pressure.level == ALERT_CRITICAL ? HOLD : 1);
	/* runs dry within the horizon by the steady-state model (opens known) */
	soon = d->cfg.horizon_ns && s->opens_per_s >= 0 && fc >= 0 &&
	       fc * 1e9 <= (double)d->cfg.horizon_ns;
	on = s->capacity && (p->util >= warn || soon);
	level = on && p->util >= crit ? ALERT_CRITICAL : ALERT_WARNING;
	if (on)
		cond_event(&p->pressure, 1);
	if (on && p->pressure.active && level > p->pressure.level) {
		p->pressure.level = level;	/* escalation: say so now */
		p->pressure.last_true_ns = now;
		cond_line(d, &p->pressure, now);
		return fc;
	}
	if (on)
		p->pressure.level = level;
	cond_eval(d, &p->pressure, now, on, 1);
	return fc;
}

/* ---- tick ---- */

static void tick_pod(struct detect *d, struct pod_ent *p, uint64_t now)
{
	double thr = d->cfg.amplification;
	uint32_t unmatched = 0;
	struct flow_ent *f;
	bool on;

	p->app = p->side = p->fail = 0;
	DL_FOREACH2(p->flows, f, fnext) {
		f->a = win_sum(d, &f->app, now);
		f->s = win_sum(d, &f->side, now);
		f->f = win_sum(d, &f->fail, now);
		f->ratio = f->a ? (double)f->s / f->a : 0;
		on = f->a >= d->cfg.amp_min_count && f->s &&
		     f->ratio >= thr * (f->amp.active ? HOLD : 1);
		cond_eval(d, &f->amp, now, on, f->s);
		p->app += f->a;
		p->side += f->s;
		p->fail += f->f;
		if (!f->a)
			unmatched += f->s;
	}
	p->ratio = p->app ? (double)p->side / p->app : 0;
	/* By pod only when the proxy connects where the app did not (a Service
	 * address translated to endpoints, a remapped port); when every sidecar
	 * connection matches an app destination, those alerts say it all. */
	on = (unmatched || p->amp.active) && p->app >= d->cfg.amp_min_count &&
	     p->ratio >= thr * (p->amp.active ? HOLD : 1);
	cond_eval(d, &p->amp, now, on, p->side);
}

void detect_tick(struct detect *d, uint64_t now)
{
	struct node *n, *tmp;
	struct cond *c, *ctmp;
	uint64_t idle;

	if (!d)
		return;
	now = clock_at(d, now);
	HASH_ITER(hh, d->pods.hash, n, tmp)
		tick_pod(d, ENT(n, pod_ent), now);
	HASH_ITER(hh, d->containers.hash, n, tmp) {
		struct ctr_ent *e = ENT(n, ctr_ent);
		uint32_t sum = win_sum(d, &e->short_lived, now);
		double thr = d->cfg.churn_per_s * (e->churn.active ? HOLD : 1);

		e->rate = sum / win_span_s(d, now);
		cond_eval(d, &e->churn, now, e->rate >= thr, sum);
	}
	/* exhaustion and pressure turn on in their own calls: here they only
	 * summarise and clear */
	DL_FOREACH_SAFE(d->active, c, ctmp)
		if (c->of == OF_FAILING || c->of == OF_POOL)
			cond_eval(d, c, now, false, 0);

	idle = d->cfg.window_ns + d->cfg.clear_after_ns;
	tab_expire(d, &d->flows, now, idle);
	tab_expire(d, &d->pods, now, idle);
	tab_expire(d, &d->containers, now, idle);
	tab_expire(d, &d->pools, now, idle);
	tab_expire(d, &d->failing, now, idle);
}

/* ---- alerts ---- */

static void dest_str(const struct detect_dest *dest, char *buf, size_t len)
{
	char a[ADDR_STRLEN];
	bool v6 = !addr_is_v4(dest->family, dest->daddr);

	if (!dest->family) {
		snprintf(buf, len, "any destination");
		return;
	}
	addr_fmt(dest->family, dest->daddr, a, sizeof(a));
	snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", a, v6 ? "]" : "", dest->dport);
}

/* Hints are cut at the end of the buffer: numbers and the remedy come first,
 * names last. */
static void __attribute__((format(printf, 3, 4))) hintf(char *h, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(h, len, fmt, ap);
	va_end(ap);
}

static void hint_exhaustion(const struct alert *a, const struct detect_pool *pool, char *h,
			    size_t len)
{
	char ds[ADDR_STRLEN + 16], eb[16], who[sizeof(pool->holder) + 24] = "", use[48] = "";
	char range[64] = "";
	const char *en = errno_name(a->err, eb, sizeof(eb));

	dest_str(&a->dest, ds, sizeof(ds));
	if (pool->holder[0])
		snprintf(who, sizeof(who), "; top holder %s (%u)", pool->holder,
			 pool->holder_in_use);
	if (pool->size)
		snprintf(use, sizeof(use), " (%u of %u in use)", pool->in_use, pool->size);
	if (pool->kind == DETECT_POOL_SNAT) {
		hintf(h, len, "%s: node SNAT ports towards %s ran dry%s: add SNAT IPs / NAT "
		      "gateway ports, reuse connections (keep-alive, pooling)%s", en, ds, use, who);
		return;
	}
	if (pool->range_hi)
		snprintf(range, sizeof(range), " %u-%u", pool->range_lo, pool->range_hi);
	hintf(h, len, "%s: the pod's ip_local_port_range%s ran dry towards %s%s: reuse connections "
	      "(keep-alive, pooling), net.ipv4.tcp_tw_reuse=1, widen the range%s",
	      en, range, ds, use, who);
}

static void hint_pressure(const struct alert *a, const struct detect_sample *s, char *h,
			  size_t len)
{
	double tw_s = (s->tw_len_ns ? s->tw_len_ns : DEFAULT_TW_NS) / 1e9;
	double rate = s->opens_per_s > 0 ? s->opens_per_s : 0;
	double steady = rate * tw_s + s->open;
	char ds[ADDR_STRLEN + 16], fc[96];
	bool snat = s->pool == DETECT_POOL_SNAT;

	dest_str(&a->dest, ds, sizeof(ds));
	if (a->forecast_s == 0)
		snprintf(fc, sizeof(fc), "exhausted now");
	else if (a->forecast_s > 0)
		snprintf(fc, sizeof(fc), "exhausted in ~%.0f s at the current rate", a->forecast_s);
	else if (s->opens_per_s >= 0 && steady < s->capacity)
		snprintf(fc, sizeof(fc), "levels off at ~%.0f", steady);
	else
		snprintf(fc, sizeof(fc), "not growing");
	hintf(h, len, "%u of %u %s ports (%.0f%%) towards %s; %.*f conn/s x %.0f s TIME_WAIT: "
	      "%s; %s", a->in_use, a->capacity, snat ? "node SNAT" : "ephemeral",
	      a->utilization * 100, ds, rate < 10 ? 1 : 0, rate, tw_s, fc,
	      snat ? "add SNAT IPs / NAT gateway ports, reuse connections" :
		     "reuse connections (keep-alive, HTTP/2), net.ipv4.tcp_tw_reuse=1, "
		     "widen ip_local_port_range");
}

static void hint_amplification(const struct detect *d, const struct alert *a, char *h,
			       size_t len)
{
	char ds[ADDR_STRLEN + 16];
	uint32_t retries = a->sidecar_conns > a->app_conns ? a->sidecar_conns - a->app_conns : 0;

	dest_str(&a->dest, ds, sizeof(ds));
	hintf(h, len, "sidecar opens %.2f conns per app conn to %s (%u vs %u in %.0f s; %u extra, "
	      "%u failed: retries): DestinationRule connectionPool (keep-alive, "
	      "maxRequestsPerConnection=0, HTTP/2), fewer retries",
	      a->ratio, ds, a->sidecar_conns, a->app_conns, d->cfg.window_ns / 1e9, retries,
	      a->sidecar_failed);
}

static void hint_churn(const struct detect *d, const struct alert *a, char *h, size_t len)
{
	hintf(h, len, "%.0f short-lived (< %.1f s) conns/s over %.0f s, each port then held in "
	      "TIME_WAIT: no pooling/keep-alive; reuse connections (HTTP keep-alive, a client "
	      "pool, HTTP/2), net.ipv4.tcp_tw_reuse=1 as a stopgap",
	      a->rate_per_s, d->cfg.churn_max_life_ns / 1e9, d->cfg.window_ns / 1e9);
}

static void owner_set(struct detect_owner *o, const char *ns, const char *pod, const char *ctr,
		      enum pb_role role)
{
	copy_str(o->namespace_, sizeof(o->namespace_), ns);
	copy_str(o->pod, sizeof(o->pod), pod);
	copy_str(o->container, sizeof(o->container), ctr);
	o->role = role;
}

static void amp_fill(const struct detect *d, struct alert *a, const struct pod_ent *p,
		     const char *sidecar, uint32_t app, uint32_t side, uint32_t fail, double ratio)
{
	owner_set(&a->owner, p->key.ns, p->key.pod, sidecar, PB_ROLE_SIDECAR);
	a->ratio = ratio;
	a->app_conns = app;
	a->sidecar_conns = side;
	a->sidecar_failed = fail;
	hint_amplification(d, a, a->hint, sizeof(a->hint));
}

static void fill(const struct detect *d, const struct cond *c, enum alert_phase phase,
		 uint64_t now, struct alert *a)
{
	memset(a, 0, sizeof(*a));
	a->kind = c->kind;
	a->phase = phase;
	a->level = c->level;
	a->ts_ns = now;
	a->since_ns = c->since_ns;
	a->count = c->count;
	a->total = c->total;
	a->forecast_s = -1;
	switch (c->of) {
	case OF_FAILING: {
		const struct fail_ent *x = (const struct fail_ent *)c->ent;

		owner_set(&a->owner, x->key.owner.ns, x->key.owner.pod, x->key.owner.ctr, x->role);
		a->dest = x->key.dest;
		a->err = x->err;
		a->pool = x->pool.kind;
		a->in_use = x->pool.in_use;
		a->capacity = x->pool.size;
		hint_exhaustion(a, &x->pool, a->hint, sizeof(a->hint));
		break;
	}
	case OF_POOL: {
		const struct pool_ent *p = (const struct pool_ent *)c->ent;

		a->owner = p->top;
		a->dest = p->key;
		a->pool = p->last.pool;
		a->in_use = p->last.in_use;
		a->capacity = p->last.capacity;
		a->utilization = p->util;
		a->forecast_s = p->forecast;
		a->opens_per_s = p->last.opens_per_s;
		hint_pressure(a, &p->last, a->hint, sizeof(a->hint));
		break;
	}
	case OF_FLOW: {
		const struct flow_ent *f = (const struct flow_ent *)c->ent;

		a->dest.family = f->key.addr.family;
		a->dest.dport = f->key.addr.dport;
		memcpy(a->dest.daddr, f->key.addr.daddr, 16);
		amp_fill(d, a, f->pod, f->sidecar, f->a, f->s, f->f, f->ratio);
		break;
	}
	case OF_POD: {
		const struct pod_ent *p = (const struct pod_ent *)c->ent;

		a->pod_scope = true;
		amp_fill(d, a, p, p->sidecar, p->app, p->side, p->fail, p->ratio);
		break;
	}
	case OF_CONTAINER: {
		const struct ctr_ent *e = (const struct ctr_ent *)c->ent;

		owner_set(&a->owner, e->key.ns, e->key.pod, e->key.ctr, e->role);
		a->rate_per_s = e->rate;
		hint_churn(d, a, a->hint, sizeof(a->hint));
		break;
	}
	}
}

static void emit(struct detect *d, struct cond *c, enum alert_phase phase, uint64_t now)
{
	struct alert a;

	if (!d->fn)
		return;
	fill(d, c, phase, now, &a);
	d->fn(&a, d->ctx);
}

/* ---- queries ---- */

/* Namespace and pod of the alert held by C; its container (NULL: pod-wide). */
static void cond_who(const struct cond *c, const char **ns, const char **pod, const char **ctr)
{
	*ns = *pod = "";
	*ctr = NULL;
	switch (c->of) {
	case OF_FAILING: {
		const struct okey *k = &((const struct fail_ent *)c->ent)->key.owner;

		*ns = k->ns, *pod = k->pod, *ctr = k->ctr;
		break;
	}
	case OF_POOL: {
		const struct detect_owner *o = &((const struct pool_ent *)c->ent)->top;

		*ns = o->namespace_, *pod = o->pod, *ctr = o->container;
		break;
	}
	case OF_FLOW: {
		const struct pkey *k = &((const struct flow_ent *)c->ent)->pod->key;

		*ns = k->ns, *pod = k->pod;
		break;
	}
	case OF_POD: {
		const struct pkey *k = &((const struct pod_ent *)c->ent)->key;

		*ns = k->ns, *pod = k->pod;
		break;
	}
	case OF_CONTAINER: {
		const struct okey *k = &((const struct ctr_ent *)c->ent)->key;

		*ns = k->ns, *pod = k->pod, *ctr = k->ctr;
		break;
	}
	}
}

static bool str_is(const char *a, size_t alen, const char *b)
{
	return !strncmp(a, b ? b : "", alen - 1);
}

uint32_t detect_owner_flags(const struct detect *d, const struct detect_owner *o)
{
	const struct cond *c;
	const char *ns, *pod, *ctr;
	uint32_t flags = 0;

	if (!d || !o)
		return 0;
	DL_FOREACH(d->active, c) {
		cond_who(c, &ns, &pod, &ctr);
		if (!str_is(ns, PB_NS_LEN, o->namespace_) || !str_is(pod, PB_POD_LEN, o->pod))
			continue;
		if (!ctr || str_is(ctr, PB_CTR_LEN, o->container))
			flags |= 1u << c->kind;
	}
	return flags;
}

uint32_t detect_pod_flags(const struct detect *d, const char *namespace_, const char *pod)
{
	const struct cond *c;
	const char *ns, *p, *ctr;
	uint32_t flags = 0;

	if (!d)
		return 0;
	DL_FOREACH(d->active, c) {
		cond_who(c, &ns, &p, &ctr);
		if (str_is(ns, PB_NS_LEN, namespace_) && str_is(p, PB_POD_LEN, pod))
			flags |= 1u << c->kind;
	}
	return flags;
}

double detect_pod_amplification(const struct detect *d, const char *namespace_, const char *pod)
{
	struct packed pk;
	struct node *n;

	if (!d)
		return 0;
	pack_pod(&pk, namespace_, pod);
	n = tab_find(&d->pods, &pk);
	return n ? ENT(n, pod_ent)->ratio : 0;
}

void detect_foreach_flow(const struct detect *d, detect_flow_fn fn, void *ctx)
{
	struct node *n, *tmp;

	if (!d || !fn)
		return;
	HASH_ITER(hh, d->flows.hash, n, tmp) {
		const struct flow_ent *f = ENT(n, flow_ent);

		if (f->a || f->s)
			fn(ctx, f->key.pod.ns, f->key.pod.pod, f->key.addr.family, f->key.addr.daddr,
			   f->key.addr.dport, f->ratio);
	}
}

void detect_foreach_active(const struct detect *d, uint64_t now, detect_alert_fn fn, void *ctx)
{
	const struct cond *c;
	struct alert a;

	if (!d || !fn)
		return;
	DL_FOREACH(d->active, c) {
		fill(d, c, ALERT_SUMMARY, now > d->now ? now : d->now, &a);
		fn(&a, ctx);
	}
}

void detect_stats(const struct detect *d, struct detect_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!d)
		return;
	st->containers = HASH_COUNT(d->containers.hash);
	st->pods = HASH_COUNT(d->pods.hash);
	st->flows = HASH_COUNT(d->flows.hash);
	st->pools = HASH_COUNT(d->pools.hash);
	st->failing = HASH_COUNT(d->failing.hash);
	st->evicted = d->evicted;
	memcpy(st->alerts_total, d->alerts_total, sizeof(st->alerts_total));
	memcpy(st->active, d->n_active, sizeof(st->active));
}

uint64_t detect_alerts_total(const struct detect *d, enum alert_kind kind)
{
	return d && kind >= 0 && kind < ALERT_KINDS ? d->alerts_total[kind] : 0;
}

void detect_owner_from_info(struct detect_owner *o, const struct owner_info *oi)
{
	memset(o, 0, sizeof(*o));
	o->role = oi->role;
	if (oi->pod[0]) {
		copy_str(o->namespace_, sizeof(o->namespace_), oi->namespace);
		copy_str(o->pod, sizeof(o->pod), oi->pod);
		copy_str(o->container, sizeof(o->container), oi->container);
	} else {
		copy_str(o->pod, sizeof(o->pod), oi->display[0] ? oi->display : oi->comm);
	}
}

/* ---- formatting ---- */

static const char *const kind_names[ALERT_KINDS] = {
	[ALERT_EXHAUSTION] = "exhaustion",
	[ALERT_PRESSURE] = "pressure",
	[ALERT_AMPLIFICATION] = "amplification",
	[ALERT_CHURN] = "churn",
	[ALERT_SNAT_PRESSURE] = "snat_pressure",
};

const char *alert_kind_name(enum alert_kind kind)
{
	return kind >= 0 && kind < ALERT_KINDS ? kind_names[kind] : "unknown";
}

const char *alert_phase_name(enum alert_phase phase)
{
	switch (phase) {
	case ALERT_START:
		return "start";
	case ALERT_SUMMARY:
		return "summary";
	case ALERT_CLEAR:
		return "clear";
	}
	return "unknown";
}

static int add(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, k, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* V with at most DECIMALS decimals, as written ("0.95", not 0.94999...). */
static struct json_object *num(double v, int decimals)
{
	char buf[48];
	size_t n;

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	n = strlen(buf);
	if (strchr(buf, '.')) {
		while (buf[n - 1] == '0')
			buf[--n] = '\0';
		if (buf[n - 1] == '.')
			buf[--n] = '\0';
	}
	if (!strcmp(buf, "-0"))
		strcpy(buf, "0");
	return json_object_new_double_s(strtod(buf, NULL), buf);
}

/* K: V, or null when V is unknown (0 for counts, < 0 for seconds). */
static int add_known(struct json_object *o, const char *k, double v, bool known)
{
	if (!known)
		return json_object_object_add(o, k, NULL) ? -ENOMEM : 0;
	return add(o, k, num(v, 0));
}

struct json_object *detect_alert_json(const struct alert *a, uint64_t ts_ns)
{
	struct json_object *o = json_object_new_object();
	char buf[ADDR_STRLEN], eb[16];
	int err = 0;

	if (!o)
		return NULL;
	err |= add(o, "type", json_object_new_string("alert"));
	err |= add(o, "kind", json_object_new_string(alert_kind_name(a->kind)));
	err |= add(o, "phase", json_object_new_string(alert_phase_name(a->phase)));
	err |= add(o, "severity", json_object_new_string(a->level == ALERT_CRITICAL ?
							      "critical" : "warning"));
	err |= add(o, "ts_ns", json_object_new_uint64(ts_ns));
	err |= add(o, "namespace", esc_json_string(a->owner.namespace_, 0));
	err |= add(o, "pod", esc_json_string(a->owner.pod, 0));
	err |= add(o, "container", esc_json_string(a->owner.container, 0));
	err |= add(o, "role", json_object_new_string(pb_role_name(a->owner.role)));
	err |= add(o, "daddr", json_object_new_string(a->dest.family ?
		   addr_fmt(a->dest.family, a->dest.daddr, buf, sizeof(buf)) : "*"));
	err |= add(o, "dport", json_object_new_int(a->dest.dport));
	err |= add(o, "count", json_object_new_uint64(a->count));
	err |= add(o, "total", json_object_new_uint64(a->total));
	switch (a->kind) {
	case ALERT_EXHAUSTION:
		err |= add(o, "errno", json_object_new_string(errno_name(a->err, eb, sizeof(eb))));
		err |= add(o, "pool", json_object_new_string(a->pool == DETECT_POOL_SNAT ?
							      "snat" : "netns"));
		err |= add_known(o, "in_use", a->in_use, a->capacity);
		err |= add_known(o, "capacity", a->capacity, a->capacity);
		break;
	case ALERT_PRESSURE:
	case ALERT_SNAT_PRESSURE:
		err |= add(o, "utilization", num(a->utilization, 3));
		err |= add_known(o, "forecast_s", a->forecast_s, a->forecast_s >= 0);
		err |= add(o, "pool", json_object_new_string(a->pool == DETECT_POOL_SNAT ?
							      "snat" : "netns"));
		err |= add(o, "in_use", json_object_new_int64(a->in_use));
		err |= add(o, "capacity", json_object_new_int64(a->capacity));
		err |= add(o, "opens_per_s", num(a->opens_per_s > 0 ? a->opens_per_s : 0, 1));
		break;
	case ALERT_AMPLIFICATION:
		err |= add(o, "ratio", num(a->ratio, 2));
		err |= add(o, "scope",
			   json_object_new_string(a->pod_scope ? "pod" : "destination"));
		err |= add(o, "app_conns", json_object_new_int64(a->app_conns));
		err |= add(o, "sidecar_conns", json_object_new_int64(a->sidecar_conns));
		err |= add(o, "sidecar_failed", json_object_new_int64(a->sidecar_failed));
		break;
	case ALERT_CHURN:
		err |= add(o, "rate_per_s", num(a->rate_per_s, 1));
		break;
	default:
		break;
	}
	err |= add(o, "hint", esc_json_string(a->hint, sizeof(a->hint) * 2));
	if (err) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

size_t detect_alert_text(const struct alert *a, char *buf, size_t len)
{
	char ns[4 * PB_NS_LEN], pod[4 * PB_POD_LEN], ctr[4 * PB_CTR_LEN], hint[4 * 256];
	char ds[ADDR_STRLEN + 16];
	int n;

	if (!len)
		return 0;
	esc_term(ns, sizeof(ns), a->owner.namespace_);
	esc_term(pod, sizeof(pod), a->owner.pod);
	esc_term(ctr, sizeof(ctr), a->owner.container);
	esc_term(hint, sizeof(hint), a->hint);
	dest_str(&a->dest, ds, sizeof(ds));
	n = snprintf(buf, len, "ALERT %s %s%s %s%s%s%s%s -> %s: %s", alert_kind_name(a->kind),
		     alert_phase_name(a->phase), a->level == ALERT_CRITICAL ? " (critical)" : "",
		     ns, ns[0] ? "/" : "", pod, ctr[0] ? "/" : "", ctr, ds, hint);
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n < len ? (size_t)n : len - 1;
}
