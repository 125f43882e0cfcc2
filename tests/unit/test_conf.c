/* Unit tests of the shared value parsers (lib/conf.c): socket addresses,
 * in particular the bare "ADDR:PORT" that also reads as one address, and
 * the FILE:LINE messages a config file gets for them; what text a line
 * may hold. */
#include "conf.h"
#include "log.h"
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "unit.h"

static void test_sockaddr6(void **state)
{
	static const struct {
		const char *s, *addr;
		unsigned port;
	} good[] = {
		{ "[2001:db8:c::5]:5300", "2001:db8:c::5", 5300 },
		{ "[2001:db8:c::5]", "2001:db8:c::5", 7 },
		{ "2001:db8:c::5", "2001:db8:c::5", 7 },
		/* "2001:db8:c:" is no address: this can only be one */
		{ "2001:db8:c::5300", "2001:db8:c::5300", 7 },
		{ "::1", "::1", 7 },
		{ "::", "::", 7 },
		{ "[::]:1", "::", 1 },
		/* not decimal, or no port (0): an address */
		{ "2001:db8:c::5:abcd", "2001:db8:c::5:abcd", 7 },
		{ "2001:db8:c::5:0", "2001:db8:c::5:0", 7 },
		/* no "::": eight groups, nothing missing, nothing to confuse */
		{ "2001:db8:0:0:0:0:5:5300", "2001:db8::5:5300", 7 },
		/* the brackets say which is meant */
		{ "[2001:db8:c::5:5300]", "2001:db8:c::5:5300", 7 },
	};
	static const char *const bad[] = {
		"2001:db8:c::5:5300", "2001:db8::7:80", "::1:22", "[2001:db8::1]:0", "[2001:db8::1]:65536",
		"[2001:db8::1", "[2001:db8::1]x", "2001:db8:0:0:0:0:0:5:5300", "host:5300", "",
	};
	struct sockaddr_in6 sa;
	char text[INET6_ADDRSTRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse_sockaddr6(good[i].s, 7, &sa))
			fail_msg("'%s' refused", good[i].s);
		assert_non_null(inet_ntop(AF_INET6, &sa.sin6_addr, text, sizeof(text)));
		assert_string_equal(text, good[i].addr);
		if (ntohs(sa.sin6_port) != good[i].port)
			fail_msg("'%s': port %u, not %u", good[i].s, ntohs(sa.sin6_port), good[i].port);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_sockaddr6(bad[i], 7, &sa) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

/* What the operator reads for a setting. */
static void test_conf_messages(void **state)
{
	static const struct {
		const char *line, *msg;
	} cases[] = {
		{ "ims 2001:db8:c::5:5300",
		  "t: t.conf:3: 'ims 2001:db8:c::5:5300' is ambiguous: write [2001:db8:c::5]:5300 for port 5300, "
		  "or [2001:db8:c::5:5300] for the address\n" },
		{ "listen nonsense", "t: t.conf:3: bad listen address 'nonsense' (expected ADDR or [ADDR]:PORT)\n" },
		{ "relay", "t: t.conf:3: usage: relay ADDR | [ADDR]:PORT\n" },
		{ "ims [::1]:5300 extra", "t: t.conf:3: usage: ims ADDR | [ADDR]:PORT\n" },
	};
	struct conf_pos pos = { "t.conf", 3 };  /* logged as "t: t.conf:3: ..." */
	struct sockaddr_in6 sa;
	char line[128], log[512], *argv[GLM_CONF_MAXARGS];

	(void)state;
	log_init("t", true, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int argc;

		strcpy(line, cases[i].line);
		argc = conf_split(line, argv, GLM_CONF_MAXARGS);
		capture_begin();
		assert_int_equal(conf_sockaddr6(&pos, argc, argv, 5300, &sa), -EINVAL);
		capture_end(log, sizeof(log));
		assert_string_equal(log, cases[i].msg);
	}
	strcpy(line, "ims [2001:db8:c::5]:5301");
	assert_int_equal(conf_sockaddr6(&pos, conf_split(line, argv, GLM_CONF_MAXARGS), argv, 5300, &sa), 0);
	assert_int_equal(ntohs(sa.sin6_port), 5301);
}

static int count_words(void *ctx, const struct conf_pos *pos, int argc, char **argv)
{
	(void)pos;
	(void)argv;
	*(int *)ctx += argc;
	return 0;
}

/* Comments hold any UTF-8 (the shipped matd.conf's em dash was refused as
 * "control character 0xe2"); control characters are refused anywhere, and
 * non-ASCII outside a comment. */
static void test_conf_text(void **state)
{
	static const char *const good[] = {
		"# matd.conf(5) \xe2\x80\x94 a guest\nkey-id 10\n",
		"key-id 10 # caf\xc3\xa9, \xe4\xb8\xad\xe6\x96\x87, \xf0\x9f\x98\x80\n",
		"\tkey-id\t10\r\n",
	};
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "key-id 10\x1b[2J\n", "t: t.conf:1: control character 0x1b at column 10\n" },
		{ "key-id 10 # \x07\n", "t: t.conf:1: control character 0x07 at column 13\n" },
		{ "# fine\nkey-id 10 \x7f\n", "t: t.conf:2: control character 0x7f at column 11\n" },
		{ "# \xc2\x9b[2J\n", "t: t.conf:1: control character U+009B at column 3\n" },
		{ "# \xe2\x80\n", "t: t.conf:1: byte 0xe2 at column 3 is not UTF-8\n" },
		{ "# \xc0\xaf overlong\n", "t: t.conf:1: byte 0xc0 at column 3 is not UTF-8\n" },
		{ "interface \xc3\xa9th0\n",
		  "t: t.conf:1: byte 0xc3 at column 11: only comments may hold non-ASCII text\n" },
	};
	char log[512];
	int words;

	(void)state;
	log_init("t", true, 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		words = 0;
		if (conf_parse_buf("t.conf", good[i], strlen(good[i]), count_words, &words) != 0)
			fail_msg("good[%zu] refused", i);
		assert_int_equal(words, 2);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		words = 0;
		capture_begin();
		assert_int_equal(conf_parse_buf("t.conf", bad[i].text, strlen(bad[i].text), count_words, &words), -EINVAL);
		capture_end(log, sizeof(log));
		assert_string_equal(log, bad[i].msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockaddr6),
		cmocka_unit_test(test_conf_messages),
		cmocka_unit_test(test_conf_text),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
