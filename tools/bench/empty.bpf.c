// SPDX-License-Identifier: GPL-2.0-only
/* The floor of the overhead benchmark: empty programs on the hooks of
 * portburn's tracepoint mode (DESIGN.md, "tracepoints only"). What any tracer
 * on these hooks pays before doing any work. Loaded by empty_loader.c. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_inet_sock_set_state, const struct sock *sk, int oldstate, int newstate)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int tp_sys_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_bind")
int tp_sys_enter_bind(struct trace_event_raw_sys_enter *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int tp_sys_exit_bind(struct trace_event_raw_sys_exit *ctx)
{
	return 0;
}

/* Attached only when the loader is given a cgroup v2 directory. */
SEC("sockops")
int sockops_tcp_connect(struct bpf_sock_ops *skops)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
