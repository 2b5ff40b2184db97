// SPDX-License-Identifier: GPL-2.0-only
/* Index of the kubelet's log directories. Each rebuild reads both directories
 * into sorted arrays (bsearch on lookup), capped in size, and replaces the old
 * index whole: pods deleted from disk are forgotten. */
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
#include "kubelog.h"
#include "log.h"

#define DEFAULT_MAX_PODS 8192
#define DEFAULT_MAX_CONTAINERS 32768

static bool is_alnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool k8s_is_dns_label(const char *s, size_t len)
{
	if (len == 0 || len > 63 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum_lower(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool k8s_is_dns_subdomain(const char *s, size_t len)
{
	size_t start = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (!k8s_is_dns_label(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

static void copy(char *dst, const char *s, size_t len)
{
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* Split S into exactly three '_'-separated parts. */
static bool split3(const char *s, size_t len, size_t off[3], size_t n[3])
{
	const char *a = memchr(s, '_', len), *b;

	if (!a)
		return false;
	b = memchr(a + 1, '_', len - (size_t)(a + 1 - s));
	if (!b || memchr(b + 1, '_', len - (size_t)(b + 1 - s)))
		return false;
	off[0] = 0;
	n[0] = (size_t)(a - s);
	off[1] = (size_t)(a + 1 - s);
	n[1] = (size_t)(b - a - 1);
	off[2] = (size_t)(b + 1 - s);
	n[2] = len - off[2];
	return true;
}

/* Container names are DNS labels; dockershim's sandbox was "POD". */
static bool container_name_ok(const char *s, size_t len)
{
	return k8s_is_dns_label(s, len) || (len == 3 && memcmp(s, "POD", 3) == 0);
}

bool kubelog_parse_container_log(const char *s, size_t len, struct kubelog_container *out)
{
	struct kubelog_container c;
	size_t off[3], n[3], base;

	/* shortest: "a_b_c-<64>.log" */
	if (!s || len < 6 + 64 + 4 || memcmp(s + len - 4, ".log", 4) != 0)
		return false;
	base = len - 4 - 64;
	if (!k8s_is_container_id(s + base, 64) || s[base - 1] != '-')
		return false;
	if (!split3(s, base - 1, off, n))
		return false;
	if (!k8s_is_dns_subdomain(s + off[0], n[0]) || !k8s_is_dns_label(s + off[1], n[1]) ||
	    !container_name_ok(s + off[2], n[2]))
		return false;
	memset(&c, 0, sizeof(c));
	copy(c.pod, s + off[0], n[0]);
	copy(c.namespace, s + off[1], n[1]);
	copy(c.container, s + off[2], n[2]);
	copy(c.container_id, s + base, 64);
	c.restart = -1;
	c.infra = strcmp(c.container, "POD") == 0;
	*out = c;
	return true;
}

bool kubelog_parse_pod_dir(const char *s, size_t len, struct kubelog_pod *out)
{
	struct kubelog_pod p;
	size_t off[3], n[3];

	if (!s || !split3(s, len, off, n))
		return false;
	memset(&p, 0, sizeof(p));
	if (!k8s_is_dns_label(s + off[0], n[0]) || !k8s_is_dns_subdomain(s + off[1], n[1]) ||
	    !k8s_pod_uid_normalize(s + off[2], n[2], false, p.pod_uid))
		return false;
	copy(p.namespace, s + off[0], n[0]);
	copy(p.pod, s + off[1], n[1]);
	*out = p;
	return true;
}

bool kubelog_parse_log_target(const char *s, size_t len, struct kubelog_container *out)
{
	struct kubelog_pod p;
	size_t end = len, cut[3] = { 0 }, start[3];
	long restart = 0;

	if (!s)
		return false;
	/* the last three components, right to left: <restart>.log, <container>, <pod dir> */
	for (int i = 0; i < 3; i++) {
		size_t j = end;

		while (j > 0 && s[j - 1] != '/')
			j--;
		start[i] = j;
		cut[i] = end - j;
		if (cut[i] == 0 || (i < 2 && j == 0))
			return false;
		end = j ? j - 1 : 0;
	}
	if (cut[0] < 5 || cut[0] > 14 || memcmp(s + start[0] + cut[0] - 4, ".log", 4) != 0)
		return false;
	for (size_t i = 0; i < cut[0] - 4; i++) {
		char ch = s[start[0] + i];

		if (ch < '0' || ch > '9')
			return false;
		restart = restart * 10 + (ch - '0');
	}
	if (restart > 1000000000 || !container_name_ok(s + start[1], cut[1]) ||
	    !kubelog_parse_pod_dir(s + start[2], cut[2], &p))
		return false;
	copy(out->namespace, p.namespace, strlen(p.namespace));
	copy(out->pod, p.pod, strlen(p.pod));
	copy(out->pod_uid, p.pod_uid, strlen(p.pod_uid));
	copy(out->container, s + start[1], cut[1]);
	out->restart = (int)restart;
	return true;
}

/* ---- the index ---- */

struct pod_ctr {
	char pod_uid[PB_UID_LEN];
	char name[PB_CTR_LEN];
};

struct index {
	struct kubelog_pod *pods;	/* sorted by pod_uid */
	size_t npods;
	struct kubelog_container *ctrs;	/* sorted by container_id */
	size_t nctrs;
	struct pod_ctr *pcs;		/* sorted by (pod_uid, name) */
	size_t npcs;
};

struct kubelog {
	char dir_containers[PATH_MAX];
	char dir_pods[PATH_MAX];
	struct index ix;
	struct timespec mt_containers, mt_pods;	/* mtimes at the last rebuild */
	struct timespec scan_wall;		/* CLOCK_REALTIME of the last rebuild */
	unsigned long long last_scan_ms;
	bool scanned;
	unsigned int min_interval_ms;
	size_t max_pods, max_ctrs;
	unsigned long gen;
};

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

static int cmp_pod(const void *a, const void *b)
{
	return strcmp(((const struct kubelog_pod *)a)->pod_uid,
		      ((const struct kubelog_pod *)b)->pod_uid);
}

static int cmp_ctr(const void *a, const void *b)
{
	return strcmp(((const struct kubelog_container *)a)->container_id,
		      ((const struct kubelog_container *)b)->container_id);
}

static int cmp_pc(const void *a, const void *b)
{
	const struct pod_ctr *x = a, *y = b;
	int r = strcmp(x->pod_uid, y->pod_uid);

	return r ? r : strcmp(x->name, y->name);
}

static void index_free(struct index *ix)
{
	free(ix->pods);
	free(ix->ctrs);
	free(ix->pcs);
	memset(ix, 0, sizeof(*ix));
}

/* Grow *ARR (of SZ-byte elements) to hold N + 1. */
static int reserve(void **arr, size_t *cap, size_t n, size_t sz)
{
	void *p;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 64;
	p = reallocarray(*arr, nc, sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

static void scan_pod_containers(struct kubelog *k, struct index *ix, size_t *cap, int podfd,
				struct kubelog_pod *pod)
{
	DIR *d = fdopendir(podfd);
	struct dirent *de;

	if (!d) {
		close(podfd);
		return;
	}
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!container_name_ok(de->d_name, nl))
			continue;
		if (ix->npcs >= k->max_ctrs ||
		    reserve((void **)&ix->pcs, cap, ix->npcs, sizeof(*ix->pcs)))
			break;
		copy(ix->pcs[ix->npcs].pod_uid, pod->pod_uid, strlen(pod->pod_uid));
		copy(ix->pcs[ix->npcs].name, de->d_name, nl);
		ix->npcs++;
		pod->containers++;
	}
	closedir(d);
}

static void scan_pods(struct kubelog *k, struct index *ix)
{
	size_t cap = 0, pccap = 0;
	struct dirent *de;
	DIR *d;

	d = opendir(k->dir_pods);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct kubelog_pod p;
		int fd;

		if (!kubelog_parse_pod_dir(de->d_name, strlen(de->d_name), &p))
			continue;
		if (ix->npods >= k->max_pods) {
			log_debug("%s: more than %zu pods, rest ignored", k->dir_pods, k->max_pods);
			break;
		}
		if (reserve((void **)&ix->pods, &cap, ix->npods, sizeof(*ix->pods)))
			break;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			scan_pod_containers(k, ix, &pccap, fd, &p);
		ix->pods[ix->npods++] = p;
	}
	closedir(d);
}

static void scan_containers(struct kubelog *k, struct index *ix)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *d;

	d = opendir(k->dir_containers);
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct kubelog_container c, t;
		char target[PATH_MAX];
		ssize_t tl;

		if (!kubelog_parse_container_log(de->d_name, strlen(de->d_name), &c))
			continue;
		if (ix->nctrs >= k->max_ctrs) {
			log_debug("%s: more than %zu containers, rest ignored", k->dir_containers,
				  k->max_ctrs);
			break;
		}
		/* The target names the pod UID; believe it only if it agrees with the
		 * link's own name, so a stale or odd link never pairs wrong names. */
		tl = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		t = c;
		if (tl > 0 && kubelog_parse_log_target(target, (size_t)tl, &t) &&
		    strcmp(t.namespace, c.namespace) == 0 && strcmp(t.pod, c.pod) == 0 &&
		    strcmp(t.container, c.container) == 0) {
			memcpy(c.pod_uid, t.pod_uid, sizeof(c.pod_uid));
			c.restart = t.restart;
		}
		if (reserve((void **)&ix->ctrs, &cap, ix->nctrs, sizeof(*ix->ctrs)))
			break;
		ix->ctrs[ix->nctrs++] = c;
	}
	closedir(d);
}

static bool mtime_of(const char *dir, struct timespec *ts)
{
	struct stat st;

	if (stat(dir, &st) < 0) {
		memset(ts, 0, sizeof(*ts));
		return false;
	}
	*ts = st.st_mtim;
	return true;
}

int kubelog_refresh(struct kubelog *k)
{
	struct index ix = { 0 };

	if (!k)
		return -EINVAL;
	k->last_scan_ms = now_ms();
	k->scanned = true;
	clock_gettime(CLOCK_REALTIME, &k->scan_wall);
	mtime_of(k->dir_containers, &k->mt_containers);
	mtime_of(k->dir_pods, &k->mt_pods);
	scan_pods(k, &ix);
	scan_containers(k, &ix);
	if (ix.npods)
		qsort(ix.pods, ix.npods, sizeof(*ix.pods), cmp_pod);
	if (ix.nctrs)
		qsort(ix.ctrs, ix.nctrs, sizeof(*ix.ctrs), cmp_ctr);
	if (ix.npcs)
		qsort(ix.pcs, ix.npcs, sizeof(*ix.pcs), cmp_pc);
	index_free(&k->ix);
	k->ix = ix;
	k->gen++;
	return 0;
}

static bool ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* A miss: rebuild if allowed by the rate limit and the directories changed
 * (or changed so close to the last rebuild that its timestamp cannot tell). */
static bool maybe_refresh(struct kubelog *k)
{
	struct timespec mc, mp;

	if (k->scanned) {
		unsigned long long since = now_ms() - k->last_scan_ms;

		mtime_of(k->dir_containers, &mc);
		mtime_of(k->dir_pods, &mp);
		if (ts_eq(&mc, &k->mt_containers) && ts_eq(&mp, &k->mt_pods) &&
		    k->scan_wall.tv_sec > mc.tv_sec + 1 && k->scan_wall.tv_sec > mp.tv_sec + 1)
			return false;
		/* Changed: a container just started, its first connections
		 * should carry its name. A tenth of the interval apart at most. */
		if (since < k->min_interval_ms / 10)
			return false;
	}
	kubelog_refresh(k);
	return true;
}

static const struct kubelog_container *find_ctr(const struct kubelog *k, const char *cid)
{
	struct kubelog_container key;

	if (!k->ix.nctrs || strlen(cid) >= sizeof(key.container_id))
		return NULL;
	strcpy(key.container_id, cid);
	return bsearch(&key, k->ix.ctrs, k->ix.nctrs, sizeof(key), cmp_ctr);
}

static const struct kubelog_pod *find_pod(const struct kubelog *k, const char *uid)
{
	struct kubelog_pod key;

	if (!k->ix.npods || strlen(uid) >= sizeof(key.pod_uid))
		return NULL;
	strcpy(key.pod_uid, uid);
	return bsearch(&key, k->ix.pods, k->ix.npods, sizeof(key), cmp_pod);
}

int kubelog_container(struct kubelog *k, const char *container_id, struct kubelog_container *out)
{
	const struct kubelog_container *c;

	if (!k || !container_id || !k8s_is_container_id(container_id, strlen(container_id)))
		return -ENOENT;
	c = find_ctr(k, container_id);
	if (!c && maybe_refresh(k))
		c = find_ctr(k, container_id);
	if (!c)
		return -ENOENT;
	*out = *c;
	return 0;
}

int kubelog_pod(struct kubelog *k, const char *pod_uid, struct kubelog_pod *out)
{
	const struct kubelog_pod *p;

	if (!k || !pod_uid || !k8s_pod_uid_normalize(pod_uid, strlen(pod_uid), false, NULL))
		return -ENOENT;
	p = find_pod(k, pod_uid);
	if (!p && maybe_refresh(k))
		p = find_pod(k, pod_uid);
	if (!p)
		return -ENOENT;
	*out = *p;
	return 0;
}

bool kubelog_pod_has_container(const struct kubelog *k, const char *pod_uid, const char *name)
{
	struct pod_ctr key;

	if (!k || !pod_uid || !name || !k->ix.npcs || strlen(pod_uid) >= sizeof(key.pod_uid) ||
	    strlen(name) >= sizeof(key.name))
		return false;
	strcpy(key.pod_uid, pod_uid);
	strcpy(key.name, name);
	return bsearch(&key, k->ix.pcs, k->ix.npcs, sizeof(key), cmp_pc) != NULL;
}

struct kubelog *kubelog_new(const char *host_root)
{
	struct kubelog *k;
	size_t rl;

	if (!host_root || !*host_root)
		host_root = "/";
	rl = strlen(host_root);
	while (rl > 0 && host_root[rl - 1] == '/')
		rl--;
	if (rl + sizeof("/var/log/containers") >= PATH_MAX)
		return NULL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	snprintf(k->dir_containers, sizeof(k->dir_containers), "%.*s/var/log/containers", (int)rl,
		 host_root);
	snprintf(k->dir_pods, sizeof(k->dir_pods), "%.*s/var/log/pods", (int)rl, host_root);
	k->min_interval_ms = 1000;
	k->max_pods = DEFAULT_MAX_PODS;
	k->max_ctrs = DEFAULT_MAX_CONTAINERS;
	return k;
}

void kubelog_free(struct kubelog *k)
{
	if (!k)
		return;
	index_free(&k->ix);
	free(k);
}

void kubelog_set_min_interval(struct kubelog *k, unsigned int ms)
{
	if (k)
		k->min_interval_ms = ms;
}

void kubelog_set_max_entries(struct kubelog *k, size_t pods, size_t containers)
{
	if (!k)
		return;
	k->max_pods = pods ? pods : 1;
	k->max_ctrs = containers ? containers : 1;
}

unsigned long kubelog_generation(const struct kubelog *k)
{
	return k ? k->gen : 0;
}

size_t kubelog_pod_count(const struct kubelog *k)
{
	return k ? k->ix.npods : 0;
}

size_t kubelog_container_count(const struct kubelog *k)
{
	return k ? k->ix.nctrs : 0;
}
