/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel-version differences, each with the change it covers. CO-RE only. */
#ifndef PB_CORE_FIXES_BPF_H
#define PB_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* Kernel HZ, for jiffies -> ns, set by the loader from the kernel's config
 * when it can find it. Not a __kconfig extern: libbpf 1.1 refuses to load an
 * object with one, even __weak, when neither /boot/config-* nor
 * /proc/config.gz exists (a container without /boot). */
const volatile __u32 kernel_hz = 250;

static __always_inline __u64 jiffies_to_ns(__u64 j)
{
	return j * (1000000000ULL / (kernel_hz ? kernel_hz : 250));
}

/* sk_protocol became a plain u16 in v5.6 (commit bf9765145b85 "sock: Make
 * sk_protocol a 16-bit value"); before that it was a bitfield. The probed
 * bitfield read is relocated to whichever the running kernel has. */
static __always_inline __u16 sk_protocol(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

/* ip_local_port_range of the socket's network namespace. v6.3 (commit
 * d9f28735af89 "inet: Add IP_LOCAL_PORT_RANGE socket option" series, "ipv4:
 * Avoid data race in inet_get_local_port_range") packed it into one u32
 * (lo | hi << 16); before, it was int range[2] under a seqlock (read without
 * it here: a torn read of a range being changed only misses one update). */
struct local_ports___new {
	__u32 range;
} __attribute__((preserve_access_index));

struct local_ports___old {
	int range[2];
} __attribute__((preserve_access_index));

static __always_inline void sk_port_range(const struct sock *sk, __u16 *lo, __u16 *hi)
{
	struct net *net = BPF_CORE_READ(sk, __sk_common.skc_net.net);
	void *lp;

	if (!net)
		return;
	lp = &net->ipv4.ip_local_ports;
	/* The test must relocate on every kernel: the size of the struct does
	 * (a u32 + bool, or a seqlock + int[2] + bool); the read of the other
	 * layout is then dead code, pruned by the verifier. */
	if (bpf_core_type_size(struct local_ports) <= 8) {
		__u32 r = BPF_CORE_READ((struct local_ports___new *)lp, range);

		*lo = r & 0xffff;
		*hi = r >> 16;
	} else {
		int r[2] = {};

		bpf_core_read(r, sizeof(r), &((struct local_ports___old *)lp)->range);
		*lo = r[0];
		*hi = r[1];
	}
}

/* The socket's cgroup v2. v5.15 (commit 8520e224f547 "bpf, cgroups: Fix
 * cgroup v2 fallback on v1/v2 mixed mode") made sk_cgrp_data hold a plain
 * cgroup pointer; before, it was a u64 holding either that pointer or, with
 * one of the low bits set, net_prio/net_cls data (then the cgroup is lost). */
struct sock_cgroup_data___old {
	__u64 val;
} __attribute__((preserve_access_index));

struct sock___old {
	struct sock_cgroup_data___old sk_cgrp_data;
} __attribute__((preserve_access_index));

static __always_inline __u64 sk_cgroup_id(const struct sock *sk)
{
	struct cgroup *cg = NULL;

	if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup)) {
		cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	} else {
		__u64 v = BPF_CORE_READ((struct sock___old *)sk, sk_cgrp_data.val);

		if (!(v & 3))
			cg = (struct cgroup *)v;
	}
	return cg ? BPF_CORE_READ(cg, kn, id) : 0;
}

#endif
