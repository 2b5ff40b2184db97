// SPDX-License-Identifier: GPL-2.0-only
/* Freeing and copying a view (view.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "view.h"

void view_free(struct view *v)
{
	if (!v)
		return;
	for (size_t i = 0; v->dests && i < v->n_dests; i++)
		free(v->dests[i].owners);
	for (size_t i = 0; v->snat && i < v->n_snat; i++) {
		free(v->snat[i].pods);
		free(v->snat[i].pod_in_use);
	}
	free(v->owners);
	free(v->pods);
	free(v->dests);
	free(v->snat);
	free(v->failures);
	free(v->amps);
	memset(v, 0, sizeof(*v));
}

static void *dup_array(const void *p, size_t n, size_t size, bool *oom)
{
	void *q;

	if (!p || !n)
		return NULL;
	q = malloc(n * size);
	if (!q) {
		*oom = true;
		return NULL;
	}
	return memcpy(q, p, n * size);
}

int view_copy(struct view *dst, const struct view *src)
{
	bool oom = false;

	*dst = *src;
	dst->owners = dup_array(src->owners, src->n_owners, sizeof(*src->owners), &oom);
	dst->pods = dup_array(src->pods, src->n_pods, sizeof(*src->pods), &oom);
	dst->failures = dup_array(src->failures, src->n_failures, sizeof(*src->failures), &oom);
	dst->amps = dup_array(src->amps, src->n_amps, sizeof(*src->amps), &oom);
	dst->dests = dup_array(src->dests, src->n_dests, sizeof(*src->dests), &oom);
	for (size_t i = 0; dst->dests && i < src->n_dests; i++)
		dst->dests[i].owners = dup_array(src->dests[i].owners, src->dests[i].n_owners,
						 sizeof(*src->dests[i].owners), &oom);
	dst->snat = dup_array(src->snat, src->n_snat, sizeof(*src->snat), &oom);
	for (size_t i = 0; dst->snat && i < src->n_snat; i++) {
		dst->snat[i].pods = dup_array(src->snat[i].pods, src->snat[i].n_pods,
					      sizeof(*src->snat[i].pods), &oom);
		dst->snat[i].pod_in_use = dup_array(src->snat[i].pod_in_use, src->snat[i].n_pods,
						    sizeof(*src->snat[i].pod_in_use), &oom);
	}
	if (oom) {
		view_free(dst);
		return -ENOMEM;
	}
	return 0;
}
