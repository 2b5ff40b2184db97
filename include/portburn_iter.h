/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One record per TCP socket written by the iter/tcp program (bpf/portburn.bpf.c)
 * into the iterator's file: what holds a local port right now, TIME_WAIT included,
 * and the listeners (state TCP_LISTEN, first), whose ports accepted sockets share. */
#ifndef PORTBURN_ITER_H
#define PORTBURN_ITER_H

#include "portburn_event.h"

enum pb_sock_flags {
	PB_SOCK_TRACKED = 1,	/* owner recorded by the tracer at connect() */
	PB_SOCK_CGROUP = 2,	/* owner.cgroup_id from the socket's own cgroup */
};

struct pb_sock {
	__u64 conn_id;		/* when tracked, as in pb_event */
	__u64 tw_remaining_ns;	/* TIME_WAIT: time left on its timer */
	struct pb_owner owner;	/* tgid/comm only when tracked */
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 netns;
	__u16 sport;		/* host byte order */
	__u16 dport;
	__u16 family;
	__u8 state;		/* TCP state; TIME_WAIT for timewait sockets */
	__u8 flags;		/* enum pb_sock_flags */
	__u8 pad[4];
};

_Static_assert(sizeof(struct pb_sock) == 96, "pb_sock layout");

#endif
