// SPDX-License-Identifier: GPL-2.0-only
/* The owner resolver on a fake host root: a cgroup2 "mount" (a directory tree
 * named by proc/1/mountinfo), the kubelet's log dirs, proc/<pid>/{ns/net,
 * cgroup,comm}. cgroup ids are the directories' inodes, as on cgroup2. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "owner.h"

#define ID_APP "3f9a1c2b7d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef"
#define ID_SIDE "b7e2f0c4a9d813562ce7f1a0b3d4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6"
#define ID_PAUSE "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_PG "9c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091"
#define ID_NEW "1111111111111111111111111111111111111111111111111111111111111111"
#define ID_DOCKER "2222222222222222222222222222222222222222222222222222222222222222"
#define ID_LIAR "3333333333333333333333333333333333333333333333333333333333333333"
#define UID_A "6b1e6b3a-8c2f-4c3d-9b7a-0e2f5d4c3b2a"
#define UID_A_ "6b1e6b3a_8c2f_4c3d_9b7a_0e2f5d4c3b2a"
#define UID_B "d2a4c6e8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"
#define UID_N "77777777-1b3d-4f5a-8c7e-9a0b1c2d3e4f"
#define POD_A "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_A_ ".slice"
#define POD_B "/kubepods/besteffort/pod" UID_B
#define POD_N "/kubepods/besteffort/pod" UID_N
#define NS_HOST "4026531840"
#define NS_A "4026532001"
#define NS_B "4026532002"
#define NS_MIX "4026532003"

static char root[64];

static void path_of(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s%.900s", root, rel);
}

static void mkdirs(const char *rel)
{
	char tmp[1024];

	path_of(tmp, sizeof(tmp), rel);
	for (char *p = tmp + strlen(root) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	mkdir(tmp, 0755);
}

static void write_file(const char *rel, const char *content)
{
	char path[1024];
	FILE *f;

	path_of(path, sizeof(path), rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static uint64_t cg(const char *rel)
{
	char path[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%s/cg%s", root, rel);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static void log_container(const char *ns, const char *pod, const char *uid, const char *ctr,
			  const char *id, const char *target_uid)
{
	char rel[1024], link[1024], target[1024];

	snprintf(rel, sizeof(rel), "/var/log/pods/%s_%s_%s/%s", ns, pod, uid, ctr);
	mkdirs(rel);
	mkdirs("/var/log/containers");
	snprintf(rel, sizeof(rel), "/var/log/containers/%s_%s_%s-%s.log", pod, ns, ctr, id);
	path_of(link, sizeof(link), rel);
	snprintf(target, sizeof(target), "/var/log/pods/%s_%s_%s/%s/0.log", ns, pod,
		 target_uid ? target_uid : uid, ctr);
	assert_int_equal(symlink(target, link), 0);
}

static void proc(const char *pid, const char *netns, const char *cgroup, const char *comm)
{
	char rel[256], link[1024], target[64], content[1024];

	snprintf(rel, sizeof(rel), "/proc/%s/ns", pid);
	mkdirs(rel);
	snprintf(rel, sizeof(rel), "/proc/%s/ns/net", pid);
	path_of(link, sizeof(link), rel);
	snprintf(target, sizeof(target), "net:[%s]", netns);
	assert_int_equal(symlink(target, link), 0);
	snprintf(rel, sizeof(rel), "/proc/%s/cgroup", pid);
	snprintf(content, sizeof(content), "1:name=systemd:/\n0::%s\n", cgroup);
	write_file(rel, content);
	snprintf(rel, sizeof(rel), "/proc/%s/comm", pid);
	snprintf(content, sizeof(content), "%s\n", comm);
	write_file(rel, content);
}

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/pb-owner-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	mkdirs("/proc/self");
	write_file("/proc/self/mountinfo", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n");
	proc("1", NS_HOST, "/init.scope", "systemd");
	write_file("/proc/1/mountinfo", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
					 "31 22 0:26 / /cg rw,nosuid - cgroup2 cgroup2 rw\n");
	mkdirs("/cg" POD_A "/cri-containerd-" ID_APP ".scope");
	mkdirs("/cg" POD_A "/cri-containerd-" ID_SIDE ".scope");
	mkdirs("/cg" POD_A "/cri-containerd-" ID_PAUSE ".scope");
	mkdirs("/cg" POD_A "/cri-containerd-" ID_LIAR ".scope");
	mkdirs("/cg" POD_B "/" ID_PG);
	mkdirs("/cg/system.slice/nginx.service");
	mkdirs("/cg/system.slice/docker-" ID_DOCKER ".scope");
	mkdirs("/cg/user.slice/user-1000.slice/session-3.scope");
	mkdirs("/cg/weird\x1b[31m");
	log_container("shop", "web-1", UID_A, "app", ID_APP, NULL);
	log_container("shop", "web-1", UID_A, "istio-proxy", ID_SIDE, NULL);
	log_container("db", "pg-0", UID_B, "postgres", ID_PG, NULL);
	/* a link that claims pod B's UID for a container in pod A's cgroup */
	log_container("shop", "web-1", UID_A, "liar", ID_LIAR, UID_B);
	mkdirs("/var/lib/docker/containers/" ID_DOCKER);
	write_file("/var/lib/docker/containers/" ID_DOCKER "/config.v2.json",
		   "{\"ID\":\"" ID_DOCKER "\",\"Name\":\"/my-redis\"}");
	/* network namespaces: pod A (pause + app), pod B, and one shared by two pods */
	proc("100", NS_A, POD_A "/cri-containerd-" ID_PAUSE ".scope", "pause");
	proc("101", NS_A, POD_A "/cri-containerd-" ID_APP ".scope", "python");
	proc("200", NS_B, POD_B "/" ID_PG, "postgres");
	proc("300", NS_MIX, POD_A "/cri-containerd-" ID_APP ".scope", "a");
	proc("301", NS_MIX, POD_B "/" ID_PG, "b");
	proc("400", NS_A, POD_A "/cri-containerd-" ID_SIDE ".scope", "envoy");
	proc("500", NS_HOST, "/system.slice/nginx.service", "nginx");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static struct owner_resolver *new_resolver(void)
{
	struct owner_resolver *r = owner_resolver_new(root, NULL);

	assert_non_null(r);
	owner_resolver_set_min_interval(r, 0);
	return r;
}

/* App and sidecar of one pod; a second pod told apart. */
static void test_k8s_containers(void **state)
{
	struct owner_resolver *r = new_resolver();
	struct owner_info o;

	(void)state;
	assert_int_equal(owner_resolve(r, cg(POD_A "/cri-containerd-" ID_APP ".scope"), 0, 101,
				       "python", &o),
			 0);
	assert_int_equal(o.kind, PB_KIND_K8S_CONTAINER);
	assert_int_equal(o.source, PB_SRC_CGROUP);
	assert_string_equal(o.namespace, "shop");
	assert_string_equal(o.pod, "web-1");
	assert_string_equal(o.pod_uid, UID_A);
	assert_string_equal(o.container, "app");
	assert_string_equal(o.container_id, ID_APP);
	assert_string_equal(o.display, "shop/web-1/app");
	assert_string_equal(pb_role_name(o.role), "app");
	assert_int_equal(o.qos, PB_QOS_BURSTABLE);
	assert_int_equal(o.runtime, PB_RT_CONTAINERD);
	assert_true(o.names_known);
	assert_string_equal(o.comm, "python");
	assert_int_equal(o.tgid, 101);

	assert_int_equal(owner_resolve(r, cg(POD_A "/cri-containerd-" ID_SIDE ".scope"), 0, 400,
				       "envoy", &o),
			 0);
	assert_string_equal(o.display, "shop/web-1/istio-proxy");
	assert_int_equal(o.role, PB_ROLE_SIDECAR);

	assert_int_equal(owner_resolve(r, cg(POD_B "/" ID_PG), 0, 200, "postgres", &o), 0);
	assert_string_equal(o.display, "db/pg-0/postgres");
	assert_int_equal(o.role, PB_ROLE_APP);
	assert_int_equal(o.qos, PB_QOS_BESTEFFORT);
	assert_int_equal(o.runtime, PB_RT_UNKNOWN);
	owner_resolver_free(r);
}

/* A proxy process in a container not named as a sidecar is still one: by its
 * thread name, or by its main thread's name when a worker thread connects. */
static void test_proxy_process(void **state)
{
	struct owner_resolver *r = new_resolver();
	uint64_t app = cg(POD_A "/cri-containerd-" ID_APP ".scope");
	struct owner_info o;

	(void)state;
	owner_resolve(r, app, 0, 101, "pilot-agent", &o);
	assert_int_equal(o.role, PB_ROLE_SIDECAR);
	owner_resolve(r, app, 0, 400, "wrk:worker_0", &o);	/* tgid 400's comm is envoy */
	assert_int_equal(o.role, PB_ROLE_SIDECAR);
	owner_resolve(r, app, 0, 101, "worker", &o);
	assert_int_equal(o.role, PB_ROLE_APP);
	owner_resolver_free(r);

	/* a custom list replaces the default one */
	{
		const char *const names[] = { "app", NULL };

		r = owner_resolver_new(root, names);
		owner_resolve(r, app, 0, 0, NULL, &o);
		assert_int_equal(o.role, PB_ROLE_SIDECAR);
		owner_resolve(r, cg(POD_A "/cri-containerd-" ID_SIDE ".scope"), 0, 0, NULL, &o);
		assert_int_equal(o.role, PB_ROLE_APP);
		assert_true(owner_is_sidecar_container(r, "app"));
		assert_false(owner_is_sidecar_container(r, "istio-proxy"));
		owner_resolver_free(r);
	}
}

static void test_pause_and_liar(void **state)
{
	struct owner_resolver *r = new_resolver();
	uint64_t pause = cg(POD_A "/cri-containerd-" ID_PAUSE ".scope");
	struct owner_info o;

	(void)state;
	assert_int_equal(owner_resolve(r, pause, 0, 100, "pause", &o), 0);
	assert_true(o.infra);
	assert_string_equal(o.container, "POD");
	assert_string_equal(o.display, "shop/web-1/POD");
	/* another process there without a log: pod known, container by id */
	owner_resolve(r, pause, 0, 102, "sh", &o);
	assert_false(o.infra);
	assert_string_equal(o.container, "");
	assert_string_equal(o.display, "shop/web-1/aaaaaaaaaaaa");

	/* the log link names pod B's UID: its container name is not believed */
	owner_resolve(r, cg(POD_A "/cri-containerd-" ID_LIAR ".scope"), 0, 0, "x", &o);
	assert_string_equal(o.pod, "web-1");
	assert_string_equal(o.pod_uid, UID_A);
	assert_string_equal(o.container, "");
	owner_resolver_free(r);
}

/* Deleted and re-created with the same name: new UID, new ids, never mixed. */
static void test_recreated_pod(void **state)
{
	struct owner_resolver *r = new_resolver();
	uint64_t old_id = cg(POD_B "/" ID_PG), new_id;
	struct owner_info o;
	char cmd[512];

	(void)state;
	owner_resolve(r, old_id, 0, 0, "postgres", &o);
	assert_string_equal(o.display, "db/pg-0/postgres");

	/* (the new one is made first: a filesystem could reuse the old inode,
	 * cgroup2 never reuses an id) */
	mkdirs("/cg" POD_N "/" ID_NEW);
	new_id = cg(POD_N "/" ID_NEW);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/cg%s' '%s/var/log/pods/db_pg-0_%s' "
		 "'%s/var/log/containers/pg-0_db_postgres-'*", root, POD_B, root, UID_B, root);
	assert_int_equal(system(cmd), 0);
	log_container("db", "pg-0", UID_N, "postgres", ID_NEW, NULL);

	assert_int_equal(owner_resolve(r, new_id, 0, 0, "postgres", &o), 0);
	assert_string_equal(o.display, "db/pg-0/postgres");
	assert_string_equal(o.pod_uid, UID_N);
	assert_string_equal(o.container_id, ID_NEW);
	/* the old cgroup is gone: nothing but its process name */
	assert_true(old_id != new_id);
	{
		assert_int_equal(owner_resolve(r, old_id, 0, 0, NULL, &o), -ENOENT);
		assert_string_equal(o.pod, "");
		assert_string_equal(o.pod_uid, "");
		owner_resolve(r, old_id, 0, 0, "postgres", &o);
		assert_string_equal(o.display, "postgres");
	}
	owner_resolver_free(r);
}

static void test_netns(void **state)
{
	struct owner_resolver *r = new_resolver();
	struct owner_stats st;
	struct owner_info o;

	(void)state;
	assert_int_equal(owner_resolve_netns(r, (uint32_t)strtoul(NS_A, NULL, 10), &o), 0);
	assert_int_equal(o.kind, PB_KIND_K8S_POD);
	assert_int_equal(o.source, PB_SRC_NETNS);
	assert_string_equal(o.display, "shop/web-1");
	assert_string_equal(o.container, "");
	assert_string_equal(o.container_id, "");
	assert_string_equal(o.pod_uid, UID_A);

	assert_int_equal(owner_resolve_netns(r, (uint32_t)strtoul(NS_HOST, NULL, 10), &o), 0);
	assert_int_equal(o.kind, PB_KIND_HOST);
	assert_string_equal(o.display, "host");
	/* two pods in one netns: no guess */
	assert_int_equal(owner_resolve_netns(r, (uint32_t)strtoul(NS_MIX, NULL, 10), &o), -ENOENT);
	assert_string_equal(o.display, "netns:" NS_MIX);
	assert_int_equal(owner_resolve_netns(r, 12345, &o), -ENOENT);
	assert_int_equal(owner_resolve_netns(r, 0, &o), -ENOENT);

	/* a socket with no recorded owner (cgroup 0) or an unknown cgroup */
	assert_int_equal(owner_resolve(r, 0, (uint32_t)strtoul(NS_B, NULL, 10), 0, NULL, &o), 0);
	assert_string_equal(o.display, "db/pg-0");
	assert_int_equal(o.source, PB_SRC_NETNS);
	assert_int_equal(owner_resolve(r, 999999999, (uint32_t)strtoul(NS_B, NULL, 10), 0, NULL, &o),
			 0);
	assert_string_equal(o.display, "db/pg-0");
	assert_int_equal(o.cgroup_id, 999999999);
	owner_resolver_stats(r, &st);
	assert_true(st.netns_scans >= 1);
	assert_int_equal(st.netns, 3);
	owner_resolver_free(r);
}

static void test_plain_host(void **state)
{
	struct owner_resolver *r = new_resolver();
	struct owner_info o;

	(void)state;
	assert_int_equal(owner_resolve(r, cg("/system.slice/nginx.service"), 0, 500, "nginx", &o), 0);
	assert_int_equal(o.kind, PB_KIND_UNIT);
	assert_string_equal(o.display, "nginx.service");
	assert_string_equal(o.unit, "nginx.service");
	assert_int_equal(o.role, PB_ROLE_APP);

	owner_resolve(r, cg("/user.slice/user-1000.slice/session-3.scope"), 0, 7, "curl", &o);
	assert_string_equal(o.display, "session-3.scope/curl");

	owner_resolve(r, cg("/system.slice/docker-" ID_DOCKER ".scope"), 0, 0, "redis-server", &o);
	assert_int_equal(o.kind, PB_KIND_CONTAINER);
	assert_string_equal(o.display, "docker/my-redis");
	assert_string_equal(o.container_id, ID_DOCKER);

	/* unknown layout: the process name, else the raw path, never a guess */
	assert_int_equal(owner_resolve(r, cg("/weird\x1b[31m"), 0, 0, "curl", &o), 0);
	assert_int_equal(o.kind, PB_KIND_UNKNOWN);
	assert_string_equal(o.display, "curl");
	assert_string_equal(o.cgroup_path, "/weird\x1b[31m");
	owner_resolve(r, cg("/weird\x1b[31m"), 0, 0, NULL, &o);
	assert_string_equal(o.display, "/weird\x1b[31m");
	owner_resolve(r, cg(""), 0, 0, "init", &o);
	assert_int_equal(o.kind, PB_KIND_ROOT);
	assert_string_equal(o.display, "init");

	/* nothing known at all */
	assert_int_equal(owner_resolve(r, 0, 0, 0, NULL, &o), -ENOENT);
	assert_string_equal(o.display, "unknown");
	assert_int_equal(owner_resolve(r, 0, 0, 0, "a-comm-that-is-far-too-long", &o), -ENOENT);
	assert_string_equal(o.comm, "a-comm-that-is-");
	assert_int_equal(owner_resolve(NULL, 1, 0, 0, NULL, &o), -EINVAL);
	owner_resolver_free(r);
	owner_resolver_free(NULL);
}

/* Entries are cached; a cached one is still right after its pod is deleted
 * and the cache re-validated. */
static void test_cache(void **state)
{
	struct owner_resolver *r = new_resolver();
	uint64_t app = cg(POD_A "/cri-containerd-" ID_APP ".scope");
	struct owner_stats st;
	struct owner_info o;

	(void)state;
	for (int i = 0; i < 10; i++)
		owner_resolve(r, app, 0, 0, "python", &o);
	owner_resolver_stats(r, &st);
	assert_true(st.cache_hits >= 9);
	assert_true(st.cgroups >= 10);
	assert_true(st.pods == 2);
	owner_resolver_free(r);
}

/* A host without cgroup2 (or with no kubelet) still resolves by netns and comm. */
static void test_no_cgroup2(void **state)
{
	struct owner_resolver *r;
	struct owner_info o;

	(void)state;
	write_file("/proc/1/mountinfo", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n");
	r = new_resolver();
	assert_int_equal(owner_resolve(r, 1234, (uint32_t)strtoul(NS_A, NULL, 10), 0, "x", &o), 0);
	assert_string_equal(o.display, "shop/web-1");
	owner_resolver_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_k8s_containers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_proxy_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_and_liar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recreated_pod, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_host, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_cgroup2, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
