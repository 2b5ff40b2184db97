/* SPDX-License-Identifier: GPL-2.0-only */
/* The running core shared by trace, top and serve: tracer events go to the
 * ledger and the detectors; the ledger is reconciled with the kernel at
 * start-up and every --reconcile seconds; a fresh view is built every second. */
#ifndef PB_ENGINE_H
#define PB_ENGINE_H
#include <stdbool.h>
#include "detect.h"
#include "portburn_event.h"
#include "view.h"

struct common_opts;
struct engine;

typedef void (*engine_event_fn)(void *ctx, const struct pb_event *e);
typedef void (*engine_alert_fn)(void *ctx, const struct alert *a);

struct engine *engine_new(struct common_opts *c, engine_event_fn on_event,
			  engine_alert_fn on_alert, void *ctx);
void engine_free(struct engine *e);
/* Wait for and handle events (up to the drain interval); reconcile and rebuild
 * the view when due. 1 when a new view is ready, 0 if not, -errno on error
 * (-EINTR on a signal). */
int engine_poll(struct engine *e);
const struct view *engine_view(const struct engine *e);
const char *engine_mode(const struct engine *e);
/* Detach and drain: counters final. */
void engine_stop(struct engine *e);
uint64_t engine_lost(const struct engine *e);
struct tracer *engine_tracer(const struct engine *e);
struct owner_resolver *engine_owners(const struct engine *e);

#endif
