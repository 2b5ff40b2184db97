// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the kubelet log-name parsers (container log file name, pod log
 * directory name, symlink target). What they accept must be valid names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kubelog.h"

static void check_names(const char *ns, const char *pod, const char *ctr)
{
	if (!k8s_is_dns_label(ns, strlen(ns)) || !k8s_is_dns_subdomain(pod, strlen(pod)))
		abort();
	if (ctr && strcmp(ctr, "POD") != 0 && !k8s_is_dns_label(ctr, strlen(ctr)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly SIZE bytes: any read past it is caught by ASan */
	char *s = malloc(size ? size : 1);
	struct kubelog_container c;
	struct kubelog_pod p;

	if (!s)
		return 0;
	memcpy(s, data, size);
	if (kubelog_parse_container_log(s, size, &c)) {
		check_names(c.namespace, c.pod, c.container);
		if (!k8s_is_container_id(c.container_id, strlen(c.container_id)))
			abort();
	}
	if (kubelog_parse_pod_dir(s, size, &p)) {
		check_names(p.namespace, p.pod, NULL);
		if (!k8s_pod_uid_normalize(p.pod_uid, strlen(p.pod_uid), 0, NULL))
			abort();
	}
	memset(&c, 0, sizeof(c));
	if (kubelog_parse_log_target(s, size, &c)) {
		check_names(c.namespace, c.pod, c.container);
		if (c.restart < 0)
			abort();
	}
	free(s);
	return 0;
}
