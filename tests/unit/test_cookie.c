/* Unit tests of address validation (lib/cookie.c): a cookie is taken back
 * only from the address, port and key it was made for, within one
 * rotation of its secret; the COOKIE message is never larger than the
 * request it answers. And lib/keylog.c: one line per key per interval. */
#include "cookie.h"
#include "keylog.h"
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#define S 1000000000ull
#define T0 (1000 * GLM_COOKIE_ROTATE_NS + 5 * S)   /* early in a bucket */

static struct sockaddr_in6 sa(const char *addr, uint16_t port)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	assert_int_equal(inet_pton(AF_INET6, addr, &s.sin6_addr), 1);
	return s;
}

static void test_valid_and_bound(void **state)
{
	struct glm_cookie_secret s = { 0 };
	struct sockaddr_in6 a = sa("2001:db8:1::99", 7777);
	struct sockaddr_in6 other = sa("2001:db8:1::66", 7777), port = sa("2001:db8:1::99", 7778);
	uint8_t c[GLM_COOKIE_LEN];

	(void)state;
	glm_cookie_make(&s, T0, &a, 31, c);
	assert_true(glm_cookie_check(&s, T0, &a, 31, c));
	assert_true(glm_cookie_check(&s, T0 + 10 * S, &a, 31, c));
	assert_false(glm_cookie_check(&s, T0, &other, 31, c));   /* wrong address */
	assert_false(glm_cookie_check(&s, T0, &port, 31, c));    /* wrong port */
	assert_false(glm_cookie_check(&s, T0, &a, 32, c));       /* another key's */
	glm_cookie_wipe(&s);
}

static void test_tampered(void **state)
{
	struct glm_cookie_secret s = { 0 };
	struct sockaddr_in6 a = sa("2001:db8:1::99", 7777);
	uint8_t c[GLM_COOKIE_LEN];

	(void)state;
	glm_cookie_make(&s, T0, &a, 31, c);
	for (unsigned i = 0; i < 8 * GLM_COOKIE_LEN; i++) {
		c[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_false(glm_cookie_check(&s, T0, &a, 31, c));
		c[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	assert_true(glm_cookie_check(&s, T0, &a, 31, c));
	memset(c, 0, sizeof(c));
	assert_false(glm_cookie_check(&s, T0, &a, 31, c));
}

static void test_rotation(void **state)
{
	struct glm_cookie_secret s = { 0 };
	struct sockaddr_in6 a = sa("2001:db8:1::99", 7777);
	uint8_t c[GLM_COOKIE_LEN], c2[GLM_COOKIE_LEN];

	(void)state;
	glm_cookie_make(&s, T0, &a, 31, c);
	/* one rotation later: made under the previous secret, still taken */
	assert_true(glm_cookie_check(&s, T0 + GLM_COOKIE_ROTATE_NS, &a, 31, c));
	glm_cookie_make(&s, T0 + GLM_COOKIE_ROTATE_NS, &a, 31, c2);
	assert_memory_not_equal(c, c2, GLM_COOKIE_LEN);
	/* two: expired; the one made after the first rotation still lives */
	assert_false(glm_cookie_check(&s, T0 + 2 * GLM_COOKIE_ROTATE_NS, &a, 31, c));
	assert_true(glm_cookie_check(&s, T0 + 2 * GLM_COOKIE_ROTATE_NS, &a, 31, c2));
	assert_false(glm_cookie_check(&s, T0 + 3 * GLM_COOKIE_ROTATE_NS, &a, 31, c2));
	/* a server silent for longer forgets both secrets at once */
	glm_cookie_make(&s, T0 + 3 * GLM_COOKIE_ROTATE_NS, &a, 31, c);
	assert_false(glm_cookie_check(&s, T0 + 10 * GLM_COOKIE_ROTATE_NS, &a, 31, c));
	/* another server (another secret) does not take it */
	struct glm_cookie_secret other = { 0 };
	glm_cookie_make(&s, T0, &a, 31, c);
	assert_false(glm_cookie_check(&other, T0, &a, 31, c));
}

static void test_reply_no_larger(void **state)
{
	static const uint8_t key[GLM_KEY_LEN] = { 7 };
	struct glm_cookie_secret s = { 0 };
	struct sockaddr_in6 a = sa("2001:db8:1::99", 7777);
	struct glm_msg req = { .type = GLM_QUERY, .key_id = 8, .seq = 42 }, c, p;
	uint8_t buf[256], out[256];
	ssize_t n, k;

	(void)state;
	/* the smallest request served with a cookie: QUERY with its HA */
	GLM_SET(&req, ha, GLM_TLV_HA, a.sin6_addr);
	n = glm_msg_encode(&req, key, buf, sizeof(buf));
	assert_int_equal(n, GLM_COOKIE_MSG_LEN);
	assert_int_equal(glm_msg_len(&req), n);
	assert_int_equal(glm_msg_parse(buf, (size_t)n, &p), GLM_PE_OK);
	assert_int_equal(p.len, n);
	assert_true(glm_cookie_reply(&s, T0, &p, &a, &c));
	assert_int_equal(c.type, GLM_COOKIE);
	assert_true(c.seq == 42 && c.key_id == 8);
	k = glm_msg_encode(&c, key, out, sizeof(out));
	assert_true(k > 0 && k <= n);
	assert_int_equal(k, GLM_COOKIE_MSG_LEN);
	/* the cookie survives the wire and proves the address */
	assert_int_equal(glm_msg_parse(out, (size_t)k, &p), GLM_PE_OK);
	assert_true(GLM_HAS(&p, GLM_TLV_COOKIE));
	req.seq = 43;
	memcpy(req.cookie, p.cookie, GLM_COOKIE_LEN);
	req.present |= 1u << GLM_TLV_COOKIE;
	n = glm_msg_encode(&req, key, buf, sizeof(buf));
	assert_int_equal(glm_msg_parse(buf, (size_t)n, &p), GLM_PE_OK);
	assert_true(glm_cookie_proven(&s, T0 + S, &p, &a));
	struct sockaddr_in6 b = sa("2001:db8:1::98", 7777);
	assert_false(glm_cookie_proven(&s, T0 + S, &p, &b));
	/* a request shorter than a COOKIE message gets nothing */
	p.len = GLM_COOKIE_MSG_LEN - 1;
	assert_false(glm_cookie_reply(&s, T0, &p, &a, &c));
}

static void test_keylog(void **state)
{
	struct glm_keylog l = { 0 };
	uint64_t quiet = 99, t = 5 * S;

	(void)state;
	assert_true(glm_keylog_due(&l, 31, t, &quiet));
	assert_int_equal(quiet, 0);
	for (int i = 0; i < 5; i++)
		assert_false(glm_keylog_due(&l, 31, t + (uint64_t)i * S, &quiet));
	/* another key has its own interval */
	assert_true(glm_keylog_due(&l, 32, t, &quiet));
	assert_true(glm_keylog_due(&l, 31, t + GLM_KEYLOG_INTERVAL_NS, &quiet));
	assert_int_equal(quiet, 5);
	/* more keys than slots: the table stays bounded, new keys still log */
	for (uint32_t k = 100; k < 100 + 2 * GLM_KEYLOG_SLOTS; k++)
		assert_true(glm_keylog_due(&l, k, t + GLM_KEYLOG_INTERVAL_NS, &quiet));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_and_bound), cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_rotation), cmocka_unit_test(test_reply_no_larger),
		cmocka_unit_test(test_keylog),
	};
	return cmocka_run_group_tests_name("cookie", tests, NULL, NULL);
}
