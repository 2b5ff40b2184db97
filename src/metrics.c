// SPDX-License-Identifier: GPL-2.0-only
/* Prometheus exposition of a view (deploy/METRICS.md is the contract).
 *
 * Every family is built as a list of series (escaped label string, value),
 * sorted by labels so that equal label sets merge and the output is stable.
 * Counters go through a table in the state that keeps them monotonic and
 * keeps series of gone owners for METRICS_KEEP_S. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#ifndef PORTBURN_VERSION
#define PORTBURN_VERSION "unknown"
#endif

/* An escaped label value: every input byte may become U+FFFD (3 bytes). */
#define LABEL_MAX (VIEW_NAME_LEN * 3 + 1)

/* portburn_alerts_total{kind}, in the order of METRICS.md. SNAT pressure has
 * no enum alert_kind yet: it is expected at index 4 of view.alerts_total. */
static const struct {
	int idx;
	const char *name;
} alert_kinds[] = {
	{ ALERT_EXHAUSTION, "exhaustion" },
	{ ALERT_PRESSURE, "pressure" },
	{ ALERT_SNAT_PRESSURE, "snat_pressure" },
	{ ALERT_AMPLIFICATION, "amplification" },
	{ ALERT_CHURN, "churn" },
};

struct series {
	char *labels;		/* escaped, without braces */
	uint64_t u;		/* counters and integer gauges */
};

struct ctr {
	char *labels;
	uint64_t base;		/* folded from owners that left or went down */
	uint64_t last;		/* sum over the owners in the last view */
	uint64_t seen_ns;	/* view time the series was last in a view */
};

struct ctr_table {
	struct ctr *v;
	size_t n;
};

struct metrics_state {
	struct ctr_table connects, failures;
};

/* A ratio towards one destination, before top-N folding. */
struct fold_row {
	char *group;		/* escaped labels of the pod, "" for the node */
	char daddr[ADDR_STRLEN];
	uint16_t dport;
	double v;
};

struct list {
	void *v;
	size_t n, cap, size;
};

static void *list_add(struct list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = reallocarray(l->v, cap, l->size);

		if (!p)
			return NULL;
		l->v = p;
		l->cap = cap;
	}
	return memset((char *)l->v + l->n++ * l->size, 0, l->size);
}

struct metrics_state *metrics_state_new(void)
{
	struct metrics_state *s = calloc(1, sizeof(*s));

	if (!s)
		log_warn("failed to allocate metrics state");
	return s;
}

static void ctr_table_clear(struct ctr_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].labels);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

void metrics_state_free(struct metrics_state *s)
{
	if (!s)
		return;
	ctr_table_clear(&s->connects);
	ctr_table_clear(&s->failures);
	free(s);
}

/* The raw name (a char[VIEW_NAME_LEN], maybe not terminated) as a label value. */
static void esc_label(char *dst, const char *raw)
{
	esc_mem(ESC_PROM, dst, LABEL_MAX, raw, raw ? strnlen(raw, VIEW_NAME_LEN) : 0);
}

/* The owner's labels as METRICS.md has them. A pod's container as is. Not a
 * pod (the view has namespace "", pod = the unit, docker container or process
 * name): pod="host", container=that name; the host network namespace itself:
 * pod="host", container=""; no owner found: pod="unknown", container="". */
static void owner_names(const struct view_owner *o, const char **pod, const char **ctr)
{
	*pod = o->pod;
	*ctr = o->container;
	switch (o->kind) {
	case VIEW_KIND_POD:
		return;
	case VIEW_KIND_HOST:
		*pod = "host";
		*ctr = "";
		return;
	case VIEW_KIND_OTHER:
		*pod = "host";
		*ctr = o->container[0] ? o->container : o->pod;
		return;
	case VIEW_KIND_UNKNOWN:
		*pod = "unknown";
		*ctr = "";
		return;
	case VIEW_KIND_AUTO:
		break;
	}
	if (o->namespace_[0])
		return;
	if (o->container[0]) {
		*pod = "host";
	} else if (!o->pod[0] || !strncmp(o->pod, "unknown", VIEW_NAME_LEN)) {
		*pod = "unknown";
	} else if (strncmp(o->pod, "host", VIEW_NAME_LEN)) {
		*pod = "host";
		*ctr = o->pod;
	}
}

/* namespace="..",pod=".."[,container=".."][,EXTRA=".."] of an owner. */
static char *owner_labels(const struct view_owner *o, bool with_container, const char *extra_name,
			  const char *extra_value)
{
	char ns[LABEL_MAX], pod[LABEL_MAX], ctr[LABEL_MAX], extra[LABEL_MAX];
	const char *p, *c;
	char *s;
	int n;

	owner_names(o, &p, &c);
	esc_label(ns, o->namespace_);
	esc_label(pod, p);
	esc_label(ctr, c);
	if (extra_name)
		esc_label(extra, extra_value);
	if (with_container && extra_name)
		n = asprintf(&s, "namespace=\"%s\",pod=\"%s\",container=\"%s\",%s=\"%s\"", ns, pod,
			     ctr, extra_name, extra);
	else if (with_container)
		n = asprintf(&s, "namespace=\"%s\",pod=\"%s\",container=\"%s\"", ns, pod, ctr);
	else
		n = asprintf(&s, "namespace=\"%s\",pod=\"%s\"", ns, pod);
	return n < 0 ? NULL : s;
}

static int cmp_series(const void *a, const void *b)
{
	return strcmp(((const struct series *)a)->labels, ((const struct series *)b)->labels);
}

/* Sort by labels and sum series with equal labels (owners that look the same
 * from outside, e.g. a restarted container). Returns the new count. */
static size_t series_merge(struct series *s, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(s, n, sizeof(*s), cmp_series);
	for (size_t i = 1; i < n; i++) {
		if (!strcmp(s[out].labels, s[i].labels)) {
			s[out].u += s[i].u;
			free(s[i].labels);
		} else {
			s[++out] = s[i];
		}
	}
	return out + 1;
}

static void series_free(struct list *l)
{
	struct series *s = l->v;

	for (size_t i = 0; i < l->n; i++)
		free(s[i].labels);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int series_push(struct list *l, char *labels, uint64_t u)
{
	struct series *s;

	if (!labels)
		return -ENOMEM;
	s = list_add(l);
	if (!s) {
		free(labels);
		return -ENOMEM;
	}
	s->labels = labels;
	s->u = u;
	return 0;
}

/* Shortest %g form that reads back as the same double (Go's FormatFloat -1 in spirit). */
static const char *fmt_double(char *buf, size_t len, double v)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return buf;
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* --- counters kept across views ----------------------------------------- */

/* Merge the current sums CUR (sorted, unique) into T at view time NOW:
 * - in both: a sum that went down (an owner left while another with the same
 *   labels stays) folds the difference into base, so the series never drops;
 * - only in T: the owners left; fold last into base once, keep the series
 *   until NOW - seen_ns > METRICS_KEEP_S, then drop it;
 * - only in CUR: a new series from 0 + its sum.
 * CUR's labels move into T. */
static int ctr_update(struct ctr_table *t, struct series *cur, size_t ncur, uint64_t now)
{
	const uint64_t keep = (uint64_t)METRICS_KEEP_S * 1000000000ULL;
	struct ctr *out = calloc(t->n + ncur + 1, sizeof(*out));
	size_t i = 0, j = 0, n = 0;

	if (!out)
		return -ENOMEM;
	while (i < t->n || j < ncur) {
		int c = i == t->n ? 1 : j == ncur ? -1 : strcmp(t->v[i].labels, cur[j].labels);

		if (c == 0) {
			struct ctr *o = &t->v[i++];

			if (cur[j].u < o->last)
				o->base += o->last - cur[j].u;
			o->last = cur[j].u;
			o->seen_ns = now;
			free(cur[j].labels);
			cur[j++].labels = NULL;
			out[n++] = *o;
		} else if (c < 0) {
			struct ctr *o = &t->v[i++];

			if (now > o->seen_ns && now - o->seen_ns > keep) {
				free(o->labels);
				continue;
			}
			o->base += o->last;
			o->last = 0;
			out[n++] = *o;
		} else {
			out[n++] = (struct ctr){ .labels = cur[j].labels, .last = cur[j].u,
						 .seen_ns = now };
			cur[j++].labels = NULL;
		}
	}
	free(t->v);
	t->v = out;
	t->n = n;
	return 0;
}

static void ctr_write(FILE *f, const char *name, const struct ctr_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		fprintf(f, "%s{%s} %" PRIu64 "\n", name, t->v[i].labels,
			t->v[i].base + t->v[i].last);
}

/* --- destination ratios, top N per group --------------------------------- */

static int cmp_fold_key(const void *a, const void *b)
{
	const struct fold_row *x = a, *y = b;
	int c = strcmp(x->group, y->group);

	if (c)
		return c;
	c = strcmp(x->daddr, y->daddr);
	if (c)
		return c;
	return (int)x->dport - (int)y->dport;
}

/* Largest value first; equal values by address and port, for a stable output. */
static int cmp_fold_value(const void *a, const void *b)
{
	const struct fold_row *x = a, *y = b;

	if (x->v != y->v)
		return x->v > y->v ? -1 : 1;
	return cmp_fold_key(a, b);
}

static int fold_push(struct list *l, const char *group, int family, uint16_t dport,
		     const uint8_t *daddr, double v)
{
	struct fold_row *r;

	if (!(v > 0) || !isfinite(v))	/* zero gauges are not exported; NaN is no value */
		return 0;
	r = list_add(l);
	if (!r)
		return -ENOMEM;
	r->group = strdup(group);
	if (!r->group) {
		l->n--;
		return -ENOMEM;
	}
	addr_fmt(family, daddr, r->daddr, sizeof(r->daddr));
	r->dport = dport;
	r->v = v;
	return 0;
}

static void fold_free(struct list *l)
{
	struct fold_row *r = l->v;

	for (size_t i = 0; i < l->n; i++)
		free(r[i].group);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Per group: the same destination seen more than once (several source
 * addresses, several containers) keeps its largest value; then the top
 * METRICS_TOP_N by value, and the rest as daddr="other",dport="other" with the
 * largest value among them. */
static void fold_write(FILE *f, const char *name, struct list *l)
{
	struct fold_row *r = l->v;
	size_t n = 0;
	char num[32];

	if (l->n == 0)
		return;
	qsort(r, l->n, sizeof(*r), cmp_fold_key);
	for (size_t i = 1; i < l->n; i++) {
		if (!cmp_fold_key(&r[n], &r[i])) {
			if (r[i].v > r[n].v)
				r[n].v = r[i].v;
			free(r[i].group);
		} else {
			r[++n] = r[i];
		}
	}
	l->n = n + 1;
	for (size_t start = 0, end; start < l->n; start = end) {
		const char *sep = r[start].group[0] ? "," : "";
		double rest = 0;

		for (end = start + 1; end < l->n && !strcmp(r[start].group, r[end].group); end++)
			;
		qsort(r + start, end - start, sizeof(*r), cmp_fold_value);
		for (size_t i = start; i < end; i++) {
			if (i - start >= METRICS_TOP_N) {
				if (r[i].v > rest)
					rest = r[i].v;
				continue;
			}
			fprintf(f, "%s{%s%sdaddr=\"%s\",dport=\"%u\"} %s\n", name, r[i].group, sep,
				r[i].daddr, r[i].dport, fmt_double(num, sizeof(num), r[i].v));
		}
		if (end - start > METRICS_TOP_N)
			fprintf(f, "%s{%s%sdaddr=\"other\",dport=\"other\"} %s\n", name,
				r[start].group, sep, fmt_double(num, sizeof(num), rest));
	}
}

/* --- the families --------------------------------------------------------- */

static const struct view_owner *owner_at(const struct view *v, int idx)
{
	return idx >= 0 && (size_t)idx < v->n_owners ? &v->owners[idx] : NULL;
}

static int write_ports_in_use(FILE *f, const struct view *v)
{
	struct list l = { .size = sizeof(struct series) };
	struct series *s;
	int err = 0;

	family(f, "portburn_ports_in_use", "gauge",
	       "Local ports held by connections the owner opened, by state (open or time_wait).");
	for (size_t i = 0; i < v->n_owners && !err; i++) {
		const struct view_owner *o = &v->owners[i];

		if (o->open)
			err = series_push(&l, owner_labels(o, true, "state", "open"), o->open);
		if (o->time_wait && !err)
			err = series_push(&l, owner_labels(o, true, "state", "time_wait"),
					  o->time_wait);
	}
	if (!err) {
		l.n = series_merge(l.v, l.n);
		s = l.v;
		for (size_t i = 0; i < l.n; i++)
			fprintf(f, "portburn_ports_in_use{%s} %" PRIu64 "\n", s[i].labels, s[i].u);
	}
	series_free(&l);
	return err;
}

/* Each destination pool counts for every pod holding ports in it (the pool is
 * the pod's network namespace); the largest value over source addresses wins. */
static int write_dest_utilization(FILE *f, const struct view *v)
{
	struct list l = { .size = sizeof(struct fold_row) };
	int err = 0;

	family(f, "portburn_destination_utilization_ratio", "gauge",
	       "Ports in use from the pod's network namespace towards daddr:dport over its "
	       "ephemeral capacity (top 5 per pod, the largest of the rest as other).");
	for (size_t i = 0; i < v->n_dests && !err; i++) {
		const struct view_dest *d = &v->dests[i];

		for (size_t k = 0; k < d->n_owners && !err; k++) {
			const struct view_owner *o = owner_at(v, d->owners[k].owner);
			char *group;

			if (!o || d->owners[k].in_use == 0)
				continue;
			group = owner_labels(o, false, NULL, NULL);
			if (!group) {
				err = -ENOMEM;
				break;
			}
			err = fold_push(&l, group, d->family, d->dport, d->daddr, d->utilization);
			free(group);
		}
	}
	if (!err)
		fold_write(f, "portburn_destination_utilization_ratio", &l);
	fold_free(&l);
	return err;
}

static int write_snat_utilization(FILE *f, const struct view *v)
{
	struct list l = { .size = sizeof(struct fold_row) };
	int err = 0;

	family(f, "portburn_snat_utilization_ratio", "gauge",
	       "Ports held by all pods of the node towards an external daddr:dport over the "
	       "SNAT port budget (top 5, the largest of the rest as other).");
	for (size_t i = 0; i < v->n_snat && !err; i++) {
		const struct view_snat *s = &v->snat[i];

		err = fold_push(&l, "", s->family, s->dport, s->daddr, s->utilization);
	}
	if (!err)
		fold_write(f, "portburn_snat_utilization_ratio", &l);
	fold_free(&l);
	return err;
}

static int write_connects(FILE *f, const struct view *v, struct ctr_table *t)
{
	struct list l = { .size = sizeof(struct series) };
	int err = 0;

	for (size_t i = 0; i < v->n_owners && !err; i++) {
		const struct view_owner *o = &v->owners[i];
		const char *role = o->role == VIEW_ROLE_SIDECAR ? "sidecar" : "app";

		/* not under labels that are about to change: counted once named */
		if (o->pending)
			continue;
		err = series_push(&l, owner_labels(o, true, "role", role), o->connects_total);
	}
	if (!err) {
		l.n = series_merge(l.v, l.n);
		err = ctr_update(t, l.v, l.n, v->ts_ns);
	}
	series_free(&l);
	family(f, "portburn_connects_total", "counter",
	       "Outbound TCP connections opened (a source port was allocated), by role.");
	ctr_write(f, "portburn_connects_total", t);
	return err;
}

/* "EADDRNOTAVAIL" as is; "E123" (an errno without a name) as "123". */
static const char *errno_label(const char *name, char *buf, size_t len)
{
	size_t n = strnlen(name, len - 1);

	if (n > 1 && name[0] == 'E' && strspn(name + 1, "0123456789") == n - 1) {
		memcpy(buf, name + 1, n - 1);
		buf[n - 1] = '\0';
		return buf;
	}
	memcpy(buf, name, n);
	buf[n] = '\0';
	return buf;
}

static int write_failures(FILE *f, const struct view *v, struct ctr_table *t)
{
	struct list l = { .size = sizeof(struct series) };
	int err = 0;

	for (size_t i = 0; i < v->n_failures && !err; i++) {
		const struct view_failure *fl = &v->failures[i];
		const struct view_owner *o = owner_at(v, fl->owner);
		char name[sizeof(fl->errno_name) + 1];

		if (!o || o->pending)
			continue;
		errno_label(fl->errno_name, name, sizeof(name));
		err = series_push(&l, owner_labels(o, true, "errno", name), fl->total);
	}
	if (!err) {
		l.n = series_merge(l.v, l.n);
		err = ctr_update(t, l.v, l.n, v->ts_ns);
	}
	series_free(&l);
	family(f, "portburn_connect_failures_total", "counter",
	       "Outbound connection attempts that failed in connect() or the bind() before it, "
	       "by errno.");
	ctr_write(f, "portburn_connect_failures_total", t);
	return err;
}

/* Per pod and destination: sidecar connections / app connections, the 5
 * largest per pod. */
static int by_pod_then_ratio(const void *a, const void *b)
{
	const struct view_amp *x = *(const struct view_amp *const *)a;
	const struct view_amp *y = *(const struct view_amp *const *)b;

	if (x->pod != y->pod)
		return x->pod - y->pod;
	return (y->ratio > x->ratio) - (y->ratio < x->ratio);
}

static int write_amplification(FILE *f, const struct view *v)
{
	const struct view_amp **order;
	char ns[LABEL_MAX], pod[LABEL_MAX], da[ADDR_STRLEN];
	int shown = 0;

	family(f, "portburn_amplification_ratio", "gauge",
	       "Connections the pod's sidecar opened per connection its app opened towards "
	       "daddr:dport over the amplification window (top 5 per pod).");
	if (!v->n_amps)
		return 0;
	order = malloc(v->n_amps * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_amps; i++)
		order[i] = &v->amps[i];
	qsort(order, v->n_amps, sizeof(*order), by_pod_then_ratio);
	for (size_t i = 0; i < v->n_amps; i++) {
		const struct view_amp *a = order[i];
		const struct view_pod *p;

		if (i && order[i - 1]->pod == a->pod)
			shown++;
		else
			shown = 0;
		if (shown >= METRICS_TOP_N || a->pod < 0 || (size_t)a->pod >= v->n_pods)
			continue;
		p = &v->pods[a->pod];
		esc_label(ns, p->namespace_);
		esc_label(pod, p->pod);
		fprintf(f, "portburn_amplification_ratio{namespace=\"%s\",pod=\"%s\",daddr=\"%s\","
			   "dport=\"%u\"} %.4g\n",
			ns, pod, addr_fmt(a->family, a->daddr, da, sizeof(da)), a->dport, a->ratio);
	}
	free(order);
	return 0;
}

static void write_node(FILE *f, const struct view *v)
{
	char ver[LABEL_MAX], mode[LABEL_MAX];

	family(f, "portburn_alerts_total", "counter", "Alerts raised by the detectors, by kind.");
	for (size_t i = 0; i < sizeof(alert_kinds) / sizeof(alert_kinds[0]); i++)
		fprintf(f, "portburn_alerts_total{kind=\"%s\"} %" PRIu64 "\n", alert_kinds[i].name,
			v->alerts_total[alert_kinds[i].idx]);
	family(f, "portburn_events_lost_total", "counter",
	       "Kernel events lost: ring buffer records not reserved plus map updates that "
	       "failed for lack of room.");
	fprintf(f, "portburn_events_lost_total %" PRIu64 "\n",
		v->events_lost_total + v->untracked_total);
	family(f, "portburn_reconcile_drift_total", "counter",
	       "Sockets the reconciliation against the kernel found missing from, or extra in, "
	       "the ledger.");
	fprintf(f, "portburn_reconcile_drift_total %" PRIu64 "\n", v->reconcile_drift_total);
	family(f, "portburn_build_info", "gauge",
	       "Always 1: the portburn version and the hook mode in use.");
	esc_prom(ver, sizeof(ver), PORTBURN_VERSION);
	esc_prom(mode, sizeof(mode), v->mode);
	fprintf(f, "portburn_build_info{version=\"%s\",mode=\"%s\"} 1\n", ver, mode);
}

int metrics_write(const struct view *v, struct metrics_state *s, FILE *f)
{
	int err;

	_Static_assert(sizeof(((struct view *)0)->alerts_total) / sizeof(uint64_t) >= ALERT_KINDS,
		       "alerts_total has room for every kind");
	err = write_ports_in_use(f, v);
	if (!err)
		err = write_dest_utilization(f, v);
	if (!err)
		err = write_snat_utilization(f, v);
	if (!err)
		err = write_connects(f, v, &s->connects);
	if (!err)
		err = write_failures(f, v, &s->failures);
	if (err) {
		errno = -err;
		log_warn("failed to render metrics");
		return err;
	}
	if (!err)
		err = write_amplification(f, v);
	write_node(f, v);
	if (fflush(f) == EOF || ferror(f)) {
		err = errno ? -errno : -EIO;
		log_warn("failed to write metrics");
		return err;
	}
	return 0;
}

int metrics_render(const struct view *v, struct metrics_state *s, char **buf, size_t *len)
{
	FILE *f;
	int err;

	*buf = NULL;
	*len = 0;
	f = open_memstream(buf, len);
	if (!f) {
		err = -errno;
		log_warn("failed to open metrics buffer");
		return err;
	}
	err = metrics_write(v, s, f);
	if (fclose(f) == EOF && !err) {
		err = -errno;
		log_warn("failed to close metrics buffer");
	}
	if (err) {
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	return err;
}
