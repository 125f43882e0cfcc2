/* Unit tests of a client's IMS set (lib/imsset.c): "ims ADDR..." as matd's
 * parser (guest-agent/config.c) reads and refuses it, all or nothing, each
 * error as FILE:LINE; the failover round the list, what counts as "from
 * our IMS", and the status line. */
// link: guest-agent/config.c
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "../../guest-agent/matd.h"
#include "imsset.h"
#include "log.h"
#include "util.h"
#include "unit.h"

#define BASE "key-id 10\nkeyring /etc/glm/keys\nhome-prefix 2001:db8:100::/64\n" /* lines 1 to 3 */

static int load(const char *text, struct matd_conf *c, char *msg, size_t size)
{
	static char buf[4096];
	int r;

	snprintf(buf, sizeof(buf), "%s%s", BASE, text);
	capture_begin();
	r = matd_conf_load_buf("t.conf", buf, strlen(buf), c);
	capture_end(msg, size);
	return r;
}

static void assert_ims(const struct ims_set *s, unsigned i, const char *addr, uint16_t port)
{
	struct in6_addr a = ip6(addr);

	assert_true(i < s->n);
	assert_memory_equal(&s->addr[i].sin6_addr, &a, 16);
	assert_int_equal(ntohs(s->addr[i].sin6_port), port);
	assert_int_equal(s->addr[i].sin6_family, AF_INET6);
}

static void test_forms(void **state)
{
	struct matd_conf c;
	char msg[512];

	(void)state;
	/* the one-address form, as before */
	assert_int_equal(load("ims [2001:db8:c::5]:5300\n", &c, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.ims.n, 1);
	assert_int_equal(c.ims.cur, 0);
	assert_ims(&c.ims, 0, "2001:db8:c::5", 5300);
	/* several on a line, the default port where none is given */
	assert_int_equal(load("ims [2001:db8:c::5]:5310 2001:db8:c::6 [2001:db8:c::7]\n", &c, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.ims.n, 3);
	assert_ims(&c.ims, 0, "2001:db8:c::5", 5310);
	assert_ims(&c.ims, 1, "2001:db8:c::6", MATD_IMS_PORT);
	assert_ims(&c.ims, 2, "2001:db8:c::7", MATD_IMS_PORT);
	/* the line given again adds, in order; the same address on another
	 * port is another IMS */
	assert_int_equal(load("ims [2001:db8:c::5]:5300\nims [2001:db8:c::6]:5300 [2001:db8:c::5]:5301\n", &c, msg,
			      sizeof(msg)),
			 0);
	assert_int_equal(c.ims.n, 3);
	assert_ims(&c.ims, 0, "2001:db8:c::5", 5300);
	assert_ims(&c.ims, 1, "2001:db8:c::6", 5300);
	assert_ims(&c.ims, 2, "2001:db8:c::5", 5301);
	/* the most: IMS_SET_MAX */
	assert_int_equal(load("ims 2001:db8:c::1 2001:db8:c::2 2001:db8:c::3 2001:db8:c::4\n"
			      "ims 2001:db8:c::5 2001:db8:c::6 2001:db8:c::7 2001:db8:c::8\n",
			      &c, msg, sizeof(msg)),
			 0);
	assert_int_equal(c.ims.n, IMS_SET_MAX);
	assert_ims(&c.ims, 7, "2001:db8:c::8", MATD_IMS_PORT);
}

static void test_refused(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "ims\n", "t: t.conf:4: usage: ims ADDR|[ADDR]:PORT... (at most 8 in all)\n" },
		{ "ims [2001:db8:c::5]:5300 nonsense\n",
		  "t: t.conf:4: bad ims address 'nonsense' (expected ADDR or [ADDR]:PORT)\n" },
		{ "ims 2001:db8:c::5 [2001:db8:c::6]:99999\n",
		  "t: t.conf:4: bad ims address '[2001:db8:c::6]:99999' (expected ADDR or [ADDR]:PORT)\n" },
		{ "ims 2001:db8:c::5 2001:db8:c::5:5300\n",
		  "t: t.conf:4: 'ims 2001:db8:c::5:5300' is ambiguous: write [2001:db8:c::5]:5300 for port 5300, "
		  "or [2001:db8:c::5:5300] for the address\n" },
		{ "ims [2001:db8:c::5]:5300 2001:db8:c::5\n", "t: t.conf:4: ims [2001:db8:c::5]:5300 given twice\n" },
		{ "ims 2001:db8:c::5\nims 2001:db8:c::6 [2001:db8:c::5]:5300\n",
		  "t: t.conf:5: ims [2001:db8:c::5]:5300 given twice\n" },
		{ "ims 2001:db8:c::1 2001:db8:c::2 2001:db8:c::3 2001:db8:c::4 2001:db8:c::5 2001:db8:c::6 "
		  "2001:db8:c::7 2001:db8:c::8 2001:db8:c::9\n",
		  "t: t.conf:4: at most 8 IMS addresses (ims 2001:db8:c::9 is one too many)\n" },
		{ "ims 2001:db8:c::1 2001:db8:c::2 2001:db8:c::3 2001:db8:c::4 2001:db8:c::5\n"
		  "ims 2001:db8:c::6 2001:db8:c::7 2001:db8:c::8 2001:db8:c::9\n",
		  "t: t.conf:5: at most 8 IMS addresses (ims 2001:db8:c::9 is one too many)\n" },
		/* home-prefix (BASE) needs one */
		{ "", "t: t.conf: home-prefix needs 'ims'\n" },
	};
	struct matd_conf c;
	char msg[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (load(cases[i].text, &c, msg, sizeof(msg)) != -EINVAL)
			fail_msg("'%s' accepted", cases[i].text);
		assert_string_equal(msg, cases[i].msg);
	}
}

/* A refused line changes nothing of what the lines before it gave. */
static void test_all_or_nothing(void **state)
{
	static char *ok[] = { "ims", "2001:db8:c::5", "2001:db8:c::6" };
	static char *bad[] = { "ims", "2001:db8:c::7", "2001:db8:c::8", "bad" };
	static char *dup[] = { "ims", "2001:db8:c::7", "2001:db8:c::6" };
	struct conf_pos pos = { "t.conf", 1 };
	struct ims_set s = { 0 };
	char msg[256];

	(void)state;
	assert_int_equal(conf_ims_set(&pos, 3, ok, 5300, &s), 0);
	assert_int_equal(s.n, 2);
	capture_begin();
	assert_int_equal(conf_ims_set(&pos, 4, bad, 5300, &s), -EINVAL);
	assert_int_equal(conf_ims_set(&pos, 3, dup, 5300, &s), -EINVAL);
	capture_end(msg, sizeof(msg));
	assert_int_equal(s.n, 2);
	assert_ims(&s, 0, "2001:db8:c::5", 5300);
	assert_ims(&s, 1, "2001:db8:c::6", 5300);
}

static void test_failover(void **state)
{
	static char *three[] = { "ims", "2001:db8:c::5", "2001:db8:c::6", "[2001:db8:c::7]:5310" };
	struct conf_pos pos = { "t.conf", 1 };
	struct ims_set s = { 0 };
	struct sockaddr_in6 from;
	char msg[512];

	(void)state;
	assert_null(ims_set_current(&s));
	assert_int_equal(conf_ims_set(&pos, 4, three, 5300, &s), 0);
	assert_ptr_equal(ims_set_current(&s), &s.addr[0]);
	/* a message from any of them is from our IMS; the port counts */
	from = s.addr[2];
	assert_true(ims_set_has(&s, &from));
	assert_false(ims_set_is_current(&s, &from));
	from.sin6_port = htons(5300);
	assert_false(ims_set_has(&s, &from));
	/* round the list, each move logged with what was not answered */
	capture_begin();
	assert_true(ims_set_failover(&s, "IMS update", 5));
	capture_end(msg, sizeof(msg));
	assert_string_equal(msg, "t: IMS [2001:db8:c::5]:5300 not answering after 5 tries (IMS update), "
				 "failing over to [2001:db8:c::6]:5300\n");
	assert_int_equal(s.cur, 1);
	assert_true(ims_set_is_current(&s, &s.addr[1]));
	capture_begin();
	assert_true(ims_set_failover(&s, "subscription", 3));
	assert_true(ims_set_failover(&s, "subscription", 3));
	capture_end(msg, sizeof(msg));
	assert_int_equal(s.cur, 0);
	assert_int_equal(s.failovers, 3);
	/* one IMS: nowhere to go, nothing logged */
	s.n = 1;
	capture_begin();
	assert_false(ims_set_failover(&s, "subscription", 3));
	capture_end(msg, sizeof(msg));
	assert_string_equal(msg, "");
	assert_int_equal(s.cur, 0);
}

static void test_print(void **state)
{
	static char *two[] = { "ims", "2001:db8:c::5", "2001:db8:c::6" };
	struct conf_pos pos = { "t.conf", 1 };
	struct ims_set s = { 0 };
	struct printer p;
	char buf[512];
	FILE *f;

	(void)state;
	assert_int_equal(conf_ims_set(&pos, 3, two, 5300, &s), 0);
	s.cur = 1;
	s.failovers = 1;
	f = fmemopen(buf, sizeof(buf), "w");
	print_init(&p, f, false);
	ims_set_print(&s, &p);
	assert_true(print_ok(&p));
	print_init(&p, f, true);
	print_open_object(&p, NULL);
	ims_set_print(&s, &p);
	print_close_object(&p);
	assert_true(print_ok(&p));
	fclose(f);
	assert_string_equal(buf, "ims: [2001:db8:c::6]:5300 (of [2001:db8:c::5]:5300 [2001:db8:c::6]:5300, "
				 "failovers 1)"
				 "{\"ims\":\"[2001:db8:c::6]:5300\",\"ims_all\":[\"[2001:db8:c::5]:5300\","
				 "\"[2001:db8:c::6]:5300\"],\"ims_failovers\":1}\n");
	/* one IMS: the line as it always was */
	s.n = 1;
	s.cur = 0;
	f = fmemopen(buf, sizeof(buf), "w");
	print_init(&p, f, false);
	ims_set_print(&s, &p);
	fclose(f);
	assert_string_equal(buf, "ims: [2001:db8:c::5]:5300");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_print),
	};

	log_init("t", true, 0);
	return cmocka_run_group_tests_name("imsset", tests, NULL, NULL);
}
