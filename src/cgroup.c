// SPDX-License-Identifier: GPL-2.0-only
/* cgroup mount discovery and the cgroup id -> path cache. The cache is one
 * open-addressing table rebuilt by a full walk of the tree: a rescan both adds
 * new cgroups and forgets removed ones, and its size is capped. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include "cgroup.h"
#include "log.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef CGROUP_SUPER_MAGIC
#define CGROUP_SUPER_MAGIC 0x27e0eb
#endif

#define MAX_DEPTH 64
#define DEFAULT_MAX_ENTRIES 65536
#define CG_PATH_MAX 4096

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "a" + "/proc/x" without doubling the slash; "/" as root adds nothing. */
static int join_root(char *buf, size_t len, const char *root, const char *path)
{
	size_t rl;
	int n;

	if (!root || !*root)
		root = "/";
	rl = strlen(root);
	while (rl > 0 && root[rl - 1] == '/')
		rl--;
	n = snprintf(buf, len, "%.*s%s", (int)rl, root, path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Next space-separated field of a mountinfo line, unescaping \NNN octal. */
static const char *field(const char *p, char *out, size_t len, bool *fits)
{
	size_t n = 0;

	*fits = true;
	while (*p == ' ')
		p++;
	while (*p && *p != ' ' && *p != '\n') {
		char ch = *p;

		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			ch = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
			p += 4;
		} else {
			p++;
		}
		if (n + 1 < len)
			out[n++] = ch;
		else
			*fits = false;
	}
	if (len)
		out[n] = '\0';
	return p;
}

static bool has_option(const char *opts, const char *want)
{
	size_t wl = strlen(want);

	for (const char *p = opts; *p;) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		if (l == wl && memcmp(p, want, wl) == 0)
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

int mountinfo_match(const char *line, const char *fstype, const char *controller, char *mnt,
		    size_t len)
{
	char tok[256], root[PATH_MAX], mp[PATH_MAX];
	const char *p = line;
	bool fits, mp_fits;
	int i;

	if (!line || !mnt || len == 0)
		return -EINVAL;
	/* id parent major:minor root mountpoint options [optional...] - fstype source superopts */
	for (i = 0; i < 3; i++) {
		p = field(p, tok, sizeof(tok), &fits);
		if (!tok[0])
			return -EINVAL;
	}
	p = field(p, root, sizeof(root), &fits);
	p = field(p, mp, sizeof(mp), &mp_fits);
	if (!root[0] || !mp[0])
		return -EINVAL;
	for (;;) {
		p = field(p, tok, sizeof(tok), &fits);
		if (!tok[0])
			return -EINVAL;
		if (strcmp(tok, "-") == 0)
			break;
	}
	p = field(p, tok, sizeof(tok), &fits);
	if (strcmp(tok, fstype) != 0)
		return 0;
	if (controller) {
		char src[256], opts[1024];

		p = field(p, src, sizeof(src), &fits);
		p = field(p, opts, sizeof(opts), &fits);
		if (!fits || !has_option(opts, controller))
			return 0;
	}
	if (!mp_fits || strlen(mp) >= len)
		return -EINVAL;
	strcpy(mnt, mp);
	return strcmp(root, "/") == 0 ? 2 : 1;
}

static int mount_find_in(const char *file, const char *fstype, const char *controller,
			 char *mnt, size_t len)
{
	char *line = NULL;
	size_t cap = 0;
	int best = 0, err;
	FILE *f;

	f = fopen(file, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char cand[PATH_MAX];
		int m = mountinfo_match(line, fstype, controller, cand, sizeof(cand));

		if (m > best && strlen(cand) < len) {
			strcpy(mnt, cand);
			best = m;
			if (m == 2)
				break;
		}
	}
	free(line);
	fclose(f);
	err = best ? 0 : -ENOENT;
	return err;
}

static int mount_find(const char *host_root, const char *fstype, const char *controller,
		      char *buf, size_t len)
{
	static const char *const tables[] = { "/proc/1/mountinfo", "/proc/self/mountinfo" };
	char file[PATH_MAX], mnt[PATH_MAX];
	int err = -ENOENT;

	for (size_t i = 0; i < 2; i++) {
		err = join_root(file, sizeof(file), host_root, tables[i]);
		if (err)
			return err;
		err = mount_find_in(file, fstype, controller, mnt, sizeof(mnt));
		if (err == 0)
			return join_root(buf, len, host_root, mnt);
	}
	return err;
}

int cgroup2_mount_find(const char *host_root, char *buf, size_t len)
{
	return mount_find(host_root, "cgroup2", NULL, buf, len);
}

int cgroup_v1_mount_find(const char *host_root, const char *controller, char *buf, size_t len)
{
	return mount_find(host_root, "cgroup", controller, buf, len);
}

int proc_cgroup_v2_path(const char *content, char *buf, size_t len)
{
	const char *p = content;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);

		if (l >= 3 && memcmp(p, "0::", 3) == 0) {
			if (l - 3 >= len)
				return -ENAMETOOLONG;
			memcpy(buf, p + 3, l - 3);
			buf[l - 3] = '\0';
			return 0;
		}
		p = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

int proc_cgroup_v1_path(const char *content, const char *controller, char *buf, size_t len)
{
	size_t cl = strlen(controller);
	const char *p = content;

	/* "N:ctl1,ctl2:/path" */
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t l = eol ? (size_t)(eol - p) : strlen(p);
		const char *c = memchr(p, ':', l), *e, *t;

		if (c && (e = memchr(c + 1, ':', l - (c + 1 - p)))) {
			for (t = c + 1; t < e;) {
				const char *comma = memchr(t, ',', e - t);
				const char *end = comma ? comma : e;

				if ((size_t)(end - t) == cl && !memcmp(t, controller, cl)) {
					size_t pl = l - (e + 1 - p);

					if (pl >= len)
						return -ENAMETOOLONG;
					memcpy(buf, e + 1, pl);
					buf[pl] = '\0';
					return 0;
				}
				t = end + 1;
			}
		}
		p = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

int cgroup_path_of_pid(const char *host_root, pid_t pid, char *buf, size_t len)
{
	return cgroup_path_of_pid_in(host_root, pid, NULL, buf, len);
}

int cgroup_path_of_pid_in(const char *host_root, pid_t pid, const char *controller, char *buf,
			  size_t len)
{
	char file[PATH_MAX], content[8192];
	ssize_t n;
	int fd, err;

	snprintf(content, sizeof(content), "/proc/%d/cgroup", (int)pid);
	err = join_root(file, sizeof(file), host_root, content);
	if (err)
		return err;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, content, sizeof(content) - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	content[n] = '\0';
	if (controller)
		return proc_cgroup_v1_path(content, controller, buf, len);
	return proc_cgroup_v2_path(content, buf, len);
}

/* ---- id -> path cache ---- */

struct cg_entry {
	uint64_t id;	/* 0 = empty slot */
	char *path;
};

struct cg_table {
	uint64_t max_id;	/* largest id in the table */
	struct cg_entry *slots;
	size_t cap;	/* power of two */
	size_t count;
};

struct cgroup_cache {
	char *mount;
	struct cg_table t;
	bool kernfs;		/* ids from file handles (cgroupfs), else st_ino */
	uint64_t last_scan_ms;
	bool scanned;
	unsigned int min_interval_ms;
	size_t max_entries;
	unsigned long gen;
	struct cgroup_cache_stats st;
};

static size_t slot_of(uint64_t id, size_t cap)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

static void table_clear(struct cg_table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].path);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

static const struct cg_entry *table_get(const struct cg_table *t, uint64_t id)
{
	if (!t->cap || id == 0)
		return NULL;
	for (size_t i = slot_of(id, t->cap), n = 0; n < t->cap; i = (i + 1) & (t->cap - 1), n++) {
		if (t->slots[i].id == id)
			return &t->slots[i];
		if (t->slots[i].id == 0)
			return NULL;
	}
	return NULL;
}

static int table_grow(struct cg_table *t)
{
	struct cg_table n = { .cap = t->cap ? t->cap * 2 : 256 };

	n.slots = calloc(n.cap, sizeof(*n.slots));
	if (!n.slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		size_t j;

		if (!t->slots[i].id)
			continue;
		for (j = slot_of(t->slots[i].id, n.cap); n.slots[j].id; j = (j + 1) & (n.cap - 1))
			;
		n.slots[j] = t->slots[i];
		n.count++;
	}
	free(t->slots);
	*t = n;
	return 0;
}

/* Takes PATH (malloc'd) on success. A duplicate id keeps the first path. */
static int table_put(struct cg_table *t, uint64_t id, char *path)
{
	size_t i;
	int err;

	if ((t->count + 1) * 2 > t->cap) {
		err = table_grow(t);
		if (err)
			return err;
	}
	for (i = slot_of(id, t->cap); t->slots[i].id; i = (i + 1) & (t->cap - 1)) {
		if (t->slots[i].id == id) {
			free(path);
			return 0;
		}
	}
	t->slots[i].id = id;
	t->slots[i].path = path;
	t->count++;
	if (id > t->max_id)
		t->max_id = id;
	return 0;
}

/* The id the kernel reports for the cgroup directory NAME under DIRFD. */
static uint64_t dir_id(const struct cgroup_cache *c, int dirfd, const char *name)
{
	struct stat st;

	if (c->kernfs) {
		struct {
			struct file_handle fh;
			uint64_t id;
		} h = { .fh.handle_bytes = sizeof(uint64_t) };
		int mount_id;

		/* bpf_get_current_cgroup_id() is the kernfs node id, which is also the
		 * file handle; on kernels >= 5.5 it equals st_ino as well. */
		if (name_to_handle_at(dirfd, name, &h.fh, &mount_id, 0) == 0 &&
		    h.fh.handle_bytes == sizeof(uint64_t)) {
			uint64_t id;

			memcpy(&id, h.fh.f_handle, sizeof(id));
			return id;
		}
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return (uint64_t)st.st_ino;
}

struct walk {
	struct cgroup_cache *c;
	struct cg_table t;
	char path[CG_PATH_MAX];
	bool truncated;
	int err;
};

static void walk_dir(struct walk *w, int fd_dir, size_t plen, int depth)
{
	DIR *d;
	struct dirent *de;

	if (depth >= MAX_DEPTH) {
		w->truncated = true;
		close(fd_dir);
		return;
	}
	d = fdopendir(fd_dir);
	if (!d) {
		close(fd_dir);
		return;
	}
	while (!w->err && (de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		uint64_t id;
		char *p;
		int fd;

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (plen + 1 + nl >= sizeof(w->path)) {
			w->truncated = true;
			continue;
		}
		if (w->t.count >= w->c->max_entries) {
			w->truncated = true;
			break;
		}
		id = dir_id(w->c, dirfd(d), de->d_name);
		if (!id)
			continue;	/* gone meanwhile, or not a directory */
		w->path[plen] = '/';
		memcpy(w->path + plen + 1, de->d_name, nl + 1);
		p = strdup(w->path);
		if (!p || table_put(&w->t, id, p)) {
			free(p);
			w->err = -ENOMEM;
			break;
		}
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			walk_dir(w, fd, plen + 1 + nl, depth + 1);
		w->path[plen] = '\0';
	}
	closedir(d);
}

int cgroup_cache_refresh(struct cgroup_cache *c)
{
	struct walk *w;
	uint64_t root_id;
	char *rootp;
	int fd, err;

	if (!c)
		return -EINVAL;
	c->last_scan_ms = now_ms();
	c->scanned = true;
	c->st.scans++;
	c->gen++;
	fd = open(c->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		log_warn("failed to open cgroup tree %s", c->mount);
		return err;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		return -ENOMEM;
	}
	w->c = c;
	root_id = dir_id(c, fd, ".");
	rootp = strdup("/");
	err = !root_id ? -ENOTDIR : !rootp ? -ENOMEM : table_put(&w->t, root_id, rootp);
	if (err) {
		free(rootp);
		close(fd);
		goto out_free_table;
	}
	walk_dir(w, fd, 0, 0);	/* closes fd */
	err = w->err;
	if (err)
		goto out_free_table;
	if (w->truncated) {
		c->st.truncated++;
		log_debug("cgroup tree %s: scan capped at %zu cgroups", c->mount, w->t.count);
	}
	table_clear(&c->t);
	c->t = w->t;
	free(w);
	return 0;

out_free_table:
	table_clear(&w->t);
	free(w);
	return err;
}

struct cgroup_cache *cgroup_cache_new(const char *mount_point)
{
	struct cgroup_cache *c;
	struct statfs sf;

	if (!mount_point)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->mount = strdup(mount_point);
	if (!c->mount) {
		free(c);
		return NULL;
	}
	c->min_interval_ms = 1000;
	c->max_entries = DEFAULT_MAX_ENTRIES;
	if (statfs(mount_point, &sf) == 0 &&
	    (sf.f_type == CGROUP2_SUPER_MAGIC || sf.f_type == CGROUP_SUPER_MAGIC))
		c->kernfs = true;
	return c;
}

void cgroup_cache_free(struct cgroup_cache *c)
{
	if (!c)
		return;
	table_clear(&c->t);
	free(c->mount);
	free(c);
}

const char *cgroup_cache_peek(const struct cgroup_cache *c, uint64_t id)
{
	const struct cg_entry *e = c ? table_get(&c->t, id) : NULL;

	return e ? e->path : NULL;
}

const char *cgroup_cache_path(struct cgroup_cache *c, uint64_t id)
{
	const char *p;

	if (!c || id == 0)
		return NULL;
	p = cgroup_cache_peek(c, id);
	if (p)
		return p;
	/* Cgroup ids grow: one above everything the last scan saw is a cgroup
	 * made since (a container just started), worth a rescan at once (at
	 * most every 50 ms); other misses wait for the usual interval. */
	if (!c->scanned || now_ms() - c->last_scan_ms >= c->min_interval_ms ||
	    (id > c->t.max_id && now_ms() - c->last_scan_ms >= 50)) {
		cgroup_cache_refresh(c);
		p = cgroup_cache_peek(c, id);
	}
	if (!p)
		c->st.misses++;
	return p;
}

uint64_t cgroup_id_of(struct cgroup_cache *c, const char *path)
{
	char full[CG_PATH_MAX];
	uint64_t id;
	int fd;

	if (!c || !path || path[0] != '/')
		return 0;
	if (join_root(full, sizeof(full), c->mount, path))
		return 0;
	fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	id = dir_id(c, fd, ".");
	close(fd);
	return id;
}

size_t cgroup_cache_size(const struct cgroup_cache *c)
{
	return c ? c->t.count : 0;
}

void cgroup_cache_set_min_interval(struct cgroup_cache *c, unsigned int ms)
{
	if (c)
		c->min_interval_ms = ms;
}

void cgroup_cache_set_max_entries(struct cgroup_cache *c, size_t max)
{
	if (c)
		c->max_entries = max ? max : 1;
}

unsigned long cgroup_cache_generation(const struct cgroup_cache *c)
{
	return c ? c->gen : 0;
}

void cgroup_cache_stats(const struct cgroup_cache *c, struct cgroup_cache_stats *st)
{
	if (c && st)
		*st = c->st;
}
