/* SPDX-License-Identifier: GPL-2.0-only */
/* Who owns a connection: cgroup id (+ netns, tgid, comm recorded by the BPF
 * side) -> Kubernetes namespace/pod/container and app|sidecar role, or the
 * systemd unit, the docker container, the process on a plain host. Sockets with
 * no recorded owner are attributed by network namespace -> pod ("host" for the
 * host's). The resolver reads only files under --host-root: the cgroup2 tree,
 * var/log/{containers,pods}, proc/<pid>/{ns/net,cgroup,comm}.
 *
 * All strings in struct owner_info are untrusted (see escape.h) and
 * NUL-terminated; the struct has no pointers, so it can be copied into other
 * tables as is. */
#ifndef PB_OWNER_H
#define PB_OWNER_H
#include <stdbool.h>
#include <stdint.h>
#include "k8s_path.h"
#include "kubelog.h"

#define PB_OWNER_COMM_LEN 16
#define PB_CGPATH_LEN 512	/* longer cgroup paths are cut (path_truncated) */
#define PB_DISPLAY_LEN 400	/* fits "<63>/<253>/<63>" */

enum pb_role {
	PB_ROLE_APP = 0,
	PB_ROLE_SIDECAR,
};

enum pb_owner_source {
	PB_SRC_NONE = 0,	/* nothing found: ids and comm only */
	PB_SRC_CGROUP,		/* from the cgroup id */
	PB_SRC_NETNS,		/* from the network namespace (container unknown) */
};

struct owner_info {
	uint64_t cgroup_id;
	uint32_t netns;
	uint32_t tgid;
	enum pb_kind kind;
	enum pb_role role;
	enum pb_qos qos;
	enum pb_runtime runtime;
	enum pb_owner_source source;
	bool infra;		/* the pod's pause/sandbox container */
	bool names_known;	/* namespace and pod came from the kubelet's logs */
	bool path_truncated;	/* cgroup_path was cut to fit */
	char comm[PB_OWNER_COMM_LEN];
	char namespace[PB_NS_LEN];
	char pod[PB_POD_LEN];
	char pod_uid[PB_UID_LEN];
	char container[PB_CTR_LEN];
	char container_id[PB_CID_LEN];
	char unit[PB_UNIT_LEN];
	char cgroup_path[PB_CGPATH_LEN];
	/* namespace/pod/container on Kubernetes; the unit, docker container or
	 * comm elsewhere; "host" for the host netns; a bare id only as last resort */
	char display[PB_DISPLAY_LEN];
};

struct owner_resolver;

/* SIDECAR_NAMES: NULL-terminated container names counted as sidecars; NULL =
 * istio-proxy, linkerd-proxy, envoy, cilium-envoy. The list is copied.
 * Returns NULL only on allocation failure: a host without cgroup2 or without
 * kubelet logs still resolves what it can. */
struct owner_resolver *owner_resolver_new(const char *host_root, const char *const *sidecar_names);
/* The same, naming cgroups in the v1 memory hierarchy when CGROUP_V1 or when
 * there is no cgroup2 (the BPF side must report those ids: --cgroup-v1). */
struct owner_resolver *owner_resolver_new_cg(const char *host_root, const char *const *sidecar_names,
					     bool cgroup_v1);
void owner_resolver_free(struct owner_resolver *r);

/* Fill OUT for a connection opened in cgroup CGROUP_ID by TGID/COMM in network
 * namespace NETNS (any of them may be 0/NULL). Falls back to the netns owner
 * when the cgroup is unknown or gone. Returns 0 when an owner was named, or
 * -ENOENT when OUT holds only ids and comm (OUT is filled either way). */
int owner_resolve(struct owner_resolver *r, uint64_t cgroup_id, uint32_t netns, uint32_t tgid,
		  const char *comm, struct owner_info *out);
/* Owner of network namespace NETNS alone: the pod whose processes use it
 * (container unknown), "host" for the host's, else -ENOENT. */
int owner_resolve_netns(struct owner_resolver *r, uint32_t netns, struct owner_info *out);

/* Is NAME a sidecar container name / a proxy process name (envoy,
 * linkerd2-proxy, pilot-agent)? */
bool owner_is_sidecar_container(const struct owner_resolver *r, const char *name);
bool owner_is_proxy_comm(const char *comm);

const char *pb_role_name(enum pb_role role);	/* "app" | "sidecar" */

/* Rate limits of rescans on a miss (cgroup tree, logs, /proc), for tests. */
void owner_resolver_set_min_interval(struct owner_resolver *r, unsigned int ms);

struct owner_stats {
	unsigned long cache_hits, cache_misses, cache_evictions;
	unsigned long netns_scans;
	unsigned long uid_mismatch;	/* log link named another pod UID than the cgroup */
	size_t cgroups, pods, containers, netns;
};
void owner_resolver_stats(const struct owner_resolver *r, struct owner_stats *st);

#endif
