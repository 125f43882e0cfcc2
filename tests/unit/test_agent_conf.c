/* Unit tests of glm-agentd.conf's parser (agent/config.c), with no kernel:
 * "bridge IFNAME [uplink PORT]..." as it is read and refused, each error as
 * FILE:LINE. That an uplink is a port of its bridge needs the kernel: -n
 * checks it (agent/bridges.c, tests/bats/config.bats). */
// link: agent/config.c
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "../../agent/agent_int.h"
#include "log.h"
#include "unit.h"

#define BASE "key-id 30\nkeyring /etc/glm/keys\n" /* lines 1 and 2 */

/* Load BASE + text; the log into msg. */
static int load(const char *text, struct agent_conf *c, char *msg, size_t size)
{
	char buf[1024];
	int r;

	snprintf(buf, sizeof(buf), "%s%s", BASE, text);
	capture_begin();
	r = agent_conf_load_buf("t.conf", buf, strlen(buf), c);
	capture_end(msg, size);
	return r;
}

static void test_bridges_and_uplinks(void **state)
{
	struct agent_conf c;
	char msg[512];

	(void)state;
	assert_int_equal(load("bridge br0 uplink eth0\nbridge br1\nbridge br2 uplink bond0 uplink eth3\n", &c, msg,
			      sizeof(msg)),
			 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.nbridges, 3);
	assert_string_equal(c.bridges[0].name, "br0");
	assert_int_equal(c.bridges[0].nuplinks, 1);
	assert_string_equal(c.bridges[0].uplinks[0], "eth0");
	/* no uplink: RA guard on the VMs' taps only */
	assert_string_equal(c.bridges[1].name, "br1");
	assert_int_equal(c.bridges[1].nuplinks, 0);
	assert_int_equal(c.bridges[2].nuplinks, 2);
	assert_string_equal(c.bridges[2].uplinks[0], "bond0");
	assert_string_equal(c.bridges[2].uplinks[1], "eth3");
	agent_conf_free(&c);
	assert_null(c.bridges);
	/* the most: AGENT_MAX_UPLINKS, names of IF_NAMESIZE - 1 */
	assert_int_equal(load("bridge br0 uplink a uplink b uplink c uplink 0123456789abcde\n", &c, msg, sizeof(msg)),
			 0);
	assert_int_equal(c.bridges[0].nuplinks, AGENT_MAX_UPLINKS);
	assert_string_equal(c.bridges[0].uplinks[3], "0123456789abcde");
	agent_conf_free(&c);
}

/* What the operator reads, line by line. */
static void test_refused(void **state)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "bridge\n", "t: t.conf:3: usage: bridge IFNAME [uplink PORT]...\n" },
		{ "bridge br0 uplink\n", "t: t.conf:3: usage: bridge IFNAME [uplink PORT]...\n" },
		{ "bridge br0 eth0\n", "t: t.conf:3: usage: bridge IFNAME [uplink PORT]...\n" },
		{ "bridge br0 downlink eth0\n", "t: t.conf:3: usage: bridge IFNAME [uplink PORT]...\n" },
		{ "bridge br0 uplink eth0 uplink\n", "t: t.conf:3: usage: bridge IFNAME [uplink PORT]...\n" },
		{ "bridge br0 uplink 0123456789abcdef\n", "t: t.conf:3: usage: bridge IFNAME [uplink PORT]...\n" },
		{ "bridge 0123456789abcdef\n", "t: t.conf:3: usage: bridge IFNAME [uplink PORT]...\n" },
		{ "bridge br0 uplink ../eth0\n", "t: t.conf:3: usage: bridge IFNAME [uplink PORT]...\n" },
		{ "bridge br0 uplink ..\n", "t: t.conf:3: usage: bridge IFNAME [uplink PORT]...\n" },
		{ "bridge br0 uplink br0\n",
		  "t: t.conf:3: bridge br0: the uplink is a port of the bridge, not the bridge\n" },
		{ "bridge br0 uplink eth0 uplink eth0\n", "t: t.conf:3: bridge br0: uplink eth0 given twice\n" },
		{ "bridge br0 uplink a uplink b uplink c uplink d uplink e\n",
		  "t: t.conf:3: bridge br0: at most 4 uplinks\n" },
		{ "bridge br0\nbridge br0 uplink eth0\n", "t: t.conf:4: bridge br0 given twice\n" },
		{ "bridge br0 uplink eth0\nbridge br1 uplink eth0\n",
		  "t: t.conf:4: bridge br1: uplink eth0 is bridge br0's already\n" },
	};
	struct agent_conf c;
	char msg[512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (load(cases[i].text, &c, msg, sizeof(msg)) != -EINVAL)
			fail_msg("'%s' accepted", cases[i].text);
		assert_string_equal(msg, cases[i].msg);
		assert_null(c.bridges); /* freed on the way out */
	}
	/* the relay role needs no bridge, an agent one */
	assert_int_equal(load("role relay\nrelay-interface eth0\n", &c, msg, sizeof(msg)), 0);
	agent_conf_free(&c);
	assert_int_equal(load("", &c, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "t: t.conf: an agent needs at least one 'bridge'\n");
}

/* Several IMS frontends, on one line or several; a bad one refused whole. */
static void test_ims(void **state)
{
	struct agent_conf c;
	char msg[512];

	(void)state;
	assert_int_equal(load("bridge br0\nims [2001:db8:c::5]:5300\n", &c, msg, sizeof(msg)), 0);
	assert_int_equal(c.ims.n, 1);
	assert_int_equal(ntohs(c.ims.addr[0].sin6_port), 5300);
	agent_conf_free(&c);
	assert_int_equal(load("bridge br0\nims [2001:db8:c::5]:5300 [2001:db8:c::6]:5310\nims 2001:db8:c::7\n", &c,
			      msg, sizeof(msg)),
			 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.ims.n, 3);
	assert_int_equal(ntohs(c.ims.addr[1].sin6_port), 5310);
	assert_int_equal(ntohs(c.ims.addr[2].sin6_port), 5300);
	agent_conf_free(&c);
	assert_int_equal(load("bridge br0\nims 2001:db8:c::5 2001:db8:c::x\n", &c, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "t: t.conf:4: bad ims address '2001:db8:c::x' (expected ADDR or [ADDR]:PORT)\n");
	assert_int_equal(load("bridge br0\nims 2001:db8:c::1 2001:db8:c::2 2001:db8:c::3 2001:db8:c::4 "
			      "2001:db8:c::5 2001:db8:c::6 2001:db8:c::7 2001:db8:c::8 2001:db8:c::9\n",
			      &c, msg, sizeof(msg)),
			 -EINVAL);
	assert_string_equal(msg, "t: t.conf:4: at most 8 IMS addresses (ims 2001:db8:c::9 is one too many)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bridges_and_uplinks),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_ims),
	};

	log_init("t", true, 0);
	return cmocka_run_group_tests_name("agent_conf", tests, NULL, NULL);
}
