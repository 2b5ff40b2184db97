// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the parsers behind the flags and the namespace files read at run
 * time: parse_u64 and parse_size (every number and size flag), cidr_parse and
 * cidr_contains (--cluster-cidr), pb_mode_parse (--mode), parse_port_range and
 * count_reserved_in (ip_local_port_range, ip_local_reserved_ports).
 *
 * Input: byte 0 picks the parser, byte 1 (and for the port parsers bytes 1-4)
 * its parameters, the rest is the text, copied to a buffer of exactly its
 * size plus the NUL so that ASan catches any read past it. Beyond "no crash,
 * no sanitizer report", each parser is held to a property:
 *  - numbers and sizes: the result equals a reference parse of the documented
 *    syntax (decimal digits only, optional k/m/g suffix, range inclusive);
 *  - CIDRs: family and prefix in range, the network contains its own address,
 *    printing and parsing again gives the same CIDR, cidr_contains agrees with
 *    a bit-by-bit reference;
 *  - modes: a parsed mode prints back as the text given;
 *  - port range: lo <= hi <= 65535, and the kernel's own format ("lo\thi\n")
 *    parses back exactly;
 *  - reserved ports: for a list in the kernel's format (ranges of a bitmap,
 *    "a-b,c\n"), the count is exactly the bitmap's ports inside [lo, hi], so
 *    the capacity derived from it can neither be short nor wrap. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "ledger.h"
#include "sockwalk.h"
#include "tracer.h"
#include "util.h"

#define CHECK(c)                                                                 \
	do {                                                                     \
		if (!(c)) {                                                      \
			fprintf(stderr, "property failed: %s (%s:%d)\n", #c, __FILE__, \
				__LINE__);                                       \
			abort();                                                 \
		}                                                                \
	} while (0)

/* The ranges the flags use (src/common.c, src/cmd_*.c, src/http.c, ledger). */
static const struct {
	uint64_t min, max;
} ranges[] = {
	{ 1, UINT32_MAX },		/* --pid */
	{ 1, 65535 },			/* --dport */
	{ 1, 365ULL * 86400 },		/* --duration */
	{ 1, 1ULL << 24 },		/* --max-socks */
	{ 1, 65535 * 256 },		/* --snat-budget */
	{ 1, 100 },			/* --warn, --crit */
	{ 1, 3600 },			/* --window, --reconcile */
	{ 0, 32 },			/* IPv4 prefix */
	{ 0, 128 },			/* IPv6 prefix */
	{ 0, 65535 },			/* --listen port */
	{ 4096, 1ULL << 30 },		/* --ring-size */
	{ 0, UINT64_MAX },
};
#define NRANGES (sizeof(ranges) / sizeof(ranges[0]))

/* Reference: decimal digits only, no overflow. 0 ok, -1 not a number. */
static int ref_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (!n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The parsers see the text up to its first NUL. */
static void fuzz_u64(const char *s, uint64_t min, uint64_t max)
{
	uint64_t v = 0, r;
	int err = parse_u64(s, min, max, &v);
	bool ok = !ref_u64(s, strlen(s), &r) && r >= min && r <= max;

	CHECK(!err == ok);
	if (!err)
		CHECK(v == r);
}

static void fuzz_size(const char *s, uint64_t min, uint64_t max)
{
	uint64_t v = 0, r = 0, mul = 1;
	int err = parse_size(s, min, max, &v);
	size_t n = strlen(s), digits = n;
	bool ok;

	if (n) {
		switch (s[n - 1]) {
		case 'k': case 'K': mul = 1ULL << 10; break;
		case 'm': case 'M': mul = 1ULL << 20; break;
		case 'g': case 'G': mul = 1ULL << 30; break;
		}
		if (mul > 1)
			digits--;
	}
	/* at most 31 characters (the parser's buffer) */
	ok = n < 32 && !ref_u64(s, digits, &r) && r <= UINT64_MAX / mul;
	if (ok) {
		r *= mul;
		ok = r >= min && r <= max;
	}
	CHECK(!err == ok);
	if (!err)
		CHECK(v == r);
}

static bool ref_contains(const struct cidr *c, const uint8_t *a)
{
	for (unsigned int i = 0; i < c->prefix; i++) {
		unsigned int byte = i / 8, bit = 7 - i % 8;

		if (((c->addr[byte] >> bit) & 1) != ((a[byte] >> bit) & 1))
			return false;
	}
	return true;
}

static void fuzz_cidr(const char *s, const uint8_t *probe, size_t probe_len)
{
	struct cidr c, again;
	char text[INET6_ADDRSTRLEN + 8], addr[INET6_ADDRSTRLEN];
	uint8_t a[16] = { 0 };

	if (cidr_parse(s, &c))
		return;
	CHECK(c.family == AF_INET || c.family == AF_INET6);
	CHECK(c.prefix <= (c.family == AF_INET ? 32 : 128));
	CHECK(cidr_contains(&c, c.family, c.addr));
	CHECK(!cidr_contains(&c, c.family == AF_INET ? AF_INET6 : AF_INET, c.addr));
	CHECK(inet_ntop(c.family, c.addr, addr, sizeof(addr)));
	snprintf(text, sizeof(text), "%s/%u", addr, c.prefix);
	CHECK(!cidr_parse(text, &again));
	CHECK(again.family == c.family && again.prefix == c.prefix &&
	      !memcmp(again.addr, c.addr, 16));
	/* an address made of the rest of the input */
	memcpy(a, probe, probe_len < 16 ? probe_len : 16);
	CHECK(cidr_contains(&c, c.family, a) == ref_contains(&c, a));
}

static void fuzz_mode(const char *s)
{
	enum pb_mode m;

	if (pb_mode_parse(s, &m))
		return;
	CHECK(!strcmp(pb_mode_name(m), s));
}

static void fuzz_port_range(const char *s, uint16_t a, uint16_t b)
{
	uint16_t lo = 0, hi = 0;
	char kernel[32];

	if (!parse_port_range(s, &lo, &hi))
		CHECK(lo <= hi);
	/* the kernel writes "%d\t%d\n" */
	if (a > b) {
		uint16_t t = a;

		a = b;
		b = t;
	}
	snprintf(kernel, sizeof(kernel), "%u\t%u\n", a, b);
	CHECK(!parse_port_range(kernel, &lo, &hi));
	CHECK(lo == a && hi == b);
}

/* The reserved ports as the kernel prints a bitmap (proc_do_large_bitmap):
 * ranges "a-b" or single ports "a", comma-separated, then a newline. Bits come
 * from the input: each byte pair is (gap, run length) from the last port. */
static void fuzz_reserved_canonical(const uint8_t *d, size_t n, uint16_t lo, uint16_t hi)
{
	static uint8_t bits[65536 / 8];
	static char list[65536 * 7 + 2];
	uint32_t port = 0, end, want = 0, got;
	size_t len = 0;

	memset(bits, 0, sizeof(bits));
	for (size_t i = 0; i + 1 < n && port < 65536; i += 2) {
		port += (uint32_t)d[i] * 37;	/* gaps up to ~9k ports */
		for (uint32_t k = 0; k <= d[i + 1] && port < 65536; k++, port++)
			bits[port / 8] |= 1 << (port % 8);
	}
	end = port < 65536 ? port : 65536;	/* no bit at or above it */
	for (uint32_t p = 0; p < end;) {
		uint32_t q;

		if (!(bits[p / 8] & (1 << (p % 8)))) {
			p++;
			continue;
		}
		for (q = p; q + 1 < 65536 && (bits[(q + 1) / 8] & (1 << ((q + 1) % 8))); q++)
			;
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%u", len ? "," : "", p);
		if (q > p)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "-%u", q);
		p = q + 1;
	}
	snprintf(list + len, sizeof(list) - len, "\n");
	if (lo > hi) {
		uint16_t t = lo;

		lo = hi;
		hi = t;
	}
	for (uint32_t p = lo; p <= hi && p < end; p++)
		want += !!(bits[p / 8] & (1 << (p % 8)));
	got = count_reserved_in(list, lo, hi);
	if (got != want) {
		fprintf(stderr, "reserved '%.200s' in [%u, %u]: counted %u, want %u\n", list, lo,
			hi, got, want);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t lo, hi;
	size_t off, n;
	char *s;

	if (size < 2)
		return 0;
	off = (data[0] % 7) >= 4 ? 5 : 2;
	if (size < off)
		return 0;
	lo = (uint16_t)(data[1] | data[2 % size] << 8);
	hi = (uint16_t)(data[3 % size] | data[4 % size] << 8);
	n = size - off;
	s = malloc(n + 1);
	if (!s)
		return 0;
	memcpy(s, data + off, n);
	s[n] = '\0';

	switch (data[0] % 7) {
	case 0:
		fuzz_u64(s, ranges[data[1] % NRANGES].min, ranges[data[1] % NRANGES].max);
		break;
	case 1:
		fuzz_size(s, ranges[data[1] % NRANGES].min, ranges[data[1] % NRANGES].max);
		break;
	case 2: {
		/* the text up to a NUL is the CIDR, the bytes after it the probe */
		size_t l = strlen(s);

		fuzz_cidr(s, (const uint8_t *)s + l + (l < n), n - l - (l < n));
		break;
	}
	case 3:
		fuzz_mode(s);
		break;
	case 4:
		fuzz_port_range(s, lo, hi);
		break;
	case 5:
		/* raw text: no crash, and never more than the range can hold per entry */
		if (lo <= hi)
			CHECK(count_reserved_in(s, lo, hi) <= (uint64_t)(hi - lo + 1) * (n + 1));
		else
			CHECK(count_reserved_in(s, lo, hi) == 0);
		break;
	case 6:
		fuzz_reserved_canonical(data + off, n, lo, hi);
		break;
	}
	free(s);
	return 0;
}
