/* Unit tests of the wire format: round trips, every refusal reason, and
 * the HMAC (a flipped bit anywhere is caught). */
#include "wire.h"
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static const uint8_t key[GLM_KEY_LEN] = { 0x42 };

static ssize_t sample(uint8_t *buf, size_t cap)
{
	struct glm_msg m = { .type = GLM_IMS_UPDATE, .key_id = 7, .seq = 0x0102030405060708ull };

	GLM_SET(&m, ha, GLM_TLV_HA, ((struct in6_addr){ .s6_addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } }));
	GLM_SET(&m, ma, GLM_TLV_MA, ((struct in6_addr){ .s6_addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } }));
	GLM_SET(&m, lifetime, GLM_TLV_LIFETIME, 600);
	return glm_msg_encode(&m, key, buf, cap);
}

static void test_roundtrip(void **state)
{
	uint8_t buf[256];
	struct glm_msg m;
	ssize_t n = sample(buf, sizeof(buf));

	(void)state;
	assert_int_equal(n, GLM_HDR_LEN + 20 + 20 + 8 + GLM_MAC_LEN);
	assert_int_equal(glm_msg_parse(buf, (size_t)n, &m), GLM_PE_OK);
	assert_int_equal(glm_msg_verify(buf, (size_t)n, key), GLM_PE_OK);
	assert_int_equal(m.type, GLM_IMS_UPDATE);
	assert_int_equal(m.key_id, 7);
	assert_true(m.seq == 0x0102030405060708ull);
	assert_int_equal(m.lifetime, 600);
	assert_int_equal(m.ha.s6_addr[15], 1);
	assert_int_equal(m.ma.s6_addr[15], 2);
	assert_true(GLM_HAS(&m, GLM_TLV_HA) && !GLM_HAS(&m, GLM_TLV_ROUTER));
}

/* The router's link-layer address of PREPARE/PREPARE_ACK: exactly 6 bytes. */
static void test_lladdr(void **state)
{
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	struct glm_msg m = { .type = GLM_PREPARE_ACK, .seq = 9 }, p;
	uint8_t buf[256];
	ssize_t n;

	(void)state;
	memcpy(m.lladdr, mac, 6);
	m.present |= 1u << GLM_TLV_LLADDR;
	n = glm_msg_encode(&m, key, buf, sizeof(buf));
	assert_int_equal(n, GLM_HDR_LEN + 4 + 6 + GLM_MAC_LEN);
	assert_int_equal(glm_msg_parse(buf, (size_t)n, &p), GLM_PE_OK);
	assert_true(GLM_HAS(&p, GLM_TLV_LLADDR));
	assert_memory_equal(p.lladdr, mac, 6);
	/* a 5-byte link-layer address is refused */
	buf[GLM_HDR_LEN + 3] = 5;
	assert_int_equal(glm_msg_parse(buf, (size_t)n, &p), GLM_PE_TLV_LEN);
}

static void test_every_bit_flip_caught(void **state)
{
	uint8_t buf[256];
	struct glm_msg m;
	ssize_t n = sample(buf, sizeof(buf));

	(void)state;
	for (ssize_t i = 0; i < n; i++) {
		for (int b = 0; b < 8; b++) {
			buf[i] ^= (uint8_t)(1 << b);
			assert_true(glm_msg_parse(buf, (size_t)n, &m) != GLM_PE_OK ||
				    glm_msg_verify(buf, (size_t)n, key) == GLM_PE_MAC);
			buf[i] ^= (uint8_t)(1 << b);
		}
	}
}

static void test_refusals(void **state)
{
	uint8_t buf[256], bad[256];
	struct glm_msg m;
	ssize_t n = sample(buf, sizeof(buf));
	static const uint8_t other[GLM_KEY_LEN] = { 0x43 };

	(void)state;
	for (ssize_t l = 0; l < n; l++) /* every truncation is refused */
		assert_int_not_equal(glm_msg_parse(buf, (size_t)l, &m), GLM_PE_OK);
	memcpy(bad, buf, (size_t)n);
	bad[0] = 2;
	assert_int_equal(glm_msg_parse(bad, (size_t)n, &m), GLM_PE_VERSION);
	memcpy(bad, buf, (size_t)n);
	bad[1] = 0;
	assert_int_equal(glm_msg_parse(bad, (size_t)n, &m), GLM_PE_TYPE);
	bad[1] = GLM_MSG_TYPE_MAX + 1;
	assert_int_equal(glm_msg_parse(bad, (size_t)n, &m), GLM_PE_TYPE);
	memcpy(bad, buf, (size_t)n);
	bad[GLM_HDR_LEN + 1] = 99; /* first TLV type */
	assert_int_equal(glm_msg_parse(bad, (size_t)n, &m), GLM_PE_TLV_UNKNOWN);
	memcpy(bad, buf, (size_t)n);
	bad[GLM_HDR_LEN + 3] = 15; /* HA length 15 */
	assert_int_not_equal(glm_msg_parse(bad, (size_t)n, &m), GLM_PE_OK);
	memcpy(bad, buf, (size_t)n);
	bad[GLM_HDR_LEN + 21] = GLM_TLV_HA; /* MA TLV renamed HA: duplicate */
	assert_int_equal(glm_msg_parse(bad, (size_t)n, &m), GLM_PE_TLV_DUP);
	assert_int_equal(glm_msg_verify(buf, (size_t)n, other), GLM_PE_MAC);
}

static void test_encode_limits(void **state)
{
	uint8_t buf[GLM_MSG_MAX], pkt[1500] = { 0x60 };
	struct glm_msg m = { .type = GLM_RELAYED_PACKET }, p;
	ssize_t n;

	(void)state;
	m.present |= 1u << GLM_TLV_PACKET;
	m.packet = pkt;
	m.packet_len = sizeof(pkt);
	assert_int_equal(glm_msg_encode(&m, key, buf, 100), -EMSGSIZE);
	n = glm_msg_encode(&m, key, buf, sizeof(buf));
	assert_true(n > 1500);
	assert_int_equal(glm_msg_parse(buf, (size_t)n, &p), GLM_PE_OK);
	assert_int_equal(p.packet_len, 1500);
	m.type = 0;
	assert_int_equal(glm_msg_encode(&m, key, buf, sizeof(buf)), -EINVAL);
}

#define S 1000000000ull

/* The window around the receiver's clock, and the receiver's start. */
static void test_seq_window(void **state)
{
	const uint64_t now = 1800000000ull * S, since = now - 10 * S;

	(void)state;
	assert_int_equal(glm_seq_fresh(now, now, since), GLM_PE_OK);
	assert_int_equal(glm_seq_fresh(now + GLM_SEQ_FUTURE_NS, now, since), GLM_PE_OK);
	assert_int_equal(glm_seq_fresh(now + GLM_SEQ_FUTURE_NS + 1, now, since), GLM_PE_SEQ_AHEAD);
	assert_int_equal(glm_seq_fresh(UINT64_MAX, now, since), GLM_PE_SEQ_AHEAD);
	assert_int_equal(glm_seq_fresh(since, now, since), GLM_PE_OK);
	assert_int_equal(glm_seq_fresh(since - 1, now, since), GLM_PE_SEQ_RESTART);
	/* started long ago: the past bound is what holds */
	assert_int_equal(glm_seq_fresh(now - GLM_SEQ_PAST_NS, now, 0), GLM_PE_OK);
	assert_int_equal(glm_seq_fresh(now - GLM_SEQ_PAST_NS - 1, now, 0), GLM_PE_SEQ_OLD);
	assert_int_equal(glm_seq_fresh(0, now, 0), GLM_PE_SEQ_OLD);
	assert_int_equal(glm_seq_fresh(1, now, since), GLM_PE_SEQ_OLD);
	/* a clock near either end of the space: no wrap-around */
	assert_int_equal(glm_seq_fresh(UINT64_MAX, UINT64_MAX - S, 0), GLM_PE_OK);
	assert_int_equal(glm_seq_fresh(0, UINT64_MAX, 0), GLM_PE_SEQ_OLD);
	assert_int_equal(glm_seq_fresh(UINT64_MAX, 5, 0), GLM_PE_SEQ_AHEAD);
	assert_int_equal(glm_seq_fresh(5, 10, 0), GLM_PE_OK);
	/* the reasons have names, counted as drop_<name> */
	assert_string_equal(glm_parse_err_name(GLM_PE_SEQ_AHEAD), "seq ahead");
	assert_string_equal(glm_parse_err_name(GLM_PE_SEQ_OLD), "seq too old");
	assert_string_equal(glm_parse_err_name(GLM_PE_SEQ_RESTART), "seq before start");
	assert_string_equal(glm_parse_err_name(GLM_PE_REPLAY), "replay");
}

/* Per key: strictly above the last taken; bounded, never forgetting
 * to nothing. */
static void test_replay(void **state)
{
	static struct glm_replay r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(glm_replay_check(&r, 7, 100), GLM_PE_OK);
	assert_int_equal(glm_replay_check(&r, 7, 100), GLM_PE_REPLAY);
	assert_int_equal(glm_replay_check(&r, 7, 99), GLM_PE_REPLAY);
	assert_int_equal(glm_replay_check(&r, 7, 101), GLM_PE_OK);
	assert_int_equal(glm_replay_check(&r, 8, 50), GLM_PE_OK);   /* keys are apart */
	assert_int_equal(glm_replay_check(&r, 8, 50), GLM_PE_REPLAY);
	assert_int_equal(glm_replay_check(&r, 7, 101), GLM_PE_REPLAY);
	/* full: the key heard from longest ago (8, at 50) is forgotten, and
	 * anything of it up to 50 stays refused */
	for (uint32_t k = 1000; r.n < GLM_REPLAY_KEYS; k++)
		assert_int_equal(glm_replay_check(&r, k, 1000 + k), GLM_PE_OK);
	assert_int_equal(glm_replay_check(&r, 9, 60), GLM_PE_OK);
	assert_int_equal(r.n, GLM_REPLAY_KEYS);
	assert_true(r.floor == 50);
	assert_int_equal(glm_replay_check(&r, 8, 50), GLM_PE_REPLAY);
	assert_int_equal(glm_replay_check(&r, 7, 101), GLM_PE_REPLAY);
	/* another new key: 9 (at 60) goes, and its 60 stays refused */
	assert_int_equal(glm_replay_check(&r, 10, 55), GLM_PE_OK);
	assert_true(r.floor == 60);
	assert_int_equal(glm_replay_check(&r, 9, 60), GLM_PE_REPLAY);
	assert_int_equal(glm_replay_check(&r, 9, 61), GLM_PE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_lladdr), cmocka_unit_test(test_every_bit_flip_caught),
		cmocka_unit_test(test_refusals), cmocka_unit_test(test_encode_limits), cmocka_unit_test(test_seq_window),
		cmocka_unit_test(test_replay),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
