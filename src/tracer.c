// SPDX-License-Identifier: GPL-2.0-only
/* The loader: open -> configure -> load -> attach, per hook mode, falling back
 * fentry -> kprobe -> tracepoint in auto mode; then drain the ring buffer. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <zlib.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "log.h"
#include "tracer.h"
#include "portburn.skel.h"

#define MAX_LINKS 16

struct tracer {
	struct portburn_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[MAX_LINKS];
	int nlinks;
	struct bpf_link *iter_link;	/* also in links[] */
	int cg_fd;
	enum pb_mode mode;
	int drain_ms;
	int ncpus;
	tracer_event_fn fn;
	void *ctx;
};

static const char *const mode_names[] = {
	[PB_MODE_AUTO] = "auto",
	[PB_MODE_FENTRY] = "fentry",
	[PB_MODE_KPROBE] = "kprobe",
	[PB_MODE_TRACEPOINT] = "tracepoint",
};

const char *pb_mode_name(enum pb_mode m)
{
	return m <= PB_MODE_TRACEPOINT ? mode_names[m] : "?";
}

int pb_mode_parse(const char *s, enum pb_mode *m)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (!strcmp(s, mode_names[i])) {
			*m = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Which programs a mode uses. The state tracepoint and the syscall
 * tracepoints run in every mode. */
struct hook {
	enum pb_mode mode; /* PB_MODE_AUTO = every mode */
	const char *kfunc; /* kernel function the program needs, if any */
	bool optional;	   /* a missing function disables only this program */
	bool syscall_tp;   /* needs tracefs syscall events */
	bool cgroup;	   /* attaches to the cgroup v2 root */
	bool iter;	   /* the socket iterator: a link to create iterators from */
};

static struct bpf_program *hook_prog(struct portburn_bpf *s, int i, struct hook *h)
{
	static const struct hook hooks[] = {
		{ .mode = PB_MODE_AUTO },
		{ .mode = PB_MODE_AUTO },	/* attached after the first: order matters */
		{ .mode = PB_MODE_AUTO, .syscall_tp = true },
		{ .mode = PB_MODE_AUTO, .syscall_tp = true },
		{ .mode = PB_MODE_AUTO, .syscall_tp = true },
		{ .mode = PB_MODE_FENTRY, .kfunc = "inet_hash_connect" },
		{ .mode = PB_MODE_FENTRY, .kfunc = "inet6_hash_connect", .optional = true },
		{ .mode = PB_MODE_FENTRY, .kfunc = "tcp_connect" },
		{ .mode = PB_MODE_FENTRY, .kfunc = "tcp_time_wait" },
		{ .mode = PB_MODE_KPROBE, .kfunc = "inet_hash_connect" },
		{ .mode = PB_MODE_KPROBE, .kfunc = "inet6_hash_connect", .optional = true },
		{ .mode = PB_MODE_KPROBE, .kfunc = "tcp_connect" },
		{ .mode = PB_MODE_KPROBE, .kfunc = "tcp_time_wait" },
		{ .mode = PB_MODE_TRACEPOINT, .cgroup = true },
		{ .mode = PB_MODE_AUTO, .iter = true },
	};
	struct bpf_program *progs[] = {
		s->progs.tp_inet_sock_set_state,
		s->progs.tp_inet_sock_set_state_nested,
		s->progs.tp_sys_exit_connect,
		s->progs.tp_sys_enter_bind,
		s->progs.tp_sys_exit_bind,
		s->progs.fexit_inet_hash_connect,
		s->progs.fexit_inet6_hash_connect,
		s->progs.fentry_tcp_connect,
		s->progs.fentry_tcp_time_wait,
		s->progs.kretprobe_inet_hash_connect,
		s->progs.kretprobe_inet6_hash_connect,
		s->progs.kprobe_tcp_connect,
		s->progs.kprobe_tcp_time_wait,
		s->progs.sockops_tcp_connect,
		s->progs.iter_tcp,
	};
	_Static_assert(sizeof(hooks) / sizeof(hooks[0]) == sizeof(progs) / sizeof(progs[0]),
		       "one hook per program");

	if (i >= (int)(sizeof(hooks) / sizeof(hooks[0])))
		return NULL;
	*h = hooks[i];
	return progs[i];
}

/* CONFIG_HZ from /boot/config-<release> or /proc/config.gz; 250 (Debian's,
 * and the most common) when neither is there, as in a container without /boot. */
static unsigned int kernel_hz(void)
{
	char path[512], line[256];
	struct utsname u;
	unsigned int hz = 0;
	gzFile f = NULL;

	if (!uname(&u)) {
		snprintf(path, sizeof(path), "/boot/config-%s", u.release);
		f = gzopen(path, "r");	/* reads plain files too */
	}
	if (!f)
		f = gzopen("/proc/config.gz", "r");
	while (f && !hz && gzgets(f, line, sizeof(line)))
		if (sscanf(line, "CONFIG_HZ=%u", &hz) != 1)
			hz = 0;
	if (f)
		gzclose(f);
	if (hz < 24 || hz > 10000) {
		log_debug("kernel config not found: assuming CONFIG_HZ=250 for TIME_WAIT timers");
		hz = 250;
	}
	return hz;
}

/* libbpf finds tracepoints in tracefs; mount it where it is missing. */
static bool syscall_tracepoints_available(void)
{
	static const char *const ids[] = {
		"/sys/kernel/tracing/events/syscalls/sys_exit_connect/id",
		"/sys/kernel/debug/tracing/events/syscalls/sys_exit_connect/id",
	};

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < 2; i++)
			if (access(ids[i], R_OK) == 0)
				return true;
		if (pass == 0 && access("/sys/kernel/tracing/events", F_OK) != 0 &&
		    mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) != 0)
			log_debug("failed to mount tracefs at /sys/kernel/tracing: %s",
				  strerror(errno));
	}
	return false;
}

/* Can this kernel run MODE at all? A two-instruction fentry program, or the
 * kprobe interfaces: cheap answers that save loading every program in vain. */
static int probe_mode(enum pb_mode mode, const struct btf *vmlinux, const char **why)
{
	if (mode == PB_MODE_FENTRY) {
		struct bpf_insn insns[] = {
			{ .code = 0xb7, .dst_reg = 0, .imm = 0 },	/* r0 = 0 */
			{ .code = 0x95 },				/* exit */
		};
		LIBBPF_OPTS(bpf_prog_load_opts, po, .expected_attach_type = BPF_TRACE_FENTRY);
		int id = vmlinux ? btf__find_by_name_kind(vmlinux, "tcp_connect", BTF_KIND_FUNC) : -1;
		int fd;

		if (id <= 0) {
			*why = "find tcp_connect in the kernel's BTF";
			return -ENOENT;
		}
		po.attach_btf_id = id;
		fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "pb_probe", "GPL", insns, 2, &po);
		if (fd < 0) {
			*why = "load an fentry program";
			return fd;
		}
		close(fd);
	}
	if (mode == PB_MODE_KPROBE && access("/sys/bus/event_source/devices/kprobe/type", F_OK) &&
	    access("/sys/kernel/tracing/kprobe_events", F_OK) &&
	    access("/sys/kernel/debug/tracing/kprobe_events", F_OK)) {
		*why = "find kprobe support (kernel built without CONFIG_KPROBES?)";
		return -EOPNOTSUPP;
	}
	return 0;
}

static bool kernel_has_func(const struct btf *vmlinux, const char *name)
{
	return vmlinux && btf__find_by_name_kind(vmlinux, name, BTF_KIND_FUNC) > 0;
}

static void destroy_links(struct tracer *t)
{
	for (int i = 0; i < t->nlinks; i++)
		bpf_link__destroy(t->links[i]);
	t->nlinks = 0;
	t->iter_link = NULL;
}

static void detach_all(struct tracer *t)
{
	destroy_links(t);
	portburn_bpf__destroy(t->skel);
	t->skel = NULL;
}

/* One attempt at MODE. 0, or -errno with *why naming the step that failed. */
static int try_mode(struct tracer *t, const struct tracer_opts *o, enum pb_mode mode,
		    const struct btf *vmlinux, bool have_sys_tp, const char **why)
{
	struct portburn_bpf *s;
	struct bpf_program *p;
	struct hook h;
	int err, i;

	s = portburn_bpf__open();
	if (!s) {
		*why = "open BPF object";
		return -errno;
	}
	t->skel = s;

	/* Configure: sizes and which hooks report what. */
	if (o->walk_only) {
		/* Nothing will be tracked: the least the maps can be. */
		bpf_map__set_max_entries(s->maps.events, (uint32_t)sysconf(_SC_PAGESIZE));
		bpf_map__set_max_entries(s->maps.socks, 1);
		bpf_map__set_max_entries(s->maps.tw_owners, 1);
	} else {
		bpf_map__set_max_entries(s->maps.events, o->ring_size);
		bpf_map__set_max_entries(s->maps.socks, o->max_socks);
		bpf_map__set_max_entries(s->maps.tw_owners,
					 o->max_socks / 2 ? o->max_socks / 2 : 1);
	}
	s->rodata->wakeup_bytes = o->ring_size / 4;
	s->rodata->kernel_hz = kernel_hz();
	s->rodata->cgroup_v1 = o->cgroup_v1;
	s->rodata->hook_hash_connect = mode != PB_MODE_TRACEPOINT;
	s->rodata->hook_tcp_connect = mode != PB_MODE_TRACEPOINT;
	s->rodata->hook_time_wait = mode != PB_MODE_TRACEPOINT;
	s->rodata->hook_sys_connect = have_sys_tp;
	for (i = 0; (p = hook_prog(s, i, &h)); i++) {
		bool on = h.mode == PB_MODE_AUTO || h.mode == mode;

		if (on && h.syscall_tp && !have_sys_tp)
			on = false;
		if (on && h.cgroup && t->cg_fd < 0)
			on = false;
		if (on && h.kfunc && !kernel_has_func(vmlinux, h.kfunc)) {
			if (!h.optional) {
				*why = "find the kernel function";
				log_debug("%s mode: kernel has no function %s", pb_mode_name(mode),
					  h.kfunc);
				return -ENOENT;
			}
			log_debug("%s mode: kernel has no %s, %s disabled", pb_mode_name(mode),
				  h.kfunc, bpf_program__name(p));
			on = false;
		}
		bpf_program__set_autoload(p, on && (h.iter || !o->walk_only));
	}

	/* Load. */
	err = portburn_bpf__load(s);
	if (err) {
		*why = "load the programs";
		return err;
	}

	/* Attach. */
	for (i = 0; (p = hook_prog(s, i, &h)); i++) {
		struct bpf_link *l;

		if (!bpf_program__autoload(p))
			continue;
		if (h.cgroup)
			l = bpf_program__attach_cgroup(p, t->cg_fd);
		else
			l = bpf_program__attach(p);
		if (!l) {
			err = -errno;
			if (h.cgroup) {
				/* Degrades: the port is then reported at the end of
				 * the handshake or when connect() returns. */
				log_warnx("failed to attach sockops to the cgroup v2 root: %s; "
					  "connects are reported when connect() returns",
					  strerror(-err));
				continue;
			}
			*why = mode == PB_MODE_KPROBE &&
					       access("/sys/bus/event_source/devices/kprobe", F_OK) &&
					       access("/sys/kernel/tracing/kprobe_events", F_OK)
				       ? "attach kprobes (kernel built without CONFIG_KPROBES?)"
				       : "attach a program";
			log_debug("failed to attach %s: %s", bpf_program__name(p), strerror(-err));
			return err;
		}
		if (h.iter)
			t->iter_link = l;
		t->links[t->nlinks++] = l;
		log_debug("%s: attached %s", pb_mode_name(mode), bpf_program__name(p));
	}
	t->mode = mode;
	return 0;
}

static int handle_rb(void *ctx, void *data, size_t len)
{
	struct tracer *t = ctx;

	if (len < sizeof(struct pb_event))
		return 0;
	return t->fn(t->ctx, data);
}

struct tracer *tracer_new(const struct tracer_opts *opts, tracer_event_fn fn, void *ctx)
{
	static const enum pb_mode order[] = { PB_MODE_FENTRY, PB_MODE_KPROBE, PB_MODE_TRACEPOINT };
	struct tracer_opts o = *opts;
	struct tracer *t;
	struct btf *vmlinux;
	bool have_sys_tp;
	int err = -EINVAL;

	if (!o.ring_size)
		o.ring_size = TRACER_DEFAULT_RING;
	if (!o.max_socks)
		o.max_socks = TRACER_DEFAULT_MAX_SOCKS;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->fn = fn;
	t->ctx = ctx;
	t->drain_ms = o.drain_ms > 0 ? o.drain_ms : TRACER_DEFAULT_DRAIN_MS;
	t->cg_fd = -1;
	t->ncpus = libbpf_num_possible_cpus();
	if (t->ncpus <= 0) {
		err = t->ncpus ? t->ncpus : -EINVAL;
		log_warnx("failed to count possible CPUs: %s", strerror(-err));
		goto err_free;
	}

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		err = -errno;
		log_warnx("failed to read kernel BTF (/sys/kernel/btf/vmlinux): %s; portburn "
			  "needs a kernel built with CONFIG_DEBUG_INFO_BTF", strerror(-err));
		goto err_free;
	}
	have_sys_tp = syscall_tracepoints_available();
	if (!have_sys_tp)
		log_warnx("syscall tracepoints unavailable (no tracefs?): connect errors are "
			  "reported without the exact errno in tracepoint mode");
	if (o.cgroup2) {
		t->cg_fd = open(o.cgroup2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (t->cg_fd < 0)
			log_warn("failed to open cgroup v2 root %s", o.cgroup2);
	}

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *why = "";

		if (o.mode != PB_MODE_AUTO && o.mode != order[i])
			continue;
		err = probe_mode(order[i], vmlinux, &why);
		if (!err)
			err = try_mode(t, &o, order[i], vmlinux, have_sys_tp, &why);
		if (!err)
			break;
		if (o.mode != PB_MODE_AUTO) {
			log_warnx("failed to start %s mode: could not %s: %s", pb_mode_name(order[i]),
				  why, strerror(-err));
		} else {
			log_debug("%s mode unavailable (could not %s: %s), falling back",
				  pb_mode_name(order[i]), why, strerror(-err));
		}
		detach_all(t);
	}
	btf__free(vmlinux);
	if (err) {
		if (o.mode == PB_MODE_AUTO)
			log_warnx("failed to start in any hook mode (last error: %s); run with -v "
				  "for details", strerror(-err));
		goto err_cg;
	}
	if (o.walk_only) {
		log_debug("hook mode %s (what tracing would use); only the socket iterator is "
			  "loaded", pb_mode_name(t->mode));
	} else {
		bool tp = t->mode == PB_MODE_TRACEPOINT, fe = t->mode == PB_MODE_FENTRY;

		log_debug("hook mode %s: connect via %s, allocation errors via %s, TIME_WAIT via "
			  "%s, close via tp_btf/inet_sock_set_state", pb_mode_name(t->mode),
			  tp ? "sockops/inet_sock_set_state/sys_exit_connect"
			  : fe ? "fentry/tcp_connect" : "kprobe/tcp_connect",
			  tp ? (have_sys_tp ? "sys_exit_connect" : "none")
			  : fe ? "fexit/inet_hash_connect" : "kretprobe/inet_hash_connect",
			  tp ? "inet_sock_set_state (FIN_WAIT/CLOSING->CLOSE)"
			  : fe ? "fentry/tcp_time_wait" : "kprobe/tcp_time_wait");
	}

	t->rb = ring_buffer__new(bpf_map__fd(t->skel->maps.events), handle_rb, t, NULL);
	if (!t->rb) {
		err = -errno;
		log_warnx("failed to create ring buffer reader: %s", strerror(-err));
		goto err_detach;
	}
	return t;

err_detach:
	detach_all(t);
err_cg:
	if (t->cg_fd >= 0)
		close(t->cg_fd);
err_free:
	free(t);
	errno = -err;
	return NULL;
}

void tracer_free(struct tracer *t)
{
	if (!t)
		return;
	ring_buffer__free(t->rb);
	detach_all(t);
	if (t->cg_fd >= 0)
		close(t->cg_fd);
	free(t);
}

int tracer_poll(struct tracer *t)
{
	int n, m;

	/* Records are submitted without wakeup: the wait ends on the timer, or
	 * early when the ring is filling up. Then drain it all. */
	n = ring_buffer__poll(t->rb, t->drain_ms);
	if (n < 0)
		return n;
	m = ring_buffer__consume(t->rb);
	if (m < 0)
		return m;
	return n + m;
}

int tracer_poll_nowait(struct tracer *t)
{
	return ring_buffer__consume(t->rb);
}

void tracer_stop(struct tracer *t)
{
	destroy_links(t);
	/* Programs still running on another CPU finish before the links go. */
	ring_buffer__consume(t->rb);
}

enum pb_mode tracer_mode(const struct tracer *t)
{
	return t->mode;
}

uint64_t tracer_drops(const struct tracer *t, enum pb_drop what)
{
	uint64_t vals[t->ncpus], sum = 0;
	uint32_t key = what;

	if (bpf_map_lookup_elem(bpf_map__fd(t->skel->maps.drops), &key, vals))
		return 0;
	for (int i = 0; i < t->ncpus; i++)
		sum += vals[i];
	return sum;
}

uint64_t tracer_missed(const struct tracer *t)
{
	struct bpf_program *p;
	uint64_t sum = 0, nested;

	if (!t->skel)
		return 0;
	bpf_object__for_each_program(p, t->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		/* The twin skipped only while it ran itself, after the first
		 * program: the first took that call. */
		if (p == t->skel->progs.tp_inet_sock_set_state_nested)
			continue;
		if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len))
			sum += info.recursion_misses;
	}
	/* the first state program's skipped runs that its twin took over */
	nested = tracer_drops(t, PB_STAT_NESTED);
	return sum > nested ? sum - nested : 0;
}

int tracer_iter_fd(const struct tracer *t)
{
	return t->iter_link ? bpf_link__fd(t->iter_link) : -1;
}
