/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Kernel-version differences, each with the change it covers. CO-RE only. */
#ifndef PB_CORE_FIXES_BPF_H
#define PB_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/* Kernel HZ, for jiffies -> ns. Weak: a guest without /proc/config.gz or
 * /boot/config-* still loads; 250 is Debian's (and the most common) setting. */
extern unsigned int CONFIG_HZ __kconfig __weak;

static __always_inline __u64 jiffies_to_ns(__u64 j)
{
	__u64 hz = CONFIG_HZ ? CONFIG_HZ : 250;

	return j * (1000000000ULL / hz);
}

/* sk_protocol became a plain u16 in v5.6 (commit bf9765145b85 "sock: Make
 * sk_protocol a 16-bit value"); before that it was a bitfield. The probed
 * bitfield read is relocated to whichever the running kernel has. */
static __always_inline __u16 sk_protocol(const struct sock *sk)
{
	return BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
}

#endif
