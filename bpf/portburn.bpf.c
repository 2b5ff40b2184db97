// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* portburn kernel side: who opens TCP connections, which source port they get,
 * whether the allocation failed, and when the port is given back (close) or kept
 * (TIME_WAIT).
 *
 * The owner (cgroup, tgid, comm, netns) is recorded once, in process context,
 * when the socket leaves CLOSE for SYN_SENT inside connect(); every later event
 * of that connection is built from that record, never from the current task
 * (state changes run in softirq or in the peer's context).
 *
 * Hook modes (chosen by the loader, see src/tracer.c):
 *   fentry/fexit  inet_hash_connect, inet6_hash_connect, tcp_connect, tcp_time_wait
 *   kprobe        the same functions
 *   tracepoint    sock:inet_sock_set_state + syscalls:sys_exit_connect + cgroup sockops
 * sock:inet_sock_set_state (tp_btf) runs in every mode: it records owners and
 * sees every close. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "core_fixes.bpf.h"
#include "portburn_event.h"
#include "portburn_iter.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define EINPROGRESS 115
#define EADDRINUSE 98
#define EADDRNOTAVAIL 99
#define TCP_TIMEWAIT_LEN_NS (60ULL * 1000000000ULL)

/* Set by the loader before load. */
const volatile bool hook_hash_connect = false; /* fexit/kretprobe report allocation errors */
const volatile bool hook_tcp_connect = false;  /* fentry/kprobe tcp_connect reports connect */
const volatile bool hook_time_wait = false;    /* fentry/kprobe tcp_time_wait reports TIME_WAIT */
const volatile bool hook_sys_connect = false;  /* sys_exit_connect gives the errno */
const volatile __u64 wakeup_bytes = 1 << 20;   /* wake userspace past this much data */
const volatile bool cgroup_v1 = false;	       /* owners by their v1 memory cgroup */

enum rec_flags {
	F_CONNECT = 1,	     /* connect event emitted */
	F_FAILED = 2,	     /* connect_failed emitted */
	F_ALLOC_FAILED = 4,  /* port allocation failed, errno comes with sys_exit_connect */
};

/* Per connection, kept from SYN_SENT to close/TIME_WAIT. BPF-private. */
struct sock_rec {
	struct pb_owner owner;
	__u64 conn_id;
	__u64 ts_open;
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 pid;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 range_lo, range_hi;	/* the netns's ip_local_port_range at connect() */
	__u8 flags;
	__u8 pad[1];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072); /* --max-socks; preallocated: ~170 bytes each */
	__type(key, __u64);	     /* struct sock * */
	__type(value, struct sock_rec);
} socks SEC(".maps");

/* TIME_WAIT sockets have no owner of their own: the owner of the connection
 * is kept here, by (netns, 4-tuple), for the iterator. LRU: the oldest entry
 * goes first, and the oldest TIME_WAIT is the first to have ended anyway. */
struct tw_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 netns;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 pad;
};

struct tw_owner {
	struct pb_owner owner;
	__u64 conn_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536); /* --max-socks / 2 */
	__type(key, struct tw_key);
	__type(value, struct tw_owner);
} tw_owners SEC(".maps");

/* Thread inside connect() -> its socket, from SYN_SENT to sys_exit_connect. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, __u64);
} connecting SEC(".maps");

/* Thread inside bind() -> its fd and sockaddr pointer. */
struct bind_args {
	__u64 uaddr;
	__s32 fd;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct bind_args);
} binding SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* --ring-size */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PB_DROP_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

static __always_inline void count(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &what);

	if (n)
		*n += 1;
}

static __always_inline void read_tuple(const struct sock *sk, __u8 *saddr, __u8 *daddr,
				       __u16 *sport, __u16 *dport, __u16 *family)
{
	const struct inet_sock *inet = (const struct inet_sock *)sk;

	*family = BPF_CORE_READ(sk, __sk_common.skc_family);
	/* inet_sport, not skc_num: the latter is zeroed when the port is put back,
	 * before the CLOSE state change is traced. */
	*sport = bpf_ntohs(BPF_CORE_READ(inet, inet_sport));
	*dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (*family == AF_INET6) {
		/* BPF_CORE_READ_INTO sizes by *dst, which is one byte here. */
		bpf_core_read(saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(daddr, 16, &sk->__sk_common.skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)daddr, sk, __sk_common.skc_daddr);
	}
}

static __always_inline __u32 sk_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* The caller's cgroup: v2, or on hosts whose container runtime uses cgroup v1
 * the memory hierarchy's (the directory inode there, as under v2). */
static __always_inline __u64 current_cgroup_id(void)
{
	struct task_struct *t;
	struct cgroup_subsys_state *css;
	int id;

	if (!cgroup_v1)
		return bpf_get_current_cgroup_id();
	t = (struct task_struct *)bpf_get_current_task();
	id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	if (id < 0 || id >= CGROUP_SUBSYS_COUNT)
		return 0;
	css = BPF_CORE_READ(t, cgroups, subsys[id]);
	return css ? BPF_CORE_READ(css, cgroup, kn, id) : 0;
}

static __always_inline void fill_owner_current(struct pb_owner *o, const struct sock *sk)
{
	o->cgroup_id = current_cgroup_id();
	o->tgid = bpf_get_current_pid_tgid() >> 32;
	o->netns = sk_netns(sk);
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

/* Emit one record built from the connection's record REC; when SK is given
 * the 4-tuple is refreshed from the socket (the port may have been allocated
 * since SYN_SENT). */
static __always_inline void emit(const struct sock_rec *rec, const struct sock *sk, __u8 type,
				 __u8 hook, __s32 err, __u8 oldstate, __u64 tw_ns)
{
	struct pb_event *e;
	__u64 now = bpf_ktime_get_ns();
	__u64 flags;

	count(PB_STAT_EVENTS);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(PB_DROP_RINGBUF);
		return;
	}
	e->ts_ns = now;
	e->conn_id = rec->conn_id;
	e->duration_ns = now - rec->ts_open;
	e->tw_ns = tw_ns;
	e->owner = rec->owner;
	e->pid = rec->pid;
	e->err = err;
	e->type = type;
	e->hook = hook;
	e->oldstate = oldstate;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	e->range_lo = rec->range_lo;
	e->range_hi = rec->range_hi;
	__builtin_memcpy(e->saddr, rec->saddr, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, rec->daddr, sizeof(e->daddr));
	e->sport = rec->sport;
	e->dport = rec->dport;
	e->family = rec->family;
	if (sk) {
		__u16 sport = 0, dport = 0, family = 0;
		__u8 saddr[16] = {}, daddr[16] = {};

		read_tuple(sk, saddr, daddr, &sport, &dport, &family);
		if (sport)
			e->sport = sport;
		/* A failed connect resets the destination; keep the one it asked for. */
		if (dport) {
			e->dport = dport;
			__builtin_memcpy(e->daddr, daddr, sizeof(e->daddr));
			__builtin_memcpy(e->saddr, saddr, sizeof(e->saddr));
		}
	}
	/* No wakeup per record: userspace drains on a short timer, and is woken
	 * only when the ring fills past wakeup_bytes. */
	flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes ?
			BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
}

static __always_inline void tw_remember(const struct sock *sk, const struct sock_rec *rec)
{
	struct tw_key k = {};
	struct tw_owner v = { .owner = rec->owner, .conn_id = rec->conn_id };

	read_tuple(sk, k.saddr, k.daddr, &k.sport, &k.dport, &k.family);
	k.netns = rec->owner.netns;
	bpf_map_update_elem(&tw_owners, &k, &v, BPF_ANY);
}

static __always_inline void emit_connect(struct sock_rec *rec, const struct sock *sk, __u8 hook)
{
	if (rec->flags & (F_CONNECT | F_FAILED))
		return;
	rec->flags |= F_CONNECT;
	emit(rec, sk, PB_EV_CONNECT, hook, 0, 0, 0);
}

static __always_inline void emit_failed(struct sock_rec *rec, const struct sock *sk, __u8 hook,
					__s32 err)
{
	if (rec->flags & F_FAILED)
		return;
	rec->flags |= F_FAILED;
	emit(rec, sk, PB_EV_CONNECT_FAILED, hook, err, BPF_TCP_SYN_SENT, 0);
}

/* CLOSE -> SYN_SENT inside connect(): record the owner. */
static __always_inline void on_syn_sent(const struct sock *sk)
{
	__u64 key = (__u64)sk, id = bpf_get_current_pid_tgid();
	struct sock_rec rec = {};
	__u64 now = bpf_ktime_get_ns();

	fill_owner_current(&rec.owner, sk);
	rec.pid = (__u32)id;
	rec.ts_open = now;
	/* Unique per attempt: a CPU cannot open two connections in the same ns. */
	rec.conn_id = ((now & ((1ULL << 56) - 1)) << 7) | (bpf_get_smp_processor_id() & 0x7f);
	read_tuple(sk, rec.saddr, rec.daddr, &rec.sport, &rec.dport, &rec.family);
	sk_port_range(sk, &rec.range_lo, &rec.range_hi);
	if (bpf_map_update_elem(&socks, &key, &rec, BPF_ANY)) {
		count(PB_DROP_SOCKS_FULL);
		return;
	}
	bpf_map_update_elem(&connecting, &id, &key, BPF_ANY);
}

static __always_inline void on_close(const struct sock *sk, struct sock_rec *rec, int oldstate)
{
	__u64 key = (__u64)sk;
	int sk_err = BPF_CORE_READ(sk, sk_err);

	if (oldstate == BPF_TCP_SYN_SENT) {
		if (rec->flags & F_FAILED)
			goto forget;
		if (sk_err) {
			/* Handshake failed: RST (ECONNREFUSED), timeout, unreachable. */
			emit_failed(rec, sk, PB_HOOK_STATE, sk_err);
			goto forget;
		}
		if (!(rec->flags & F_CONNECT)) {
			/* No port was ever reported: the allocation failed inside
			 * connect(). sys_exit_connect has the exact errno. */
			__u64 id = bpf_get_current_pid_tgid();
			__u64 *cur = bpf_map_lookup_elem(&connecting, &id);

			if (hook_sys_connect && cur && *cur == key) {
				rec->flags |= F_ALLOC_FAILED;
				return;
			}
			emit_failed(rec, sk, PB_HOOK_STATE, EADDRNOTAVAIL);
			goto forget;
		}
	}
	if (!(rec->flags & (F_CONNECT | F_FAILED)))
		emit_connect(rec, sk, PB_HOOK_STATE);
	if (!hook_time_wait && !sk_err &&
	    (oldstate == BPF_TCP_FIN_WAIT1 || oldstate == BPF_TCP_FIN_WAIT2 ||
	     oldstate == BPF_TCP_CLOSING)) {
		tw_remember(sk, rec);
		emit(rec, sk, PB_EV_TIME_WAIT, PB_HOOK_STATE, 0, oldstate, TCP_TIMEWAIT_LEN_NS);
	} else
		emit(rec, sk, PB_EV_CLOSE, PB_HOOK_STATE, 0, oldstate, 0);
forget:
	bpf_map_delete_elem(&socks, &key);
}

static __always_inline void handle_state(const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	struct sock_rec *rec;

	/* Only three transitions matter: into SYN_SENT (owner), out of it (port
	 * known or failed) and into CLOSE (the end). The others (half the calls,
	 * and every one of a passive socket's but its close) return at once. */
	if (newstate != BPF_TCP_CLOSE && newstate != BPF_TCP_SYN_SENT &&
	    oldstate != BPF_TCP_SYN_SENT)
		return;
	if (sk_protocol(sk) != IPPROTO_TCP)
		return;
	if (oldstate == BPF_TCP_CLOSE && newstate == BPF_TCP_SYN_SENT) {
		on_syn_sent(sk);
		return;
	}
	rec = bpf_map_lookup_elem(&socks, &key);
	if (!rec)
		return;
	if (newstate == BPF_TCP_CLOSE)
		on_close(sk, rec, oldstate);
	else if (oldstate == BPF_TCP_SYN_SENT)
		emit_connect(rec, sk, PB_HOOK_STATE);
}

/* The kernel skips a tracing program's run on a CPU where it is already
 * running: a softirq's state change (a FIN or RST arriving) that interrupts
 * the handling of a connect()'s would be lost. A second program on the same
 * tracepoint takes exactly those. The first writes down, per CPU, the call it
 * is handling before anything else; the second runs after it on every call
 * and acts only when the call is not the one written down: the first was
 * skipped (suspended below, or in its own entry or exit code). The same socket
 * cannot make the same transition twice in a row, so a call is never taken
 * twice. */
struct state_call {
	__u64 sk;
	__u32 oldstate;
	__u32 newstate;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct state_call);
} state_seen SEC(".maps");

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_inet_sock_set_state, const struct sock *sk, int oldstate, int newstate)
{
	__u32 zero = 0;
	struct state_call *c = bpf_map_lookup_elem(&state_seen, &zero);

	if (c) {
		c->sk = (__u64)sk;
		c->oldstate = oldstate;
		c->newstate = newstate;
	}
	handle_state(sk, oldstate, newstate);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_inet_sock_set_state_nested, const struct sock *sk, int oldstate, int newstate)
{
	__u32 zero = 0;
	struct state_call *c = bpf_map_lookup_elem(&state_seen, &zero);

	if (c && (c->sk != (__u64)sk || c->oldstate != (__u32)oldstate ||
		  c->newstate != (__u32)newstate)) {
		count(PB_STAT_NESTED);
		handle_state(sk, oldstate, newstate);
	}
	return 0;
}

/* connect() returned: the port is known (or the errno is). */
SEC("tracepoint/syscalls/sys_exit_connect")
int tp_sys_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid(), key;
	struct sock_rec *rec;
	struct sock *sk;
	__u64 *skp;
	long ret = ctx->ret;

	skp = bpf_map_lookup_elem(&connecting, &id);
	if (!skp)
		return 0;
	key = *skp;
	bpf_map_delete_elem(&connecting, &id);
	rec = bpf_map_lookup_elem(&socks, &key);
	if (!rec)
		return 0;
	sk = (struct sock *)key;
	if (rec->flags & F_ALLOC_FAILED ||
	    (ret < 0 && BPF_CORE_READ(sk, __sk_common.skc_state) == BPF_TCP_CLOSE)) {
		emit_failed(rec, NULL, PB_HOOK_SYSCALL, ret < 0 ? -ret : EADDRNOTAVAIL);
		bpf_map_delete_elem(&socks, &key);
		return 0;
	}
	/* 0, -EINPROGRESS, -EINTR...: the connection goes on with its port. */
	emit_connect(rec, sk, PB_HOOK_SYSCALL);
	return 0;
}

/* bind() of a TCP socket failing with EADDRINUSE: no free port (bind to port 0)
 * or the asked port is taken. */
SEC("tracepoint/syscalls/sys_enter_bind")
int tp_sys_enter_bind(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct bind_args a = { .fd = (__s32)ctx->args[0], .uaddr = ctx->args[1] };

	bpf_map_update_elem(&binding, &id, &a, BPF_ANY);
	return 0;
}

static __always_inline struct sock *sk_from_fd(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds, *file = NULL;
	struct socket *sock;

	if (fd < 0 || (unsigned int)fd >= BPF_CORE_READ(task, files, fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(task, files, fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int tp_sys_exit_bind(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct bind_args *a;
	struct sock_rec rec = {};
	struct sock *sk;
	long ret = ctx->ret;

	a = bpf_map_lookup_elem(&binding, &id);
	if (!a)
		return 0;
	if (ret != -EADDRINUSE)
		goto out;
	/* bind() only reaches EADDRINUSE on a socket, so the fd is one. */
	sk = sk_from_fd(a->fd);
	if (!sk || sk_protocol(sk) != IPPROTO_TCP)
		goto out;
	fill_owner_current(&rec.owner, sk);
	rec.pid = (__u32)id;
	rec.ts_open = bpf_ktime_get_ns();
	rec.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	{
		struct sockaddr_in6 sa = {};

		bpf_probe_read_user(&sa, sizeof(sa), (void *)a->uaddr);
		rec.sport = bpf_ntohs(sa.sin6_port);
		if (sa.sin6_family == AF_INET6)
			__builtin_memcpy(rec.saddr, &sa.sin6_addr, 16);
		else
			__builtin_memcpy(rec.saddr, &((struct sockaddr_in *)&sa)->sin_addr, 4);
	}
	emit(&rec, NULL, PB_EV_BIND_FAILED, PB_HOOK_SYSCALL, EADDRINUSE, 0, 0);
out:
	bpf_map_delete_elem(&binding, &id);
	return 0;
}

/* Tracepoint mode: the port is allocated, in process context, before the SYN. */
SEC("sockops")
int sockops_tcp_connect(struct bpf_sock_ops *skops)
{
	struct sock_rec *rec;
	struct bpf_sock *bsk;
	__u64 key;

	if (skops->op != BPF_SOCK_OPS_TCP_CONNECT_CB)
		return 1;
	bsk = skops->sk;
	if (!bsk)
		return 1;
	key = (__u64)bsk;
	rec = bpf_map_lookup_elem(&socks, &key);
	if (!rec)
		return 1;
	if (!(rec->flags & (F_CONNECT | F_FAILED))) {
		rec->flags |= F_CONNECT;
		rec->sport = skops->local_port;
		emit(rec, NULL, PB_EV_CONNECT, PB_HOOK_SOCKOPS, 0, 0, 0);
	}
	return 1;
}

/* fentry/kprobe modes: the allocation result, the connect, TIME_WAIT entry. */
static __always_inline void on_hash_connect_ret(const struct sock *sk, int ret)
{
	__u64 key = (__u64)sk;
	struct sock_rec *rec;

	if (!ret)
		return;
	rec = bpf_map_lookup_elem(&socks, &key);
	if (rec)
		emit_failed(rec, sk, PB_HOOK_HASH_CONNECT, -ret);
}

static __always_inline void on_tcp_connect(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct sock_rec *rec = bpf_map_lookup_elem(&socks, &key);

	if (rec)
		emit_connect(rec, sk, PB_HOOK_TCP_CONNECT);
}

static __always_inline void on_time_wait(const struct sock *sk, int state, int timeo)
{
	__u64 key = (__u64)sk, tw_ns;
	struct sock_rec *rec = bpf_map_lookup_elem(&socks, &key);
	__u32 rto;

	if (!rec)
		return;
	/* As tcp_time_wait() computes it: at least 3.5 RTO, TCP_TIMEWAIT_LEN
	 * for a real TIME_WAIT. */
	rto = BPF_CORE_READ((struct inet_connection_sock *)sk, icsk_rto);
	rto = (rto << 2) - (rto >> 1);
	if ((__u32)timeo < rto)
		timeo = rto;
	tw_ns = state == BPF_TCP_TIME_WAIT ? TCP_TIMEWAIT_LEN_NS : jiffies_to_ns(timeo);
	if (!(rec->flags & (F_CONNECT | F_FAILED)))
		emit_connect(rec, sk, PB_HOOK_TIME_WAIT);
	tw_remember(sk, rec);
	emit(rec, sk, PB_EV_TIME_WAIT, PB_HOOK_TIME_WAIT, 0,
	     BPF_CORE_READ(sk, __sk_common.skc_state), tw_ns);
	bpf_map_delete_elem(&socks, &key);
}

SEC("fexit/inet_hash_connect")
int BPF_PROG(fexit_inet_hash_connect, struct inet_timewait_death_row *death_row, struct sock *sk,
	     int ret)
{
	on_hash_connect_ret(sk, ret);
	return 0;
}

SEC("fexit/inet6_hash_connect")
int BPF_PROG(fexit_inet6_hash_connect, struct inet_timewait_death_row *death_row,
	     struct sock *sk, int ret)
{
	on_hash_connect_ret(sk, ret);
	return 0;
}

SEC("fentry/tcp_connect")
int BPF_PROG(fentry_tcp_connect, struct sock *sk)
{
	on_tcp_connect(sk);
	return 0;
}

SEC("fentry/tcp_time_wait")
int BPF_PROG(fentry_tcp_time_wait, struct sock *sk, int state, int timeo)
{
	on_time_wait(sk, state, timeo);
	return 0;
}

/* kretprobes have no arguments: the socket is the one this thread put in
 * SYN_SENT (inet_hash_connect runs inside connect(), after it). */
static __always_inline void kret_hash_connect(int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *skp = bpf_map_lookup_elem(&connecting, &id);

	if (skp)
		on_hash_connect_ret((const struct sock *)*skp, ret);
}

SEC("kretprobe/inet_hash_connect")
int BPF_KRETPROBE(kretprobe_inet_hash_connect, int ret)
{
	kret_hash_connect(ret);
	return 0;
}

SEC("kretprobe/inet6_hash_connect")
int BPF_KRETPROBE(kretprobe_inet6_hash_connect, int ret)
{
	kret_hash_connect(ret);
	return 0;
}

SEC("kprobe/tcp_connect")
int BPF_KPROBE(kprobe_tcp_connect, struct sock *sk)
{
	on_tcp_connect(sk);
	return 0;
}

SEC("kprobe/tcp_time_wait")
int BPF_KPROBE(kprobe_tcp_time_wait, struct sock *sk, int state, int timeo)
{
	on_time_wait(sk, state, timeo);
	return 0;
}

/* Snapshot and reconciliation: every TCP socket of the iterator's network
 * namespace that holds a local port, with its owner when known. */
SEC("iter/tcp")
int iter_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct seq_file *seq = ctx->meta->seq;
	struct pb_sock r = {};
	__u8 state;

	if (!skc)
		return 0;
	state = BPF_CORE_READ(skc, skc_state);
	/* Listeners are reported (they come first) so that userspace can tell
	 * accepted sockets, which share their listener's port, from outbound ones. */
	if (state == BPF_TCP_NEW_SYN_RECV || state == BPF_TCP_CLOSE)
		return 0;
	r.state = state;
	r.family = BPF_CORE_READ(skc, skc_family);
	r.netns = BPF_CORE_READ(skc, skc_net.net, ns.inum);
	r.sport = BPF_CORE_READ(skc, skc_num);
	r.dport = bpf_ntohs(BPF_CORE_READ(skc, skc_dport));
	if (r.family == AF_INET6) {
		bpf_core_read(r.saddr, 16, &skc->skc_v6_rcv_saddr);
		bpf_core_read(r.daddr, 16, &skc->skc_v6_daddr);
	} else {
		bpf_core_read(r.saddr, 4, &skc->skc_rcv_saddr);
		bpf_core_read(r.daddr, 4, &skc->skc_daddr);
	}
	if (state == BPF_TCP_LISTEN) {
		/* nothing more: the port is what matters */
	} else if (state == BPF_TCP_TIME_WAIT) {
		struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(skc);
		struct tw_key k = {};
		struct tw_owner *o;
		long left;

		__builtin_memcpy(k.saddr, r.saddr, 16);
		__builtin_memcpy(k.daddr, r.daddr, 16);
		k.netns = r.netns;
		k.sport = r.sport;
		k.dport = r.dport;
		k.family = r.family;
		o = bpf_map_lookup_elem(&tw_owners, &k);
		if (o) {
			r.owner = o->owner;
			r.conn_id = o->conn_id;
			r.flags |= PB_SOCK_TRACKED;
		}
		if (tw) {
			left = (long)(BPF_CORE_READ(tw, tw_sk.tw_timer.expires) -
				      (unsigned long)bpf_jiffies64());
			r.tw_remaining_ns = left > 0 ? jiffies_to_ns(left) : 0;
		}
	} else {
		struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
		struct sock_rec *rec;
		__u64 key;

		if (!tp)
			return 0;
		key = (__u64)tp;
		rec = bpf_map_lookup_elem(&socks, &key);
		if (rec) {
			r.owner = rec->owner;
			r.conn_id = rec->conn_id;
			r.flags |= PB_SOCK_TRACKED;
		} else {
			/* The socket's own cgroup (v2), set when it was created. */
			r.owner.cgroup_id = cgroup_v1 ? 0 : sk_cgroup_id((struct sock *)tp);
			if (r.owner.cgroup_id) {
				r.owner.netns = r.netns;
				r.flags |= PB_SOCK_CGROUP;
			}
		}
	}
	bpf_seq_write(seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
