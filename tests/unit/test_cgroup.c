// SPDX-License-Identifier: GPL-2.0-only
/* cgroup mount discovery, /proc/<pid>/cgroup parsing and the id -> path cache,
 * on a fake tree in a temp dir and on this machine's real cgroup2 tree. */
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
#include <sys/vfs.h>
#include <cmocka.h>
#include "cgroup.h"

static void test_mountinfo_match(void **state)
{
	char mnt[256];

	(void)state;
	assert_int_equal(mountinfo_match("41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 "
					 "cgroup2 rw\n",
					 "cgroup2", NULL, mnt, sizeof(mnt)),
			 2);
	assert_string_equal(mnt, "/sys/fs/cgroup/unified");
	/* optional fields before the separator; a bind of a subtree (root not "/") */
	assert_int_equal(mountinfo_match("30 25 0:26 /../.. /host/sys/fs/cgroup rw shared:4 "
					 "master:1 - cgroup2 cgroup2 rw,nsdelegate",
					 "cgroup2", NULL, mnt, sizeof(mnt)),
			 1);
	assert_string_equal(mnt, "/host/sys/fs/cgroup");
	/* octal escapes of the mount point */
	assert_int_equal(mountinfo_match("30 25 0:26 / /mnt/a\\040b\\134c rw - cgroup2 none rw",
					 "cgroup2", NULL, mnt, sizeof(mnt)),
			 2);
	assert_string_equal(mnt, "/mnt/a b\\c");
	assert_int_equal(mountinfo_match("31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs "
					 "rw,mode=755",
					 "cgroup2", NULL, mnt, sizeof(mnt)),
			 0);
	/* v1: by controller */
	assert_int_equal(mountinfo_match("35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup "
					 "cgroup rw,memory",
					 "cgroup", "memory", mnt, sizeof(mnt)),
			 2);
	assert_string_equal(mnt, "/sys/fs/cgroup/memory");
	assert_int_equal(mountinfo_match("32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup "
					 "cgroup rw,cpu",
					 "cgroup", "memory", mnt, sizeof(mnt)),
			 0);
	assert_int_equal(mountinfo_match("40 31 0:37 / /sys/fs/cgroup/systemd rw - cgroup cgroup "
					 "rw,xattr,name=systemd",
					 "cgroup", "name=systemd", mnt, sizeof(mnt)),
			 2);
	/* malformed */
	assert_int_equal(mountinfo_match("", "cgroup2", NULL, mnt, sizeof(mnt)), -EINVAL);
	assert_int_equal(mountinfo_match("1 2 3", "cgroup2", NULL, mnt, sizeof(mnt)), -EINVAL);
	assert_int_equal(mountinfo_match("1 2 3 / /x rw cgroup2", "cgroup2", NULL, mnt, sizeof(mnt)),
			 -EINVAL);
	/* does not fit */
	assert_int_equal(mountinfo_match("30 25 0:26 / /a/very/long/mount rw - cgroup2 none rw",
					 "cgroup2", NULL, mnt, 5),
			 -EINVAL);
}

static void test_proc_cgroup(void **state)
{
	char buf[128];

	(void)state;
	assert_int_equal(proc_cgroup_v2_path("0::/system.slice/nginx.service\n", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/system.slice/nginx.service");
	assert_int_equal(proc_cgroup_v2_path("9:name=systemd:/\n4:memory:/x\n0::/a/b\n", buf,
					     sizeof(buf)),
			 0);
	assert_string_equal(buf, "/a/b");
	assert_int_equal(proc_cgroup_v2_path("0::/", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(proc_cgroup_v2_path("4:memory:/x\n", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(proc_cgroup_v2_path("", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(proc_cgroup_v2_path("0::/0123456789", buf, 5), -ENAMETOOLONG);
}

/* ---- fake host root ---- */

static char root[64];

static void write_file(const char *rel, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static uint64_t ino(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static int setup(void **state)
{
	(void)state;
	strcpy(root, "/tmp/pb-cgroup-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_mount_find_fake_root(void **state)
{
	char buf[512], want[512];

	(void)state;
	mk("/proc");
	mk("/proc/1");
	mk("/proc/self");
	/* pid 1's table: a subtree bind first, then the whole hierarchy */
	write_file("/proc/1/mountinfo",
		   "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
		   "30 22 0:26 /kubepods /mnt/bind rw - cgroup2 cgroup2 rw\n"
		   "31 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
		   "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
	write_file("/proc/self/mountinfo", "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n");
	assert_int_equal(cgroup2_mount_find(root, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/sys/fs/cgroup", root);
	assert_string_equal(buf, want);
	assert_int_equal(cgroup_v1_mount_find(root, "memory", buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/sys/fs/cgroup/memory", root);
	assert_string_equal(buf, want);
	assert_int_equal(cgroup_v1_mount_find(root, "pids", buf, sizeof(buf)), -ENOENT);
	/* pid 1 unreadable: fall back to self */
	write_file("/proc/1/mountinfo", "");
	write_file("/proc/self/mountinfo",
		   "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
	assert_int_equal(cgroup2_mount_find(root, buf, sizeof(buf)), 0);
	snprintf(want, sizeof(want), "%s/sys/fs/cgroup/unified", root);
	assert_string_equal(buf, want);
	assert_int_equal(cgroup2_mount_find("/nonexistent", buf, sizeof(buf)), -ENOENT);
}

static void test_cache_fake_tree(void **state)
{
	struct cgroup_cache_stats st;
	struct cgroup_cache *c;
	char cg[128];
	uint64_t id_a, id_b, id_c, id_new;

	(void)state;
	mk("/cg");
	mk("/cg/kubepods.slice");
	mk("/cg/kubepods.slice/kubepods-pod0f3d8e6c1b2a49d7a5e4c3b2a1908f7e.slice");
	mk("/cg/system.slice");
	mk("/cg/system.slice/nginx.service");
	write_file("/cg/cgroup.procs", "1\n");	/* files are not cgroups */
	id_a = ino("/cg/kubepods.slice");
	id_b = ino("/cg/kubepods.slice/kubepods-pod0f3d8e6c1b2a49d7a5e4c3b2a1908f7e.slice");
	id_c = ino("/cg/system.slice/nginx.service");

	snprintf(cg, sizeof(cg), "%s/cg", root);
	c = cgroup_cache_new(cg);
	assert_non_null(c);
	cgroup_cache_set_min_interval(c, 3600 * 1000);
	assert_string_equal(cgroup_cache_path(c, id_a), "/kubepods.slice");
	assert_string_equal(cgroup_cache_path(c, id_b),
			    "/kubepods.slice/kubepods-pod0f3d8e6c1b2a49d7a5e4c3b2a1908f7e.slice");
	assert_string_equal(cgroup_cache_path(c, id_c), "/system.slice/nginx.service");
	assert_string_equal(cgroup_cache_path(c, ino("/cg")), "/");
	assert_int_equal(cgroup_cache_size(c), 5);
	assert_int_equal(cgroup_id_of(c, "/system.slice/nginx.service"), id_c);
	assert_int_equal(cgroup_id_of(c, "/nope"), 0);
	assert_int_equal(cgroup_id_of(c, "relative"), 0);
	assert_null(cgroup_cache_path(c, 0));

	/* a new cgroup: the miss waits for the rate limit */
	mk("/cg/system.slice/new.service");
	id_new = ino("/cg/system.slice/new.service");
	assert_null(cgroup_cache_path(c, id_new));
	cgroup_cache_set_min_interval(c, 0);
	assert_string_equal(cgroup_cache_path(c, id_new), "/system.slice/new.service");

	/* a removed cgroup is forgotten on the next rescan */
	snprintf(cg, sizeof(cg), "%s/cg/system.slice/nginx.service", root);
	assert_int_equal(rmdir(cg), 0);
	assert_int_equal(cgroup_cache_refresh(c), 0);
	assert_null(cgroup_cache_peek(c, id_c));
	assert_int_equal(cgroup_cache_size(c), 5);

	/* bounded */
	cgroup_cache_set_max_entries(c, 3);
	assert_int_equal(cgroup_cache_refresh(c), 0);
	assert_true(cgroup_cache_size(c) <= 3);
	cgroup_cache_stats(c, &st);
	assert_true(st.truncated >= 1);
	assert_true(st.scans >= 3);
	assert_true(cgroup_cache_generation(c) >= 3);
	cgroup_cache_free(c);
	cgroup_cache_free(NULL);
	assert_null(cgroup_cache_new(NULL));
}

/* This machine's real cgroup2 tree (hybrid hosts: /sys/fs/cgroup/unified). */
static void test_real_tree(void **state)
{
	char mnt[512], path[512];
	struct cgroup_cache *c;
	struct statfs sf;
	uint64_t id;

	(void)state;
	assert_int_equal(cgroup2_mount_find("/", mnt, sizeof(mnt)), 0);
	assert_int_equal(statfs(mnt, &sf), 0);
	assert_true(sf.f_type == 0x63677270);	/* CGROUP2_SUPER_MAGIC */
	assert_int_equal(cgroup_path_of_pid("/", getpid(), path, sizeof(path)), 0);
	assert_true(path[0] == '/');
	c = cgroup_cache_new(mnt);
	assert_non_null(c);
	/* a process in a foreign cgroup namespace sees a relative path: skip then */
	if (strncmp(path, "/..", 3) != 0) {
		id = cgroup_id_of(c, path);
		assert_true(id != 0);
		assert_string_equal(cgroup_cache_path(c, id), path);
	}
	id = cgroup_id_of(c, "/");
	assert_true(id != 0);
	assert_string_equal(cgroup_cache_path(c, id), "/");
	cgroup_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mountinfo_match),
		cmocka_unit_test(test_proc_cgroup),
		cmocka_unit_test_setup_teardown(test_mount_find_fake_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_fake_tree, setup, teardown),
		cmocka_unit_test(test_real_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
