// SPDX-License-Identifier: GPL-2.0-only
/* cgroup path -> owner kind. See k8s_path.h for the layouts. Every name is
 * checked character by character before it is believed; anything else is
 * "unknown" so the caller shows the raw path instead of a wrong pod. */
#include <string.h>
#include "k8s_path.h"

#define MAX_COMPS 64		/* deeper components are ignored */
#define MAX_PATH_LEN 4096	/* longer paths are not parsed */

struct comp {
	const char *s;
	size_t len;
};

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool all_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_lower_hex(s[i]))
			return false;
	return true;
}

bool k8s_is_container_id(const char *s, size_t len)
{
	return len == 64 && all_hex(s, len);
}

bool k8s_pod_uid_normalize(const char *s, size_t len, bool sep_underscore, char *out)
{
	char sep = sep_underscore ? '_' : '-';

	if (len == 32) {
		if (!all_hex(s, len))
			return false;
	} else if (len == 36) {
		for (size_t i = 0; i < len; i++) {
			bool dash = i == 8 || i == 13 || i == 18 || i == 23;

			if (dash ? s[i] != sep : !is_lower_hex(s[i]))
				return false;
		}
	} else {
		return false;
	}
	if (out) {
		for (size_t i = 0; i < len; i++)
			out[i] = s[i] == sep ? '-' : s[i];
		out[len] = '\0';
	}
	return true;
}

static bool comp_eq(const struct comp *c, const char *lit)
{
	size_t n = strlen(lit);

	return c->len == n && memcmp(c->s, lit, n) == 0;
}

/* If C is PREFIX + MIDDLE + SUFFIX, point MID at MIDDLE and return true. */
static bool comp_strip(const struct comp *c, const char *prefix, const char *suffix,
		       struct comp *mid)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	if (c->len < p + s || memcmp(c->s, prefix, p) != 0 ||
	    memcmp(c->s + c->len - s, suffix, s) != 0)
		return false;
	mid->s = c->s + p;
	mid->len = c->len - p - s;
	return true;
}

static bool comp_has_suffix(const struct comp *c, const char *suffix)
{
	struct comp mid;

	return comp_strip(c, "", suffix, &mid);
}

static void set_cid(struct k8s_path_info *out, const struct comp *id)
{
	memcpy(out->container_id, id->s, id->len);
	out->container_id[id->len] = '\0';
}

static void set_unit(struct k8s_path_info *out, const struct comp *c)
{
	size_t n = c->len < PB_UNIT_LEN - 1 ? c->len : PB_UNIT_LEN - 1;

	memcpy(out->unit, c->s, n);
	out->unit[n] = '\0';
}

/* Container component right under a pod. SYSTEMD selects the ".scope" form. */
static bool parse_k8s_container(const struct comp *c, bool systemd, struct k8s_path_info *out)
{
	static const struct {
		const char *prefix;
		enum pb_runtime rt;
		bool monitor;
	} forms[] = {
		{ "cri-containerd-", PB_RT_CONTAINERD, false },
		{ "crio-conmon-", PB_RT_CRIO, true },
		{ "crio-", PB_RT_CRIO, false },
		{ "docker-", PB_RT_DOCKER, false },
	};
	const char *suffix = systemd ? ".scope" : "";
	struct comp id;

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (comp_strip(c, forms[i].prefix, suffix, &id) &&
		    k8s_is_container_id(id.s, id.len)) {
			out->runtime = forms[i].rt;
			out->monitor = forms[i].monitor;
			set_cid(out, &id);
			return true;
		}
	}
	/* cgroupfs driver with containerd or docker: the bare id */
	if (!systemd && k8s_is_container_id(c->s, c->len)) {
		out->runtime = PB_RT_UNKNOWN;
		set_cid(out, c);
		return true;
	}
	return false;
}

/* Systemd driver: ROOT is "<P>.slice" with P "kubepods" or "<x>-kubepods". */
static enum pb_kind parse_k8s_systemd(const struct comp *c, int n, const struct comp *root,
				      struct k8s_path_info *out)
{
	static const struct {
		const char *name;
		enum pb_qos qos;
	} qos[] = { { "burstable", PB_QOS_BURSTABLE }, { "besteffort", PB_QOS_BESTEFFORT } };
	char prefix[PB_UNIT_LEN + 32];
	struct comp uid;
	int i = 0;

	out->driver = PB_DRIVER_SYSTEMD;
	if (root->len - strlen(".slice") > PB_UNIT_LEN)
		return PB_KIND_UNKNOWN;
	/* prefix = "<P>-" */
	memcpy(prefix, root->s, root->len - strlen(".slice"));
	prefix[root->len - strlen(".slice")] = '\0';
	strcat(prefix, "-");
	if (i >= n)
		return PB_KIND_UNKNOWN;
	out->qos = PB_QOS_GUARANTEED;
	for (size_t q = 0; q < 2; q++) {
		struct comp mid;

		if (comp_strip(&c[i], prefix, ".slice", &mid) && mid.len == strlen(qos[q].name) &&
		    memcmp(mid.s, qos[q].name, mid.len) == 0) {
			out->qos = qos[q].qos;
			strcat(prefix, qos[q].name);
			strcat(prefix, "-");
			i++;
			break;
		}
	}
	if (i >= n)
		return PB_KIND_UNKNOWN;	/* a QoS slice: not a pod */
	strcat(prefix, "pod");
	if (!comp_strip(&c[i], prefix, ".slice", &uid) ||
	    !k8s_pod_uid_normalize(uid.s, uid.len, true, out->pod_uid)) {
		out->qos = PB_QOS_NONE;
		return PB_KIND_UNKNOWN;
	}
	if (++i >= n)
		return PB_KIND_K8S_POD;
	if (!parse_k8s_container(&c[i], true, out))
		return PB_KIND_K8S_POD;
	return out->monitor ? PB_KIND_K8S_POD : PB_KIND_K8S_CONTAINER;
}

/* cgroupfs driver: ROOT is "kubepods". */
static enum pb_kind parse_k8s_cgroupfs(const struct comp *c, int n, struct k8s_path_info *out)
{
	struct comp uid;
	int i = 0;

	out->driver = PB_DRIVER_CGROUPFS;
	if (i >= n)
		return PB_KIND_UNKNOWN;
	out->qos = PB_QOS_GUARANTEED;
	if (comp_eq(&c[i], "burstable")) {
		out->qos = PB_QOS_BURSTABLE;
		i++;
	} else if (comp_eq(&c[i], "besteffort")) {
		out->qos = PB_QOS_BESTEFFORT;
		i++;
	}
	if (i >= n)
		return PB_KIND_UNKNOWN;
	if (!comp_strip(&c[i], "pod", "", &uid) ||
	    !k8s_pod_uid_normalize(uid.s, uid.len, false, out->pod_uid)) {
		out->qos = PB_QOS_NONE;
		return PB_KIND_UNKNOWN;
	}
	if (++i >= n)
		return PB_KIND_K8S_POD;
	if (!parse_k8s_container(&c[i], false, out))
		return PB_KIND_K8S_POD;
	return out->monitor ? PB_KIND_K8S_POD : PB_KIND_K8S_CONTAINER;
}

/* Is C a kubepods root? Returns the driver, or PB_DRIVER_NONE. */
static enum pb_driver kubepods_root(const struct comp *c)
{
	struct comp stem;

	if (comp_eq(c, "kubepods"))
		return PB_DRIVER_CGROUPFS;
	if (comp_strip(c, "", ".slice", &stem) &&
	    (comp_eq(&stem, "kubepods") ||
	     (stem.len > strlen("-kubepods") &&
	      memcmp(stem.s + stem.len - strlen("-kubepods"), "-kubepods", strlen("-kubepods")) == 0)))
		return PB_DRIVER_SYSTEMD;
	return PB_DRIVER_NONE;
}

/* A plain (non-Kubernetes) container at C[i]; fills runtime and id. */
static bool plain_container(const struct comp *c, int i, struct k8s_path_info *out)
{
	static const struct {
		const char *prefix, *suffix;
		enum pb_runtime rt;
	} forms[] = {
		{ "docker-", ".scope", PB_RT_DOCKER },
		{ "libpod-", ".scope", PB_RT_PODMAN },
		{ "libpod-", "", PB_RT_PODMAN },
		{ "cri-containerd-", ".scope", PB_RT_CONTAINERD },
		{ "crio-", ".scope", PB_RT_CRIO },
	};
	struct comp id;

	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		if (comp_strip(&c[i], forms[f].prefix, forms[f].suffix, &id) &&
		    k8s_is_container_id(id.s, id.len)) {
			out->runtime = forms[f].rt;
			set_cid(out, &id);
			return true;
		}
	}
	/* A bare id: docker's cgroupfs driver (/docker/<id>), CI runners
	 * (/actions_job/<id>), other runtimes' namespaces at the top (/default/<id>).
	 * Anywhere else it is a name somebody chose, not a container. */
	if (i > 0 && k8s_is_container_id(c[i].s, c[i].len)) {
		if (comp_eq(&c[i - 1], "docker") || comp_eq(&c[i - 1], "actions_job"))
			out->runtime = PB_RT_DOCKER;
		else if (i == 1 && !comp_has_suffix(&c[0], ".service") &&
			 !comp_has_suffix(&c[0], ".scope") && !comp_has_suffix(&c[0], ".slice"))
			out->runtime = PB_RT_UNKNOWN;
		else
			return false;
		set_cid(out, &c[i]);
		return true;
	}
	return false;
}

/* May a kubepods root follow C[0..i-1]? Only below slices, scopes (where
 * runtimes and systemd-nspawn put containers: kind/minikube nodes), containers
 * and the parents of containers. A root under a service (Delegate=yes hands its
 * subtree to the service) or under an arbitrary directory is something a
 * delegated subtree made, not the kubelet. */
static bool trusted_prefix(const struct comp *c, int i)
{
	struct k8s_path_info scratch;

	for (int k = 0; k < i; k++) {
		if (comp_has_suffix(&c[k], ".slice") || comp_has_suffix(&c[k], ".scope") ||
		    comp_eq(&c[k], "kubelet") ||
		    comp_eq(&c[k], "docker") || comp_eq(&c[k], "actions_job") ||
		    comp_eq(&c[k], "libpod_parent"))
			continue;
		memset(&scratch, 0, sizeof(scratch));
		if (plain_container(c, k, &scratch))
			continue;
		return false;
	}
	return true;
}

static long parse_user_slice(const struct comp *c)
{
	struct comp num;
	long v = 0;

	if (!comp_strip(c, "user-", ".slice", &num) || num.len == 0 || num.len > 10)
		return -1;
	for (size_t i = 0; i < num.len; i++) {
		if (num.s[i] < '0' || num.s[i] > '9')
			return -1;
		v = v * 10 + (num.s[i] - '0');
	}
	return v;
}

enum pb_kind k8s_path_parse(const char *path, struct k8s_path_info *out)
{
	struct comp c[MAX_COMPS];
	struct comp unit_slice = { 0 }, unit = { 0 };
	bool have_container = false;
	size_t len;
	int n = 0;

	memset(out, 0, sizeof(*out));
	out->user_uid = -1;
	if (!path)
		return out->kind = PB_KIND_UNKNOWN;
	len = strnlen(path, MAX_PATH_LEN + 1);
	if (len > MAX_PATH_LEN)
		return out->kind = PB_KIND_UNKNOWN;

	for (size_t i = 0; i < len && n < MAX_COMPS;) {
		size_t j = i;

		while (j < len && path[j] != '/')
			j++;
		if (j > i && !(j - i == 1 && path[i] == '.') &&
		    !(j - i == 2 && path[i] == '.' && path[i + 1] == '.')) {
			c[n].s = path + i;
			c[n].len = j - i;
			n++;
		}
		i = j + 1;
	}
	if (n == 0)
		return out->kind = len > 0 && path[0] == '/' ? PB_KIND_ROOT : PB_KIND_UNKNOWN;

	for (int i = 0; i < n; i++) {
		enum pb_driver drv = kubepods_root(&c[i]);

		if (drv != PB_DRIVER_NONE && trusted_prefix(c, i)) {
			struct k8s_path_info k;
			enum pb_kind kind;

			memset(&k, 0, sizeof(k));
			k.user_uid = -1;
			kind = drv == PB_DRIVER_SYSTEMD ?
				       parse_k8s_systemd(c + i + 1, n - i - 1, &c[i], &k) :
				       parse_k8s_cgroupfs(c + i + 1, n - i - 1, &k);
			if (kind == PB_KIND_UNKNOWN) {
				/* a kubepods root with no valid pod below: no guess */
				memset(&k, 0, sizeof(k));
				k.user_uid = -1;
				k.driver = drv;
			}
			*out = k;
			return out->kind = kind;
		}
		/* the outermost container wins; below it a kubepods root is still
		 * looked for (kind, minikube), see trusted_prefix() */
		if (!have_container && plain_container(c, i, out)) {
			have_container = true;
			continue;
		}
		if (comp_has_suffix(&c[i], ".service") || comp_has_suffix(&c[i], ".scope")) {
			unit = c[i];
		} else if (comp_has_suffix(&c[i], ".slice")) {
			long uid = parse_user_slice(&c[i]);

			if (uid >= 0)
				out->user_uid = uid;
			unit_slice = c[i];
		}
	}
	if (unit.s)
		set_unit(out, &unit);
	else if (unit_slice.s && !have_container)
		set_unit(out, &unit_slice);
	if (have_container)
		return out->kind = PB_KIND_CONTAINER;
	if (unit.s || unit_slice.s)
		return out->kind = PB_KIND_UNIT;
	return out->kind = PB_KIND_UNKNOWN;
}

const char *pb_kind_name(enum pb_kind k)
{
	switch (k) {
	case PB_KIND_ROOT:
		return "root";
	case PB_KIND_K8S_CONTAINER:
		return "k8s-container";
	case PB_KIND_K8S_POD:
		return "k8s-pod";
	case PB_KIND_CONTAINER:
		return "container";
	case PB_KIND_UNIT:
		return "unit";
	case PB_KIND_HOST:
		return "host";
	case PB_KIND_UNKNOWN:
	default:
		return "unknown";
	}
}

const char *pb_qos_name(enum pb_qos q)
{
	switch (q) {
	case PB_QOS_GUARANTEED:
		return "guaranteed";
	case PB_QOS_BURSTABLE:
		return "burstable";
	case PB_QOS_BESTEFFORT:
		return "besteffort";
	case PB_QOS_NONE:
	default:
		return "";
	}
}

const char *pb_runtime_name(enum pb_runtime r)
{
	switch (r) {
	case PB_RT_CONTAINERD:
		return "containerd";
	case PB_RT_CRIO:
		return "cri-o";
	case PB_RT_DOCKER:
		return "docker";
	case PB_RT_PODMAN:
		return "podman";
	case PB_RT_UNKNOWN:
	default:
		return "";
	}
}
