/* Unit tests of the agent's group state machine (agent/group.c), with no
 * kernel: the moves the agent makes for a group of a migrating VM, what
 * each asks of the caller, and the deadlines. Among them the two defects
 * it was written for: a VM's own report before reception-timeout must not
 * cost it the relay, and a relay request that fails must be retried with
 * a backoff, never at once. */
// link: agent/group.c
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "../../agent/agent_int.h"
#include "unit.h"

#define MS 1000000ull
#define T0 (1000 * MS)

static struct vm_group joined(uint32_t timeout_ms)
{
	struct vm_group g;
	struct in6_addr grp = ip6("ff3e::1234");

	group_init(&g, &grp, NULL);
	assert_int_equal(g.state, GROUP_WANTED);
	assert_true(g.due_ns == UINT64_MAX);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_JOINED, T0, (int)timeout_ms), 0);
	assert_int_equal(g.state, GROUP_PROXY_JOINED);
	assert_true(g.proxy_joined);
	assert_true(g.due_ns == T0 + timeout_ms * MS);
	return g;
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(group_state_name(GROUP_WANTED), "wanted");
	assert_string_equal(group_state_name(GROUP_PROXY_JOINED), "proxy-joined");
	assert_string_equal(group_state_name(GROUP_NATIVE), "native");
	assert_string_equal(group_state_name(GROUP_RELAY_ASKED), "relay-asked");
	assert_string_equal(group_state_name(GROUP_RELAYED), "relayed");
	assert_string_equal(group_state_name(GROUP_RELAY_FAILED), "relay-failed");
	assert_string_equal(group_state_name(GROUP_STATE_MAX), "?");
}

/* Link A: the stream comes after the join; the join is held until the
 * VM's own report, then left; no relay is ever asked. */
static void test_native_then_report(void **state)
{
	struct vm_group g = joined(100);

	(void)state;
	assert_int_equal(group_event(&g, "vm", GROUP_EV_NATIVE, T0 + 5 * MS, 0), 0);
	assert_int_equal(g.state, GROUP_NATIVE);
	assert_true(g.proxy_joined);
	assert_true(g.due_ns == UINT64_MAX);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, T0 + 200 * MS, 0), 0);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_REPORT, T0 + 300 * MS, 0), GROUP_DO_LEAVE);
	assert_false(g.proxy_joined);
	assert_true(g.own_report);
	/* a second report, another native packet: nothing more to do */
	assert_int_equal(group_event(&g, "vm", GROUP_EV_REPORT, T0 + 400 * MS, 0), 0);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_NATIVE, T0 + 400 * MS, 0), 0);
	assert_int_equal(g.state, GROUP_NATIVE);
}

/* The report first, the stream after it: the join goes with the stream. */
static void test_report_then_native(void **state)
{
	struct vm_group g = joined(100);

	(void)state;
	assert_int_equal(group_event(&g, "vm", GROUP_EV_REPORT, T0 + 10 * MS, 0), 0);
	assert_true(g.proxy_joined);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_NATIVE, T0 + 20 * MS, 0), GROUP_DO_LEAVE);
	assert_false(g.proxy_joined);
	assert_int_equal(g.state, GROUP_NATIVE);
}

/* Link B with a long reception-timeout: the VM reports before it runs out,
 * and nothing arrives. The report must not end it: at the timeout the
 * relay is asked, and the join is kept to see a native stream start. */
static void test_report_before_timeout_still_relays(void **state)
{
	struct vm_group g = joined(2000);

	(void)state;
	assert_int_equal(group_event(&g, "vm", GROUP_EV_REPORT, T0 + 300 * MS, 0), 0);
	assert_true(g.proxy_joined);
	assert_int_equal(g.state, GROUP_PROXY_JOINED);
	assert_true(g.due_ns == T0 + 2000 * MS);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, T0 + 1999 * MS, 0), 0);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, T0 + 2000 * MS, 0), GROUP_DO_ASK_RELAY);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_RELAY_TAKEN, T0 + 2000 * MS, 0), 0);
	assert_int_equal(g.state, GROUP_RELAY_ASKED);
	assert_true(group_holds_relay(&g));
	assert_true(g.proxy_joined);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_RELAYED, T0 + 2003 * MS, 0), 0);
	assert_int_equal(g.state, GROUP_RELAYED);
	assert_true(g.due_ns == UINT64_MAX);
	/* the native stream starts: the relay and the join go */
	assert_int_equal(group_event(&g, "vm", GROUP_EV_NATIVE, T0 + 9000 * MS, 0),
			 GROUP_DO_DROP_RELAY | GROUP_DO_LEAVE);
	assert_int_equal(g.state, GROUP_NATIVE);
	assert_false(group_holds_relay(&g));
	assert_false(g.proxy_joined);
}

/* Asked, and nothing comes: relay-asked (not relayed), and it says so
 * once, after GROUP_ASK_WARN_MS. */
static void test_relay_silent(void **state)
{
	struct vm_group g = joined(100);
	uint64_t t = T0 + 100 * MS;

	(void)state;
	assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, t, 0), GROUP_DO_ASK_RELAY);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_RELAY_TAKEN, t, 0), 0);
	assert_int_equal(g.state, GROUP_RELAY_ASKED);
	assert_true(g.due_ns == t + GROUP_ASK_WARN_MS * MS);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, g.due_ns, 0), GROUP_DO_WARN_SILENT);
	assert_true(g.due_ns == UINT64_MAX);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, t + 60000 * MS, 0), 0);
	assert_int_equal(g.state, GROUP_RELAY_ASKED);
	/* relayed packets while proxy-joined (another VM's session) do not
	 * count before this VM asked; a late RELAYED still moves it now */
	assert_int_equal(group_event(&g, "vm", GROUP_EV_RELAYED, t + 61000 * MS, 0), 0);
	assert_int_equal(g.state, GROUP_RELAYED);
}

/* A request that fails: logged once per reason, retried with a backoff
 * that doubles up to GROUP_RETRY_MAX_MS; every deadline lies ahead. */
static void test_relay_failure_backoff(void **state)
{
	struct vm_group g = joined(100);
	uint64_t t = T0 + 100 * MS;
	uint32_t want = GROUP_RETRY_MIN_MS;

	(void)state;
	assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, t, 0), GROUP_DO_ASK_RELAY);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_RELAY_FAILED, t, -EINVAL), GROUP_DO_LOG_FAILURE);
	assert_int_equal(g.state, GROUP_RELAY_FAILED);
	assert_int_equal(g.relay_err, -EINVAL);
	assert_false(group_holds_relay(&g));
	assert_true(g.proxy_joined);
	for (int i = 0; i < 10; i++) {
		assert_true(g.due_ns == t + want * MS);
		/* not before its time */
		assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, g.due_ns - 1, 0), 0);
		t = g.due_ns;
		assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, t, 0), GROUP_DO_ASK_RELAY);
		assert_true(g.due_ns == UINT64_MAX);
		assert_int_equal(group_event(&g, "vm", GROUP_EV_RELAY_FAILED, t, -EINVAL), 0); /* same reason: quiet */
		assert_true(g.due_ns > t);
		want = want * 2 > GROUP_RETRY_MAX_MS ? GROUP_RETRY_MAX_MS : want * 2;
	}
	assert_int_equal(g.retry_ms, GROUP_RETRY_MAX_MS);
	/* another reason is logged */
	t = g.due_ns;
	assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, t, 0), GROUP_DO_ASK_RELAY);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_RELAY_FAILED, t, -ENOBUFS), GROUP_DO_LOG_FAILURE);
	/* and at last it works */
	t = g.due_ns;
	assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, t, 0), GROUP_DO_ASK_RELAY);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_RELAY_TAKEN, t, 0), 0);
	assert_int_equal(g.state, GROUP_RELAY_ASKED);
	assert_int_equal(g.relay_err, 0);
	assert_int_equal(g.retry_ms, 0);
	/* a native stream while failing: no reference to drop, the join
	 * stays until the report */
	g = joined(100);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, T0 + 100 * MS, 0), GROUP_DO_ASK_RELAY);
	group_event(&g, "vm", GROUP_EV_RELAY_FAILED, T0 + 100 * MS, -EDESTADDRREQ);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_NATIVE, T0 + 500 * MS, 0), 0);
	assert_int_equal(g.state, GROUP_NATIVE);
	assert_true(g.due_ns == UINT64_MAX);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_REPORT, T0 + 600 * MS, 0), GROUP_DO_LEAVE);
}

/* Events that do not apply change nothing and ask for nothing that would
 * leak: a reference taken for a group that no longer waits goes back. */
static void test_out_of_place(void **state)
{
	struct vm_group g;
	struct in6_addr grp = ip6("ff3e::1234"), src = ip6("2001:db8:c::30");

	(void)state;
	group_init(&g, &grp, &src);
	assert_memory_equal(&g.source, &src, 16);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_DUE, T0, 0), 0);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_RELAYED, T0, 0), 0);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_RELAY_FAILED, T0, -EINVAL), 0);
	assert_int_equal(g.state, GROUP_WANTED);
	/* a VM that started here: its membership is its own, nothing held */
	assert_int_equal(group_event(&g, "vm", GROUP_EV_REPORT, T0, 0), 0);
	assert_false(g.proxy_joined);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_NATIVE, T0, 0), 0);
	assert_int_equal(g.state, GROUP_NATIVE);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_JOINED, T0, 100), 0);
	assert_false(g.proxy_joined);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_RELAY_TAKEN, T0, 0), GROUP_DO_DROP_RELAY);
	assert_int_equal(g.state, GROUP_NATIVE);
	/* joined twice: one join */
	g = joined(100);
	assert_int_equal(group_event(&g, "vm", GROUP_EV_JOINED, T0 + MS, 100), 0);
	assert_true(g.joined_ns == T0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_native_then_report),
		cmocka_unit_test(test_report_then_native),
		cmocka_unit_test(test_report_before_timeout_still_relays),
		cmocka_unit_test(test_relay_silent),
		cmocka_unit_test(test_relay_failure_backoff),
		cmocka_unit_test(test_out_of_place),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
