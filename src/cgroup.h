/* SPDX-License-Identifier: GPL-2.0-only */
/* cgroup v2: where it is mounted, and cgroup id -> path (the id is the inode
 * of the cgroup directory). Paths are relative to the cgroup v2 root and start
 * with '/', e.g. "/kubepods.slice/kubepods-pod<uid>.slice/cri-containerd-<id>.scope". */
#ifndef PB_CGROUP_H
#define PB_CGROUP_H
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

/* Find the cgroup2 mount point in PROC/self/mountinfo (host_root prefixes /proc,
 * and the mount point found is returned under host_root too). 0 or -errno.
 * PROC/1/mountinfo is read first (with --host-root and the host's pid namespace
 * that is the host's own mount table), then PROC/self/mountinfo. A mount of the
 * whole hierarchy (root "/") is preferred over a bind of a subtree. */
int cgroup2_mount_find(const char *host_root, char *buf, size_t len);
/* Same for a cgroup v1 hierarchy holding CONTROLLER ("memory", "cpu", ...,
 * or "name=systemd"), for cgroup-v1-only hosts. */
int cgroup_v1_mount_find(const char *host_root, const char *controller, char *buf, size_t len);

/* One mountinfo line: if it is a mount of FSTYPE ("cgroup2", or "cgroup" with
 * CONTROLLER among its super options when CONTROLLER is not NULL), write its
 * unescaped mount point to MNT and return 1 (2 if its root is "/"); 0 if not,
 * -EINVAL if the line is malformed or the mount point does not fit. */
int mountinfo_match(const char *line, const char *fstype, const char *controller, char *mnt,
		    size_t len);

/* The cgroup v2 path in the contents of a /proc/<pid>/cgroup file (the "0::"
 * line). 0 or -ENOENT (no such line) / -ENAMETOOLONG. */
int proc_cgroup_v2_path(const char *content, char *buf, size_t len);
/* Read HOST_ROOT/proc/PID/cgroup and extract the v2 path. 0 or -errno. */
int cgroup_path_of_pid(const char *host_root, pid_t pid, char *buf, size_t len);
/* The path in the v1 hierarchy of CONTROLLER ("memory"), or v2's when NULL. */
int proc_cgroup_v1_path(const char *content, const char *controller, char *buf, size_t len);
int cgroup_path_of_pid_in(const char *host_root, pid_t pid, const char *controller, char *buf,
			  size_t len);

struct cgroup_cache;
struct cgroup_cache *cgroup_cache_new(const char *mount_point);
void cgroup_cache_free(struct cgroup_cache *c);
/* Path of cgroup ID, or NULL when it is not (or no longer) found. A miss rescans
 * the tree at most once per second; removed cgroups are forgotten on rescan. */
const char *cgroup_cache_path(struct cgroup_cache *c, uint64_t id);
/* id of the cgroup at PATH (relative to the mount, leading '/'), 0 if none. */
uint64_t cgroup_id_of(struct cgroup_cache *c, const char *path);
size_t cgroup_cache_size(const struct cgroup_cache *c);

/* Like cgroup_cache_path() but never rescans. */
const char *cgroup_cache_peek(const struct cgroup_cache *c, uint64_t id);
/* Rescan now, whatever the rate limit. 0 or -errno. */
int cgroup_cache_refresh(struct cgroup_cache *c);
/* Minimum time between rescans caused by misses (default 1000 ms; 0 = none). */
void cgroup_cache_set_min_interval(struct cgroup_cache *c, unsigned int ms);
/* At most MAX cgroups are kept (default 65536); a rescan stops there. */
void cgroup_cache_set_max_entries(struct cgroup_cache *c, size_t max);
/* Incremented by every rescan: lets users of ids drop what they derived. */
unsigned long cgroup_cache_generation(const struct cgroup_cache *c);

struct cgroup_cache_stats {
	unsigned long scans;		/* rescans done */
	unsigned long misses;		/* lookups of ids not found */
	unsigned long truncated;	/* scans that hit the entry cap or depth cap */
};
void cgroup_cache_stats(const struct cgroup_cache *c, struct cgroup_cache_stats *st);

#endif
