// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "cgroup.h"
#include "cmd.h"
#include "escape.h"
#include "event_fmt.h"
#include "log.h"
#include "owner.h"
#include "util.h"

struct event_fmt {
	struct owner_resolver *owners;
	struct owner_info last;		/* owner of the previous event: runs repeat */
	bool have_last;
	struct cgroup_cache *cgroups;	/* NULL without cgroup v2 */
	const char *mount;
	char filter[4096];
};

static const char *const type_names[] = {
	[PB_EV_CONNECT] = "connect",
	[PB_EV_CONNECT_FAILED] = "connect_failed",
	[PB_EV_CLOSE] = "close",
	[PB_EV_TIME_WAIT] = "time_wait",
	[PB_EV_BIND_FAILED] = "bind_failed",
};

static const char *const hook_names[] = {
	[PB_HOOK_STATE] = "inet_sock_set_state",
	[PB_HOOK_SYSCALL] = "sys_exit_connect",
	[PB_HOOK_SOCKOPS] = "sockops",
	[PB_HOOK_HASH_CONNECT] = "inet_hash_connect",
	[PB_HOOK_TCP_CONNECT] = "tcp_connect",
	[PB_HOOK_TIME_WAIT] = "tcp_time_wait",
};

static const char *hook_name(int hook)
{
	if (hook > 0 && hook < (int)(sizeof(hook_names) / sizeof(hook_names[0])))
		return hook_names[hook];
	return "unknown";
}

const char *event_type_name(int type)
{
	if (type > 0 && type < (int)(sizeof(type_names) / sizeof(type_names[0])) &&
	    type_names[type])
		return type_names[type];
	return "unknown";
}

struct event_fmt *event_fmt_new(const struct common_opts *o)
{
	struct event_fmt *f = calloc(1, sizeof(*f));

	if (!f) {
		log_warn("failed to allocate formatter");
		return NULL;
	}
	f->owners = owner_resolver_new_cg(o->host_root, o->sidecar_names[0] ? o->sidecar_names : NULL,
					  o->cgroup_v1);
	if (!f->owners)
		log_warnx("failed to set up owner attribution: names unknown");
	if (o->cgroup_root[0]) {
		f->mount = o->cgroup_root;
		f->cgroups = cgroup_cache_new(o->cgroup_root);
		if (!f->cgroups)
			log_warn("failed to index cgroups under %s", o->cgroup_root);
	}
	return f;
}

void event_fmt_free(struct event_fmt *f)
{
	if (!f)
		return;
	cgroup_cache_free(f->cgroups);
	owner_resolver_free(f->owners);
	free(f);
}

int event_fmt_set_cgroup_filter(struct event_fmt *f, const char **path)
{
	const char *p = *path;
	size_t n, m = f->mount ? strlen(f->mount) : 0;

	if (!f->cgroups) {
		fprintf(stderr, "portburn: --cgroup needs a cgroup hierarchy, none is mounted\n");
		return 2;
	}
	/* /sys/fs/cgroup/unified/x/y -> /x/y; x/y -> /x/y */
	if (m && !strncmp(p, f->mount, m) && (p[m] == '/' || !p[m]))
		p += m;
	snprintf(f->filter, sizeof(f->filter), "%s%s", p[0] == '/' ? "" : "/", p);
	n = strlen(f->filter);
	while (n > 1 && f->filter[n - 1] == '/')
		f->filter[--n] = '\0';
	*path = f->filter;
	return 0;
}

static const char *cgroup_path(struct event_fmt *f, const struct pb_event *e)
{
	const char *p = f->cgroups ? cgroup_cache_path(f->cgroups, e->owner.cgroup_id) : NULL;

	return p ? p : "";
}

/* Owner of E, resolved through the resolver's caches. */
static const struct owner_info *owner_of(struct event_fmt *f, const struct pb_event *e)
{
	struct owner_info *o = &f->last;

	if (f->have_last && o->cgroup_id == e->owner.cgroup_id && o->netns == e->owner.netns &&
	    o->tgid == e->owner.tgid && !strncmp(o->comm, e->owner.comm, sizeof(o->comm)))
		return o;
	memset(o, 0, sizeof(*o));
	if (f->owners)
		owner_resolve(f->owners, e->owner.cgroup_id, e->owner.netns, e->owner.tgid,
			      e->owner.comm, o);
	else
		snprintf(o->display, sizeof(o->display), "%.*s", PB_COMM_LEN, e->owner.comm);
	f->have_last = true;
	return o;
}

bool event_fmt_in_cgroup(struct event_fmt *f, const struct pb_event *e, const char *path)
{
	const char *p = cgroup_path(f, e);
	size_t n = strlen(path);

	if (!strcmp(path, "/"))
		return true;
	return !strncmp(p, path, n) && (p[n] == '\0' || p[n] == '/');
}

void event_fmt_text(struct event_fmt *f, const struct pb_event *e, FILE *out)
{
	char sa[ADDR_STRLEN], da[ADDR_STRLEN], eb[16], comm[4 * PB_COMM_LEN + 1], cg[1024];
	char clock[32], extra[64] = "", who[4 * PB_DISPLAY_LEN + 1];
	const struct owner_info *ow = owner_of(f, e);
	uint64_t wall = mono_to_wall_ns(e->ts_ns);
	time_t secs = wall / 1000000000ULL;
	struct tm tm;
	int sfmt = addr_is_v4(e->family, e->saddr) ? 0 : 1;

	localtime_r(&secs, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	esc_mem(ESC_TERM, comm, sizeof(comm), e->owner.comm, strnlen(e->owner.comm, PB_COMM_LEN));
	esc_term(cg, sizeof(cg), cgroup_path(f, e));
	esc_term(who, sizeof(who), ow->display);
	switch (e->type) {
	case PB_EV_CONNECT_FAILED:
	case PB_EV_BIND_FAILED:
		snprintf(extra, sizeof(extra), " %s", errno_name(e->err, eb, sizeof(eb)));
		break;
	case PB_EV_CLOSE:
		snprintf(extra, sizeof(extra), " after %.3fs", e->duration_ns / 1e9);
		break;
	case PB_EV_TIME_WAIT:
		snprintf(extra, sizeof(extra), " after %.3fs, holds port %.0fs",
			 e->duration_ns / 1e9, e->tw_ns / 1e9);
		break;
	}
	fprintf(out, "%s.%03u %-14s %s%s pid %u %s netns %u cgroup %llu %s  %s%s%s:%u -> %s%s%s:%u%s\n",
		clock, (unsigned)(wall / 1000000 % 1000), event_type_name(e->type), who,
		ow->role == PB_ROLE_SIDECAR ? " (sidecar)" : "", e->owner.tgid,
		comm, e->owner.netns, (unsigned long long)e->owner.cgroup_id, cg[0] ? cg : "?",
		sfmt ? "[" : "",
		addr_fmt(e->family, e->saddr, sa, sizeof(sa)), sfmt ? "]" : "", e->sport,
		sfmt ? "[" : "", addr_fmt(e->family, e->daddr, da, sizeof(da)), sfmt ? "]" : "",
		e->dport, extra);
}

static void add_str(struct json_object *o, const char *k, const char *v, size_t len)
{
	char buf[4096];

	/* json-c escapes quotes and control characters; bytes that are not
	 * UTF-8 must be made valid first. */
	esc_mem(ESC_UTF8, buf, sizeof(buf), v, len);
	json_object_object_add(o, k, json_object_new_string(buf));
}

void event_fmt_json(struct event_fmt *f, const struct pb_event *e, FILE *out)
{
	struct json_object *o = json_object_new_object();
	char a[ADDR_STRLEN], eb[16];
	const char *cg = cgroup_path(f, e);
	const struct owner_info *ow = owner_of(f, e);

	json_object_object_add(o, "type", json_object_new_string(event_type_name(e->type)));
	json_object_object_add(o, "ts_ns", json_object_new_uint64(mono_to_wall_ns(e->ts_ns)));
	json_object_object_add(o, "conn_id", json_object_new_uint64(e->conn_id));
	json_object_object_add(o, "hook", json_object_new_string(hook_name(e->hook)));
	json_object_object_add(o, "pid", json_object_new_int64(e->owner.tgid));
	json_object_object_add(o, "tid", json_object_new_int64(e->pid));
	add_str(o, "comm", e->owner.comm, strnlen(e->owner.comm, PB_COMM_LEN));
	json_object_object_add(o, "cgroup_id", json_object_new_uint64(e->owner.cgroup_id));
	add_str(o, "cgroup", cg, strlen(cg));
	json_object_object_add(o, "netns", json_object_new_int64(e->owner.netns));
	add_str(o, "namespace", ow->namespace, strlen(ow->namespace));
	add_str(o, "pod", ow->pod, strlen(ow->pod));
	add_str(o, "container", ow->container, strlen(ow->container));
	json_object_object_add(o, "role", json_object_new_string(pb_role_name(ow->role)));
	add_str(o, "owner", ow->display, strlen(ow->display));
	json_object_object_add(o, "saddr", json_object_new_string(
						   addr_fmt(e->family, e->saddr, a, sizeof(a))));
	json_object_object_add(o, "sport", json_object_new_int(e->sport));
	json_object_object_add(o, "daddr", json_object_new_string(
						   addr_fmt(e->family, e->daddr, a, sizeof(a))));
	json_object_object_add(o, "dport", json_object_new_int(e->dport));
	switch (e->type) {
	case PB_EV_CONNECT_FAILED:
	case PB_EV_BIND_FAILED:
		json_object_object_add(o, "errno", json_object_new_string(
							   errno_name(e->err, eb, sizeof(eb))));
		break;
	case PB_EV_CLOSE:
		json_object_object_add(o, "duration_ns", json_object_new_uint64(e->duration_ns));
		break;
	case PB_EV_TIME_WAIT:
		json_object_object_add(o, "duration_ns", json_object_new_uint64(e->duration_ns));
		json_object_object_add(o, "time_wait_ns", json_object_new_uint64(e->tw_ns));
		break;
	}
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE),
	      out);
	fputc('\n', out);
	json_object_put(o);
}
