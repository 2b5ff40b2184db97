// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd.h"
#include "engine.h"
#include "ledger.h"
#include "log.h"
#include "owner.h"
#include "tracer.h"
#include "util.h"

#define VIEW_EVERY_NS 1000000000ULL

struct engine {
	struct common_opts *c;
	struct owner_resolver *owners;
	struct tracer *tracer;
	struct ledger *ledger;
	struct detect *detect;
	struct view view;
	uint64_t next_view, next_reconcile, next_trim;
	engine_event_fn on_event;
	engine_alert_fn on_alert;
	void *ctx;
};

/* Say once, at start, when the kubelet's logs cannot be read: Kubernetes
 * names are then unknown (pods are still told apart by cgroup and netns). */
static void kubelet_logs_check(const char *host_root)
{
	static const char *const dirs[] = { "var/log/containers", "var/log/pods" };
	char path[4096];

	for (size_t i = 0; i < 2; i++) {
		DIR *d;

		snprintf(path, sizeof(path), "%s/%s", strcmp(host_root, "/") ? host_root : "",
			 dirs[i]);
		d = opendir(path);
		if (d) {
			closedir(d);
			continue;
		}
		log_warnx("cannot read the kubelet's logs at %s (%s): pod and container names "
			  "unknown (expected on a host without Kubernetes)",
			  path, strerror(errno));
		return;
	}
}

static int on_tracer_event(void *arg, const struct pb_event *ev)
{
	struct engine *e = arg;

	ledger_event(e->ledger, ev, mono_ns());
	if (e->on_event)
		e->on_event(e->ctx, ev);
	return 0;
}

static void on_alert(const struct alert *a, void *arg)
{
	struct engine *e = arg;

	if (e->on_alert)
		e->on_alert(e->ctx, a);
}

static void dest_of(struct detect_dest *dd, const struct pb_event *ev)
{
	memset(dd, 0, sizeof(*dd));
	dd->netns = ev->owner.netns;
	dd->family = ev->family;
	dd->dport = ev->dport;
	memcpy(dd->daddr, ev->daddr, 16);
	memcpy(dd->saddr, ev->saddr, 16);
}

/* The ledger applied an event: tell the detectors. */
static void on_ledger_event(void *arg, const struct ledger_event_info *i)
{
	struct engine *e = arg;
	const struct pb_event *ev = i->e;
	uint64_t now = mono_ns();
	struct detect_owner o;
	struct detect_dest dd;
	struct detect_pool pool = {};

	detect_owner_from_info(&o, i->owner);
	dest_of(&dd, ev);
	switch (ev->type) {
	case PB_EV_CONNECT:
		detect_connect(e->detect, now, &o, &dd);
		break;
	case PB_EV_CLOSE:
	case PB_EV_TIME_WAIT:
		detect_close(e->detect, now, &o, &dd, ev->duration_ns);
		break;
	case PB_EV_BIND_FAILED:
		/* bind() to a port someone else holds is a conflict, not the range
		 * running dry; only a bind to port 0 allocates. */
		if (ev->sport)
			break;
		/* fallthrough */
	case PB_EV_CONNECT_FAILED:
		pool.kind = DETECT_POOL_NETNS;
		pool.size = i->capacity;
		pool.in_use = i->dest_in_use;
		pool.range_lo = i->range_lo;
		pool.range_hi = i->range_hi;
		snprintf(pool.holder, sizeof(pool.holder), "%.*s", (int)sizeof(pool.holder) - 1,
			 i->holder ? i->holder->display : i->owner->display);
		pool.holder_in_use = i->holder_in_use;
		detect_failure(e->detect, now, &o, &dd, ev->err, &pool);
		break;
	}
}

static void pump(void *arg)
{
	struct engine *e = arg;

	tracer_poll_nowait(e->tracer);
}

static void owner_of_view(struct detect_owner *o, const struct view_owner *vo)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->namespace_, sizeof(o->namespace_), "%.*s", (int)sizeof(o->namespace_) - 1, vo->namespace_);
	snprintf(o->pod, sizeof(o->pod), "%.*s", (int)sizeof(o->pod) - 1, vo->pod);
	snprintf(o->container, sizeof(o->container), "%.*s", (int)sizeof(o->container) - 1, vo->container);
	o->role = vo->role == VIEW_ROLE_SIDECAR ? PB_ROLE_SIDECAR : PB_ROLE_APP;
}

static void add_flow(void *arg, const char *ns, const char *pod, int family, const uint8_t *daddr,
		     uint16_t dport, double ratio)
{
	struct view *v = arg;
	struct view_amp *a;
	size_t p;

	if (ratio <= 0)
		return;
	for (p = 0; p < v->n_pods; p++)
		if (!strcmp(v->pods[p].namespace_, ns) && !strcmp(v->pods[p].pod, pod))
			break;
	if (p == v->n_pods)
		return;
	a = realloc(v->amps, (v->n_amps + 1) * sizeof(*a));
	if (!a)
		return;
	v->amps = a;
	a = &v->amps[v->n_amps++];
	memset(a, 0, sizeof(*a));
	a->pod = p;
	a->family = family;
	a->dport = dport;
	memcpy(a->daddr, daddr, 16);
	a->ratio = ratio;
}

/* Feed the detectors the pools' utilization and take back forecasts and flags. */
static void detect_view(struct engine *e, struct view *v, uint64_t now)
{
	struct detect_stats st;

	for (size_t i = 0; i < v->n_dests; i++) {
		struct view_dest *d = &v->dests[i];
		struct detect_sample s = { .pool = DETECT_POOL_NETNS, .in_use = d->in_use,
					   .open = d->open, .capacity = d->capacity,
					   .opens_per_s = d->opens_per_s };
		struct detect_dest dd = { .netns = d->netns, .family = d->family, .dport = d->dport };
		struct detect_owner top, *topp = NULL;
		uint32_t best = 0;

		memcpy(dd.daddr, d->daddr, 16);
		memcpy(dd.saddr, d->saddr, 16);
		for (size_t j = 0; j < d->n_owners; j++) {
			if (d->owners[j].owner >= 0 && d->owners[j].in_use > best) {
				best = d->owners[j].in_use;
				owner_of_view(&top, &v->owners[d->owners[j].owner]);
				topp = &top;
			}
		}
		d->forecast_s = detect_utilization(e->detect, now, &dd, topp, &s);
	}
	for (size_t i = 0; i < v->n_snat; i++) {
		struct view_snat *sn = &v->snat[i];
		struct detect_sample s = { .pool = DETECT_POOL_SNAT, .in_use = sn->in_use,
					   .open = sn->in_use, .capacity = sn->budget,
					   .opens_per_s = -1 };
		struct detect_dest dd = { .family = sn->family, .dport = sn->dport };

		memcpy(dd.daddr, sn->daddr, 16);
		detect_utilization(e->detect, now, &dd, NULL, &s);
	}
	detect_tick(e->detect, now);
	for (size_t i = 0; i < v->n_owners; i++) {
		struct detect_owner o;

		owner_of_view(&o, &v->owners[i]);
		v->owners[i].alert_flags = detect_owner_flags(e->detect, &o);
		v->owners[i].amplification =
			detect_pod_amplification(e->detect, v->owners[i].namespace_, v->owners[i].pod);
	}
	for (size_t i = 0; i < v->n_pods; i++) {
		v->pods[i].alert_flags =
			detect_pod_flags(e->detect, v->pods[i].namespace_, v->pods[i].pod);
		v->pods[i].amplification =
			detect_pod_amplification(e->detect, v->pods[i].namespace_, v->pods[i].pod);
	}
	detect_foreach_flow(e->detect, add_flow, v);
	detect_stats(e->detect, &st);
	memcpy(v->alerts_total, st.alerts_total, sizeof(st.alerts_total));
}

static int rebuild_view(struct engine *e, uint64_t now)
{
	struct view v;
	int err = ledger_view(e->ledger, &v, now);

	if (err)
		return err;
	v.mode = pb_mode_name(tracer_mode(e->tracer));
	v.events_lost_total = engine_lost(e);
	v.untracked_total += tracer_drops(e->tracer, PB_DROP_SOCKS_FULL);
	detect_view(e, &v, now);
	view_free(&e->view);
	e->view = v;
	return 0;
}

struct engine *engine_new(struct common_opts *c, engine_event_fn on_event,
			  engine_alert_fn on_alert_fn, void *ctx)
{
	struct engine *e = calloc(1, sizeof(*e));
	uint64_t now;
	int err;

	if (!e) {
		log_warn("failed to allocate the engine");
		return NULL;
	}
	e->c = c;
	e->on_event = on_event;
	e->on_alert = on_alert_fn;
	e->ctx = ctx;
	e->owners = owner_resolver_new_cg(c->host_root, c->sidecar_names[0] ? c->sidecar_names : NULL,
					  c->cgroup_v1);
	if (!e->owners)
		log_warnx("failed to set up owner attribution: names unknown");
	kubelet_logs_check(c->host_root);
	c->ledger.host_root = c->host_root;
	e->ledger = ledger_new(&c->ledger, e->owners);
	e->detect = detect_new(&c->detect, on_alert, e);
	if (!e->ledger || !e->detect) {
		log_warn("failed to create the ledger");
		goto err;
	}
	ledger_set_hook(e->ledger, on_ledger_event, e);
	e->tracer = tracer_new(&c->tracer, on_tracer_event, e);
	if (!e->tracer)
		goto err;
	/* Right the second it starts: what the kernel holds now. */
	now = mono_ns();
	err = ledger_reconcile(e->ledger, tracer_iter_fd(e->tracer), now, true);
	if (err)
		log_warnx("failed to walk sockets at start-up: %s; counts start from zero",
			  strerror(-err));
	/* Later walks drain events as they go; this first one must not: the
	 * caller handles events only from its first engine_poll(). */
	ledger_set_pump(e->ledger, pump, e);
	e->next_reconcile = now + c->reconcile_s * 1000000000ULL;
	rebuild_view(e, now);
	e->next_view = now + VIEW_EVERY_NS;
	return e;
err:
	engine_free(e);
	return NULL;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	tracer_free(e->tracer);
	view_free(&e->view);
	detect_free(e->detect);
	ledger_free(e->ledger);
	owner_resolver_free(e->owners);
	free(e);
}

int engine_poll(struct engine *e)
{
	int n = tracer_poll(e->tracer);
	uint64_t now = mono_ns();

	if (n < 0)
		return n;
	if (now >= e->next_reconcile) {
		/* Apply what is queued first, so in-flight events are not drift. */
		tracer_poll_nowait(e->tracer);
		n = ledger_reconcile(e->ledger, tracer_iter_fd(e->tracer), now, false);
		if (n)
			log_warnx("failed to reconcile with the kernel: %s", strerror(-n));
		/* A walk costs CPU in proportion to the sockets (a million TIME_WAIT
		 * take seconds): at most ~5 % of a CPU, whatever --reconcile says. */
		{
			uint64_t took = mono_ns() - now, every = e->c->reconcile_s * 1000000000ULL;

			if (took * 20 > every) {
				log_debug("reconcile took %.2f s: next in %.0f s", took / 1e9,
					  took * 20 / 1e9);
				every = took * 20;
			}
			e->next_reconcile = mono_ns() + every;
		}
	}
	if (now >= e->next_trim) {
		/* What gone pods left is free but stays in the process's heap,
		 * in pieces the next pods' allocations do not always fit: give
		 * the free pages back, once a minute. */
		malloc_trim(0);
		e->next_trim = now + 60000000000ULL;
	}
	if (now < e->next_view)
		return 0;
	e->next_view = now + VIEW_EVERY_NS;
	n = rebuild_view(e, now);
	return n ? n : 1;
}

const struct view *engine_view(const struct engine *e)
{
	return &e->view;
}

const char *engine_mode(const struct engine *e)
{
	return pb_mode_name(tracer_mode(e->tracer));
}

void engine_stop(struct engine *e)
{
	tracer_stop(e->tracer);
}

/* Lost: the ring buffer was full, or a program run was skipped (re-entered). */
uint64_t engine_lost(const struct engine *e)
{
	return tracer_drops(e->tracer, PB_DROP_RINGBUF) + tracer_missed(e->tracer);
}

struct tracer *engine_tracer(const struct engine *e)
{
	return e->tracer;
}

struct owner_resolver *engine_owners(const struct engine *e)
{
	return e->owners;
}
