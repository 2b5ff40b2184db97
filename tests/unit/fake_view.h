/* SPDX-License-Identifier: GPL-2.0-only */
/* Building a struct view by hand for the output tests (metrics, top). Aborts
 * on allocation failure: tests only. Free with fv_free(). */
#ifndef PB_TEST_FAKE_VIEW_H
#define PB_TEST_FAKE_VIEW_H
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "view.h"

static inline void *fv_grow(void *arr, size_t *n, size_t size)
{
	char *p = realloc(arr, (*n + 1) * size);

	if (!p)
		abort();
	memset(p + *n * size, 0, size);
	(*n)++;
	return p;
}

static inline void fv_name(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n > VIEW_NAME_LEN - 1)
		n = VIEW_NAME_LEN - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static inline void fv_init(struct view *v, const char *node, const char *mode, uint64_t ts_ns)
{
	memset(v, 0, sizeof(*v));
	fv_name(v->node, node);
	v->mode = mode;
	v->ts_ns = ts_ns;
}

static inline int fv_owner(struct view *v, const char *ns, const char *pod, const char *ctr,
		    enum view_role role, uint32_t open, uint32_t tw, uint64_t connects)
{
	struct view_owner *o;

	v->owners = fv_grow(v->owners, &v->n_owners, sizeof(*o));
	o = &v->owners[v->n_owners - 1];
	fv_name(o->namespace_, ns);
	fv_name(o->pod, pod);
	fv_name(o->container, ctr);
	snprintf(o->display, sizeof(o->display), "%s%s%s%s%s", ns, ns[0] ? "/" : "", pod,
		 ctr[0] ? "/" : "", ctr);
	o->role = role;
	o->open = open;
	o->time_wait = tw;
	o->in_use = open + tw;
	o->connects_total = connects;
	o->worst_dest = -1;
	return (int)v->n_owners - 1;
}

static inline int fv_pod(struct view *v, const char *ns, const char *pod, uint32_t open,
			 uint32_t tw)
{
	struct view_pod *p;

	v->pods = fv_grow(v->pods, &v->n_pods, sizeof(*p));
	p = &v->pods[v->n_pods - 1];
	fv_name(p->namespace_, ns);
	fv_name(p->pod, pod);
	p->open = open;
	p->time_wait = tw;
	p->in_use = open + tw;
	p->worst_dest = -1;
	return (int)v->n_pods - 1;
}

static inline void fv_addr(const char *s, uint16_t *family, uint8_t *addr)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
	} else if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
	} else {
		abort();
	}
}

static inline int fv_dest(struct view *v, const char *saddr, const char *daddr, uint16_t dport,
		   uint32_t open, uint32_t tw, uint32_t capacity)
{
	struct view_dest *d;
	uint16_t fam;

	v->dests = fv_grow(v->dests, &v->n_dests, sizeof(*d));
	d = &v->dests[v->n_dests - 1];
	fv_addr(saddr, &fam, d->saddr);
	fv_addr(daddr, &d->family, d->daddr);
	d->dport = dport;
	d->netns = 4026531840u;
	d->open = open;
	d->time_wait = tw;
	d->in_use = open + tw;
	d->capacity = capacity;
	d->utilization = capacity ? (double)d->in_use / capacity : 0;
	d->forecast_s = -1;
	return (int)v->n_dests - 1;
}

static inline void fv_dest_owner(struct view *v, int dest, int owner, uint32_t open, uint32_t tw)
{
	struct view_dest *d = &v->dests[dest];
	struct view_dest_owner *o;

	d->owners = fv_grow(d->owners, &d->n_owners, sizeof(*o));
	o = &d->owners[d->n_owners - 1];
	o->owner = owner;
	o->open = open;
	o->time_wait = tw;
	o->in_use = open + tw;
}

static inline int fv_snat(struct view *v, const char *daddr, uint16_t dport, uint32_t in_use,
		   uint32_t budget)
{
	struct view_snat *s;

	v->snat = fv_grow(v->snat, &v->n_snat, sizeof(*s));
	s = &v->snat[v->n_snat - 1];
	fv_addr(daddr, &s->family, s->daddr);
	s->dport = dport;
	s->in_use = in_use;
	s->budget = budget;
	s->utilization = budget ? (double)in_use / budget : 0;
	return (int)v->n_snat - 1;
}

static inline void fv_snat_pod(struct view *v, int snat, int pod, uint32_t in_use)
{
	struct view_snat *s = &v->snat[snat];
	size_t n = s->n_pods;

	s->pods = fv_grow(s->pods, &n, sizeof(*s->pods));
	n = s->n_pods;
	s->pod_in_use = fv_grow(s->pod_in_use, &n, sizeof(*s->pod_in_use));
	s->pods[s->n_pods] = pod;
	s->pod_in_use[s->n_pods] = in_use;
	s->n_pods++;
}

static inline void fv_failure(struct view *v, int owner, const char *errno_name, uint64_t total)
{
	struct view_failure *f;

	v->failures = fv_grow(v->failures, &v->n_failures, sizeof(*f));
	f = &v->failures[v->n_failures - 1];
	f->owner = owner;
	snprintf(f->errno_name, sizeof(f->errno_name), "%s", errno_name);
	f->total = total;
}

static inline void fv_free(struct view *v)
{
	for (size_t i = 0; i < v->n_dests; i++)
		free(v->dests[i].owners);
	for (size_t i = 0; i < v->n_snat; i++) {
		free(v->snat[i].pods);
		free(v->snat[i].pod_in_use);
	}
	free(v->owners);
	free(v->pods);
	free(v->dests);
	free(v->snat);
	free(v->failures);
	memset(v, 0, sizeof(*v));
}

#endif
