/* Unit tests of gatewayd.conf's parser (gateway/config.c), with no kernel:
 * the home and the site gateway's lines as they are read and refused,
 * each error as FILE:LINE (or FILE: for what holds across lines). */
// link: gateway/config.c
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "../../gateway/gatewayd.h"
#include "conf.h"
#include "log.h"
#include "util.h"
#include "unit.h"

/* lines 1 to 5 */
#define BASE "keyring /etc/glm/keys\nkey-id 51\nims [2001:db8:c::5]:5300\nhome-prefix 2001:db8:100::/64\n" \
	     "site-prefix 2001:db8:a::/64\n"

static int load(const char *text, struct gw_conf *c, char *msg, size_t size)
{
	static char buf[4096];
	int r;

	snprintf(buf, sizeof(buf), "%s%s", BASE, text);
	capture_begin();
	r = gw_conf_load_buf("t.conf", buf, strlen(buf), c);
	capture_end(msg, size);
	return r;
}

static void test_home_and_site(void **state)
{
	struct gw_conf c;
	struct in6_addr d;
	char msg[512];

	(void)state;
	/* no serve line: a home gateway */
	assert_int_equal(load("", &c, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.nserve, 0);
	assert_int_equal(c.rcvbuf, GW_DEFAULT_RCVBUF);
	assert_int_equal(load("receive-buffer 262144\n", &c, msg, sizeof(msg)), 0);
	assert_int_equal(c.rcvbuf, 262144);
	assert_int_equal(load("serve 2001:db8:d::/64\nserve 2001:db8:e::/48\n", &c, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.nserve, 2);
	assert_int_equal(parse_in6("2001:db8:d::", &d), 0);
	assert_memory_equal(&c.serve[0], &d, 16);
	assert_int_equal(c.serve_len[0], 64);
	assert_int_equal(c.serve_len[1], 48);
	assert_int_equal(c.nhome, 1);
	assert_int_equal(c.nsite, 1);
}

/* GW_MAX lines of KEY for prefixes 2001:db8:N::/48 from first */
static void lines(char *buf, size_t size, const char *key, unsigned first, unsigned n)
{
	size_t off = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s 2001:db8:%x::/48\n", key, first + i);
}

static void test_refused(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "serve\n", "t: t.conf:6: usage: serve PREFIX/LEN (host bits zero)\n" },
		{ "receive-buffer 1000\n", "t: t.conf:6: usage: receive-buffer BYTES (65536..1073741824)\n" },
		{ "receive-buffer 4M\n", "t: t.conf:6: usage: receive-buffer BYTES (65536..1073741824)\n" },
		{ "serve 2001:db8:d::1/64\n", "t: t.conf:6: usage: serve PREFIX/LEN (host bits zero)\n" },
		{ "serve 2001:db8:d::/64 2001:db8:e::/64\n", "t: t.conf:6: usage: serve PREFIX/LEN (host bits zero)\n" },
		{ "serve 2001:db8:d::/129\n", "t: t.conf:6: usage: serve PREFIX/LEN (host bits zero)\n" },
		{ "serve 10.0.0.0/8\n", "t: t.conf:6: usage: serve PREFIX/LEN (host bits zero)\n" },
		{ "serve 2001:db8:100::/56\n",
		  "t: t.conf: serve 2001:db8:100::/56 overlaps home-prefix 2001:db8:100::/64: the hosts served must "
		  "not be mobile nodes' home addresses\n" },
		{ "serve 2001:db8:100::80/121\n",
		  "t: t.conf: serve 2001:db8:100::80/121 overlaps home-prefix 2001:db8:100::/64: the hosts served must "
		  "not be mobile nodes' home addresses\n" },
		/* a longer prefix inside a shorter one overlaps it either way round */
		{ "site-prefix 2001:db8:100::80/121\n",
		  "t: t.conf: site-prefix 2001:db8:100::80/121 overlaps home-prefix 2001:db8:100::/64: an MA there "
		  "would be routed back to us\n" },
	};
	struct gw_conf c;
	char msg[512], many[2048];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (load(cases[i].text, &c, msg, sizeof(msg)) != -EINVAL)
			fail_msg("'%s' accepted", cases[i].text);
		assert_string_equal(msg, cases[i].msg);
	}
	/* at most GW_MAX_SERVE, and the one too many writes nothing */
	lines(many, sizeof(many), "serve", 0x10, GW_MAX_SERVE);
	assert_int_equal(load(many, &c, msg, sizeof(msg)), 0);
	assert_int_equal(c.nserve, GW_MAX_SERVE);
	lines(many, sizeof(many), "serve", 0x10, GW_MAX_SERVE + 1);
	assert_int_equal(load(many, &c, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "t: t.conf:22: at most 16 'serve' lines\n");
	assert_int_equal(c.nserve, GW_MAX_SERVE);
	/* the same for the other prefix lists (BASE has one of each) */
	lines(many, sizeof(many), "site-prefix", 0x10, GW_MAX_SITE);
	assert_int_equal(load(many, &c, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "t: t.conf:21: at most 16 'site-prefix' lines\n");
	assert_int_equal(c.nsite, GW_MAX_SITE);
	assert_int_equal(c.nserve, 0);
}

/* Several IMS frontends: BASE's line and more, on lines of their own or
 * on one; a bad one refused whole, with FILE:LINE. */
static void test_ims(void **state)
{
	struct gw_conf c;
	struct in6_addr a;
	char msg[512];

	(void)state;
	assert_int_equal(load("", &c, msg, sizeof(msg)), 0);
	assert_int_equal(c.ims.n, 1);
	assert_int_equal(load("ims [2001:db8:c::6]:5300 2001:db8:c::7\n", &c, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.ims.n, 3);
	assert_int_equal(c.ims.cur, 0);
	assert_int_equal(parse_in6("2001:db8:c::7", &a), 0);
	assert_memory_equal(&c.ims.addr[2].sin6_addr, &a, 16);
	assert_int_equal(ntohs(c.ims.addr[2].sin6_port), GW_IMS_PORT);
	assert_int_equal(load("ims 2001:db8:c::6 2001:db8:c::7 2001:db8:c::8 2001:db8:c::9 2001:db8:c::a "
			      "2001:db8:c::b 2001:db8:c::c\n", &c, msg, sizeof(msg)), 0);
	assert_int_equal(c.ims.n, IMS_SET_MAX);
	assert_int_equal(load("ims 2001:db8:c::6\nims 2001:db8:c::7 2001:db8:c::8 2001:db8:c::9 2001:db8:c::a "
			      "2001:db8:c::b 2001:db8:c::c 2001:db8:c::d\n", &c, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "t: t.conf:7: at most 8 IMS addresses (ims 2001:db8:c::d is one too many)\n");
	assert_int_equal(c.ims.n, 2);
	assert_int_equal(load("ims 2001:db8:c::6 [2001:db8:c::7\n", &c, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "t: t.conf:6: bad ims address '[2001:db8:c::7' (expected ADDR or [ADDR]:PORT)\n");
	assert_int_equal(c.ims.n, 1);
	assert_int_equal(load("ims 2001:db8:c::5\n", &c, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "t: t.conf:6: ims [2001:db8:c::5]:5300 given twice\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_home_and_site),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_ims),
	};

	log_init("t", true, 0);
	return cmocka_run_group_tests_name("gateway_conf", tests, NULL, NULL);
}
