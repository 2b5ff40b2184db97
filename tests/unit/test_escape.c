// SPDX-License-Identifier: GPL-2.0-only
/* Escaping of hostile names for JSON, Prometheus labels and the terminal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "escape.h"

/* Hostile names that must survive every output. */
static const char *const hostile[] = {
	"plain-name",
	"quo\"te",
	"back\\slash",
	"new\nline",
	"tab\tand\rcr",
	"\x1b[31mred\x1b[0m",
	"\x1b]0;title\x07",
	"del\x7f",
	"c1-csi\xc2\x9b" "2J",
	"bad-utf8\xff\xfe",
	"overlong\xc0\xaf",
	"surrogate\xed\xa0\x80",
	"too-big\xf4\x90\x80\x80",
	"truncated\xe2\x82",
	"bidi\xe2\x80\xae" "evil",
	"ok-utf8-\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	"line\xe2\x80\xa8sep",
	"",
};

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
			(*p & 0xf8) == 0xf0 ? 4 : 0;

		if (!n || (n == 2 && *p < 0xc2) || (n == 4 && *p > 0xf4))
			return false;
		for (int i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		if (n == 3 && *p == 0xed && p[1] >= 0xa0)
			return false;
		if (n == 3 && *p == 0xe0 && p[1] < 0xa0)
			return false;
		if (n == 4 && *p == 0xf0 && p[1] < 0x90)
			return false;
		if (n == 4 && *p == 0xf4 && p[1] >= 0x90)
			return false;
		p += n;
	}
	return true;
}

static void test_json_exact(void **state)
{
	char out[256];

	(void)state;
	esc_json(out, sizeof(out), "a\"b\\c\nd\te\x01" "f\x7f");
	assert_string_equal(out, "a\\\"b\\\\c\\nd\\te\\u0001f\\u007f");
	esc_json(out, sizeof(out), "x\xc2\x9by\xffz\xe2\x80\xa8");
	assert_string_equal(out, "x\\u009by\\ufffdz\\u2028");
	esc_json(out, sizeof(out), "caf\xc3\xa9");
	assert_string_equal(out, "caf\xc3\xa9");
	esc_json(out, sizeof(out), NULL);
	assert_string_equal(out, "");
}

/* Every hostile name, escaped and quoted, parses back as JSON to a string with
 * no raw control characters. */
static void test_json_roundtrip(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		char body[512], doc[600];
		struct json_object *j;
		const char *back;

		esc_json(body, sizeof(body), hostile[i]);
		assert_true(valid_utf8(body));
		snprintf(doc, sizeof(doc), "{\"pod\":\"%s\"}", body);
		j = json_tokener_parse(doc);
		assert_non_null(j);
		back = json_object_get_string(json_object_object_get(j, "pod"));
		assert_true(valid_utf8(back));
		for (const char *p = body; *p; p++)
			assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
		/* names that were valid UTF-8 come back unchanged */
		if (valid_utf8(hostile[i]))
			assert_string_equal(back, hostile[i]);
		json_object_put(j);
	}
}

static void test_json_c_helper(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct json_object *s = esc_json_string(hostile[i], 0), *o, *back;
		const char *txt;

		assert_non_null(s);
		o = json_object_new_object();
		json_object_object_add(o, "container", s);
		txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		assert_true(valid_utf8(txt));
		assert_null(strchr(txt, '\n'));
		assert_null(strchr(txt, '\x1b'));
		back = json_tokener_parse(txt);
		assert_non_null(back);
		json_object_put(back);
		json_object_put(o);
	}
}

static void test_prom(void **state)
{
	char out[256];

	(void)state;
	esc_prom(out, sizeof(out), "a\\b\"c\nd");
	assert_string_equal(out, "a\\\\b\\\"c\\nd");
	esc_prom(out, sizeof(out), "\x1b[31m\r\xff\xc2\x9b" "ok");
	assert_string_equal(out, "\xef\xbf\xbd[31m\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdok");
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		esc_prom(out, sizeof(out), hostile[i]);
		assert_true(valid_utf8(out));
		for (const char *p = out; *p; p++) {
			assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
			/* a quote is always escaped: the label value cannot end early */
			if (*p == '"') {
				size_t bs = 0;

				for (const char *q = p; q > out && q[-1] == '\\'; q--)
					bs++;
				assert_true(bs % 2 == 1);
			}
		}
	}
}

static void test_term(void **state)
{
	char out[256];

	(void)state;
	esc_term(out, sizeof(out), "\x1b[31mred\x1b[0m");
	assert_string_equal(out, "\\x1b[31mred\\x1b[0m");
	esc_term(out, sizeof(out), "a\\b\n\x7f\xff");
	assert_string_equal(out, "a\\\\b\\x0a\\x7f\\xff");
	esc_term(out, sizeof(out), "csi\xc2\x9b" "bidi\xe2\x80\xae" "ok\xc3\xa9");
	assert_string_equal(out, "csi\\u009bbidi\\u202eok\xc3\xa9");
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		esc_term(out, sizeof(out), hostile[i]);
		assert_true(valid_utf8(out));
		for (const unsigned char *p = (const unsigned char *)out; *p; p++)
			assert_true(*p >= 0x20 && *p != 0x7f);
		assert_null(strstr(out, "\xc2\x9b"));
		assert_null(strstr(out, "\xe2\x80\xae"));
	}
}

/* Length caps: never more than asked, never half an escape or character. */
static void test_caps(void **state)
{
	char name[254], out[64];

	(void)state;
	memset(name, 'p', 253);
	name[253] = '\0';
	assert_int_equal(esc_json(out, sizeof(out), name), 63);
	assert_int_equal(strlen(out), 63);
	/* "\u001b" is 6 bytes: with room for 5 it is left out whole */
	assert_int_equal(esc_json(out, 6, "\x1b"), 0);
	assert_int_equal(esc_json(out, 7, "\x1b"), 6);
	assert_int_equal(esc_term(out, 4, "\x1b"), 0);
	/* a 2-byte character does not fit in 1 byte of room */
	assert_int_equal(esc_utf8(out, 2, "\xc3\xa9"), 0);
	assert_int_equal(esc_prom(out, 3, "\\\\"), 2);
	assert_string_equal(out, "\\\\");
	for (size_t cap = 1; cap < 40; cap++) {
		for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
			size_t n = esc_term(out, cap, hostile[i]);

			assert_true(n < cap);
			assert_int_equal(strlen(out), n);
			assert_true(valid_utf8(out));
			n = esc_json(out, cap, hostile[i]);
			assert_true(n < cap);
			assert_true(valid_utf8(out));
		}
	}
	assert_int_equal(esc_json(NULL, 10, "x"), 0);
	assert_int_equal(esc_json(out, 0, "x"), 0);
}

/* Embedded NUL through the length-taking entry point. */
static void test_mem(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(esc_mem(ESC_JSON, out, sizeof(out), "a\0b", 3), 8);
	assert_string_equal(out, "a\\u0000b");
	esc_mem(ESC_TERM, out, sizeof(out), "a\0b", 3);
	assert_string_equal(out, "a\\x00b");
	/* found by fuzz_escape: a NUL must not cut the C string short */
	assert_int_equal(esc_mem(ESC_UTF8, out, sizeof(out), "a\0b", 3), 5);
	assert_string_equal(out, "a\xef\xbf\xbd" "b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_exact),  cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_json_c_helper), cmocka_unit_test(test_prom),
		cmocka_unit_test(test_term),        cmocka_unit_test(test_caps),
		cmocka_unit_test(test_mem),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
