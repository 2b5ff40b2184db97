// SPDX-License-Identifier: GPL-2.0-only
/* Escaping of untrusted names for JSON, Prometheus and the terminal. One strict
 * UTF-8 decoder, one writer that never cuts an escape in half. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "escape.h"

#define REPLACEMENT "\xef\xbf\xbd"	/* U+FFFD in UTF-8 */

/* Decode one character at S (LEN > 0 bytes left). Returns its length (1-4) and
 * sets *CP, or returns 1 with *CP = -1 for a byte that starts no valid
 * character (bad lead, bad continuation, overlong, surrogate, > U+10FFFF,
 * truncated). */
static size_t utf8_next(const unsigned char *s, size_t len, int32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	int32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		*cp = -1;
		return 1;
	}
	if (len < n) {
		*cp = -1;
		return 1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*cp = -1;
		return 1;
	}
	*cp = v;
	return n;
}

static bool is_bidi_control(int32_t cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

struct out {
	char *dst;
	size_t cap;	/* bytes usable for text (DSTLEN - 1) */
	size_t len;
	bool full;
};

/* Append N bytes as one unit, or nothing (and stop everything) if they don't fit. */
static void put(struct out *o, const void *p, size_t n)
{
	if (o->full || o->len + n > o->cap) {
		o->full = true;
		return;
	}
	memcpy(o->dst + o->len, p, n);
	o->len += n;
}

static void putf(struct out *o, const char *fmt, unsigned int v)
{
	char tmp[16];
	int n = snprintf(tmp, sizeof(tmp), fmt, v);

	put(o, tmp, (size_t)n);
}

static void one_json(struct out *o, const unsigned char *s, size_t n, int32_t cp)
{
	switch (cp) {
	case -1:
		put(o, "\\ufffd", 6);
		return;
	case '"':
		put(o, "\\\"", 2);
		return;
	case '\\':
		put(o, "\\\\", 2);
		return;
	case '\b':
		put(o, "\\b", 2);
		return;
	case '\f':
		put(o, "\\f", 2);
		return;
	case '\n':
		put(o, "\\n", 2);
		return;
	case '\r':
		put(o, "\\r", 2);
		return;
	case '\t':
		put(o, "\\t", 2);
		return;
	}
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
		putf(o, "\\u%04x", (unsigned int)cp);
	else
		put(o, s, n);
}

static void one_prom(struct out *o, const unsigned char *s, size_t n, int32_t cp)
{
	if (cp == '\\')
		put(o, "\\\\", 2);
	else if (cp == '"')
		put(o, "\\\"", 2);
	else if (cp == '\n')
		put(o, "\\n", 2);
	else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) /* also cp == -1 */
		put(o, REPLACEMENT, 3);
	else
		put(o, s, n);
}

static void one_term(struct out *o, const unsigned char *s, size_t n, int32_t cp)
{
	if (cp == -1)
		putf(o, "\\x%02x", s[0]);
	else if (cp == '\\')
		put(o, "\\\\", 2);
	else if (cp < 0x20 || cp == 0x7f)
		putf(o, "\\x%02x", (unsigned int)cp);
	else if ((cp >= 0x80 && cp <= 0x9f) || is_bidi_control(cp))
		putf(o, "\\u%04x", (unsigned int)cp);
	else
		put(o, s, n);
}

static void one_utf8(struct out *o, const unsigned char *s, size_t n, int32_t cp)
{
	/* NUL too: the result is a C string */
	if (cp == -1 || cp == 0 || (cp >= 0x7f && cp <= 0x9f))
		put(o, REPLACEMENT, 3);
	else
		put(o, s, n);
}

size_t esc_mem(enum esc_mode mode, char *dst, size_t dstlen, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *)src;
	struct out o = { .dst = dst, .cap = dstlen ? dstlen - 1 : 0 };

	if (!dst || dstlen == 0)
		return 0;
	if (!src)
		srclen = 0;
	for (size_t i = 0; i < srclen && !o.full;) {
		int32_t cp;
		size_t n = utf8_next(s + i, srclen - i, &cp);

		switch (mode) {
		case ESC_JSON:
			one_json(&o, s + i, n, cp);
			break;
		case ESC_PROM:
			one_prom(&o, s + i, n, cp);
			break;
		case ESC_TERM:
			one_term(&o, s + i, n, cp);
			break;
		case ESC_UTF8:
		default:
			one_utf8(&o, s + i, n, cp);
			break;
		}
		i += n;
	}
	dst[o.len] = '\0';
	return o.len;
}

size_t esc_json(char *dst, size_t dstlen, const char *src)
{
	return esc_mem(ESC_JSON, dst, dstlen, src, src ? strlen(src) : 0);
}

size_t esc_prom(char *dst, size_t dstlen, const char *src)
{
	return esc_mem(ESC_PROM, dst, dstlen, src, src ? strlen(src) : 0);
}

size_t esc_term(char *dst, size_t dstlen, const char *src)
{
	return esc_mem(ESC_TERM, dst, dstlen, src, src ? strlen(src) : 0);
}

size_t esc_utf8(char *dst, size_t dstlen, const char *src)
{
	return esc_mem(ESC_UTF8, dst, dstlen, src, src ? strlen(src) : 0);
}

struct json_object *esc_json_string(const char *src, size_t maxlen)
{
	struct json_object *j;
	char *buf;
	size_t n;

	if (maxlen == 0)
		maxlen = 1024;
	buf = malloc(maxlen + 1);
	if (!buf)
		return NULL;
	n = esc_utf8(buf, maxlen + 1, src);
	j = json_object_new_string_len(buf, (int)n);
	free(buf);
	return j;
}
