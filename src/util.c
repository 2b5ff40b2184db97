// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "util.h"

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char num[32];
	size_t n = s ? strlen(s) : 0;
	uint64_t v, mul = 1;
	int err;

	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	switch (tolower((unsigned char)num[n - 1])) {
	case 'k': mul = 1ULL << 10; break;
	case 'm': mul = 1ULL << 20; break;
	case 'g': mul = 1ULL << 30; break;
	}
	if (mul > 1)
		num[n - 1] = '\0';
	err = parse_u64(num, 0, UINT64_MAX / mul, &v);
	if (err)
		return err;
	v *= mul;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool addr_is_v4(int family, const uint8_t *addr)
{
	return family == AF_INET || (family == AF_INET6 && !memcmp(addr, v4mapped, 12));
}

const char *addr_fmt(int family, const uint8_t *addr, char *buf, size_t len)
{
	if (family == AF_INET)
		return inet_ntop(AF_INET, addr, buf, len) ? buf : "?";
	if (family == AF_INET6 && !memcmp(addr, v4mapped, 12))
		return inet_ntop(AF_INET, addr + 12, buf, len) ? buf : "?";
	if (family == AF_INET6)
		return inet_ntop(AF_INET6, addr, buf, len) ? buf : "?";
	return "?";
}

const char *errno_name(int err, char *buf, size_t len)
{
	const char *n = err > 0 ? strerrorname_np(err) : NULL;

	if (n)
		return n;
	snprintf(buf, len, "E%d", err);
	return buf;
}

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t mono_to_wall_ns(uint64_t mono)
{
	static int64_t offset;
	struct timespec rt;

	if (!offset) {
		clock_gettime(CLOCK_REALTIME, &rt);
		offset = (int64_t)((uint64_t)rt.tv_sec * 1000000000ULL + rt.tv_nsec) -
			 (int64_t)mono_ns();
	}
	return mono + offset;
}
