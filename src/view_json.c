// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "escape.h"
#include "util.h"
#include "view_json.h"

static void add_s(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, esc_json_string(v, 1024));
}

static void add_i(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void add_d(struct json_object *o, const char *k, double v)
{
	json_object_object_add(o, k, json_object_new_double(v));
}

static void add_addr(struct json_object *o, const char *k, int family, const uint8_t *a)
{
	char buf[ADDR_STRLEN];

	json_object_object_add(o, k, json_object_new_string(addr_fmt(family, a, buf, sizeof(buf))));
}

struct json_object *view_to_json(const struct view *v)
{
	struct json_object *root = json_object_new_object();
	struct json_object *pods = json_object_new_array();
	struct json_object *dests = json_object_new_array();
	struct json_object *snat = json_object_new_array();

	add_s(root, "node", v->node);
	add_s(root, "mode", v->mode ? v->mode : "");
	add_i(root, "ts_ns", v->ts_ns);
	for (size_t i = 0; i < v->n_pods; i++) {
		const struct view_pod *p = &v->pods[i];
		struct json_object *o = json_object_new_object();

		add_s(o, "namespace", p->namespace_);
		add_s(o, "pod", p->pod);
		add_i(o, "in_use", p->in_use);
		add_i(o, "open", p->open);
		add_i(o, "time_wait", p->time_wait);
		add_i(o, "connects", p->connects_total);
		add_i(o, "failures", p->failures_total);
		add_d(o, "worst_utilization", p->worst_utilization);
		json_object_array_add(pods, o);
	}
	for (size_t i = 0; i < v->n_dests; i++) {
		const struct view_dest *d = &v->dests[i];
		struct json_object *o = json_object_new_object();
		struct json_object *owners = json_object_new_array();

		add_i(o, "netns", d->netns);
		add_addr(o, "saddr", d->family, d->saddr);
		add_addr(o, "daddr", d->family, d->daddr);
		add_i(o, "dport", d->dport);
		add_i(o, "open", d->open);
		add_i(o, "time_wait", d->time_wait);
		add_i(o, "in_use", d->in_use);
		add_i(o, "capacity", d->capacity);
		add_d(o, "utilization", d->utilization);
		for (size_t j = 0; j < d->n_owners; j++) {
			const struct view_dest_owner *x = &d->owners[j];
			struct json_object *w = json_object_new_object();
			const struct view_owner *vo = x->owner >= 0 ? &v->owners[x->owner] : NULL;

			add_s(w, "namespace", vo ? vo->namespace_ : "");
			add_s(w, "pod", vo ? vo->pod : "unknown");
			add_s(w, "container", vo ? vo->container : "");
			add_s(w, "role", vo && vo->role == VIEW_ROLE_SIDECAR ? "sidecar" : "app");
			add_s(w, "owner", vo ? vo->display : "unknown");
			add_i(w, "in_use", x->in_use);
			add_i(w, "open", x->open);
			add_i(w, "time_wait", x->time_wait);
			json_object_array_add(owners, w);
		}
		json_object_object_add(o, "owners", owners);
		json_object_array_add(dests, o);
	}
	for (size_t i = 0; i < v->n_snat; i++) {
		const struct view_snat *s = &v->snat[i];
		struct json_object *o = json_object_new_object();
		struct json_object *sp = json_object_new_array();

		add_addr(o, "daddr", s->family, s->daddr);
		add_i(o, "dport", s->dport);
		add_i(o, "in_use", s->in_use);
		add_i(o, "budget", s->budget);
		add_d(o, "utilization", s->utilization);
		for (size_t j = 0; j < s->n_pods; j++) {
			struct json_object *w = json_object_new_object();
			const struct view_pod *p = &v->pods[s->pods[j]];

			add_s(w, "namespace", p->namespace_);
			add_s(w, "pod", p->pod);
			add_i(w, "in_use", s->pod_in_use[j]);
			json_object_array_add(sp, w);
		}
		json_object_object_add(o, "pods", sp);
		json_object_array_add(snat, o);
	}
	json_object_object_add(root, "pods", pods);
	json_object_object_add(root, "destinations", dests);
	json_object_object_add(root, "snat", snat);
	add_i(root, "events_lost", v->events_lost_total);
	add_i(root, "untracked", v->untracked_total);
	add_i(root, "reconcile_drift", v->reconcile_drift_total);
	return root;
}

void view_print_json(const struct view *v, FILE *out)
{
	struct json_object *o = view_to_json(v);

	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						JSON_C_TO_STRING_NOSLASHESCAPE),
	      out);
	fputc('\n', out);
	json_object_put(o);
}

static int by_pod_in_use(const void *a, const void *b)
{
	const struct view_pod *x = a, *y = b;

	return (int)y->in_use - (int)x->in_use;
}

void view_print_text(const struct view *v, FILE *out)
{
	char name[1024], ns[512], sa[ADDR_STRLEN], da[ADDR_STRLEN];
	struct view_pod *pods = malloc(v->n_pods * sizeof(*pods) + 1);

	fprintf(out, "node %s, hook mode %s\n\n", v->node, v->mode ? v->mode : "?");
	fprintf(out, "%-50s %8s %8s %8s %6s\n", "NAMESPACE/POD", "IN-USE", "OPEN", "TW", "WORST");
	if (pods) {
		memcpy(pods, v->pods, v->n_pods * sizeof(*pods));
		qsort(pods, v->n_pods, sizeof(*pods), by_pod_in_use);
		for (size_t i = 0; i < v->n_pods; i++) {
			esc_term(ns, sizeof(ns), pods[i].namespace_);
			esc_term(name, sizeof(name), pods[i].pod);
			fprintf(out, "%-50s %8u %8u %8u %5.1f%%\n",
				ns[0] ? strcat(strcat(ns, "/"), name) : name, pods[i].in_use,
				pods[i].open, pods[i].time_wait, pods[i].worst_utilization * 100);
		}
		free(pods);
	}
	fprintf(out, "\n%-12s %-40s %6s %6s %6s %8s %6s\n", "NETNS", "SOURCE -> DESTINATION", "OPEN",
		"TW", "IN-USE", "CAPACITY", "UTIL");
	for (size_t i = 0; i < v->n_dests; i++) {
		const struct view_dest *d = &v->dests[i];
		char pair[128];

		snprintf(pair, sizeof(pair), "%s -> %s:%u", addr_fmt(d->family, d->saddr, sa, sizeof(sa)),
			 addr_fmt(d->family, d->daddr, da, sizeof(da)), d->dport);
		fprintf(out, "%-12u %-40s %6u %6u %6u %8u %5.1f%%\n", d->netns, pair, d->open,
			d->time_wait, d->in_use, d->capacity, d->utilization * 100);
		for (size_t j = 0; j < d->n_owners; j++) {
			const struct view_dest_owner *x = &d->owners[j];

			esc_term(name, sizeof(name), x->owner >= 0 ? v->owners[x->owner].display : "?");
			fprintf(out, "%14s %-50s %6u\n", "", name, x->in_use);
		}
	}
	if (v->n_snat) {
		fprintf(out, "\n%-40s %8s %8s %6s\n", "SNAT DESTINATION", "IN-USE", "BUDGET", "UTIL");
		for (size_t i = 0; i < v->n_snat; i++) {
			const struct view_snat *s = &v->snat[i];
			char pair[80];

			snprintf(pair, sizeof(pair), "%s:%u",
				 addr_fmt(s->family, s->daddr, da, sizeof(da)), s->dport);
			fprintf(out, "%-40s %8u %8u %5.1f%%\n", pair, s->in_use, s->budget,
				s->utilization * 100);
		}
	}
}
