/* SPDX-License-Identifier: GPL-2.0-only */
/* Walk every TCP socket of every network namespace on the host through the
 * iter/tcp program (an iterator only sees the namespace of the thread that
 * opens it, so the walk enters each namespace in turn), and read each
 * namespace's ephemeral port range there. */
#ifndef PB_SOCKWALK_H
#define PB_SOCKWALK_H
#include <stdbool.h>
#include <stdint.h>
#include "portburn_iter.h"

struct netns_range {
	uint32_t netns;
	uint16_t lo, hi;		/* ip_local_port_range */
	uint32_t reserved;		/* ip_local_reserved_ports inside [lo, hi] */
	uint32_t capacity;		/* hi - lo + 1 - reserved */
	uint64_t cookie;		/* SO_NETNS_COOKIE (5.14+; else 0): an
					 * inode is reused, a cookie never */
};

typedef void (*sockwalk_fn)(void *ctx, const struct netns_range *ns, const struct pb_sock *s);
/* Called once per namespace before its sockets. */
typedef void (*sockwalk_ns_fn)(void *ctx, const struct netns_range *ns);

struct sockwalk_stats {
	unsigned int netns_seen, netns_failed;
	unsigned long socks;
};

/* 0 or -errno. ITER_LINK_FD is the attached iter/tcp link. */
int sockwalk(int iter_link_fd, const char *host_root, sockwalk_ns_fn ns_fn, sockwalk_fn fn,
	     void *ctx, struct sockwalk_stats *st);

/* The range of the network namespace of process PID (entered for the read),
 * with its inode in R->netns. 0 or -errno. */
int netns_range_of_pid(const char *host_root, uint32_t pid, struct netns_range *r);

/* Parse ip_local_port_range / ip_local_reserved_ports text. */
int parse_port_range(const char *s, uint16_t *lo, uint16_t *hi);
uint32_t count_reserved_in(const char *list, uint16_t lo, uint16_t hi);

#endif
