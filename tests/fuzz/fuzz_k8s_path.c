// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: cgroup path parser. Whatever the path, the result is one of the
 * layouts with validated fields, or unknown; never a crash or an overread. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "k8s_path.h"

static int hex64(const char *s)
{
	return strlen(s) == 64 && k8s_is_container_id(s, 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_path_info pi;
	char *path = malloc(size + 1);
	char out[512];
	enum pb_kind kind;

	if (!path)
		return 0;
	memcpy(path, data, size);
	path[size] = '\0';
	kind = k8s_path_parse(path, &pi);
	if (kind != pi.kind)
		abort();
	switch (kind) {
	case PB_KIND_K8S_CONTAINER:
		if (!hex64(pi.container_id) || pi.monitor)
			abort();
		/* fall through */
	case PB_KIND_K8S_POD:
		if (!k8s_pod_uid_normalize(pi.pod_uid, strlen(pi.pod_uid), 0, NULL))
			abort();
		if (pi.qos == PB_QOS_NONE || pi.driver == PB_DRIVER_NONE)
			abort();
		if (pi.container_id[0] && !hex64(pi.container_id))
			abort();
		break;
	case PB_KIND_CONTAINER:
		if (!hex64(pi.container_id) || pi.pod_uid[0])
			abort();
		break;
	default:
		if (pi.pod_uid[0] || pi.container_id[0])
			abort();
		break;
	}
	if (strlen(pi.unit) >= PB_UNIT_LEN)
		abort();
	/* the names go to outputs through the escapers */
	esc_term(out, sizeof(out), pi.unit);
	esc_json(out, sizeof(out), path);
	free(path);
	return 0;
}
