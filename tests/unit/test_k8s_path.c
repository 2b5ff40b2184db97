// SPDX-License-Identifier: GPL-2.0-only
/* cgroup path parser against the table of real-world paths in
 * tests/data/cgroup-paths.txt, plus the validators. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "k8s_path.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/data"
#endif

/* C escapes of the table: \\ \n \t \xNN. */
static void unescape(const char *s, char *out, size_t len)
{
	size_t n = 0;

	while (*s && n + 1 < len) {
		if (s[0] == '\\' && s[1] == 'n') {
			out[n++] = '\n';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 't') {
			out[n++] = '\t';
			s += 2;
		} else if (s[0] == '\\' && s[1] == '\\') {
			out[n++] = '\\';
			s += 2;
		} else if (s[0] == '\\' && s[1] == 'x' && s[2] && s[3]) {
			char hex[3] = { s[2], s[3], 0 };

			out[n++] = (char)strtol(hex, NULL, 16);
			s += 4;
		} else {
			out[n++] = *s++;
		}
	}
	out[n] = '\0';
}

static const char *dash(const char *s)
{
	return strcmp(s, "-") == 0 ? "" : s;
}

static void test_table(void **state)
{
	char line[8192], comment[512] = "";
	int rows = 0, bad = 0;
	FILE *f;

	(void)state;
	f = fopen(DATA_DIR "/cgroup-paths.txt", "r");
	if (!f)
		f = fopen("../../" DATA_DIR "/cgroup-paths.txt", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *col[7], path[4096], unit[1024];
		struct k8s_path_info pi;
		enum pb_kind kind;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#') {
			snprintf(comment, sizeof(comment), "%.500s", line + 2);
			continue;
		}
		if (!line[0])
			continue;
		for (char *rest = line, *p; n < 7 && (p = strsep(&rest, "\t"));)
			col[n++] = p;
		if (n != 7)
			fail_msg("bad row after '%s'", comment);
		unescape(col[0], path, sizeof(path));
		unescape(dash(col[6]), unit, sizeof(unit));
		kind = k8s_path_parse(path, &pi);
		rows++;
#define CHECK(cond, what, got, want)                                                        \
	if (!(cond)) {                                                                      \
		print_error("%s: %s: got '%s', want '%s'\n", comment, what, got, want);     \
		bad++;                                                                      \
	}
		CHECK(kind == pi.kind, "return", pb_kind_name(kind), pb_kind_name(pi.kind));
		CHECK(strcmp(pb_kind_name(pi.kind), col[1]) == 0, "kind", pb_kind_name(pi.kind), col[1]);
		CHECK(strcmp(pb_qos_name(pi.qos), dash(col[2])) == 0, "qos", pb_qos_name(pi.qos), col[2]);
		CHECK(strcmp(pb_runtime_name(pi.runtime), dash(col[3])) == 0, "runtime",
		      pb_runtime_name(pi.runtime), col[3]);
		CHECK(strcmp(pi.pod_uid, dash(col[4])) == 0, "pod_uid", pi.pod_uid, col[4]);
		CHECK(strcmp(pi.container_id, dash(col[5])) == 0, "container_id", pi.container_id,
		      col[5]);
		CHECK(strcmp(pi.unit, unit) == 0, "unit", pi.unit, col[6]);
#undef CHECK
	}
	fclose(f);
	assert_true(rows >= 60);
	assert_int_equal(bad, 0);
}

static void test_empty_path_row(void **state)
{
	struct k8s_path_info pi;

	(void)state;
	assert_int_equal(k8s_path_parse("", &pi), PB_KIND_UNKNOWN);
	assert_int_equal(k8s_path_parse(NULL, &pi), PB_KIND_UNKNOWN);
	assert_int_equal(pi.user_uid, -1);
}

static void test_user_uid(void **state)
{
	struct k8s_path_info pi;

	(void)state;
	assert_int_equal(k8s_path_parse("/user.slice/user-1000.slice/session-3.scope", &pi),
			 PB_KIND_UNIT);
	assert_int_equal(pi.user_uid, 1000);
	k8s_path_parse("/user.slice/user-99999999999.slice/session-3.scope", &pi);
	assert_int_equal(pi.user_uid, -1);
}

static void test_driver_and_monitor(void **state)
{
	struct k8s_path_info pi;

	(void)state;
	k8s_path_parse("/kubepods/besteffort/pod0f3d8e6c1b2a49d7a5e4c3b2a1908f7e", &pi);
	assert_int_equal(pi.driver, PB_DRIVER_CGROUPFS);
	k8s_path_parse("/kubepods.slice/kubepods-pod0f3d8e6c1b2a49d7a5e4c3b2a1908f7e.slice", &pi);
	assert_int_equal(pi.driver, PB_DRIVER_SYSTEMD);
	assert_int_equal(pi.kind, PB_KIND_K8S_POD);
	assert_false(pi.monitor);
}

static void test_too_long_path(void **state)
{
	struct k8s_path_info pi;
	char *p = malloc(10000);

	(void)state;
	memset(p, 'a', 9999);
	p[0] = '/';
	p[9999] = '\0';
	assert_int_equal(k8s_path_parse(p, &pi), PB_KIND_UNKNOWN);
	free(p);
}

static void test_uid_normalize(void **state)
{
	char out[PB_UID_LEN];

	(void)state;
	assert_true(k8s_pod_uid_normalize("6b1e6b3a_8c2f_4c3d_9b7a_0e2f5d4c3b2a", 36, true, out));
	assert_string_equal(out, "6b1e6b3a-8c2f-4c3d-9b7a-0e2f5d4c3b2a");
	assert_false(k8s_pod_uid_normalize("6b1e6b3a_8c2f_4c3d_9b7a_0e2f5d4c3b2a", 36, false, out));
	assert_false(k8s_pod_uid_normalize("6b1e6b3a-8c2f-4c3d-9b7a_0e2f5d4c3b2a", 36, false, out));
	assert_false(k8s_pod_uid_normalize("6b1e6b3a-8c2f-4c3d-9b7a-0e2f5d4c3b2", 35, false, out));
	assert_false(k8s_pod_uid_normalize("6b1e6b3a8c2f4c3d9b7a0e2f5d4c3b2g", 32, false, out));
	assert_true(k8s_pod_uid_normalize("6b1e6b3a8c2f4c3d9b7a0e2f5d4c3b2a", 32, false, NULL));
	assert_false(k8s_is_container_id("abc", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_empty_path_row),
		cmocka_unit_test(test_user_uid),
		cmocka_unit_test(test_driver_and_monitor),
		cmocka_unit_test(test_too_long_path),
		cmocka_unit_test(test_uid_normalize),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
