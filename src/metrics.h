/* SPDX-License-Identifier: GPL-2.0-only */
/* The Prometheus exposition (text format 0.0.4) of a view, exactly as
 * deploy/METRICS.md specifies: names, types, labels, escaping, top-N folding,
 * zero gauges omitted, counters kept for a while after their owner is gone.
 *
 * The state carries counters across views: a series whose owner left the view
 * keeps its last value for METRICS_KEEP_S seconds (by view->ts_ns), then is
 * dropped; a series never goes down (owners that leave and come back, or
 * several owners with the same labels of which one leaves, do not reset it). */
#ifndef PB_METRICS_H
#define PB_METRICS_H
#include <stddef.h>
#include <stdio.h>
#include "view.h"

#ifndef METRICS_KEEP_S
#define METRICS_KEEP_S 600	/* counters of a gone owner, seconds */
#endif
#define METRICS_TOP_N 5		/* destinations per pod (and SNAT per node) */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_state;

struct metrics_state *metrics_state_new(void);
void metrics_state_free(struct metrics_state *s);

/* Write the exposition of V to F, updating S. 0, or -errno (logged). */
int metrics_write(const struct view *v, struct metrics_state *s, FILE *f);
/* Same into a malloc'd buffer: *BUF (NUL-terminated, free() it) and *LEN. */
int metrics_render(const struct view *v, struct metrics_state *s, char **buf, size_t *len);

#endif
