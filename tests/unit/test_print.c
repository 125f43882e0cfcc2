/* lib/print.c: one sequence of calls gives the exact text and the exact
 * JSON; nesting and commas; JSON string escaping (quotes, backslashes,
 * control characters, UTF-8 passed and invalid UTF-8 replaced) and the
 * text's \xNN; nulls; floats to 15 digits; formats of the
 * wrong type and unbalanced nesting refused. The JSON is also read back
 * by Python's json module when python3 is there. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "print.h"
#include "unit.h"

struct cap {
	char *buf;
	size_t len;
	FILE *f;
	struct printer p;
};

static struct printer *cap_begin(struct cap *c, bool json)
{
	c->buf = NULL;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
	print_init(&c->p, c->f, json);
	return &c->p;
}

/* The output so far; freed by the next cap_begin's caller with free(). */
static char *cap_end(struct cap *c)
{
	fclose(c->f);
	return c->buf;
}

/* A status shaped like glmctl's: every kind of value, an object in an
 * array in an object, flags, a member present in one form only. */
static void status(struct printer *p)
{
	struct in6_addr g = ip6("ff3e::1234");

	print_open_object(p, NULL);
	print_str(p, "role", NULL, "agent");
	print_open_array(p, "vms");
	for (unsigned i = 0; i < 2; i++) {
		print_open_object(p, NULL);
		print_str(p, "name", "vm %s:", i ? "b" : "a");
		print_uint(p, "port", " port %u", 7 + i);
		print_addr(p, "home", ", home %s", i ? &g : NULL);
		print_open_array(p, "groups");
		print_addr(p, "group", " group %s", &g);
		print_addr(p, "group", " group %s", &g);
		print_close_array(p);
		print_bool(p, "pinned", ", pinned", i);
		print_float(p, "rtt_ms", " (%.2f ms)", 0.125 + i);
		print_text(p, "\n");
		print_close_object(p);
	}
	print_close_array(p);
	print_u64(p, "rx", "rx=%llu\n", UINT64_MAX);
	print_null(p, "relay");
	print_open_object(p, "drops");
	print_close_object(p);
	print_close_object(p);
}

static void test_text_and_json(void **state)
{
	struct cap c;
	char *out;

	(void)state;
	status(cap_begin(&c, false));
	assert_true(print_ok(&c.p));
	out = cap_end(&c);
	assert_string_equal(out, "vm a: port 7 group ff3e::1234 group ff3e::1234 (0.12 ms)\n"
				 "vm b: port 8, home ff3e::1234 group ff3e::1234 group ff3e::1234, pinned (1.12 ms)\n"
				 "rx=18446744073709551615\n");
	free(out);

	status(cap_begin(&c, true));
	assert_true(print_ok(&c.p));
	out = cap_end(&c);
	assert_string_equal(out, "{\"role\":\"agent\",\"vms\":["
				 "{\"name\":\"a\",\"port\":7,\"home\":null,\"groups\":[\"ff3e::1234\",\"ff3e::1234\"],"
				 "\"pinned\":false,\"rtt_ms\":0.125},"
				 "{\"name\":\"b\",\"port\":8,\"home\":\"ff3e::1234\",\"groups\":[\"ff3e::1234\",\"ff3e::1234\"],"
				 "\"pinned\":true,\"rtt_ms\":1.125}],"
				 "\"rx\":18446744073709551615,\"relay\":null,\"drops\":{}}\n");
	free(out);
}

/* Empty containers, a top-level array, two documents in a row. */
static void test_nesting(void **state)
{
	struct cap c;
	char *out;
	struct printer *p = cap_begin(&c, true);

	(void)state;
	print_open_array(p, NULL);
	print_open_array(p, NULL);
	print_close_array(p);
	print_open_object(p, NULL);
	print_open_array(p, "a");
	print_open_object(p, NULL);
	print_close_object(p);
	print_close_array(p);
	print_close_object(p);
	print_uint(p, "n", NULL, 1);
	print_close_array(p);
	print_open_object(p, NULL);
	print_close_object(p);
	assert_true(print_ok(p));
	out = cap_end(&c);
	assert_string_equal(out, "[[],{\"a\":[{}]},1]\n{}\n");
	free(out);
}

static void test_escaping(void **state)
{
	/* quote, backslash, control characters, DEL, é, €, U+1F600, then
	 * invalid UTF-8: a lone continuation byte, an overlong '/', a
	 * surrogate, a sequence cut by the end of the string */
	static const char s[] = "a\"b\\c\x01\n\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82";
	struct cap c;
	char *out;

	(void)state;
	print_str(cap_begin(&c, true), "k\"ey", NULL, s);
	out = cap_end(&c);
	assert_string_equal(out, "\"a\\\"b\\\\c\\u0001\\u000a\\u007f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
				 "|\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd\"");
	free(out);

	/* the key too, inside an object */
	print_open_object(cap_begin(&c, true), NULL);
	print_str(&c.p, "k\"ey", NULL, "v");
	print_close_object(&c.p);
	out = cap_end(&c);
	assert_string_equal(out, "{\"k\\\"ey\":\"v\"}\n");
	free(out);

	/* text: control characters as \xNN, the rest as it is */
	print_str(cap_begin(&c, false), "k", "[%s]", s);
	out = cap_end(&c);
	assert_string_equal(out, "[a\"b\\c\\x01\\x0a\\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82]");
	free(out);
}

static void test_floats(void **state)
{
	static const struct {
		double v;
		const char *json;
	} t[] = {
		{ 0, "0" },	       { -1, "-1" },	      { 0.1, "0.1" },	       { 1.5e-7, "1.5e-07" },
		{ 1234.5678, "1234.5678" }, { 1e21, "1e+21" }, { 1.0 / 3, "0.333333333333333" },
		{ NAN, "null" },       { INFINITY, "null" },
	};
	struct cap c;
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		print_float(cap_begin(&c, true), "x", "%.1f", t[i].v);
		out = cap_end(&c);
		assert_string_equal(out, t[i].json);
		free(out);
	}
	/* a time computed from nanoseconds reads as the decimal it is, without
	 * the arithmetic's noise in the last bit */
	print_float(cap_begin(&c, true), "x", NULL, 26845980403ull / 1e6 / 1000);
	out = cap_end(&c);
	assert_string_equal(out, "26.845980403");
	free(out);
}

/* Members with no key are text only, with no format JSON only. */
static void test_one_form_only(void **state)
{
	struct cap c;
	char *out;

	(void)state;
	for (int json = 0; json < 2; json++) {
		print_open_object(cap_begin(&c, json), NULL);
		print_uint(&c.p, NULL, "count %u\n", 3);
		print_uint(&c.p, "n", NULL, 4);
		print_str(&c.p, "s", NULL, NULL);
		print_str(&c.p, "t", "t %s\n", NULL);
		print_bool(&c.p, "b", NULL, true);
		print_text(&c.p, "end %d\n", 5);
		print_close_object(&c.p);
		out = cap_end(&c);
		assert_string_equal(out, json ? "{\"n\":4,\"s\":null,\"t\":null,\"b\":true}\n" : "count 3\nend 5\n");
		free(out);
	}
}

static void test_bad_formats(void **state)
{
	static const struct {
		int type; /* 0 str, 1 uint, 2 u64, 3 float */
		const char *fmt;
		bool ok;
	} t[] = {
		{ 0, "%s", true },	     { 0, "[%-8.3s] 100%%", true }, { 0, "no value", true },
		{ 0, "%d", false },	     { 0, "%s %s", false },	    { 0, "%*s", false },
		{ 0, "%1$s", false },	     { 0, "%", false },	    { 0, "%ls", false },
		{ 1, "%u", true },	     { 1, "%08x", true },	    { 1, "%llu", false },
		{ 1, "%d", false },	     { 2, "%llu", true },	    { 2, "%lu", false },
		{ 2, "%u", false },	     { 3, "%.3f", true },	    { 3, "%lf", true },
		{ 3, "%g", true },	     { 3, "%Lf", false },	    { 3, "%d", false },
	};
	struct cap c;
	char *out;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cap_begin(&c, false);
		switch (t[i].type) {
		case 0: print_str(&c.p, "k", t[i].fmt, "v"); break;
		case 1: print_uint(&c.p, "k", t[i].fmt, 1); break;
		case 2: print_u64(&c.p, "k", t[i].fmt, 1); break;
		default: print_float(&c.p, "k", t[i].fmt, 1); break;
		}
		out = cap_end(&c);
		if (print_ok(&c.p) != t[i].ok)
			fail_msg("%s: %s", t[i].fmt, out);
		if (!t[i].ok)
			assert_non_null(strstr(out, "<bad format"));
		free(out);
	}
	/* JSON does not use the format */
	print_uint(cap_begin(&c, true), "k", "%s", 1);
	assert_true(print_ok(&c.p));
	free(cap_end(&c));
}

static void test_bad_nesting(void **state)
{
	struct cap c;

	(void)state;
	print_close_object(cap_begin(&c, true));
	assert_false(print_ok(&c.p));
	free(cap_end(&c));

	print_open_array(cap_begin(&c, true), NULL);
	print_close_object(&c.p);
	assert_false(print_ok(&c.p));
	free(cap_end(&c));

	/* a member of an object needs a key */
	print_open_object(cap_begin(&c, true), NULL);
	print_open_object(&c.p, NULL);
	assert_false(print_ok(&c.p));
	free(cap_end(&c));

	cap_begin(&c, true);
	for (int i = 0; i <= PRINT_MAX_DEPTH; i++)
		print_open_array(&c.p, NULL);
	assert_false(print_ok(&c.p));
	free(cap_end(&c));

	/* text has no nesting to get wrong */
	print_close_array(cap_begin(&c, false));
	assert_true(print_ok(&c.p));
	free(cap_end(&c));
}

/* What a JSON parser reads back is what was printed. */
static void test_python_reads_it(void **state)
{
	char path[] = "/tmp/glm-unit-print-XXXXXX", res[512];
	struct printer p;
	FILE *f;
	int fd;

	(void)state;
	if (run(NULL, 0, "command -v python3 >/dev/null"))
		skip();
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	print_init(&p, f, true);
	status(&p);
	print_open_object(&p, NULL);
	print_str(&p, "s", NULL, "a\"b\\c\x01\n\x7f\xc3\xa9\xf0\x9f\x98\x80\x80");
	print_float(&p, "f", NULL, 1.0 / 3);
	print_close_object(&p);
	fclose(f);
	if (run(res, sizeof(res),
			     "python3 -c 'import json,sys\n"
			     "t=open(sys.argv[1]).read().splitlines()\n"
			     "d=json.loads(t[0])\n"
			     "assert d[\"vms\"][1][\"home\"]==\"ff3e::1234\" and d[\"vms\"][0][\"home\"] is None, d\n"
			     "assert d[\"rx\"]==2**64-1 and d[\"vms\"][1][\"pinned\"] is True, d\n"
			     "e=json.loads(t[1])\n"
			     "assert e[\"s\"]==\"a\\\"b\\\\c\\x01\\n\\x7f\\u00e9\\U0001f600\\ufffd\", e\n"
			     "assert abs(e[\"f\"]-1/3)<1e-15, e' %s",
			     path))
		fail_msg("%s", res);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_and_json), cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_escaping),      cmocka_unit_test(test_floats),
		cmocka_unit_test(test_one_form_only), cmocka_unit_test(test_bad_formats),
		cmocka_unit_test(test_bad_nesting),   cmocka_unit_test(test_python_reads_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
