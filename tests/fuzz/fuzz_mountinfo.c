// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the mountinfo line matcher and the /proc/<pid>/cgroup parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), mnt[64], path[64];
	int r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	r = mountinfo_match(s, "cgroup2", NULL, mnt, sizeof(mnt));
	if (r > 0 && strlen(mnt) >= sizeof(mnt))
		abort();
	r = mountinfo_match(s, "cgroup", "memory", mnt, sizeof(mnt));
	if (r > 0 && strlen(mnt) >= sizeof(mnt))
		abort();
	r = proc_cgroup_v2_path(s, path, sizeof(path));
	if (r == 0 && strlen(path) >= sizeof(path))
		abort();
	free(s);
	return 0;
}
