/* SPDX-License-Identifier: GPL-2.0-only */
/* Turns kernel records into what users read: a text line or an NDJSON object,
 * with the owner's cgroup path and names. Untrusted strings are escaped. */
#ifndef PB_EVENT_FMT_H
#define PB_EVENT_FMT_H
#include <stdbool.h>
#include <stdio.h>
#include "portburn_event.h"

struct common_opts;
struct event_fmt;

struct owner_resolver;
/* OWNERS (may be NULL) names the owners; it is borrowed, not freed. */
struct event_fmt *event_fmt_new(const struct common_opts *o, struct owner_resolver *owners);
void event_fmt_free(struct event_fmt *f);
/* Normalise a --cgroup argument (absolute path under the mount, or relative to
 * the cgroup v2 root) in place. 0, or 2 after a usage message. */
int event_fmt_set_cgroup_filter(struct event_fmt *f, const char **path);
bool event_fmt_in_cgroup(struct event_fmt *f, const struct pb_event *e, const char *path);
void event_fmt_text(struct event_fmt *f, const struct pb_event *e, FILE *out);
void event_fmt_json(struct event_fmt *f, const struct pb_event *e, FILE *out);
const char *event_type_name(int type);

#endif
