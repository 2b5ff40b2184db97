/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Records shared by the BPF programs and userspace: one definition, fixed-width
 * fields, largest first, explicit padding, size checked on both sides. */
#ifndef PORTBURN_EVENT_H
#define PORTBURN_EVENT_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define PB_COMM_LEN 16

enum pb_event_type {
	PB_EV_CONNECT = 1,	  /* a connection got its source port */
	PB_EV_CONNECT_FAILED = 2, /* connect() failed (errno set) */
	PB_EV_CLOSE = 3,	  /* connection ended, port released */
	PB_EV_TIME_WAIT = 4,	  /* connection ended, port held in TIME_WAIT */
	PB_EV_BIND_FAILED = 5,	  /* bind() of a TCP socket failed for lack of a port */
};

/* Hooks that report in the record's 'hook' field (which path produced it). */
enum pb_hook {
	PB_HOOK_STATE = 1,	/* sock:inet_sock_set_state */
	PB_HOOK_SYSCALL = 2,	/* syscalls:sys_exit_connect / sys_exit_bind */
	PB_HOOK_SOCKOPS = 3,	/* cgroup sockops TCP_CONNECT_CB */
	PB_HOOK_HASH_CONNECT = 4, /* inet_hash_connect / inet6_hash_connect return */
	PB_HOOK_TCP_CONNECT = 5,  /* tcp_connect */
	PB_HOOK_TIME_WAIT = 6,	  /* tcp_time_wait */
};

/* Who opened a connection: recorded in process context, carried to its end. */
struct pb_owner {
	__u64 cgroup_id;	/* cgroup v2 id (inode of the cgroup directory) */
	__u32 tgid;
	__u32 netns;		/* network namespace inode */
	char comm[PB_COMM_LEN];
};

struct pb_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 conn_id;		/* unique per connection attempt, links connect to its end */
	__u64 duration_ns;	/* close/time_wait: lifetime; time_wait: also see tw_ns */
	__u64 tw_ns;		/* time_wait: how long the port stays held */
	struct pb_owner owner;
	__u8 saddr[16];		/* IPv4 in the first 4 bytes when family == AF_INET */
	__u8 daddr[16];
	__u32 pid;		/* thread id of the caller where known, else tgid */
	__s32 err;		/* connect_failed / bind_failed: positive errno */
	__u16 sport;		/* host byte order */
	__u16 dport;		/* host byte order */
	__u16 family;		/* AF_INET / AF_INET6 */
	__u8 type;		/* enum pb_event_type */
	__u8 hook;		/* enum pb_hook */
	__u8 oldstate;		/* TCP state the socket left (close/time_wait) */
	__u8 pad[3];
	__u16 range_lo;		/* ip_local_port_range of the socket's netns at */
	__u16 range_hi;		/* connect() (0 when unknown) */
};

_Static_assert(sizeof(struct pb_owner) == 32, "pb_owner layout");
_Static_assert(sizeof(struct pb_event) == 120, "pb_event layout");

/* Counters in the per-CPU 'drops' array. Every record the programs try to
 * send is counted in PB_STAT_EVENTS, so received + PB_DROP_RINGBUF == it. */
enum pb_drop {
	PB_DROP_RINGBUF = 0,	/* ring buffer full: event lost */
	PB_DROP_SOCKS_FULL = 1,	/* socks map full: connection not tracked */
	PB_STAT_EVENTS = 2,	/* records the programs tried to send */
	PB_STAT_NESTED = 3,	/* state changes the nested program took over */
	PB_DROP_MAX = 4,
};

#endif
