/* SPDX-License-Identifier: GPL-2.0-only */
/* Small shared helpers: number parsing (one place, with end and range checks),
 * address formatting, errno names, clocks. */
#ifndef PB_UTIL_H
#define PB_UTIL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse a decimal integer in [min, max]. 0 or -EINVAL / -ERANGE. Rejects empty
 * strings, signs where min >= 0, trailing garbage and overflow. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Parse a size with an optional k/m/g suffix (powers of 1024). */
int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#define ADDR_STRLEN 46
/* Format a 16-byte address of FAMILY; v4-mapped IPv6 is shown as IPv4. */
const char *addr_fmt(int family, const uint8_t *addr, char *buf, size_t len);
/* True when the address is IPv4 or IPv4-mapped. */
bool addr_is_v4(int family, const uint8_t *addr);

/* "EADDRNOTAVAIL" for 99; "E<n>" for unknown values. Static or BUF storage. */
const char *errno_name(int err, char *buf, size_t len);

uint64_t mono_ns(void);
/* CLOCK_MONOTONIC ns (bpf_ktime_get_ns) -> wall clock ns since the epoch. */
uint64_t mono_to_wall_ns(uint64_t mono);

#endif
