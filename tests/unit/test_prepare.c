/* Unit tests of an incoming VM's prepared move (agent/prepare.c), with the
 * agent's sending replaced by a recorder: the states (checking, sending,
 * acked, resumed, not-needed, failed), the messages each sends and when,
 * the deadlines the VM's timer is armed for, and the messages a state does
 * not take (an ack before any PREPARE was sent, a second IMS reply). */
// link: agent/prepare.c
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "../../agent/agent_int.h"
#include "../../lib/log.h"
#include "../../lib/util.h"
#include "unit.h"
#include "unit_keys.h"

#define MS 1000000ull

/* What prepare.c asked of the rest of the agent. */
static struct glm_msg sent[64];
static struct sockaddr_in6 sent_to[64];
static unsigned nsent, echoes, arms, redirects;

int agentd_send(struct agentd *a, const struct sockaddr_in6 *to, struct glm_msg *m, const struct glm_key *key)
{
	(void)a, (void)key;
	assert_true(nsent < 64);
	sent_to[nsent] = *to;
	sent[nsent++] = *m;
	return 0;
}

int bridge_echo(struct agentd *a, int br, const struct in6_addr *dst, uint16_t id)
{
	(void)a, (void)br, (void)dst, (void)id;
	echoes++;
	return 0;
}

void bridge_redirect(struct agentd *a, struct agent_vm *vm, const uint8_t old_router[6])
{
	(void)a, (void)vm, (void)old_router;
	redirects++;
}

void vm_arm(struct agentd *a, struct agent_vm *vm)
{
	(void)a, (void)vm;
	arms++;
}

static struct agentd A;
static struct agent_bridge br;
static struct agent_vm V, *vms[1] = { &V };
#define IMS keyring_find(&A.keys, 5)
#define GUEST keyring_find(&A.keys, 10)

static int setup(void **state)
{
	(void)state;
	keyring_free(&A.keys);
	memset(&A, 0, sizeof(A));
	memset(&br, 0, sizeof(br));
	/* we are agent 2; the VM's matd is guest 10 (11 another guest), the
	 * IMS is 5 */
	assert_int_equal(unit_keyring(&A.keys, 2, (const char *[]){ "2 agent", "5 ims", "10 guest home 2001:db8:100::10",
								    "11 guest", NULL }), 0);
	memset(&V, 0, sizeof(V));
	V.key_id = 10;
	nsent = echoes = arms = redirects = 0;
	br.have_prefix = true;
	br.prefix = ip6("2001:db8:b::");
	br.router = ip6("2001:db8:b::1");
	br.ifindex = 1;
	A.br = &br;
	A.nbr = 1;
	A.vms = vms;
	A.nvms = 1;
	A.conf.ims.n = 1;
	A.conf.ims.addr[0].sin6_family = AF_INET6;
	A.conf.ims.addr[0].sin6_addr = ip6("2001:db8:c::5");
	A.conf.ims.addr[0].sin6_port = htons(5300);
	A.conf.guest_port = 5301;
	strcpy(V.name, "vm");
	V.nports = 1;
	memcpy(V.ports[0].mac, "\x52\x54\x00\x12\x34\x56", 6);
	V.has_home = true;
	V.home = ip6("2001:db8:100::10");
	return 0;
}

static struct glm_msg reply(const char *ma)
{
	struct glm_msg m = { .type = GLM_REPLY, .seq = V.query_seq, .status = GLM_ST_OK };

	GLM_SET(&m, ma, GLM_TLV_MA, ip6(ma));
	return m;
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(prepare_state_name(PREPARE_NONE), "none");
	assert_string_equal(prepare_state_name(PREPARE_CHECKING), "checking");
	assert_string_equal(prepare_state_name(PREPARE_SENDING), "sending");
	assert_string_equal(prepare_state_name(PREPARE_ACKED), "acked");
	assert_string_equal(prepare_state_name(PREPARE_RESUMED), "resumed");
	assert_string_equal(prepare_state_name(PREPARE_NOT_NEEDED), "not-needed");
	assert_string_equal(prepare_state_name(PREPARE_FAILED), "failed");
	assert_string_equal(prepare_state_name(PREPARE_STATE_MAX), "?");
}

/* The whole way: checking (echo + QUERY), sending once both are done,
 * retransmitted with backoff, acked, resumed with two RESUMED copies. */
static void test_prepared_move(void **state)
{
	struct sockaddr_in6 from = { .sin6_family = AF_INET6 };
	uint64_t t0 = now_ns();

	(void)state;
	prepare_start(&A, &V);
	assert_int_equal(V.prepare, PREPARE_CHECKING);
	assert_int_equal(echoes, 1);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].type, GLM_QUERY);
	assert_memory_equal(&sent[0].ha, &V.home, 16);
	/* the MA: the bridge's prefix and the VM's EUI-64 */
	assert_memory_equal(&V.prepared_ma, &br.prefix, 8);
	assert_int_equal(V.prepared_ma.s6_addr[8], 0x52 ^ 0x02);
	/* the IMS answers at once: still checking until the echo window ends */
	struct glm_msg r = reply("2001:db8:a::99");
	prepare_msg(&A, &r, IMS, &from);
	assert_int_equal(V.prepare, PREPARE_CHECKING);
	assert_true(V.have_current_ma);
	assert_true(prepare_deadline(&V) <= t0 + 31 * MS);
	prepare_timer(&A, &V, t0 + 10 * MS);
	assert_int_equal(nsent, 1);
	/* the window is over: PREPARE to the guest's current MA */
	prepare_timer(&A, &V, t0 + 31 * MS);
	assert_int_equal(V.prepare, PREPARE_SENDING);
	assert_int_equal(nsent, 2);
	assert_int_equal(sent[1].type, GLM_PREPARE);
	assert_memory_equal(&sent_to[1].sin6_addr, &r.ma, 16);
	assert_int_equal(ntohs(sent_to[1].sin6_port), 5301);
	assert_memory_equal(&sent[1].ma, &V.prepared_ma, 16);
	assert_memory_equal(&sent[1].prefix, &br.prefix, 16);
	assert_memory_equal(&sent[1].router, &br.router, 16);
	/* retransmitted 50 ms, then 100 ms later, each copy with a seq of
	 * its own (matd takes a seq once) */
	uint64_t seq = sent[1].seq;
	assert_true(prepare_deadline(&V) == t0 + 81 * MS);
	prepare_timer(&A, &V, t0 + 60 * MS);
	assert_int_equal(nsent, 2);
	prepare_timer(&A, &V, t0 + 81 * MS);
	assert_int_equal(nsent, 3);
	assert_true(sent[2].seq > seq);
	assert_true(prepare_deadline(&V) == t0 + 181 * MS);
	/* a second IMS reply changes nothing */
	prepare_msg(&A, &r, IMS, &from);
	assert_int_equal(V.prepare, PREPARE_SENDING);
	/* an ack to nothing we sent is not taken */
	struct glm_msg ack = { .type = GLM_PREPARE_ACK, .seq = seq + 1, .status = GLM_ST_OK };
	if (ack.seq != sent[2].seq) {
		prepare_msg(&A, &ack, GUEST, &from);
		assert_int_equal(V.prepare, PREPARE_SENDING);
	}
	/* an ack from another guest's key, to a seq we sent, is not taken */
	ack.seq = seq;
	prepare_msg(&A, &ack, keyring_find(&A.keys, 11), &from);
	assert_int_equal(V.prepare, PREPARE_SENDING);
	/* acked: the first try's ack, late, is as good as the second's */
	prepare_msg(&A, &ack, GUEST, &from);
	assert_int_equal(V.prepare, PREPARE_ACKED);
	assert_true(prepare_deadline(&V) == UINT64_MAX);
	assert_int_equal(redirects, 0); /* no LLADDR in the ack */
	prepare_timer(&A, &V, t0 + 5000 * MS); /* acked: the give-up no longer applies */
	assert_int_equal(V.prepare, PREPARE_ACKED);
	/* the VM resumed: RESUMED to the new MA, a second copy 100 ms later */
	prepare_resumed(&A, &V);
	assert_int_equal(V.prepare, PREPARE_RESUMED);
	assert_int_equal(nsent, 4);
	assert_int_equal(sent[3].type, GLM_RESUMED);
	assert_memory_equal(&sent_to[3].sin6_addr, &V.prepared_ma, 16);
	uint64_t second = prepare_deadline(&V);
	assert_true(second != UINT64_MAX);
	prepare_timer(&A, &V, second);
	assert_int_equal(nsent, 5);
	assert_int_equal(sent[4].type, GLM_RESUMED);
	assert_true(prepare_deadline(&V) == UINT64_MAX);
	/* resumed once only */
	prepare_resumed(&A, &V);
	assert_int_equal(nsent, 5);
}

/* An ack for a PREPARE never sent (still checking) is not taken. */
static void test_ack_while_checking_ignored(void **state)
{
	struct sockaddr_in6 from = { .sin6_family = AF_INET6 };
	struct glm_msg ack = { .type = GLM_PREPARE_ACK, .status = GLM_ST_OK };

	(void)state;
	prepare_start(&A, &V);
	ack.seq = V.prepare_seq[0]; /* 0: none sent */
	prepare_msg(&A, &ack, GUEST, &from);
	assert_int_equal(V.prepare, PREPARE_CHECKING);
}

/* The guest is in this prefix already: nothing to prepare, no PREPARE. */
static void test_same_subnet(void **state)
{
	struct sockaddr_in6 from = { .sin6_family = AF_INET6 };
	uint64_t t0 = now_ns();

	(void)state;
	prepare_start(&A, &V);
	struct glm_msg r = reply("2001:db8:b::77");
	prepare_msg(&A, &r, IMS, &from);
	assert_int_equal(V.prepare, PREPARE_NOT_NEEDED);
	assert_true(prepare_deadline(&V) == UINT64_MAX);
	prepare_timer(&A, &V, t0 + 100 * MS);
	assert_int_equal(nsent, 1); /* the QUERY only */
	/* a second incoming request does not start over */
	prepare_start(&A, &V);
	assert_int_equal(nsent, 1);
}

/* Three answered echoes: no unused MA, failed; nothing more is sent. */
static void test_ma_in_use(void **state)
{
	uint64_t t0 = now_ns();

	(void)state;
	prepare_start(&A, &V);
	for (int i = 0; i < 3; i++) {
		struct in6_addr ma = V.prepared_ma;
		prepare_echo_reply(&A, 0, &ma, V.echo_id);
		if (i < 2) {
			assert_int_equal(V.prepare, PREPARE_CHECKING);
			assert_memory_not_equal(&V.prepared_ma, &ma, 16); /* another IID */
			assert_memory_equal(&V.prepared_ma, &br.prefix, 8);
		}
	}
	assert_int_equal(V.prepare, PREPARE_FAILED);
	assert_int_equal(echoes, 3);
	unsigned n = nsent;
	prepare_timer(&A, &V, t0 + 200 * MS);
	assert_int_equal(nsent, n);
	assert_true(prepare_deadline(&V) == UINT64_MAX);
}

/* No answer from the IMS: QUERY retransmitted, failed after 3 s. */
static void test_ims_silent(void **state)
{
	uint64_t t0 = now_ns();

	(void)state;
	prepare_start(&A, &V);
	prepare_timer(&A, &V, t0 + 101 * MS);
	assert_int_equal(nsent, 2);
	assert_int_equal(sent[1].type, GLM_QUERY);
	prepare_timer(&A, &V, t0 + 3001 * MS);
	assert_int_equal(V.prepare, PREPARE_FAILED);
}

/* Without an RA on the bridge there is no prefix to prepare: failed. */
static void test_no_prefix(void **state)
{
	(void)state;
	br.have_prefix = false;
	prepare_start(&A, &V);
	assert_int_equal(V.prepare, PREPARE_FAILED);
	assert_int_equal(nsent, 0);
}

/* Two IMSes, the first silent: after QUERY_TRIES_PER_IMS (5) unanswered
 * QUERYs the next goes to the second, logged; its REPLY is taken, and
 * the preparation goes on. The next preparation asks the second first. */
static void test_query_failover(void **state)
{
	struct sockaddr_in6 from;
	uint64_t t0 = now_ns();
	char msg[512];

	(void)state;
	A.conf.ims.n = 2;
	A.conf.ims.addr[1] = A.conf.ims.addr[0];
	A.conf.ims.addr[1].sin6_addr = ip6("2001:db8:c::6");
	prepare_start(&A, &V);
	assert_int_equal(nsent, 1);
	capture_begin();
	for (unsigned k = 1; k <= 5; k++)
		prepare_timer(&A, &V, t0 + k * 200 * MS);
	capture_end(msg, sizeof(msg));
	assert_int_equal(nsent, 6);
	for (unsigned k = 0; k < 5; k++)
		assert_memory_equal(&sent_to[k], &A.conf.ims.addr[0], sizeof(sent_to[k]));
	assert_int_equal(sent[5].type, GLM_QUERY);
	assert_memory_equal(&sent_to[5], &A.conf.ims.addr[1], sizeof(sent_to[5]));
	assert_string_equal(msg, "test_prepare: IMS [2001:db8:c::5]:5300 not answering after 5 tries (QUERY for vm vm), "
				 "failing over to [2001:db8:c::6]:5300\n");
	assert_int_equal(A.conf.ims.failovers, 1);
	/* its answer is taken */
	from = A.conf.ims.addr[1];
	struct glm_msg r = reply("2001:db8:a::99");
	prepare_msg(&A, &r, IMS, &from);
	assert_true(V.have_current_ma);
	assert_int_equal(V.prepare, PREPARE_CHECKING);
	/* with each IMS tried once, no more failovers: the deadline decides */
	memset(&V.prepare, 0, sizeof(V.prepare));
	V.have_current_ma = false;
	nsent = 0;
	prepare_start(&A, &V);
	assert_memory_equal(&sent_to[0], &A.conf.ims.addr[1], sizeof(sent_to[0]));
	capture_begin();
	for (unsigned k = 1; k <= 12; k++)
		prepare_timer(&A, &V, t0 + 1000 * MS + k * 200 * MS);
	capture_end(msg, sizeof(msg));
	assert_int_equal(A.conf.ims.failovers, 2);
	assert_int_equal(A.conf.ims.cur, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_query_failover, setup),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup(test_prepared_move, setup),
		cmocka_unit_test_setup(test_ack_while_checking_ignored, setup),
		cmocka_unit_test_setup(test_same_subnet, setup),
		cmocka_unit_test_setup(test_ma_in_use, setup),
		cmocka_unit_test_setup(test_ims_silent, setup),
		cmocka_unit_test_setup(test_no_prefix, setup),
	};

	log_init("test_prepare", true, 0);
	return cmocka_run_group_tests_name("prepare", tests, NULL, NULL);
}
