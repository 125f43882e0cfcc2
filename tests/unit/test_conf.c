/* Unit tests of the shared value parsers (lib/conf.c): socket addresses,
 * in particular the bare "ADDR:PORT" that also reads as one address, and
 * the FILE:LINE messages a config file gets for them. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockaddr6),
		cmocka_unit_test(test_conf_messages),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
