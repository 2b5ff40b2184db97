/* SPDX-License-Identifier: GPL-2.0-only */
/* Pod, namespace and container names without an API server: the kubelet keeps
 *   var/log/containers/<pod>_<namespace>_<container>-<64 hex id>.log
 *     -> symlink to /var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log
 *   var/log/pods/<namespace>_<pod>_<uid>/<container>/
 * on every node. Pod and namespace names are DNS subdomains/labels (no '_'),
 * which makes the names parseable; everything is still validated as hostile.
 * Pause/infra (sandbox) containers write no log: see owner.c for how they are
 * recognised; a log named for container "POD" (dockershim) is marked infra. */
#ifndef PB_KUBELOG_H
#define PB_KUBELOG_H
#include <stdbool.h>
#include <stddef.h>
#include "k8s_path.h"

#define PB_NS_LEN 64	/* DNS label: 63 + NUL */
#define PB_POD_LEN 254	/* DNS subdomain: 253 + NUL */
#define PB_CTR_LEN 64	/* DNS label: 63 + NUL */

struct kubelog_pod {
	char namespace[PB_NS_LEN];
	char pod[PB_POD_LEN];
	char pod_uid[PB_UID_LEN];
	unsigned int containers;	/* container directories seen */
};

struct kubelog_container {
	char namespace[PB_NS_LEN];
	char pod[PB_POD_LEN];
	char container[PB_CTR_LEN];
	char container_id[PB_CID_LEN];
	char pod_uid[PB_UID_LEN];	/* from the symlink's target; "" if it did not say */
	int restart;			/* <restart>.log of the target, -1 if unknown */
	bool infra;			/* the pod's sandbox (pause) container */
};

/* Pure parsers (LEN bytes at S, no NUL needed); true if valid. OUT untouched
 * when false. */
bool k8s_is_dns_label(const char *s, size_t len);
bool k8s_is_dns_subdomain(const char *s, size_t len);
/* "<pod>_<namespace>_<container>-<id>.log" */
bool kubelog_parse_container_log(const char *s, size_t len, struct kubelog_container *out);
/* "<namespace>_<pod>_<uid>" */
bool kubelog_parse_pod_dir(const char *s, size_t len, struct kubelog_pod *out);
/* symlink target ".../<namespace>_<pod>_<uid>/<container>/<restart>.log":
 * fills namespace, pod, pod_uid, container and restart of OUT. */
bool kubelog_parse_log_target(const char *s, size_t len, struct kubelog_container *out);

struct kubelog;
struct kubelog *kubelog_new(const char *host_root);
void kubelog_free(struct kubelog *k);
/* Rebuild the index now (pods gone from disk are forgotten). 0 or -errno. */
int kubelog_refresh(struct kubelog *k);
/* Look up by 64-hex container id / by pod UID (dashes). A miss rebuilds the
 * index, at most once per min interval and only if the directories changed.
 * 0 and *OUT filled, or -ENOENT. */
int kubelog_container(struct kubelog *k, const char *container_id, struct kubelog_container *out);
int kubelog_pod(struct kubelog *k, const char *pod_uid, struct kubelog_pod *out);
/* Does pod POD_UID have a container directory named NAME? (no refresh) */
bool kubelog_pod_has_container(const struct kubelog *k, const char *pod_uid, const char *name);
void kubelog_set_min_interval(struct kubelog *k, unsigned int ms);	/* default 1000 */
void kubelog_set_max_entries(struct kubelog *k, size_t pods, size_t containers);
unsigned long kubelog_generation(const struct kubelog *k);	/* +1 per rebuild */
size_t kubelog_pod_count(const struct kubelog *k);
size_t kubelog_container_count(const struct kubelog *k);

#endif
