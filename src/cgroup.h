/* SPDX-License-Identifier: GPL-2.0-only */
/* cgroup v2: where it is mounted, and cgroup id -> path (the id is the inode
 * of the cgroup directory). Paths are relative to the cgroup v2 root and start
 * with '/', e.g. "/kubepods.slice/kubepods-pod<uid>.slice/cri-containerd-<id>.scope". */
#ifndef PB_CGROUP_H
#define PB_CGROUP_H
#include <stdint.h>
#include <stddef.h>

/* Find the cgroup2 mount point in PROC/self/mountinfo (host_root prefixes /proc,
 * and the mount point found is returned under host_root too). 0 or -errno. */
int cgroup2_mount_find(const char *host_root, char *buf, size_t len);

struct cgroup_cache;
struct cgroup_cache *cgroup_cache_new(const char *mount_point);
void cgroup_cache_free(struct cgroup_cache *c);
/* Path of cgroup ID, or NULL when it is not (or no longer) found. A miss rescans
 * the tree at most once per second; removed cgroups are forgotten on rescan. */
const char *cgroup_cache_path(struct cgroup_cache *c, uint64_t id);
/* id of the cgroup at PATH (relative to the mount, leading '/'), 0 if none. */
uint64_t cgroup_id_of(struct cgroup_cache *c, const char *path);
size_t cgroup_cache_size(const struct cgroup_cache *c);

#endif
