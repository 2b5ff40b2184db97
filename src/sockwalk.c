// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "log.h"
#include "sockwalk.h"

int parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	unsigned int a, b;

	if (sscanf(s, "%u %u", &a, &b) != 2 || a > 65535 || b > 65535 || a > b)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

uint32_t count_reserved_in(const char *list, uint16_t lo, uint16_t hi)
{
	uint32_t n = 0;
	const char *p = list;

	while (p && *p) {
		char *end;
		unsigned long a = strtoul(p, &end, 10), b;

		if (end == p)
			break;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtoul(p, &end, 10);
			if (end == p)
				break;
		}
		if (b > 65535)
			b = 65535;
		for (unsigned long x = a > lo ? a : lo; x <= b && x <= hi; x++)
			n++;
		p = end;
		while (*p == ',' || *p == ' ' || *p == '\n')
			p++;
	}
	return n;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* The current namespace's cookie, 0 where the kernel has none (< 5.14). */
static uint64_t netns_cookie(void)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &c, &len) || len != sizeof(c))
		c = 0;
	close(fd);
	return c;
}

/* The range (and cookie) of the namespace this thread is in now. */
static void read_range(struct netns_range *r)
{
	char buf[4096];

	r->cookie = netns_cookie();
	r->lo = 32768;
	r->hi = 60999;
	r->reserved = 0;
	if (!read_small("/proc/sys/net/ipv4/ip_local_port_range", buf, sizeof(buf)))
		parse_port_range(buf, &r->lo, &r->hi);
	if (!read_small("/proc/sys/net/ipv4/ip_local_reserved_ports", buf, sizeof(buf)))
		r->reserved = count_reserved_in(buf, r->lo, r->hi);
	r->capacity = (uint32_t)(r->hi - r->lo + 1) - r->reserved;
}

/* Namespace inode -> a path to open it by, from /proc/<pid>/ns/net and
 * /run/netns; one path per inode. */
struct ns_path {
	uint32_t ino;
	char path[PATH_MAX];
};

static int add_ns(struct ns_path **v, size_t *n, size_t *cap, const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return 0;
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].ino == st.st_ino)
			return 0;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct ns_path *nv = realloc(*v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[*n].ino = st.st_ino;
	snprintf((*v)[*n].path, sizeof((*v)[*n].path), "%s", path);
	(*n)++;
	return 0;
}

static int list_namespaces(const char *host_root, struct ns_path **v, size_t *n)
{
	const char *root = strcmp(host_root, "/") ? host_root : "";
	static const char *const dirs[] = { "/run/netns", "/var/run/netns" };
	char path[PATH_MAX];
	size_t cap = 0;
	struct dirent *d;
	DIR *dir;
	int err = 0;

	*v = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/proc", root);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (!err && (d = readdir(dir))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/proc/%s/ns/net", root, d->d_name);
		err = add_ns(v, n, &cap, path);
	}
	closedir(dir);
	for (size_t i = 0; !err && i < 2; i++) {
		snprintf(path, sizeof(path), "%s%s", root, dirs[i]);
		dir = opendir(path);
		if (!dir)
			continue;
		while (!err && (d = readdir(dir))) {
			if (d->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s%s/%s", root, dirs[i], d->d_name);
			err = add_ns(v, n, &cap, path);
		}
		closedir(dir);
	}
	return err;
}

static int walk_current(int link_fd, struct netns_range *r, sockwalk_fn fn, void *ctx,
			struct sockwalk_stats *st)
{
	struct pb_sock buf[256];
	size_t have = 0;
	ssize_t n;
	int fd = bpf_iter_create(link_fd);

	if (fd < 0)
		return fd;
	for (;;) {
		n = read(fd, (char *)buf + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += n;
		for (size_t i = 0; i < have / sizeof(buf[0]); i++)
			fn(ctx, r, &buf[i]);
		st->socks += have / sizeof(buf[0]);
		/* Records are written whole; keep a partial tail, if any. */
		memmove(buf, (char *)buf + have / sizeof(buf[0]) * sizeof(buf[0]),
			have % sizeof(buf[0]));
		have %= sizeof(buf[0]);
	}
	close(fd);
	return n < 0 ? -errno : 0;
}

int sockwalk(int link_fd, const char *host_root, sockwalk_ns_fn ns_fn, sockwalk_fn fn,
	     void *ctx, struct sockwalk_stats *st)
{
	struct ns_path *v;
	size_t n;
	int self, err;

	memset(st, 0, sizeof(*st));
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	err = list_namespaces(host_root, &v, &n);
	if (err) {
		close(self);
		return err;
	}
	for (size_t i = 0; i < n; i++) {
		struct netns_range r = { .netns = v[i].ino };
		int fd = open(v[i].path, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || setns(fd, CLONE_NEWNET)) {
			/* (a failed setns leaves this thread where it was) */
			/* A process that just exited, or no right to enter. */
			log_debug("failed to enter netns %u (%s): %s", v[i].ino, v[i].path,
				  strerror(errno));
			if (fd >= 0)
				close(fd);
			st->netns_failed++;
			continue;
		}
		close(fd);
		st->netns_seen++;
		read_range(&r);
		if (ns_fn)
			ns_fn(ctx, &r);
		err = walk_current(link_fd, &r, fn, ctx, st);
		if (err)
			log_debug("failed to walk sockets of netns %u: %s", r.netns, strerror(-err));
	}
	/* Back home, unless no namespace could be entered at all. */
	if (st->netns_seen && setns(self, CLONE_NEWNET))
		fatal("failed to return to portburn's own network namespace");
	close(self);
	free(v);
	return 0;
}

int netns_range_of_pid(const char *host_root, uint32_t pid, struct netns_range *r)
{
	char path[PATH_MAX];
	struct stat st;
	int self, fd, err = 0;

	snprintf(path, sizeof(path), "%s/proc/%u/ns/net", strcmp(host_root, "/") ? host_root : "",
		 pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		err = -errno;
		goto out;
	}
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		close(self);
		goto out;
	}
	r->netns = st.st_ino;
	read_range(r);
	if (setns(self, CLONE_NEWNET))
		fatal("failed to return to portburn's own network namespace");
	close(self);
out:
	close(fd);
	return err;
}
