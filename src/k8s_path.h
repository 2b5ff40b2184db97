/* SPDX-License-Identifier: GPL-2.0-only */
/* cgroup v2 path -> who owns it: a Kubernetes container or pod (pod UID, QoS
 * class, container ID, runtime), a plain container (docker, podman), a systemd
 * unit, the root cgroup, or unknown. Pure string parsing, no I/O.
 *
 * Layouts understood (any prefix before the kubepods root is allowed, so the
 * nested roots of kind, k3s/k3d, minikube and CI runners work too):
 *   systemd driver: /kubepods.slice/kubepods-burstable.slice/
 *                   kubepods-burstable-pod<uid_with_underscores>.slice/
 *                   cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
 *                   (--cgroup-root=/kubelet gives kubelet.slice/kubelet-kubepods.slice/...)
 *   cgroupfs driver: /kubepods/burstable/pod<uid>/<id> | crio-<id> | docker-<id>
 *   guaranteed pods sit directly under the kubepods root.
 * The OUTERMOST kubepods root wins: a container that creates its own cgroups
 * (delegation, nested kind) cannot make its processes look like another pod.
 * A root is believed only below slices, scopes, containers (docker-<id>.scope,
 * /docker/<id>, /actions_job/<id>, libpod-<id>[.scope]) and "kubelet": below a
 * service (Delegate=yes) or any other directory it stays that unit's/unknown. */
#ifndef PB_K8S_PATH_H
#define PB_K8S_PATH_H
#include <stdbool.h>
#include <stddef.h>

#define PB_UID_LEN 40		/* 36-char UUID or 32-hex static pod hash, + NUL */
#define PB_CID_LEN 72		/* 64-hex container id, + NUL */
#define PB_UNIT_LEN 256		/* systemd unit names are at most 255 bytes */

enum pb_kind {
	PB_KIND_UNKNOWN = 0,	/* no known layout: show the raw path */
	PB_KIND_ROOT,		/* the root cgroup "/" */
	PB_KIND_K8S_CONTAINER,	/* pod UID and container ID known */
	PB_KIND_K8S_POD,	/* pod UID known, not which container */
	PB_KIND_CONTAINER,	/* docker/podman/other container, not Kubernetes */
	PB_KIND_UNIT,		/* systemd unit (service, scope, session) */
	PB_KIND_HOST,		/* the host's network namespace (owner.c, never parsed) */
};

enum pb_qos {
	PB_QOS_NONE = 0,
	PB_QOS_GUARANTEED,
	PB_QOS_BURSTABLE,
	PB_QOS_BESTEFFORT,
};

enum pb_runtime {
	PB_RT_UNKNOWN = 0,	/* e.g. cgroupfs driver: a bare id says no runtime */
	PB_RT_CONTAINERD,
	PB_RT_CRIO,
	PB_RT_DOCKER,
	PB_RT_PODMAN,
};

enum pb_driver {
	PB_DRIVER_NONE = 0,
	PB_DRIVER_SYSTEMD,
	PB_DRIVER_CGROUPFS,
};

struct k8s_path_info {
	enum pb_kind kind;
	enum pb_qos qos;
	enum pb_runtime runtime;
	enum pb_driver driver;
	bool monitor;			/* CRI-O conmon: the runtime's monitor, not the app */
	char pod_uid[PB_UID_LEN];	/* dashes, lower case; "" if none */
	char container_id[PB_CID_LEN];	/* lower-case hex; "" if none */
	char unit[PB_UNIT_LEN];		/* innermost systemd unit; "" if none */
	long user_uid;			/* user-<uid>.slice, else -1 */
};

/* Parse PATH (as in /proc/<pid>/cgroup "0::" lines or under the cgroup2 mount;
 * leading "/.." components of a foreign cgroup namespace are skipped).
 * Always fills OUT; returns OUT->kind. Never trusts what it cannot validate. */
enum pb_kind k8s_path_parse(const char *path, struct k8s_path_info *out);

/* Validators shared with the log index. */
bool k8s_is_container_id(const char *s, size_t len);	/* exactly 64 hex */
/* A pod UID: 8-4-4-4-12 hex UUID with '-' (or '_' when SEP_UNDERSCORE), or 32
 * hex (static pods). Writes the normalised form (dashes, lower case) to OUT
 * (PB_UID_LEN bytes) when not NULL. */
bool k8s_pod_uid_normalize(const char *s, size_t len, bool sep_underscore, char *out);

const char *pb_kind_name(enum pb_kind k);
const char *pb_qos_name(enum pb_qos q);
const char *pb_runtime_name(enum pb_runtime r);

#endif
