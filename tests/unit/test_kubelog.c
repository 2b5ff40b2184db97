// SPDX-License-Identifier: GPL-2.0-only
/* The kubelet log-name parsers and the index, on a log tree built in a temp dir. */
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
#include "kubelog.h"

#define ID_APP "3f9a1c2b7d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef"
#define ID_SIDE "b7e2f0c4a9d813562ce7f1a0b3d4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6"
#define ID_OTHER "9c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091"
#define ID_NEW "1111111111111111111111111111111111111111111111111111111111111111"
#define UID_A "6b1e6b3a-8c2f-4c3d-9b7a-0e2f5d4c3b2a"
#define UID_B "d2a4c6e8-1b3d-4f5a-8c7e-9a0b1c2d3e4f"
#define UID_C "0f3d8e6c1b2a49d7a5e4c3b2a1908f7e"

static void test_parse_container_log(void **state)
{
	struct kubelog_container c;
	char name[512];
	const char *bad[] = {
		"web_shop_app-" ID_APP,				/* no .log */
		"web_shop_app_" ID_APP ".log",			/* '_' before the id */
		"web_shop-app-" ID_APP ".log",			/* two parts */
		"web_shop_x_app-" ID_APP ".log",		/* four parts */
		"Web_shop_app-" ID_APP ".log",			/* upper case */
		"web_shop_app-" ID_APP "0.log",			/* 65 hex */
		"web_shop_-" ID_APP ".log",			/* empty container */
		"_shop_app-" ID_APP ".log",			/* empty pod */
		"web_sh\x1b[31mop_app-" ID_APP ".log",		/* escape */
		"web_shop_a\npp-" ID_APP ".log",		/* newline */
		"web_shop_app-3F9A1C2B7D4E5F60718293A4B5C6D7E8F90112233445566778899AABBCCDDEEF.log",
		"-web_shop_app-" ID_APP ".log",			/* leading dash */
		"web._shop_app-" ID_APP ".log",			/* empty DNS label */
		"",
	};

	(void)state;
	assert_true(kubelog_parse_container_log("web-7d4b9c-x2x4z_shop_istio-proxy-" ID_SIDE ".log",
						strlen("web-7d4b9c-x2x4z_shop_istio-proxy-" ID_SIDE
						       ".log"),
						&c));
	assert_string_equal(c.pod, "web-7d4b9c-x2x4z");
	assert_string_equal(c.namespace, "shop");
	assert_string_equal(c.container, "istio-proxy");
	assert_string_equal(c.container_id, ID_SIDE);
	assert_false(c.infra);
	assert_true(kubelog_parse_container_log("web.v1_shop_POD-" ID_APP ".log",
						strlen("web.v1_shop_POD-" ID_APP ".log"), &c));
	assert_true(c.infra);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(kubelog_parse_container_log(bad[i], strlen(bad[i]), &c));

	/* 253 characters is the longest pod name; 254 is not one */
	memset(name, 'p', 253);
	strcpy(name + 253, "_ns_c-" ID_APP ".log");
	/* a label is at most 63: make it dotted labels */
	for (int i = 60; i < 253; i += 61)
		name[i] = '.';
	assert_true(kubelog_parse_container_log(name, strlen(name), &c));
	assert_int_equal(strlen(c.pod), 253);
	memset(name, 'p', 254);
	for (int i = 60; i < 254; i += 61)
		name[i] = '.';
	strcpy(name + 254, "_ns_c-" ID_APP ".log");
	assert_false(kubelog_parse_container_log(name, strlen(name), &c));
	/* a 64-character label is not a DNS label */
	memset(name, 'c', 64);
	strcpy(name + 64, "_ns_c-" ID_APP ".log");
	assert_false(kubelog_parse_container_log(name, strlen(name), &c));
}

static void test_parse_pod_dir_and_target(void **state)
{
	struct kubelog_container c = { 0 };
	struct kubelog_pod p;
	const char *t = "/var/log/pods/shop_web-1_" UID_A "/app/12.log";

	(void)state;
	assert_true(kubelog_parse_pod_dir("shop_web-1_" UID_A, strlen("shop_web-1_" UID_A), &p));
	assert_string_equal(p.namespace, "shop");
	assert_string_equal(p.pod, "web-1");
	assert_string_equal(p.pod_uid, UID_A);
	assert_true(kubelog_parse_pod_dir("kube-system_etcd-node1_" UID_C,
					  strlen("kube-system_etcd-node1_" UID_C), &p));
	assert_string_equal(p.pod_uid, UID_C);
	assert_false(kubelog_parse_pod_dir("shop_web_1_" UID_A, strlen("shop_web_1_" UID_A), &p));
	assert_false(kubelog_parse_pod_dir("shop_web-1_notauid", 18, &p));
	assert_false(kubelog_parse_pod_dir("shop_web-1", 10, &p));

	assert_true(kubelog_parse_log_target(t, strlen(t), &c));
	assert_string_equal(c.namespace, "shop");
	assert_string_equal(c.pod, "web-1");
	assert_string_equal(c.pod_uid, UID_A);
	assert_string_equal(c.container, "app");
	assert_int_equal(c.restart, 12);
	t = "shop_web-1_" UID_A "/app/0.log";	/* relative is fine */
	assert_true(kubelog_parse_log_target(t, strlen(t), &c));
	t = "/var/log/pods/shop_web-1_" UID_A "/app/x.log";
	assert_false(kubelog_parse_log_target(t, strlen(t), &c));
	t = "/var/log/pods/shop_web-1_" UID_A "/app/0.log.20240101";
	assert_false(kubelog_parse_log_target(t, strlen(t), &c));
	t = "app/0.log";
	assert_false(kubelog_parse_log_target(t, strlen(t), &c));
	t = "/0.log";
	assert_false(kubelog_parse_log_target(t, strlen(t), &c));
	assert_false(kubelog_parse_log_target("", 0, &c));
}

/* ---- a log tree in a temp dir ---- */

struct tree {
	char root[64];
};

static void mkdirs(const char *path)
{
	char tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	mkdir(tmp, 0755);
}

/* A pod with its log dir and one container (id, restart 0). TARGET_UID lets a
 * test make the link name another pod. */
static void add_container(struct tree *t, const char *ns, const char *pod, const char *uid,
			  const char *ctr, const char *id, const char *target_uid)
{
	char dir[1024], link[1024], target[1024];

	snprintf(dir, sizeof(dir), "%s/var/log/pods/%s_%s_%s/%s", t->root, ns, pod, uid, ctr);
	mkdirs(dir);
	snprintf(link, sizeof(link), "%s/var/log/containers/%s_%s_%s-%s.log", t->root, pod, ns,
		 ctr, id);
	snprintf(target, sizeof(target), "/var/log/pods/%s_%s_%s/%s/0.log", ns, pod,
		 target_uid ? target_uid : uid, ctr);
	mkdirs(strcat(strcpy(dir, t->root), "/var/log/containers"));
	unlink(link);
	assert_int_equal(symlink(target, link), 0);
}

static void remove_pod(struct tree *t, const char *ns, const char *pod, const char *uid)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/var/log/pods/%s_%s_%s' '%s/var/log/containers/%s_%s_'*",
		 t->root, ns, pod, uid, t->root, pod, ns);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	strcpy(t->root, "/tmp/pb-kubelog-XXXXXX");
	if (!mkdtemp(t->root))
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	if (system(cmd) != 0)
		return -1;
	free(t);
	return 0;
}

static void test_index(void **state)
{
	struct tree *t = *state;
	struct kubelog_container c;
	struct kubelog_pod p;
	struct kubelog *k;
	char junk[1024];

	add_container(t, "shop", "web-1", UID_A, "app", ID_APP, NULL);
	add_container(t, "shop", "web-1", UID_A, "istio-proxy", ID_SIDE, NULL);
	add_container(t, "db", "pg-0", UID_B, "postgres", ID_OTHER, NULL);
	/* hostile or foreign entries are ignored */
	snprintf(junk, sizeof(junk), "%s/var/log/containers/evil\x1b[2J_x_y-%s.log", t->root, ID_NEW);
	fclose(fopen(junk, "w"));
	snprintf(junk, sizeof(junk), "%s/var/log/pods/a_b_c_d", t->root);
	mkdirs(junk);
	snprintf(junk, sizeof(junk), "%s/var/log/containers/README", t->root);
	fclose(fopen(junk, "w"));

	k = kubelog_new(t->root);
	assert_non_null(k);
	assert_int_equal(kubelog_container(k, ID_APP, &c), 0);
	assert_string_equal(c.namespace, "shop");
	assert_string_equal(c.pod, "web-1");
	assert_string_equal(c.container, "app");
	assert_string_equal(c.pod_uid, UID_A);
	assert_int_equal(c.restart, 0);
	assert_int_equal(kubelog_container(k, ID_SIDE, &c), 0);
	assert_string_equal(c.container, "istio-proxy");
	assert_int_equal(kubelog_container(k, ID_OTHER, &c), 0);
	assert_string_equal(c.namespace, "db");
	assert_int_equal(kubelog_container(k, ID_NEW, &c), -ENOENT);
	assert_int_equal(kubelog_container(k, "not-an-id", &c), -ENOENT);
	assert_int_equal(kubelog_container(k, NULL, &c), -ENOENT);

	assert_int_equal(kubelog_pod(k, UID_B, &p), 0);
	assert_string_equal(p.pod, "pg-0");
	assert_int_equal(p.containers, 1);
	assert_int_equal(kubelog_pod(k, UID_A, &p), 0);
	assert_int_equal(p.containers, 2);
	assert_true(kubelog_pod_has_container(k, UID_A, "istio-proxy"));
	assert_false(kubelog_pod_has_container(k, UID_B, "istio-proxy"));
	assert_int_equal(kubelog_pod_count(k), 2);
	assert_int_equal(kubelog_container_count(k), 3);
	kubelog_free(k);
	kubelog_free(NULL);
}

/* A miss rescans (rate-limited); deleted pods are forgotten; a pod re-created
 * under the same name has a new UID and is not confused with the old one. */
static void test_refresh_and_recreate(void **state)
{
	struct tree *t = *state;
	struct kubelog_container c;
	struct kubelog_pod p;
	struct kubelog *k;
	unsigned long gen;

	add_container(t, "shop", "web-1", UID_A, "app", ID_APP, NULL);
	k = kubelog_new(t->root);
	kubelog_set_min_interval(k, 3600 * 1000);
	assert_int_equal(kubelog_container(k, ID_APP, &c), 0);
	gen = kubelog_generation(k);

	/* same name, new UID, new container id; the old pod is gone */
	remove_pod(t, "shop", "web-1", UID_A);
	add_container(t, "shop", "web-1", UID_B, "app", ID_NEW, NULL);
	/* rate limit: the miss does not rescan yet, the old entry is still there */
	assert_int_equal(kubelog_container(k, ID_NEW, &c), -ENOENT);
	assert_int_equal(kubelog_generation(k), gen);

	kubelog_set_min_interval(k, 0);
	assert_int_equal(kubelog_container(k, ID_NEW, &c), 0);
	assert_string_equal(c.pod_uid, UID_B);
	assert_int_equal(kubelog_container(k, ID_APP, &c), -ENOENT);
	assert_int_equal(kubelog_pod(k, UID_A, &p), -ENOENT);
	assert_int_equal(kubelog_pod(k, UID_B, &p), 0);
	assert_string_equal(p.pod, "web-1");
	assert_int_equal(kubelog_pod_count(k), 1);
	kubelog_free(k);
}

/* A link whose target names another pod than its own name says is not
 * believed for the UID. */
static void test_link_mismatch(void **state)
{
	struct tree *t = *state;
	struct kubelog_container c;
	char link[1024];
	struct kubelog *k;

	add_container(t, "shop", "web-1", UID_A, "app", ID_APP, UID_B);
	snprintf(link, sizeof(link), "%s/var/log/containers/web-2_shop_app-%s.log", t->root, ID_SIDE);
	assert_int_equal(symlink("/var/log/pods/shop_web-1_" UID_A "/app/0.log", link), 0);
	k = kubelog_new(t->root);
	assert_int_equal(kubelog_container(k, ID_APP, &c), 0);
	assert_string_equal(c.pod_uid, UID_B);	/* dir names agree: UID taken */
	assert_int_equal(kubelog_container(k, ID_SIDE, &c), 0);
	assert_string_equal(c.pod, "web-2");
	assert_string_equal(c.pod_uid, "");	/* pod names disagree: no UID */
	kubelog_free(k);
}

static void test_bounded(void **state)
{
	struct tree *t = *state;
	struct kubelog *k;
	char pod[32], id[65], uid[37];

	for (int i = 0; i < 6; i++) {
		snprintf(pod, sizeof(pod), "p%d", i);
		snprintf(uid, sizeof(uid), "%08x-0000-4000-8000-%012x", i, i);
		snprintf(id, sizeof(id), "%064x", i + 1);
		add_container(t, "ns", pod, uid, "c", id, NULL);
	}
	k = kubelog_new(t->root);
	kubelog_set_max_entries(k, 2, 3);
	assert_int_equal(kubelog_refresh(k), 0);
	assert_true(kubelog_pod_count(k) <= 2);
	assert_true(kubelog_container_count(k) <= 3);
	kubelog_set_max_entries(k, 100, 100);
	assert_int_equal(kubelog_refresh(k), 0);
	assert_int_equal(kubelog_pod_count(k), 6);
	assert_int_equal(kubelog_container_count(k), 6);
	kubelog_free(k);
}

static void test_missing_dirs(void **state)
{
	struct kubelog_container c;
	struct kubelog *k = kubelog_new("/nonexistent-root");

	(void)state;
	assert_non_null(k);
	assert_int_equal(kubelog_container(k, ID_APP, &c), -ENOENT);
	assert_int_equal(kubelog_refresh(k), 0);
	kubelog_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_container_log),
		cmocka_unit_test(test_parse_pod_dir_and_target),
		cmocka_unit_test_setup_teardown(test_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_and_recreate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded, setup, teardown),
		cmocka_unit_test(test_missing_dirs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
