// SPDX-License-Identifier: GPL-2.0-only
/* The owner resolver: cgroup cache + path parser + log index + netns map.
 *
 * Caches, all bounded:
 *  - by cgroup id (direct-mapped): what the path and the logs say; entries are
 *    re-checked when the cgroup tree or the log index was rebuilt, and retried
 *    while names are missing, so a container whose log appears late gets named;
 *  - by netns inode (rebuilt whole from proc/<pid>/{ns/net,cgroup}): a netns
 *    inode can be reused after its pod is gone, so entries expire;
 *  - by tgid: the process's main-thread name, to spot proxies whose worker
 *    threads have other names. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "cgroup.h"
#include "log.h"
#include "owner.h"

#define CG_SLOTS 2048		/* owner cache by cgroup id */
#define TGID_SLOTS 1024		/* main-thread name cache */
#define TGID_TTL_MS 10000
#define RETRY_MS 2000		/* re-resolve an entry whose names are missing */
#define NETNS_MAX 4096
#define NETNS_TTL_MS 10000
/* init_net's fixed inode on kernels that fix it (PROC_NET_INIT_INO); below
 * the range dynamic inodes come from, so it can only be the host's netns. */
#define NETNS_INIT_INO 0xeffffff9u

static const char *const default_sidecars[] = { "istio-proxy", "linkerd-proxy", "envoy",
						"cilium-envoy", NULL };
static const char *const proxy_comms[] = { "envoy", "linkerd2-proxy", "pilot-agent", NULL };

struct cg_owner {
	uint64_t id;		/* 0 = empty */
	unsigned long cg_gen, kl_gen;
	uint64_t resolved_ms;
	bool complete;		/* nothing more to learn from the logs */
	bool found;		/* the cgroup path was found */
	struct owner_info o;	/* cgroup-level fields only */
};

struct tgid_comm {
	uint32_t tgid;
	uint64_t ms;
	char comm[PB_OWNER_COMM_LEN];
};

struct ns_entry {
	uint32_t netns;
	bool host;
	bool conflict;		/* processes of different owners share it */
	struct k8s_path_info pi;
	char path[PB_CGPATH_LEN];
};

struct owner_resolver {
	char *host_root;
	char **sidecars;
	struct cgroup_cache *cg;
	const char *v1_controller;	/* "memory" on cgroup v1 hosts, else NULL (v2) */
	struct kubelog *kl;
	struct cg_owner *slots;		/* CG_SLOTS */
	struct tgid_comm *tgids;	/* TGID_SLOTS */
	struct ns_entry *ns;		/* sorted by netns */
	size_t nns;
	uint32_t host_netns;
	uint64_t ns_scan_ms;
	bool ns_scanned;
	unsigned int min_interval_ms;
	struct owner_stats st;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Copy a NUL-terminated SRC into DST (LEN bytes), cutting if needed. */
static void scopy(char *dst, size_t len, const char *src)
{
	size_t n = 0;

	while (n + 1 < len && src[n]) {
		dst[n] = src[n];
		n++;
	}
	dst[n] = '\0';
}

static int root_path(const struct owner_resolver *r, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int root_path(const struct owner_resolver *r, char *buf, size_t len, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(rel))
		return -ENAMETOOLONG;
	n = snprintf(buf, len, "%s%s", r->host_root, rel);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

const char *pb_role_name(enum pb_role role)
{
	return role == PB_ROLE_SIDECAR ? "sidecar" : "app";
}

bool owner_is_proxy_comm(const char *comm)
{
	if (!comm)
		return false;
	for (size_t i = 0; proxy_comms[i]; i++)
		if (strncmp(comm, proxy_comms[i], PB_OWNER_COMM_LEN) == 0)
			return true;
	return false;
}

bool owner_is_sidecar_container(const struct owner_resolver *r, const char *name)
{
	if (!r || !name || !*name)
		return false;
	for (size_t i = 0; r->sidecars[i]; i++)
		if (strcmp(name, r->sidecars[i]) == 0)
			return true;
	return false;
}

/* ---- /proc helpers ---- */

/* "net:[4026531840]" -> 4026531840; 0 if not that form. */
static uint32_t parse_netns_link(const char *s)
{
	unsigned long long v = 0;
	const char *p;

	if (strncmp(s, "net:[", 5) != 0)
		return 0;
	for (p = s + 5; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > UINT32_MAX)
			return 0;
	}
	if (p == s + 5 || p[0] != ']' || p[1] != '\0')
		return 0;
	return (uint32_t)v;
}

static uint32_t netns_of_pid(const struct owner_resolver *r, const char *pid)
{
	char file[PATH_MAX], link[64];
	ssize_t n;

	if (root_path(r, file, sizeof(file), "/proc/%s/ns/net", pid))
		return 0;
	n = readlink(file, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	return parse_netns_link(link);
}

/* Main-thread name of TGID, cached; "" if unknown. */
static const char *main_comm(struct owner_resolver *r, uint32_t tgid)
{
	struct tgid_comm *t = &r->tgids[tgid % TGID_SLOTS];
	uint64_t now = now_ms();
	char file[PATH_MAX];
	ssize_t n;
	int fd;

	if (t->tgid == tgid && now - t->ms < TGID_TTL_MS)
		return t->comm;
	t->tgid = tgid;
	t->ms = now;
	t->comm[0] = '\0';
	if (root_path(r, file, sizeof(file), "/proc/%" PRIu32 "/comm", tgid))
		return t->comm;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return t->comm;
	n = read(fd, t->comm, sizeof(t->comm) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	t->comm[n] = '\0';
	t->comm[strcspn(t->comm, "\n")] = '\0';
	return t->comm;
}

/* ---- names ---- */

/* Docker's own name for a container, from its config under var/lib/docker. */
static void docker_name(const struct owner_resolver *r, const char *id, char *out, size_t len)
{
	struct json_object *j, *name;
	char file[PATH_MAX];
	const char *s;

	out[0] = '\0';
	if (root_path(r, file, sizeof(file), "/var/lib/docker/containers/%s/config.v2.json", id))
		return;
	if (access(file, R_OK) != 0)
		return;
	j = json_object_from_file(file);
	if (!j)
		return;
	if (json_object_object_get_ex(j, "Name", &name) &&
	    json_object_is_type(name, json_type_string)) {
		s = json_object_get_string(name);
		if (*s == '/')
			s++;
		scopy(out, len, s);
	}
	json_object_put(j);
}

/* Fill names of a Kubernetes owner O (pod_uid and maybe container_id set) from
 * the logs. Returns true when nothing more is to be learned. */
static bool k8s_names(struct owner_resolver *r, struct owner_info *o)
{
	struct kubelog_container kc;
	struct kubelog_pod kp;
	bool have_pod, have_ctr = false;

	have_pod = kubelog_pod(r->kl, o->pod_uid, &kp) == 0;
	if (have_pod) {
		scopy(o->namespace, sizeof(o->namespace), kp.namespace);
		scopy(o->pod, sizeof(o->pod), kp.pod);
		o->names_known = true;
	}
	if (!o->container_id[0] || o->kind != PB_KIND_K8S_CONTAINER)
		return have_pod;
	if (kubelog_container(r->kl, o->container_id, &kc) == 0) {
		/* The link's target names a pod UID: it must be this cgroup's. Without
		 * it, the names must match the pod found by UID. A pod re-created with
		 * the same name has a new UID and new container ids: never mixed. */
		bool same = kc.pod_uid[0] ? strcmp(kc.pod_uid, o->pod_uid) == 0 :
					    have_pod && strcmp(kc.namespace, kp.namespace) == 0 &&
						    strcmp(kc.pod, kp.pod) == 0;
		if (same) {
			if (!have_pod) {
				scopy(o->namespace, sizeof(o->namespace), kc.namespace);
				scopy(o->pod, sizeof(o->pod), kc.pod);
				o->names_known = true;
			}
			scopy(o->container, sizeof(o->container), kc.container);
			o->infra = kc.infra;
			have_ctr = true;
		} else {
			r->st.uid_mismatch++;
			log_debug("container %.12s: log names pod %s, cgroup says pod %s",
				  o->container_id, kc.pod_uid[0] ? kc.pod_uid : "(none)",
				  o->pod_uid);
		}
	}
	return have_pod && have_ctr;
}

static void fill_from_path(struct owner_resolver *r, struct owner_info *o, const char *path)
{
	struct k8s_path_info pi;
	size_t n = strlen(path);

	o->path_truncated = n >= sizeof(o->cgroup_path);
	scopy(o->cgroup_path, sizeof(o->cgroup_path), path);
	o->kind = k8s_path_parse(path, &pi);
	o->qos = pi.qos;
	o->runtime = pi.runtime;
	scopy(o->pod_uid, sizeof(o->pod_uid), pi.pod_uid);
	scopy(o->container_id, sizeof(o->container_id), pi.container_id);
	scopy(o->unit, sizeof(o->unit), pi.unit);
}

/* Resolve the cgroup-level part of entry E (id set). */
static void resolve_cgroup(struct owner_resolver *r, struct cg_owner *e)
{
	const char *path = cgroup_cache_path(r->cg, e->id);
	uint64_t id = e->id;

	memset(e, 0, sizeof(*e));
	e->id = id;
	e->o.cgroup_id = id;
	e->resolved_ms = now_ms();
	e->cg_gen = cgroup_cache_generation(r->cg);
	e->kl_gen = kubelog_generation(r->kl);
	if (!path) {
		e->complete = false;
		return;
	}
	e->found = true;
	fill_from_path(r, &e->o, path);
	switch (e->o.kind) {
	case PB_KIND_K8S_CONTAINER:
	case PB_KIND_K8S_POD:
		e->complete = k8s_names(r, &e->o);
		/* names may change the generation: don't recheck right away */
		e->kl_gen = kubelog_generation(r->kl);
		break;
	case PB_KIND_CONTAINER:
		if (e->o.runtime == PB_RT_DOCKER)
			docker_name(r, e->o.container_id, e->o.container, sizeof(e->o.container));
		e->complete = true;
		break;
	default:
		e->complete = true;
		break;
	}
	e->cg_gen = cgroup_cache_generation(r->cg);
}

static struct cg_owner *cg_lookup(struct owner_resolver *r, uint64_t id)
{
	struct cg_owner *e = &r->slots[(id * 0x9e3779b97f4a7c15ull) >> 53 & (CG_SLOTS - 1)];
	uint64_t now = now_ms();
	bool stale = false;

	if (e->id == id) {
		/* the cgroup tree was rescanned: is this cgroup still there? */
		if (e->cg_gen != cgroup_cache_generation(r->cg)) {
			stale = !e->found || !cgroup_cache_peek(r->cg, id);
			e->cg_gen = cgroup_cache_generation(r->cg);
		}
		/* the logs were re-read: a pod may be gone, a name may have appeared */
		if (e->kl_gen != kubelog_generation(r->kl))
			stale = true;
		if (!e->complete && now - e->resolved_ms >= RETRY_MS)
			stale = true;
		if (!stale) {
			r->st.cache_hits++;
			return e;
		}
	} else if (e->id) {
		r->st.cache_evictions++;
	}
	r->st.cache_misses++;
	e->id = id;
	resolve_cgroup(r, e);
	return e;
}

/* ---- netns -> owner ---- */

/* The host's netns is pid 1's; when pid 1 cannot be looked at (no
 * CAP_SYS_PTRACE over it), the kernel's fixed init_net inode still tells. */
static bool is_host_netns(const struct owner_resolver *r, uint32_t netns)
{
	return netns && (netns == r->host_netns || netns == NETNS_INIT_INO);
}

static bool same_owner(const struct k8s_path_info *a, const char *apath,
		       const struct k8s_path_info *b, const char *bpath)
{
	bool ak = a->kind == PB_KIND_K8S_CONTAINER || a->kind == PB_KIND_K8S_POD;
	bool bk = b->kind == PB_KIND_K8S_CONTAINER || b->kind == PB_KIND_K8S_POD;

	if (ak || bk)
		return ak && bk && strcmp(a->pod_uid, b->pod_uid) == 0;
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case PB_KIND_CONTAINER:
		return strcmp(a->container_id, b->container_id) == 0;
	case PB_KIND_UNIT:
		return strcmp(a->unit, b->unit) == 0;
	default:
		return strcmp(apath, bpath) == 0;
	}
}

static int cmp_ns(const void *a, const void *b)
{
	uint32_t x = ((const struct ns_entry *)a)->netns, y = ((const struct ns_entry *)b)->netns;

	return x < y ? -1 : x > y;
}

static struct ns_entry *ns_find(struct ns_entry *arr, size_t n, uint32_t netns)
{
	struct ns_entry key = { .netns = netns };

	return n ? bsearch(&key, arr, n, sizeof(key), cmp_ns) : NULL;
}

static bool is_pid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Rebuild the netns map from proc/<pid>/{ns/net,cgroup}. */
static void netns_scan(struct owner_resolver *r)
{
	struct ns_entry *arr = NULL;
	size_t n = 0, cap = 0, sorted = 0;
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	r->ns_scan_ms = now_ms();
	r->ns_scanned = true;
	r->st.netns_scans++;
	r->host_netns = netns_of_pid(r, "1");
	if (!r->host_netns)
		log_debug("cannot read the netns of pid 1: host netns told by inode only");
	if (root_path(r, dir, sizeof(dir), "/proc"))
		return;
	d = opendir(dir);
	if (!d) {
		log_warn("failed to open %s", dir);
		return;
	}
	while ((de = readdir(d))) {
		char path[PB_CGPATH_LEN];
		struct k8s_path_info pi;
		struct ns_entry *e;
		uint32_t netns;
		int pid;

		if (!is_pid(de->d_name))
			continue;
		netns = netns_of_pid(r, de->d_name);
		if (!netns || is_host_netns(r, netns))
			continue;
		/* sorted prefix + a short unsorted tail keeps lookups cheap */
		e = ns_find(arr, sorted, netns);
		for (size_t i = sorted; !e && i < n; i++)
			if (arr[i].netns == netns)
				e = &arr[i];
		if (e && e->conflict)
			continue;
		pid = atoi(de->d_name);
		if (cgroup_path_of_pid_in(r->host_root, pid, r->v1_controller, path, sizeof(path)))
			continue;	/* gone, or a v1-only host */
		k8s_path_parse(path, &pi);
		if (e) {
			if (!same_owner(&e->pi, e->path, &pi, path))
				e->conflict = true;
			continue;
		}
		if (n >= NETNS_MAX)
			continue;
		if (n == cap) {
			struct ns_entry *na = reallocarray(arr, cap ? cap * 2 : 64, sizeof(*arr));

			if (!na)
				break;
			arr = na;
			cap = cap ? cap * 2 : 64;
		}
		memset(&arr[n], 0, sizeof(arr[n]));
		arr[n].netns = netns;
		arr[n].pi = pi;
		scopy(arr[n].path, sizeof(arr[n].path), path);
		n++;
		if (n - sorted > 32) {
			qsort(arr, n, sizeof(*arr), cmp_ns);
			sorted = n;
		}
	}
	closedir(d);
	if (n)
		qsort(arr, n, sizeof(*arr), cmp_ns);
	free(r->ns);
	r->ns = arr;
	r->nns = n;
}

static void set_display(struct owner_info *o);


int owner_resolve_netns(struct owner_resolver *r, uint32_t netns, struct owner_info *out)
{
	struct ns_entry *e;
	uint64_t now = now_ms();

	if (!r || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->netns = netns;
	if (!netns)
		goto none;
	/* expired: an inode may have a new owner; a miss: a new pod. A netns with
	 * no process left (TIME_WAIT sockets of a deleted pod) misses every time,
	 * hence the longer interval for misses. */
	if (!r->ns_scanned || now - r->ns_scan_ms >= NETNS_TTL_MS)
		netns_scan(r);
	else if (!is_host_netns(r, netns) && !ns_find(r->ns, r->nns, netns) &&
		 now - r->ns_scan_ms >= 5ull * r->min_interval_ms)
		netns_scan(r);
	if (is_host_netns(r, netns)) {
		out->kind = PB_KIND_HOST;
		out->source = PB_SRC_NETNS;
		set_display(out);
		return 0;
	}
	e = ns_find(r->ns, r->nns, netns);
	if (!e || e->conflict)
		goto none;
	fill_from_path(r, out, e->path);
	out->source = PB_SRC_NETNS;
	out->netns = netns;
	if (out->kind == PB_KIND_K8S_CONTAINER || out->kind == PB_KIND_K8S_POD) {
		/* all containers of a pod share the netns: which one is not known */
		out->kind = PB_KIND_K8S_POD;
		out->container_id[0] = '\0';
		k8s_names(r, out);
	}
	if (out->kind == PB_KIND_UNKNOWN)
		goto none;
	set_display(out);
	return 0;

none:
	memset(out, 0, sizeof(*out));
	out->netns = netns;
	set_display(out);
	return -ENOENT;
}

/* ---- display ---- */

static void set_display(struct owner_info *o)
{
	char *d = o->display;
	size_t len = sizeof(o->display);
	const char *comm = o->comm[0] ? o->comm : NULL;

	switch (o->kind) {
	case PB_KIND_K8S_CONTAINER:
	case PB_KIND_K8S_POD:
		if (o->names_known && o->container[0])
			snprintf(d, len, "%s/%s/%s", o->namespace, o->pod, o->container);
		else if (o->names_known && o->container_id[0])
			snprintf(d, len, "%s/%s/%.12s", o->namespace, o->pod, o->container_id);
		else if (o->names_known)
			snprintf(d, len, "%s/%s", o->namespace, o->pod);
		else if (o->container_id[0])
			snprintf(d, len, "pod-%s/%.12s", o->pod_uid, o->container_id);
		else
			snprintf(d, len, "pod-%s", o->pod_uid);
		return;
	case PB_KIND_CONTAINER:
		if (o->container[0])
			snprintf(d, len, "%s/%s", pb_runtime_name(o->runtime)[0] ?
				 pb_runtime_name(o->runtime) : "container", o->container);
		else
			snprintf(d, len, "%s/%.12s", pb_runtime_name(o->runtime)[0] ?
				 pb_runtime_name(o->runtime) : "container", o->container_id);
		return;
	case PB_KIND_UNIT:
		{
			size_t ul = strlen(o->unit);
			bool service = ul > 8 && strcmp(o->unit + ul - 8, ".service") == 0;

			/* a service names itself; a scope (session) or slice is better
			 * told by its process */
			if (service || !comm)
				scopy(d, len, o->unit);
			else
				snprintf(d, len, "%s/%s", o->unit, comm);
		}
		return;
	case PB_KIND_HOST:
		snprintf(d, len, "host");
		return;
	case PB_KIND_ROOT:
	case PB_KIND_UNKNOWN:
	default:
		if (comm)
			scopy(d, len, comm);
		else if (o->cgroup_path[0])
			scopy(d, len, o->cgroup_path);
		else if (o->cgroup_id)
			snprintf(d, len, "cgroup:%" PRIu64, o->cgroup_id);
		else if (o->netns)
			snprintf(d, len, "netns:%" PRIu32, o->netns);
		else
			snprintf(d, len, "unknown");
		return;
	}
}

int owner_resolve(struct owner_resolver *r, uint64_t cgroup_id, uint32_t netns, uint32_t tgid,
		  const char *comm, struct owner_info *out)
{
	struct cg_owner *e = NULL;
	int ret = 0;

	if (!r || !out)
		return -EINVAL;
	if (cgroup_id)
		e = cg_lookup(r, cgroup_id);
	if (e && e->found) {
		*out = e->o;
		out->source = PB_SRC_CGROUP;
	} else if (netns && owner_resolve_netns(r, netns, out) == 0) {
		out->cgroup_id = cgroup_id;
	} else {
		memset(out, 0, sizeof(*out));
		out->cgroup_id = cgroup_id;
		ret = -ENOENT;
	}
	out->netns = netns;
	out->tgid = tgid;
	if (comm)
		scopy(out->comm, sizeof(out->comm), comm);

	/* the sandbox: a pod's container with no log whose process is pause */
	if (out->kind == PB_KIND_K8S_CONTAINER && !out->container[0] &&
	    strcmp(out->comm, "pause") == 0) {
		out->infra = true;
		scopy(out->container, sizeof(out->container), "POD");
	}
	out->role = PB_ROLE_APP;
	if (owner_is_sidecar_container(r, out->container) || owner_is_proxy_comm(out->comm) ||
	    (tgid && (out->kind == PB_KIND_K8S_CONTAINER || out->kind == PB_KIND_K8S_POD) &&
	     owner_is_proxy_comm(main_comm(r, tgid))))
		out->role = PB_ROLE_SIDECAR;
	if (ret == 0 && out->kind == PB_KIND_UNKNOWN && !out->comm[0] && !out->cgroup_path[0])
		ret = -ENOENT;
	set_display(out);
	return ret;
}

/* ---- life cycle ---- */

struct owner_resolver *owner_resolver_new(const char *host_root, const char *const *sidecar_names)
{
	return owner_resolver_new_cg(host_root, sidecar_names, false);
}

struct owner_resolver *owner_resolver_new_cg(const char *host_root, const char *const *sidecar_names,
					     bool cgroup_v1)
{
	const char *const *names = sidecar_names ? sidecar_names : default_sidecars;
	struct owner_resolver *r;
	char mnt[PATH_MAX];
	size_t n = 0, rl;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (!host_root || !*host_root)
		host_root = "/";
	rl = strlen(host_root);
	while (rl > 0 && host_root[rl - 1] == '/')
		rl--;
	r->host_root = strndup(host_root, rl);	/* "" for "/" */
	while (names[n])
		n++;
	r->sidecars = calloc(n + 1, sizeof(*r->sidecars));
	r->slots = calloc(CG_SLOTS, sizeof(*r->slots));
	r->tgids = calloc(TGID_SLOTS, sizeof(*r->tgids));
	r->kl = kubelog_new(host_root);
	if (!r->host_root || !r->sidecars || !r->slots || !r->tgids || !r->kl)
		goto err_free;
	for (size_t i = 0; i < n; i++) {
		r->sidecars[i] = strdup(names[i]);
		if (!r->sidecars[i])
			goto err_free;
	}
	r->min_interval_ms = 1000;
	err = cgroup2_mount_find(host_root, mnt, sizeof(mnt));
	if (err || cgroup_v1) {
		/* A cgroup v1 host, or a hybrid one whose runtime uses v1: the BPF
		 * side reports the memory hierarchy's cgroup (see bpf/). */
		err = cgroup_v1_mount_find(host_root, "memory", mnt, sizeof(mnt));
		if (!err) {
			r->v1_controller = "memory";
			r->cg = cgroup_cache_new(mnt);
			if (!r->cg)
				goto err_free;
			log_debug("cgroup v1 memory tree at %s", mnt);
			return r;
		}
	}
	if (err) {
		errno = -err;
		log_warn("failed to find the cgroup2 mount under %s (pods are told by netns only)",
			 host_root);
	} else {
		r->cg = cgroup_cache_new(mnt);
		if (!r->cg)
			goto err_free;
		log_debug("cgroup2 tree at %s", mnt);
	}
	return r;

err_free:
	owner_resolver_free(r);
	return NULL;
}

void owner_resolver_free(struct owner_resolver *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->sidecars && r->sidecars[i]; i++)
		free(r->sidecars[i]);
	free(r->sidecars);
	cgroup_cache_free(r->cg);
	kubelog_free(r->kl);
	free(r->slots);
	free(r->tgids);
	free(r->ns);
	free(r->host_root);
	free(r);
}

void owner_resolver_set_min_interval(struct owner_resolver *r, unsigned int ms)
{
	if (!r)
		return;
	r->min_interval_ms = ms;
	cgroup_cache_set_min_interval(r->cg, ms);
	kubelog_set_min_interval(r->kl, ms);
}

void owner_resolver_stats(const struct owner_resolver *r, struct owner_stats *st)
{
	if (!r || !st)
		return;
	*st = r->st;
	st->cgroups = cgroup_cache_size(r->cg);
	st->pods = kubelog_pod_count(r->kl);
	st->containers = kubelog_container_count(r->kl);
	st->netns = r->nns;
}
