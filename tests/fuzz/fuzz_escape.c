// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer: the escapers. First byte = mode and output size; the rest is the
 * name. Output fits, is valid UTF-8, and carries no control character (none at
 * all for JSON, Prometheus and terminal output). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"

static int valid_utf8_no_ctl(const unsigned char *p, size_t n, int allow_ctl)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t l = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
			   c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		uint32_t cp;

		if (!l || i + l > n)
			return 0;
		cp = l == 1 ? c : l == 2 ? c & 0x1f : l == 3 ? c & 0x0f : c & 0x07;
		for (size_t k = 1; k < l; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		if (!allow_ctl && (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)))
			return 0;
		i += l;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum esc_mode modes[] = { ESC_JSON, ESC_PROM, ESC_TERM, ESC_UTF8 };
	enum esc_mode mode;
	size_t cap, n;
	char *out, *src;

	if (size < 1)
		return 0;
	mode = modes[data[0] & 3];
	cap = 1 + (data[0] >> 2) * 8;
	out = malloc(cap);
	src = malloc(size - 1 ? size - 1 : 1);
	if (!out || !src)
		goto out;
	memcpy(src, data + 1, size - 1);
	n = esc_mem(mode, out, cap, src, size - 1);
	if (n >= cap || out[n] != '\0' || strlen(out) != n)
		abort();
	/* ESC_UTF8 keeps C0 (json-c escapes those), but never DEL or C1 */
	if (!valid_utf8_no_ctl((const unsigned char *)out, n, mode == ESC_UTF8))
		abort();
	if (mode == ESC_UTF8)
		for (size_t i = 0; i + 1 < n; i++)
			if ((unsigned char)out[i] == 0xc2 && (unsigned char)out[i + 1] <= 0x9f)
				abort();
out:
	free(out);
	free(src);
	return 0;
}
