/* Unit tests of the relay: the pure pieces (which groups may be relayed,
 * inner-packet checks, the packet hash, the rings, the replay window, the
 * zero-copy RELAYED_PACKET framing against glm_msg_encode, the checksum
 * completion) and the client's and server's session logic with the event
 * loop stubbed out: reference counting, one session per group, duplicate
 * suppression in both orders of the native and relayed streams, each
 * session's timer, and the requests a relay must refuse. The modules are
 * compiled in (not linked) so the tests can reach their private state;
 * a timer is fired by hand, as the loop would (fire()). */
#include "../../agent/relay_client.c"
#include "../../agent/relay_server.c"
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "unit.h"
#include "unit_keys.h"

/* ---- stubs of agentd.c ------------------------------------------------ */
#define MAX_SENT 64
static struct glm_msg sent[MAX_SENT];
static uint32_t sent_key[MAX_SENT];
static unsigned nsent;

int agentd_watch(struct agentd *a, int fd, agentd_fd_fn fn, void *arg) { (void)a; (void)fd; (void)fn; (void)arg; return 0; }
void agentd_unwatch(struct agentd *a, int fd) { (void)a; (void)fd; }
int agentd_bridge_by_ifindex(const struct agentd *a, int ifindex) { (void)a; (void)ifindex; return 0; }
int agentd_send(struct agentd *a, const struct sockaddr_in6 *to, struct glm_msg *m, const struct glm_key *key)
{
	(void)a;
	(void)to;
	if (nsent < MAX_SENT) {
		sent_key[nsent] = key ? key->id : 0;
		sent[nsent++] = *m;
	}
	return 0;
}

static unsigned injected;
static uint8_t injected_hop;
static int fake_inject(struct agentd *a, int bridge, const struct iovec *iov, int iovcnt, const uint8_t mac[6])
{
	(void)a;
	(void)bridge;
	assert_int_equal(iovcnt, 3);
	assert_int_equal(mac[0], 0x33);
	injected_hop = *(const uint8_t *)iov[1].iov_base;
	injected++;
	return 0;
}

/* An IPv6/UDP packet src -> group with payload byte n repeated. */
static size_t mkpkt(uint8_t *p, const char *src, const char *group, uint8_t n, uint8_t hops)
{
	struct in6_addr s = ip6(src), g = ip6(group);
	size_t plen = 8 + 100;

	memset(p, 0, IP6_HDR_LEN + plen);
	p[0] = 0x60;
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
	p[6] = 17;
	p[7] = hops;
	memcpy(p + 8, &s, 16);
	memcpy(p + 24, &g, 16);
	p[40] = 0x12; p[41] = 0x34; p[42] = 0x15; p[43] = 0x7c;
	p[44] = (uint8_t)(plen >> 8);
	p[45] = (uint8_t)plen;
	memset(p + 48, n, 100);
	relay_udp_csum_fix(p, IP6_HDR_LEN + plen);
	return IP6_HDR_LEN + plen;
}

/* ---- pure helpers ----------------------------------------------------- */
static void test_group_status(void **state)
{
	struct in6_addr g, any = IN6ADDR_ANY_INIT, src;

	(void)state;
	g = ip6("ff3e::1234");
	assert_int_equal(relay_group_status(&g, &any), GLM_ST_OK);
	g = ip6("ff05::2");
	assert_int_equal(relay_group_status(&g, NULL), GLM_ST_OK);
	g = ip6("ff02::1");
	assert_int_equal(relay_group_status(&g, NULL), GLM_ST_DENIED);
	g = ip6("ff01::1");
	assert_int_equal(relay_group_status(&g, NULL), GLM_ST_DENIED);
	g = ip6("ff00::1");
	assert_int_equal(relay_group_status(&g, NULL), GLM_ST_DENIED);
	g = ip6("2001:db8::1");
	assert_int_equal(relay_group_status(&g, NULL), GLM_ST_BADREQ);
	g = ip6("ff3e::1");
	src = ip6("ff3e::2");
	assert_int_equal(relay_group_status(&g, &src), GLM_ST_BADREQ);
	src = ip6("::1");
	assert_int_equal(relay_group_status(&g, &src), GLM_ST_BADREQ);
}

static void test_pkt_check(void **state)
{
	uint8_t p[256];
	size_t n = mkpkt(p, "2001:db8:1::1", "ff3e::1", 1, 64);
	struct in6_addr g = ip6("ff3e::1"), g2 = ip6("ff3e::2"), s = ip6("2001:db8:1::1"), s2 = ip6("2001:db8:1::2");
	struct in6_addr any = IN6ADDR_ANY_INIT;

	(void)state;
	assert_int_equal(relay_pkt_check(p, n, &g, NULL), RELAY_PKT_OK);
	assert_int_equal(relay_pkt_check(p, n, &g, &any), RELAY_PKT_OK);
	assert_int_equal(relay_pkt_check(p, n, &g, &s), RELAY_PKT_OK);
	assert_int_equal(relay_pkt_check(p, n, &g, &s2), RELAY_PKT_SOURCE);
	assert_int_equal(relay_pkt_check(p, n, &g2, NULL), RELAY_PKT_GROUP);
	assert_int_equal(relay_pkt_check(p, n - 1, &g, NULL), RELAY_PKT_LENGTH);
	assert_int_equal(relay_pkt_check(p, n + 1, &g, NULL), RELAY_PKT_LENGTH);
	assert_int_equal(relay_pkt_check(p, 39, &g, NULL), RELAY_PKT_SHORT);
	p[0] = 0x40;
	assert_int_equal(relay_pkt_check(p, n, &g, NULL), RELAY_PKT_VERSION);
	p[0] = 0x60;
	p[4] = p[5] = 0;      /* jumbogram: payload length 0 */
	assert_int_equal(relay_pkt_check(p, n, &g, NULL), RELAY_PKT_LENGTH);
}

static void test_hash(void **state)
{
	uint8_t k[crypto_shorthash_KEYBYTES] = { 7 }, a[256], b[256];
	size_t n = mkpkt(a, "2001:db8:1::1", "ff3e::1", 1, 64);

	(void)state;
	mkpkt(b, "2001:db8:1::1", "ff3e::1", 1, 1);   /* the re-sent copy: hop limit 1 */
	b[1] |= 0x0f;                                  /* and a flow label */
	assert_true(relay_pkt_hash(k, a, n) == relay_pkt_hash(k, b, n));
	mkpkt(b, "2001:db8:1::1", "ff3e::1", 2, 64);
	assert_true(relay_pkt_hash(k, a, n) != relay_pkt_hash(k, b, n));
	mkpkt(b, "2001:db8:1::2", "ff3e::1", 1, 64);
	assert_true(relay_pkt_hash(k, a, n) != relay_pkt_hash(k, b, n));
	mkpkt(b, "2001:db8:1::1", "ff3e::2", 1, 64);
	assert_true(relay_pkt_hash(k, a, n) != relay_pkt_hash(k, b, n));
}

static void test_ring(void **state)
{
	static struct relay_ring r;

	(void)state;
	assert_false(relay_ring_has(&r, 0));
	assert_false(relay_ring_has(&r, 5));
	relay_ring_add(&r, 5);
	assert_true(relay_ring_has(&r, 5));
	for (uint64_t i = 100; i < 100 + RELAY_RING - 1; i++)
		relay_ring_add(&r, i);
	assert_true(relay_ring_has(&r, 5));           /* still within the ring */
	relay_ring_add(&r, 1000);
	assert_false(relay_ring_has(&r, 5));          /* evicted by the oldest-first overwrite */
	assert_true(relay_ring_has(&r, 1000));
}

static void test_window(void **state)
{
	struct relay_window w = { 0 };

	(void)state;
	assert_true(relay_window_check(&w, 1000));
	assert_false(relay_window_check(&w, 1000));   /* replay */
	assert_true(relay_window_check(&w, 1002));
	assert_true(relay_window_check(&w, 1001));    /* reordered, within the window */
	assert_false(relay_window_check(&w, 1001));
	assert_true(relay_window_check(&w, 1100));
	assert_false(relay_window_check(&w, 1002));   /* too old */
	assert_true(relay_window_check(&w, 1100 - 63));
	assert_false(relay_window_check(&w, 1100 - 64));
	assert_true(relay_window_check(&w, UINT64_C(1) << 62)); /* a new relay session */
	assert_false(relay_window_check(&w, 1101));
}

/* The server's scatter-list frame is byte for byte glm_msg_encode()'s. */
static void frame_vs_encode(bool ssm)
{
	uint8_t key[GLM_KEY_LEN] = { 9 }, pkt[256], hdr[RELAY_FRAME_HDR_SSM], frame[512], ref[512], mac[GLM_MAC_LEN];
	size_t n = mkpkt(pkt, "2001:db8:1::1", "ff3e::1", 3, 64), hl;
	struct in6_addr g = ip6("ff3e::1"), s = ip6("2001:db8:1::1");
	struct glm_msg m = { .type = GLM_RELAYED_PACKET, .key_id = 77, .seq = 0x1122334455667788ull }, p;
	crypto_auth_hmacsha256_state st;
	ssize_t rn;

	GLM_SET(&m, group, GLM_TLV_GROUP, g);
	if (ssm)
		GLM_SET(&m, source, GLM_TLV_SOURCE, s);
	m.packet = pkt;
	m.packet_len = (uint16_t)n;
	m.present |= 1u << GLM_TLV_PACKET;
	rn = glm_msg_encode(&m, key, ref, sizeof(ref));
	assert_true(rn > 0);

	hl = relay_frame_hdr(hdr, 77, 0x1122334455667788ull, &g, ssm ? &s : NULL, n);
	assert_int_equal(hl, ssm ? RELAY_FRAME_HDR_SSM : RELAY_FRAME_HDR);
	crypto_auth_hmacsha256_init(&st, key, GLM_KEY_LEN);
	crypto_auth_hmacsha256_update(&st, hdr, hl);
	crypto_auth_hmacsha256_update(&st, pkt, n);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(frame, hdr, hl);
	memcpy(frame + hl, pkt, n);
	memcpy(frame + hl + n, mac, GLM_MAC_LEN);
	assert_int_equal(hl + n + GLM_MAC_LEN, (size_t)rn);
	assert_memory_equal(frame, ref, (size_t)rn);
	assert_int_equal(glm_msg_parse(frame, (size_t)rn, &p), GLM_PE_OK);
	assert_int_equal(glm_msg_verify(frame, (size_t)rn, key), GLM_PE_OK);
	assert_int_equal(p.packet_len, n);
}

static void test_frame(void **state)
{
	(void)state;
	frame_vs_encode(false);
	frame_vs_encode(true);
}

static void test_csum(void **state)
{
	uint8_t p[256];
	size_t n = mkpkt(p, "2001:db8:1::1", "ff3e::1", 0xab, 64);
	uint8_t good[2] = { p[46], p[47] };
	uint64_t sum = 0;

	(void)state;
	/* a correct checksum makes the one's complement sum 0xffff */
	for (size_t i = 8; i < 40; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	sum += (n - 40) + 17;
	for (size_t i = 40; i < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff);
	/* an offload-pending field (any value) is recomputed to the same */
	p[46] = 0x5a;
	p[47] = 0xa5;
	assert_int_equal(relay_udp_csum_fix(p, n), 1);
	assert_int_equal(p[46], good[0]);
	assert_int_equal(p[47], good[1]);
	p[6] = 6;                                      /* not UDP: untouched */
	assert_int_equal(relay_udp_csum_fix(p, n), 0);
}

static struct agentd A;
static struct glm_keyring ring;
#define RELAY keyring_find(&A.keys, 1)
#define PEER keyring_find(&A.keys, 3)

static int setup(void **state)
{
	/* we are agent 2; agent 1 is the relay we ask, agent 3 an agent
	 * asking us (the relay server tests) */
	static const char *const kr[] = { "1 agent prefix 2001:db8:2::1/128", "2 agent",
					  "3 agent prefix 2001:db8:2::2/128", "4 agent", NULL };

	static struct agent_bridge brs[2];

	(void)state;
	memset(&A, 0, sizeof(A));
	if (evloop_new(&A.loop) < 0)
		return -1;
	keyring_free(&ring);
	assert_int_equal(unit_keyring(&ring, 2, kr), 0);
	A.keys = ring;
	A.key = keyring_self(&A.keys);
	A.udp = -1;
	A.nbr = 2;
	A.br = brs;
	memset(brs, 0, sizeof(brs));
	strcpy(A.br[0].name, "br0");
	strcpy(A.br[1].name, "br1");
	A.conf.session_timeout_s = 9;
	A.conf.has_relay = true;
	A.conf.relay.sin6_family = AF_INET6;
	A.conf.relay.sin6_addr = ip6("2001:db8:2::1");
	A.conf.relay.sin6_port = htons(5310);
	nsent = 0;
	injected = 0;
	if (relay_client_init(&A) < 0)
		return -1;
	A.relay_client->inject = fake_inject;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	relay_client_free(&A);
	relay_server_free(&A);
	/* every session's timer went with it */
	assert_int_equal(evloop_timers(A.loop), 0);
	evloop_free(A.loop);
	return 0;
}

/* What the loop does with a timer that came due. */
static void fire(struct ev_timer *t)
{
	assert_true(ev_timer_armed(t));
	ev_timer_stop(t);
	t->fn(t->arg);
}

static struct rc_session *the_session(void)
{
	struct relay_client *rc = A.relay_client;

	assert_int_equal(rc->nsess, 1);
	return rc->sess[0];
}

static void respond(uint16_t status)
{
	struct glm_msg r = { .type = GLM_RELAY_RESPONSE, .seq = sent[nsent - 1].seq, .key_id = 2 };

	GLM_SET(&r, group, GLM_TLV_GROUP, sent[nsent - 1].group);
	GLM_SET(&r, status, GLM_TLV_STATUS, status);
	GLM_SET(&r, lifetime, GLM_TLV_LIFETIME, 9);
	relay_client_msg(&A, &r, RELAY, &A.conf.relay);
}

static uint64_t relay_seq = 5000;

static void relayed(const uint8_t *pkt, size_t n, const struct glm_key *key)
{
	struct glm_msg m = { .type = GLM_RELAYED_PACKET, .seq = relay_seq++, .key_id = key->id };

	m.group = ip6("ff3e::1");
	m.present |= 1u << GLM_TLV_GROUP | 1u << GLM_TLV_PACKET;
	m.packet = pkt;
	m.packet_len = (uint16_t)n;
	relay_client_msg(&A, &m, key, &A.conf.relay);
}

static void test_client_refcount(void **state)
{
	struct in6_addr g = ip6("ff3e::1"), ll = ip6("ff02::1");
	struct rc_session *s;

	(void)state;
	assert_int_equal(relay_client_want(&A, 0, &g, NULL, NULL), 0);
	assert_int_equal(relay_client_want(&A, 0, &g, NULL, NULL), 0);
	assert_int_equal(relay_client_want(&A, 1, &g, NULL, NULL), 0);
	assert_int_equal(relay_client_want(&A, 0, &ll, NULL, NULL), -EINVAL);
	assert_int_equal(relay_client_want(&A, 5, &g, NULL, NULL), -EINVAL);
	A.conf.has_relay = false;
	assert_int_equal(relay_client_want(&A, 0, &ll, NULL, &(struct sockaddr_in6){ 0 }), -EINVAL);
	assert_int_equal(relay_client_want(&A, 0, &(struct in6_addr){ .s6_addr = { 0xff, 0x3e, [15] = 9 } }, NULL,
					   &(struct sockaddr_in6){ 0 }), -EDESTADDRREQ);
	A.conf.has_relay = true;
	/* three VMs on two bridges: one session, one request */
	s = the_session();
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].type, GLM_RELAY_REQUEST);
	assert_int_equal(sent_key[0], 1);        /* sealed for the relay */
	assert_int_equal(sent[0].lifetime, 9);
	assert_int_equal(s->leg[0].refs, 2);
	assert_int_equal(s->leg[1].refs, 1);
	assert_int_equal(s->state, RC_REQUESTED);
	/* unanswered: retransmitted with backoff */
	fire(&s->timer);
	assert_int_equal(nsent, 2);
	assert_int_equal(s->retry_ms, 2 * RC_RETRY_MIN_MS);
	assert_true(ev_timer_armed(&s->timer));
	respond(GLM_ST_OK);
	assert_int_equal(s->state, RC_ACTIVE);
	assert_int_equal(s->lifetime, 9);
	/* refresh at a third of the lease */
	assert_true(s->timer.due_ns - now_ns() <= 3000000000ull);
	fire(&s->timer);
	assert_int_equal(nsent, 3);
	assert_int_equal(sent[2].type, GLM_RELAY_REQUEST);
	relay_client_release(&A, 0, &g, NULL);
	relay_client_release(&A, 1, &g, NULL);
	assert_int_equal(nsent, 3);
	relay_client_release(&A, 0, &g, NULL);        /* the last reference */
	assert_int_equal(nsent, 4);
	assert_int_equal(sent[3].type, GLM_RELAY_STOP);
	assert_int_equal(A.relay_client->nsess, 0);
	assert_int_equal(evloop_timers(A.loop), 0);
	relay_client_release(&A, 0, &g, NULL);        /* one too many: harmless */
	assert_int_equal(nsent, 4);
}

static void test_client_denied(void **state)
{
	struct in6_addr g = ip6("ff3e::1");
	struct rc_session *s;

	(void)state;
	assert_int_equal(relay_client_want(&A, 0, &g, NULL, NULL), 0);
	s = the_session();
	respond(GLM_ST_STALE);                        /* overtaken request: not a refusal */
	assert_int_equal(s->state, RC_REQUESTED);
	assert_true(s->awaiting);
	respond(GLM_ST_DENIED);
	assert_int_equal(s->state, RC_DENIED);
	assert_true(s->timer.due_ns - now_ns() > 20000000000ull);
	/* asked again after the pause */
	fire(&s->timer);
	assert_int_equal(s->state, RC_REQUESTED);
	assert_int_equal(sent[nsent - 1].type, GLM_RELAY_REQUEST);
}

static void test_client_packets(void **state)
{
	struct in6_addr g = ip6("ff3e::1");
	const struct glm_key *other = keyring_find(&A.keys, 4);
	struct rc_session *s;
	uint8_t p[256];
	size_t n = mkpkt(p, "2001:db8:1::1", "ff3e::1", 1, 64);

	(void)state;
	assert_int_equal(relay_client_want(&A, 0, &g, NULL, NULL), 0);
	s = the_session();
	/* packets before the RESPONSE are re-sent and prove the session */
	relayed(p, n, RELAY);
	assert_int_equal(injected, 1);
	assert_int_equal(injected_hop, 1);
	assert_int_equal(s->state, RC_ACTIVE);
	/* replayed sequence number */
	relay_seq--;
	relayed(p, n, RELAY);
	assert_int_equal(injected, 1);
	assert_int_equal(s->replayed, 1);
	/* sealed with another agent's key */
	relayed(p, n, other);
	assert_int_equal(injected, 1);
	assert_int_equal(s->wrong_key, 1);
	/* inner packet for another group, or with a lying length */
	mkpkt(p, "2001:db8:1::1", "ff3e::2", 1, 64);
	relayed(p, n, RELAY);
	assert_int_equal(s->invalid[RELAY_PKT_GROUP], 1);
	mkpkt(p, "2001:db8:1::1", "ff3e::1", 1, 64);
	relayed(p, n - 3, RELAY);
	assert_int_equal(s->invalid[RELAY_PKT_LENGTH], 1);
	assert_int_equal(injected, 1);
	assert_int_equal(s->leg[0].packets, 1);
}

/* Relay ahead of the native stream: packet k comes by relay, then
 * natively. From the first native packet on nothing more is re-sent. */
static void test_client_relay_leads(void **state)
{
	struct in6_addr g = ip6("ff3e::1");
	struct rc_session *s;
	uint8_t p[256];
	size_t n;

	(void)state;
	assert_int_equal(relay_client_want(&A, 0, &g, NULL, NULL), 0);
	s = the_session();
	respond(GLM_ST_OK);
	for (uint8_t k = 1; k <= 10; k++) {
		n = mkpkt(p, "2001:db8:1::1", "ff3e::1", k, 64);
		relayed(p, n, RELAY);
	}
	assert_int_equal(injected, 10);
	/* native packet 8 arrives (the relay led by 2) */
	n = mkpkt(p, "2001:db8:1::1", "ff3e::1", 8, 63);
	relay_client_native(&A, 0, p, n);
	assert_int_equal(s->leg[0].mode, LEG_DONE);
	assert_int_equal(s->state, RC_STOPPED);
	assert_false(ev_timer_armed(&s->timer));
	assert_int_equal(sent[nsent - 1].type, GLM_RELAY_STOP);
	/* relayed 11, 12 still in flight: dropped (native brings them) */
	for (uint8_t k = 11; k <= 12; k++) {
		n = mkpkt(p, "2001:db8:1::1", "ff3e::1", k, 64);
		relayed(p, n, RELAY);
	}
	for (uint8_t k = 9; k <= 12; k++) {
		n = mkpkt(p, "2001:db8:1::1", "ff3e::1", k, 63);
		relay_client_native(&A, 0, p, n);
	}
	assert_int_equal(injected, 10);
	assert_int_equal(s->leg[0].late, 2);
	/* a late copy of one the native stream brought counts as suppressed */
	n = mkpkt(p, "2001:db8:1::1", "ff3e::1", 12, 64);
	relayed(p, n, RELAY);
	assert_int_equal(s->leg[0].dup_suppressed, 1);
	assert_int_equal(injected, 10);
}

/* Relay behind the native stream: native starts at packet 5 while the
 * relay has delivered up to 2; relayed 3 and 4 (which native never
 * brought) are re-sent, relayed 5 matches a native one: from there on
 * nothing more is re-sent. No loss, no duplicate. */
static void test_client_relay_lags(void **state)
{
	struct in6_addr g = ip6("ff3e::1");
	struct rc_session *s;
	uint8_t p[256];
	size_t n;

	(void)state;
	assert_int_equal(relay_client_want(&A, 0, &g, NULL, NULL), 0);
	s = the_session();
	respond(GLM_ST_OK);
	for (uint8_t k = 1; k <= 2; k++) {
		n = mkpkt(p, "2001:db8:1::1", "ff3e::1", k, 64);
		relayed(p, n, RELAY);
	}
	for (uint8_t k = 5; k <= 7; k++) {
		n = mkpkt(p, "2001:db8:1::1", "ff3e::1", k, 63);
		relay_client_native(&A, 0, p, n);
	}
	assert_int_equal(s->leg[0].mode, LEG_CATCHUP);
	assert_int_equal(s->state, RC_STOPPED);
	for (uint8_t k = 3; k <= 8; k++) {
		n = mkpkt(p, "2001:db8:1::1", "ff3e::1", k, 64);
		relayed(p, n, RELAY);
	}
	assert_int_equal(injected, 4);                 /* 1, 2, 3, 4 */
	assert_int_equal(s->leg[0].mode, LEG_DONE);
	assert_int_equal(s->leg[0].dup_suppressed, 3); /* 5, 6, 7 */
	assert_int_equal(s->leg[0].late, 1);           /* 8: native brings it */
}

/* A native stream on one bridge does not stop the relay another needs. */
static void test_client_two_bridges(void **state)
{
	struct in6_addr g = ip6("ff3e::1");
	struct rc_session *s;
	uint8_t p[256];
	size_t n = mkpkt(p, "2001:db8:1::1", "ff3e::1", 1, 64);

	(void)state;
	assert_int_equal(relay_client_want(&A, 0, &g, NULL, NULL), 0);
	assert_int_equal(relay_client_want(&A, 1, &g, NULL, NULL), 0);
	s = the_session();
	respond(GLM_ST_OK);
	relay_client_native(&A, 0, p, n);
	assert_int_equal(s->state, RC_ACTIVE);
	relayed(p, n, RELAY);
	assert_int_equal(injected, 1);                 /* on br1 only */
	relay_client_release(&A, 1, &g, NULL);         /* br1 no longer needs it */
	assert_int_equal(s->state, RC_STOPPED);
	assert_int_equal(sent[nsent - 1].type, GLM_RELAY_STOP);
}

static void test_client_status(void **state)
{
	struct in6_addr g = ip6("ff3e::1");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct printer p;

	(void)state;
	assert_int_equal(relay_client_want(&A, 0, &g, NULL, NULL), 0);
	print_init(&p, f, true);
	print_open_object(&p, NULL);
	relay_client_status(&A, &p);
	print_close_object(&p);
	fclose(f);
	assert_true(print_ok(&p));
	assert_non_null(strstr(buf, "{\"relays\":[{\"group\":\"ff3e::1\""));
	assert_non_null(strstr(buf, "\"bridge\":\"br0\",\"refs\":1,\"state\":\"requested\""));
	assert_non_null(strstr(buf, "\"dup_suppressed\":0"));
	free(buf);

	/* the same fields as one text line */
	f = open_memstream(&buf, &len);
	print_init(&p, f, false);
	relay_client_status(&A, &p);
	fclose(f);
	assert_true(print_ok(&p));
	assert_non_null(strstr(buf, "relay ff3e::1 source :: via "));
	assert_non_null(strstr(buf, " bridge br0: refs 1, requested, "));
	assert_non_null(strstr(buf, ", 0 duplicates suppressed, 0 late, 0 invalid, 0 replayed\n"));
	free(buf);
}

/* ---- the server: refusals --------------------------------------------- */
static struct relay_server *fake_server(void)
{
	struct relay_server *rs = calloc(1, sizeof(*rs));

	assert_non_null(rs);
	rs->pkt_fd = -1;
	strcpy(rs->ifname, "test");
	A.relay_server = rs;
	return rs;
}

static struct sockaddr_in6 agent_at(const char *addr)
{
	struct sockaddr_in6 from = { .sin6_family = AF_INET6, .sin6_port = htons(5310) };

	from.sin6_addr = ip6(addr);
	return from;
}

/* A request from `from`; with the server's cookie for it if cookie. */
static void request_from(const struct sockaddr_in6 *from, const char *group, const struct glm_key *key, uint64_t seq,
			 bool cookie)
{
	struct glm_msg m = { .type = GLM_RELAY_REQUEST, .seq = seq, .key_id = key ? key->id : 99 };

	if (group)
		GLM_SET(&m, group, GLM_TLV_GROUP, ip6(group));
	GLM_SET(&m, lifetime, GLM_TLV_LIFETIME, 30);
	if (cookie)
		glm_cookie_add(&A.relay_server->cookies, now_ns(), from, m.key_id, &m);
	m.len = (uint16_t)glm_msg_len(&m);
	relay_server_msg(&A, &m, key, from);
}

static void request(const char *group, const struct glm_key *key, uint64_t seq)
{
	struct sockaddr_in6 from = agent_at("2001:db8:2::2");

	request_from(&from, group, key, seq, true);
}

/* A request that carries no valid cookie for its source is answered with
 * a COOKIE message only: no larger than the request, nothing started,
 * nothing remembered (not even its seq). */
static void test_server_cookie(void **state)
{
	struct relay_server *rs = fake_server();
	struct sockaddr_in6 agent = agent_at("2001:db8:2::2"), victim = agent_at("2001:db8:2::99");
	struct glm_msg m = { .type = GLM_RELAY_REQUEST, .seq = 10 };

	(void)state;
	m.key_id = PEER->id;
	request_from(&victim, "ff02::1", PEER, 10, false);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].type, GLM_COOKIE);
	assert_int_equal(sent[0].seq, 10);
	assert_true(GLM_HAS(&sent[0], GLM_TLV_COOKIE));
	GLM_SET(&m, group, GLM_TLV_GROUP, ip6("ff02::1"));
	GLM_SET(&m, lifetime, GLM_TLV_LIFETIME, 30);
	assert_true(glm_msg_len(&sent[0]) <= glm_msg_len(&m));
	assert_int_equal(rs->cookies_sent, 1);
	assert_int_equal(rs->nsess, 0);
	/* the victim's cookie does not prove another address */
	memcpy(m.cookie, sent[0].cookie, GLM_COOKIE_LEN);
	m.present |= 1u << GLM_TLV_COOKIE;
	m.len = (uint16_t)glm_msg_len(&m);
	relay_server_msg(&A, &m, PEER, &agent);
	assert_int_equal(nsent, 2);
	assert_int_equal(sent[1].type, GLM_COOKIE);
	/* nor does a tampered one its own */
	m.cookie[0] ^= 1;
	relay_server_msg(&A, &m, PEER, &victim);
	assert_int_equal(sent[2].type, GLM_COOKIE);
	/* the real one does, with the same seq (unproven ones were not
	 * remembered), and the answer brings a fresh cookie */
	m.cookie[0] ^= 1;
	relay_server_msg(&A, &m, PEER, &victim);
	assert_int_equal(nsent, 4);
	assert_int_equal(sent[3].type, GLM_RELAY_RESPONSE);
	assert_int_equal(sent[3].status, GLM_ST_DENIED);
	assert_true(GLM_HAS(&sent[3], GLM_TLV_COOKIE));
	assert_int_equal(rs->cookies_sent, 3);
}

/* The client: a COOKIE for the request outstanding sends it again at
 * once with the cookie, and every later request to that relay echoes it. */
static void test_client_cookie(void **state)
{
	struct in6_addr g = ip6("ff3e::1");
	struct rc_session *s;
	struct glm_msg c = { .type = GLM_COOKIE };

	(void)state;
	c.key_id = 1;                     /* the relay's */
	assert_int_equal(relay_client_want(&A, 0, &g, NULL, NULL), 0);
	s = rc_find(A.relay_client, &g, &any6);
	assert_int_equal(nsent, 1);
	assert_false(GLM_HAS(&sent[0], GLM_TLV_COOKIE));
	c.seq = sent[0].seq;
	memset(c.cookie, 0xc0, GLM_COOKIE_LEN);
	c.present |= 1u << GLM_TLV_COOKIE;
	/* from anyone but the relay: ignored */
	struct sockaddr_in6 other = agent_at("2001:db8:2::66");
	relay_client_msg(&A, &c, RELAY, &other);
	assert_int_equal(nsent, 1);
	/* from the relay's address under another agent's key: ignored */
	relay_client_msg(&A, &c, keyring_find(&A.keys, 4), &s->relay);
	assert_int_equal(nsent, 1);
	relay_client_msg(&A, &c, RELAY, &s->relay);
	assert_int_equal(nsent, 2);
	assert_int_equal(sent[1].type, GLM_RELAY_REQUEST);
	assert_true(GLM_HAS(&sent[1], GLM_TLV_COOKIE) && sent[1].cookie[0] == 0xc0);
	assert_true(sent[1].seq > sent[0].seq);
	/* a relay that answers only with cookies gets RC_COOKIE_RESENDS */
	for (int i = 0; i < 5; i++) {
		c.seq = sent[nsent - 1].seq;
		relay_client_msg(&A, &c, RELAY, &s->relay);
	}
	assert_int_equal(nsent, 1 + 1 + (RC_COOKIE_RESENDS - 1));
	assert_int_equal(A.relay_client->cookie_rounds, 6);
}

/* An agent's key may be streamed to only inside the prefixes its keyring
 * line names: proven, authentic, and still denied elsewhere. */
static void test_server_prefix(void **state)
{
	struct relay_server *rs = fake_server();
	struct sockaddr_in6 outside = agent_at("2001:db8:2::77");

	(void)state;
	request_from(&outside, "ff3e::1", PEER, 10, true);     /* PEER serves 2001:db8:2::2/128 only */
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].type, GLM_RELAY_RESPONSE);
	assert_int_equal(sent[0].status, GLM_ST_DENIED);
	request_from(&outside, "ff3e::1", keyring_find(&A.keys, 4), 11, true);   /* no prefix at all */
	assert_int_equal(sent[1].status, GLM_ST_DENIED);
	assert_int_equal(rs->nsess, 0);
}

static void test_server_refuses(void **state)
{
	struct relay_server *rs = fake_server();

	(void)state;
	request("2001:db8::1", PEER, 10);
	assert_int_equal(nsent, 1);
	assert_int_equal(sent[0].type, GLM_RELAY_RESPONSE);
	assert_int_equal(sent[0].status, GLM_ST_BADREQ);
	assert_int_equal(sent[0].seq, 10);
	request("ff02::1", PEER, 11);
	assert_int_equal(sent[1].status, GLM_ST_DENIED);
	request(NULL, PEER, 12);
	assert_int_equal(sent[2].status, GLM_ST_BADREQ);
	/* no key (not in the keyring): nothing to answer with, no session */
	request("ff3e::1", NULL, 13);
	assert_int_equal(nsent, 3);
	assert_int_equal(rs->nsess, 0);
	assert_int_equal(rs->nmemb, 0);
	assert_int_equal(rs->refused[GLM_ST_DENIED], 2);   /* ff02::1, no key */
	assert_int_equal(rs->refused[GLM_ST_BADREQ], 2);
}

/* A request whose seq is not above the last taken from its key is a
 * replay: dropped unanswered (an answer would reflect it), counted. */
static void test_server_replay(void **state)
{
	struct relay_server *rs = fake_server();

	(void)state;
	request("ff02::1", PEER, 100);               /* taken (and refused) */
	assert_int_equal(nsent, 1);
	request("ff3e::1", PEER, 100);               /* replayed */
	request("ff3e::1", PEER, 99);                /* older */
	assert_int_equal(nsent, 1);
	assert_int_equal(A.drops[GLM_PE_REPLAY], 2);
	assert_int_equal(rs->nsess, 0);
	assert_int_equal(rs->nmemb, 0);
}

/* The seq of a RELAYED_PACKET counts the session's packets, but never
 * falls more than RS_SEQ_LAG_NS behind the clock: the agent takes only
 * seqs inside the window of glm_seq_fresh(), however slow the stream and
 * however long the session. */
static void test_server_seq_follows_clock(void **state)
{
	struct relay_server *rs = fake_server();
	struct rs_session s = { .key_id = 2 };
	const uint64_t t = 1800000000ull * 1000000000ull;
	uint8_t pkt[64] = { 0x60 };
	struct glm_msg m;

	(void)state;
	s.group = ip6("ff3e::1");
	s.seq = t - 500 * 1000000ull;                  /* half a second behind: counts on */
	rs_queue(&A, rs, &s, pkt, sizeof(pkt), t);
	rs_queue(&A, rs, &s, pkt, sizeof(pkt), t);
	assert_int_equal(rs->ntx, 2);
	assert_true(s.seq == t - 500 * 1000000ull + 2);
	s.seq = t - 61 * 1000000000ull;                /* a minute behind: moved up */
	rs_queue(&A, rs, &s, pkt, sizeof(pkt), t);
	assert_true(s.seq == t + 1);
	memcpy(&m.seq, rs->txhdr[2] + 8, 8);
	assert_true(be64toh(m.seq) == t);
	assert_int_equal(glm_seq_fresh(be64toh(m.seq), t, 0), GLM_PE_OK);
	rs->ntx = 0;
}

/* A real session needs a join: only where an interface takes one (the
 * test runs as root in whatever namespace it was started). */
static void test_server_session(void **state)
{
	struct relay_server *rs;

	(void)state;
	strcpy(A.conf.relay_ifname, "lo");
	if (relay_server_init(&A) < 0)
		skip();
	rs = A.relay_server;
	request("ff3e::4321", PEER, seq_next());
	if (sent[0].status != GLM_ST_OK)
		skip();                                /* lo may refuse multicast */
	assert_int_equal(rs->nsess, 1);
	assert_int_equal(rs->nmemb, 1);
	request("ff3e::4321", PEER, seq_next());    /* refresh: same session */
	assert_int_equal(rs->nsess, 1);
	assert_int_equal(rs->refreshes, 1);
	assert_int_equal(sent[1].lifetime, 9);        /* capped at session_timeout_s */
	assert_int_equal(rs->sess[0]->timer.due_ns, rs->sess[0]->expires_ns);
	fire(&rs->sess[0]->timer);
	assert_int_equal(rs->nsess, 0);
	assert_int_equal(rs->nmemb, 0);
	assert_int_equal(rs->expired, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_group_status),
		cmocka_unit_test(test_pkt_check),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_csum),
		cmocka_unit_test_setup_teardown(test_client_refcount, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_denied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_packets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_relay_leads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_relay_lags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_two_bridges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_cookie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_cookie, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_seq_follows_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_session, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
