/* SPDX-License-Identifier: GPL-2.0-only */
/* Names from the node (pods, containers, units, process names, cgroup paths)
 * are attacker-controlled. Every output passes them through one of these.
 *
 * All functions write a NUL-terminated result into DST (DSTLEN bytes, > 0),
 * cut only between whole characters or escapes (never half an escape or half a
 * UTF-8 sequence), and return strlen(DST). SRC NULL is the empty string.
 * Invalid UTF-8 (bad, overlong, surrogate, > U+10FFFF, truncated) is never
 * passed through. */
#ifndef PB_ESCAPE_H
#define PB_ESCAPE_H
#include <stdbool.h>
#include <stddef.h>

struct json_object;

enum esc_mode {
	/* body of a JSON string (no quotes): \" \\ \b \f \n \r \t, other C0, DEL,
	 * C1, U+2028/9 as \u00XX; invalid UTF-8 as \ufffd. Output is ASCII-safe
	 * for control characters and valid UTF-8. */
	ESC_JSON,
	/* Prometheus label value (no quotes): \\ \" \n as the exposition format
	 * says; other control characters (C0, DEL, C1) and invalid UTF-8 become
	 * U+FFFD, so a label can never move a terminal's cursor. */
	ESC_PROM,
	/* terminal: printable text as is; '\\' -> "\\\\"; C0, DEL and invalid bytes
	 * -> \xNN; C1 and bidi controls (U+061C, U+200E/F, U+202A-E, U+2066-9)
	 * -> \uXXXX. Nothing written can change the terminal's state. */
	ESC_TERM,
	/* valid UTF-8 for json-c (which escapes '"', '\\' and C0 itself): invalid
	 * UTF-8, NUL, DEL and C1 -> U+FFFD. */
	ESC_UTF8,
};

size_t esc_mem(enum esc_mode mode, char *dst, size_t dstlen, const char *src, size_t srclen);
size_t esc_json(char *dst, size_t dstlen, const char *src);
size_t esc_prom(char *dst, size_t dstlen, const char *src);
size_t esc_term(char *dst, size_t dstlen, const char *src);
size_t esc_utf8(char *dst, size_t dstlen, const char *src);

/* json-c string holding SRC made valid UTF-8 (ESC_UTF8), at most MAXLEN bytes
 * of output (0 = 1024). NULL only on allocation failure. */
struct json_object *esc_json_string(const char *src, size_t maxlen);

#endif
