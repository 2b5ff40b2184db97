// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cgroup.h"
#include "cmd.h"
#include "escape.h"
#include "event_fmt.h"
#include "log.h"
#include "owner.h"
#include "util.h"

struct event_fmt {
	struct owner_resolver *owners;	/* the engine's, not ours */
	struct owner_info last;		/* owner of the previous event: runs repeat */
	bool have_last;
	char last_json[8192];		/* its JSON members, escaped once */
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

struct event_fmt *event_fmt_new(const struct common_opts *o, struct owner_resolver *owners)
{
	struct event_fmt *f = calloc(1, sizeof(*f));

	if (!f) {
		log_warn("failed to allocate formatter");
		return NULL;
	}
	f->owners = owners;
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


/* "k":"escaped",... of the owner: built once per owner, events of one owner
 * come in runs. */
static const char *owner_json(struct event_fmt *f, const struct pb_event *e)
{
	char comm[4 * PB_COMM_LEN + 1], cg[2048], ns[512], pod[1024], ctr[512], who[2048];
	const struct owner_info *ow = owner_of(f, e);
	bool fresh = ow != &f->last || !f->last_json[0];

	if (!fresh)
		return f->last_json;
	esc_mem(ESC_JSON, comm, sizeof(comm), e->owner.comm, strnlen(e->owner.comm, PB_COMM_LEN));
	esc_json(cg, sizeof(cg), cgroup_path(f, e));
	esc_json(ns, sizeof(ns), ow->namespace);
	esc_json(pod, sizeof(pod), ow->pod);
	esc_json(ctr, sizeof(ctr), ow->container);
	esc_json(who, sizeof(who), ow->display);
	snprintf(f->last_json, sizeof(f->last_json),
		 "\"comm\":\"%s\",\"cgroup_id\":%llu,\"cgroup\":\"%s\",\"netns\":%u,"
		 "\"namespace\":\"%s\",\"pod\":\"%s\",\"container\":\"%s\",\"role\":\"%s\","
		 "\"owner\":\"%s\"",
		 comm, (unsigned long long)e->owner.cgroup_id, cg, e->owner.netns, ns, pod, ctr,
		 pb_role_name(ow->role), who);
	return f->last_json;
}

/* One NDJSON line, written directly: an event is a handful of numbers and
 * the owner's (escaped, cached) names; a json-c object per event cost 5x. */
void event_fmt_json(struct event_fmt *f, const struct pb_event *e, FILE *out)
{
	char sa[ADDR_STRLEN], da[ADDR_STRLEN], eb[16];
	const char *who;

	/* owner_of() reuses the previous owner when this event has the same one */
	if (!f->have_last || f->last.cgroup_id != e->owner.cgroup_id ||
	    f->last.netns != e->owner.netns || f->last.tgid != e->owner.tgid ||
	    strncmp(f->last.comm, e->owner.comm, sizeof(f->last.comm)))
		f->last_json[0] = '\0';
	who = owner_json(f, e);
	fprintf(out,
		"{\"type\":\"%s\",\"ts_ns\":%llu,\"conn_id\":%llu,\"hook\":\"%s\",\"pid\":%u,"
		"\"tid\":%u,%s,\"saddr\":\"%s\",\"sport\":%u,\"daddr\":\"%s\",\"dport\":%u",
		event_type_name(e->type), (unsigned long long)mono_to_wall_ns(e->ts_ns),
		(unsigned long long)e->conn_id, hook_name(e->hook), e->owner.tgid, e->pid, who,
		addr_fmt(e->family, e->saddr, sa, sizeof(sa)), e->sport,
		addr_fmt(e->family, e->daddr, da, sizeof(da)), e->dport);
	switch (e->type) {
	case PB_EV_CONNECT_FAILED:
	case PB_EV_BIND_FAILED:
		fprintf(out, ",\"errno\":\"%s\"", errno_name(e->err, eb, sizeof(eb)));
		break;
	case PB_EV_CLOSE:
		fprintf(out, ",\"duration_ns\":%llu", (unsigned long long)e->duration_ns);
		break;
	case PB_EV_TIME_WAIT:
		fprintf(out, ",\"duration_ns\":%llu,\"time_wait_ns\":%llu",
			(unsigned long long)e->duration_ns, (unsigned long long)e->tw_ns);
		break;
	}
	fputs("}\n", out);
}
