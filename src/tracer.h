/* SPDX-License-Identifier: GPL-2.0-only */
/* Loads the BPF programs in the best hook mode the kernel allows, attaches
 * them, and drains the ring buffer into a callback. */
#ifndef PB_TRACER_H
#define PB_TRACER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "portburn_event.h"

enum pb_mode {
	PB_MODE_AUTO = 0,
	PB_MODE_FENTRY,
	PB_MODE_KPROBE,
	PB_MODE_TRACEPOINT,
};

struct tracer_opts {
	enum pb_mode mode;
	uint32_t ring_size;	/* bytes, power of two; 0 = default */
	uint32_t max_socks;	/* tracked connections; 0 = default */
	int drain_ms;		/* how often the ring is drained; 0 = default */
	const char *cgroup2;	/* cgroup v2 mount for sockops; NULL = no sockops */
	bool cgroup_v1;		/* owners by their v1 memory cgroup */
	bool walk_only;		/* only the socket iterator: the hook mode is
				 * chosen as for tracing, nothing else attached */
};

#define TRACER_DEFAULT_RING (8u << 20)
#define TRACER_DEFAULT_MAX_SOCKS 131072u
#define TRACER_DEFAULT_DRAIN_MS 100

/* Return non-zero to stop draining (that value is returned by tracer_poll). */
typedef int (*tracer_event_fn)(void *ctx, const struct pb_event *e);

struct tracer;
/* Opens, loads and attaches; NULL with errno set and the reason logged. */
struct tracer *tracer_new(const struct tracer_opts *opts, tracer_event_fn fn, void *ctx);
void tracer_free(struct tracer *t);
/* Waits up to the drain interval, then drains everything queued. Returns the
 * number of events handled, or a negative errno (-EINTR on a signal). */
int tracer_poll(struct tracer *t);
/* Drain what is queued without waiting. */
int tracer_poll_nowait(struct tracer *t);
/* Detach every program and drain what they sent: counters are final after. */
void tracer_stop(struct tracer *t);
enum pb_mode tracer_mode(const struct tracer *t);
/* Sum over CPUs of one drop counter (enum pb_drop). */
uint64_t tracer_drops(const struct tracer *t, enum pb_drop what);
/* Runs the kernel skipped because the program was already running on that
 * CPU (a softirq's state change interrupting a connect()'s): events missed,
 * counted by the kernel per program. */
uint64_t tracer_missed(const struct tracer *t);
/* Link of the iter/tcp program: bpf_iter_create() on it walks the sockets of
 * the calling thread's network namespace (see sockwalk.h). -1 once stopped. */
int tracer_iter_fd(const struct tracer *t);

const char *pb_mode_name(enum pb_mode m);
int pb_mode_parse(const char *s, enum pb_mode *m);

#endif
