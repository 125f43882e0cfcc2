/* The relay role: join multicast groups on behalf of remote agents and
 * forward every packet of a group, as the whole original IPv6 packet, by
 * unicast RELAYED_PACKET to each agent that asked for it.
 *
 * A session is (agent address and port, group, source); RELAY_REQUEST
 * creates or refreshes it, RELAY_STOP or silence beyond its lifetime ends
 * it (the session's own timer, armed at its expiry). Kernel memberships
 * are counted across sessions: one join on relay_ifname per (group,
 * source), left with its last session. Packets are captured below the IP
 * stack by one AF_PACKET socket on relay_ifname whose classic BPF filter
 * admits only the joined groups, read 64 at a time with recvmmsg, and sent
 * with sendmmsg as scatter lists (frame header, the captured packet, MAC),
 * so a packet is never copied in user space and a group with N agents
 * costs N HMACs and one receive.
 *
 * Nothing is streamed to an address that has not proved it receives there:
 * a RELAY_REQUEST without a valid cookie (cookie.h) is answered only with
 * a COOKIE message, smaller than the request, and starts nothing; one key
 * holds at most RELAY_SESSIONS_PER_KEY sessions; and rs_destination_ok()
 * is where a destination is checked against what its key may be sent. */
#include "agentd.h"
#include "cookie.h"
#include "keylog.h"
#include "log.h"
#include "relay.h"
#include "util.h"
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RS_MAX_SESSIONS 1024
#define RS_MAX_MEMBERS 256
#define RS_BATCH 64
#define RS_TX_MAX 256                /* datagrams per sendmmsg */
#define RS_LIFETIME_DEFAULT 30
#define RS_LIFETIME_MAX 3600
#define RS_SOCKBUF (8 << 20)
/* Above this many groups the filter admits all multicast of scope >= 3
 * (the exact match costs 9 instructions a group; BPF_MAXINSNS is 4096). */
#define RS_FILTER_GROUPS 400

/* One kernel membership on relay_ifname. A socket each: ASM and SSM joins
 * of the same group cannot share one. */
struct rs_member {
	struct in6_addr group, source;
	int fd;
	unsigned refs;
};

struct rs_session {
	struct agentd *agentd;           /* for its timer */
	struct ev_timer timer;           /* at expires_ns */
	struct sockaddr_in6 agent;
	struct in6_addr group, source;   /* source :: = any */
	uint32_t key_id;
	uint32_t local_id;                  /* ours: the id our frames carry */
	crypto_auth_hmacsha256_state hmac0; /* keyed once: per packet only the data is hashed */
	struct rs_member *member;
	uint64_t seq;                    /* of the next RELAYED_PACKET */
	uint64_t created_ns, refreshed_ns, expires_ns;
	uint32_t lifetime;
	uint64_t packets, bytes, drops;
};

/* A RELAYED_PACKET's seq counts the session's packets from the clock at
 * its start; a slow stream's count falls behind the clock, and the agent
 * takes only seqs within glm_seq_fresh()'s window: the count is moved up
 * to the clock whenever it is this far behind. */
#define RS_SEQ_LAG_NS (1000 * 1000000ull)

struct relay_server {
	int pkt_fd, ifindex;
	char ifname[IF_NAMESIZE];
	unsigned nsess, nmemb;
	struct rs_session *sess[RS_MAX_SESSIONS];
	struct rs_member *memb[RS_MAX_MEMBERS];
	/* the last request or stop taken per key: a replayed request (which
	 * would start a stream towards its original sender) is dropped */
	struct glm_replay seen;
	struct glm_cookie_secret cookies;
	struct glm_keylog limit_log;     /* a key at its session limit: logged once a minute */
	/* receive batch */
	struct mmsghdr rx[RS_BATCH];
	struct iovec rxiov[RS_BATCH];
	struct sockaddr_ll rxll[RS_BATCH];
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} rxcm[RS_BATCH];
	uint8_t *rxbuf;                  /* RS_BATCH * RELAY_PKT_MAXLEN */
	/* send batch: frame header, packet, MAC per datagram */
	unsigned ntx;
	struct mmsghdr tx[RS_TX_MAX];
	struct iovec txiov[RS_TX_MAX][3];
	uint8_t txhdr[RS_TX_MAX][RELAY_FRAME_HDR_SSM];
	uint8_t txmac[RS_TX_MAX][GLM_MAC_LEN];
	struct rs_session *txsess[RS_TX_MAX];
	/* counters */
	uint64_t rx_packets, rx_bytes, rx_batches, rx_unmatched, rx_bad, rx_trunc, rx_csum_fixed;
	uint64_t tx_packets, tx_bytes, tx_drops;
	uint64_t requests, refreshes, stops, expired, refused[GLM_ST_LIMIT + 1], cookies_sent;
};

/* Classic BPF over the IPv6 header (an AF_PACKET SOCK_DGRAM socket's
 * filter sees the packet from the network header on): IPv6, destination
 * one of the joined groups. */
static int rs_filter(struct relay_server *rs)
{
	struct sock_filter *f;
	struct sock_fprog prog;
	unsigned n = 0, ngroups = 0;
	int ret = 0;

	f = calloc(4 + 9 * (size_t)RS_FILTER_GROUPS + 8, sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (unsigned i = 0; i < rs->nmemb; i++)
		ngroups += rs->memb[i]->refs > 0;
	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0);
	f[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xf0);
	if (ngroups > RS_FILTER_GROUPS) {
		/* ff<flags><scope>: first byte 0xff, scope nibble >= 3 */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x60, 0, 5);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 24);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xff0f);
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0xff03, 0, 1);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0x40000);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	} else {
		/* not IPv6: jump over every group block to the final drop */
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x60, 1, 0);
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
		for (unsigned i = 0; i < rs->nmemb; i++) {
			const struct rs_member *m = rs->memb[i];
			bool dup = false;

			if (!m->refs)
				continue;
			for (unsigned j = 0; j < i; j++)
				dup |= rs->memb[j]->refs && !memcmp(&rs->memb[j]->group, &m->group, 16);
			if (dup)
				continue;
			for (unsigned w = 0; w < 4; w++) {
				uint32_t v = (uint32_t)m->group.s6_addr[4 * w] << 24 |
					     (uint32_t)m->group.s6_addr[4 * w + 1] << 16 |
					     (uint32_t)m->group.s6_addr[4 * w + 2] << 8 | m->group.s6_addr[4 * w + 3];

				f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 24 + 4 * w);
				/* mismatch: skip the rest of this block (incl. its accept) */
				f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, v, 0,
								      (uint8_t)(7 - 2 * w));
			}
			f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0x40000);
		}
		f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	}
	prog.len = (unsigned short)n;
	prog.filter = f;
	if (setsockopt(rs->pkt_fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0) {
		ret = -errno;
		log_warn("relay: filter on %s", rs->ifname);
	}
	free(f);
	return ret;
}

static void rs_flush(struct agentd *a, struct relay_server *rs)
{
	unsigned done = 0;

	while (done < rs->ntx) {
		int n = sendmmsg(a->udp, rs->tx + done, rs->ntx - done, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN (send buffer full) or an unreachable agent:
			 * this datagram is lost, the others still go. */
			rs->txsess[done]->drops++;
			rs->tx_drops++;
			done++;
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct rs_session *s = rs->txsess[done + (unsigned)i];
			size_t len = rs->txiov[done + (unsigned)i][1].iov_len;

			s->packets++;
			s->bytes += len;
			rs->tx_packets++;
			rs->tx_bytes += len;
		}
		done += (unsigned)n;
	}
	rs->ntx = 0;
}

/* HMAC-SHA256 of every forwarded packet is most of the relay's own work:
 * each session keeps libsodium's state after the key's inner pad, so per
 * packet only the header and the packet are hashed. */
static void rs_queue(struct agentd *a, struct relay_server *rs, struct rs_session *s, const uint8_t *pkt, size_t len,
		     uint64_t clock)
{
	unsigned i = rs->ntx;
	size_t hl;

	if (s->seq + RS_SEQ_LAG_NS < clock)
		s->seq = clock;
	hl = relay_frame_hdr(rs->txhdr[i], s->local_id, s->seq++, &s->group,
			     IN6_IS_ADDR_UNSPECIFIED(&s->source) ? NULL : &s->source, len);

	crypto_auth_hmacsha256_state st = s->hmac0;

	crypto_auth_hmacsha256_update(&st, rs->txhdr[i], hl);
	crypto_auth_hmacsha256_update(&st, pkt, len);
	crypto_auth_hmacsha256_final(&st, rs->txmac[i]);
	rs->txiov[i][0] = (struct iovec){ rs->txhdr[i], hl };
	rs->txiov[i][1] = (struct iovec){ (void *)pkt, len };
	rs->txiov[i][2] = (struct iovec){ rs->txmac[i], GLM_MAC_LEN };
	rs->tx[i].msg_hdr = (struct msghdr){
		.msg_name = &s->agent, .msg_namelen = sizeof(s->agent),
		.msg_iov = rs->txiov[i], .msg_iovlen = 3,
	};
	rs->txsess[i] = s;
	if (++rs->ntx == RS_TX_MAX)
		rs_flush(a, rs);
}

/* A packet from a local sender (veth, tap) whose checksum the sender left
 * to offload: the receiving stack would have trusted it, the agent at the
 * far end will not. */
static bool rs_csum_not_ready(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		struct tpacket_auxdata aux;

		if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
		    c->cmsg_len < CMSG_LEN(sizeof(aux)))
			continue;
		memcpy(&aux, CMSG_DATA(c), sizeof(aux));
		return aux.tp_status & TP_STATUS_CSUMNOTREADY;
	}
	return false;
}

/* The capture socket is readable: one batch of up to RS_BATCH packets. */
static void rs_on_packets(struct agentd *a, void *arg)
{
	struct relay_server *rs = arg;
	uint64_t clock;
	int n;

	for (unsigned i = 0; i < RS_BATCH; i++) {
		rs->rxiov[i] = (struct iovec){ rs->rxbuf + (size_t)i * RELAY_PKT_MAXLEN, RELAY_PKT_MAXLEN };
		rs->rx[i].msg_hdr = (struct msghdr){
			.msg_name = &rs->rxll[i], .msg_namelen = sizeof(rs->rxll[i]),
			.msg_iov = &rs->rxiov[i], .msg_iovlen = 1,
			.msg_control = rs->rxcm[i].b, .msg_controllen = sizeof(rs->rxcm[i].b),
		};
	}
	n = recvmmsg(rs->pkt_fd, rs->rx, RS_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0) {
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			log_warn("relay: receive on %s", rs->ifname);
		return;
	}
	rs->rx_batches++;
	clock = realtime_ns();
	for (int i = 0; i < n; i++) {
		const uint8_t *p = rs->rxiov[i].iov_base;
		size_t len = rs->rx[i].msg_len;
		bool matched = false;

		rs->rx_packets++;
		rs->rx_bytes += len;
		if (rs->rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
			rs->rx_trunc++;
			continue;
		}
		if (rs->rxll[i].sll_pkttype == PACKET_OUTGOING)
			continue;
		if (len < IP6_HDR_LEN || (p[0] >> 4) != 6) {
			rs->rx_bad++;
			continue;
		}
		if (rs_csum_not_ready(&rs->rx[i].msg_hdr))
			rs->rx_csum_fixed += relay_udp_csum_fix(rs->rxiov[i].iov_base, len);
		for (unsigned j = 0; j < rs->nsess; j++) {
			struct rs_session *s = rs->sess[j];

			if (relay_pkt_check(p, len, &s->group, &s->source) != RELAY_PKT_OK)
				continue;
			matched = true;
			rs_queue(a, rs, s, p, len, clock);
		}
		rs->rx_unmatched += !matched;
	}
	rs_flush(a, rs);
}

static struct rs_member *rs_join(struct relay_server *rs, const struct in6_addr *group, const struct in6_addr *source,
				 int *err)
{
	struct rs_member *m;
	int fd, r;

	for (unsigned i = 0; i < rs->nmemb; i++) {
		m = rs->memb[i];
		if (!memcmp(&m->group, group, 16) && !memcmp(&m->source, source, 16)) {
			m->refs++;
			return m;
		}
	}
	if (rs->nmemb == RS_MAX_MEMBERS) {
		*err = -ENOBUFS;
		return NULL;
	}
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	if (IN6_IS_ADDR_UNSPECIFIED(source)) {
		struct group_req gr = { .gr_interface = (uint32_t)rs->ifindex };
		struct sockaddr_in6 *g = (struct sockaddr_in6 *)&gr.gr_group;

		g->sin6_family = AF_INET6;
		g->sin6_addr = *group;
		r = setsockopt(fd, IPPROTO_IPV6, MCAST_JOIN_GROUP, &gr, sizeof(gr));
	} else {
		struct group_source_req gsr = { .gsr_interface = (uint32_t)rs->ifindex };
		struct sockaddr_in6 *g = (struct sockaddr_in6 *)&gsr.gsr_group;
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&gsr.gsr_source;

		g->sin6_family = AF_INET6;
		g->sin6_addr = *group;
		s->sin6_family = AF_INET6;
		s->sin6_addr = *source;
		r = setsockopt(fd, IPPROTO_IPV6, MCAST_JOIN_SOURCE_GROUP, &gsr, sizeof(gsr));
	}
	if (r < 0) {
		*err = -errno;
		log_warn("relay: join %s on %s", a6(group), rs->ifname[0] ? rs->ifname : "(default)");
		close(fd);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		*err = -ENOMEM;
		return NULL;
	}
	m->group = *group;
	m->source = *source;
	m->fd = fd;
	m->refs = 1;
	rs->memb[rs->nmemb++] = m;
	rs_filter(rs);
	log_info("relay: joined %s%s%s on %s", a6(group), IN6_IS_ADDR_UNSPECIFIED(source) ? "" : " source ",
		 IN6_IS_ADDR_UNSPECIFIED(source) ? "" : a6(source), rs->ifname);
	return m;
}

static void rs_leave(struct relay_server *rs, struct rs_member *m)
{
	if (--m->refs)
		return;
	for (unsigned i = 0; i < rs->nmemb; i++) {
		if (rs->memb[i] == m) {
			rs->memb[i] = rs->memb[--rs->nmemb];
			break;
		}
	}
	/* closing the socket drops the membership: the kernel sends the
	 * MLD leave */
	close(m->fd);
	log_info("relay: left %s on %s", a6(&m->group), rs->ifname);
	free(m);
	rs_filter(rs);
}

static void rs_end(struct agentd *a, struct relay_server *rs, unsigned i, const char *why)
{
	struct rs_session *s = rs->sess[i];

	/* a batch in flight may still name it */
	if (rs->ntx)
		rs_flush(a, rs);
	log_info("relay: session %s %s ended (%s): %llu packets, %llu bytes", sa6(&s->agent), a6(&s->group), why,
		 (unsigned long long)s->packets, (unsigned long long)s->bytes);
	ev_timer_stop(&s->timer);
	rs_leave(rs, s->member);
	sodium_memzero(&s->hmac0, sizeof(s->hmac0));
	free(s);
	rs->sess[i] = rs->sess[--rs->nsess];
}

static int rs_find(const struct relay_server *rs, const struct sockaddr_in6 *agent, const struct in6_addr *group,
		   const struct in6_addr *source)
{
	for (unsigned i = 0; i < rs->nsess; i++) {
		const struct rs_session *s = rs->sess[i];

		if (!memcmp(&s->agent.sin6_addr, &agent->sin6_addr, 16) && s->agent.sin6_port == agent->sin6_port &&
		    !memcmp(&s->group, group, 16) && !memcmp(&s->source, source, 16))
			return (int)i;
	}
	return -1;
}

/* false if seq is not above the last one taken from this key: the
 * message is then dropped unanswered, and counted. */
static bool rs_fresh(struct agentd *a, struct relay_server *rs, const struct glm_msg *m, const struct glm_key *key,
		     const struct sockaddr_in6 *from)
{
	enum glm_parse_err e = glm_replay_check(&rs->seen, key->id, m->seq);

	if (e == GLM_PE_OK)
		return true;
	a->drops[e]++;
	log_debug("relay: dropped %s from key %u at %s: %s (seq %llu)", glm_msg_type_name(m->type), key->id,
		  sa6(from), glm_parse_err_name(e), (unsigned long long)m->seq);
	return false;
}

static void rs_respond(struct agentd *a, const struct glm_msg *req, const struct glm_key *key,
		       const struct sockaddr_in6 *to, unsigned status, uint32_t lifetime)
{
	struct glm_msg r = { .type = GLM_RELAY_RESPONSE, .seq = req->seq };

	if (!key)
		return;
	r.key_id = key->id;
	GLM_SET(&r, status, GLM_TLV_STATUS, (uint16_t)status);
	if (GLM_HAS(req, GLM_TLV_GROUP))
		GLM_SET(&r, group, GLM_TLV_GROUP, req->group);
	if (GLM_HAS(req, GLM_TLV_SOURCE))
		GLM_SET(&r, source, GLM_TLV_SOURCE, req->source);
	if (status == GLM_ST_OK)
		GLM_SET(&r, lifetime, GLM_TLV_LIFETIME, lifetime);
	/* only proven requests are answered: a fresh cookie saves the
	 * agent's next request (a refresh, another group) the round trip */
	glm_cookie_add(&a->relay_server->cookies, now_ns(), to, key->id, &r);
	if (agentd_send(a, to, &r, key) < 0)
		log_warn("relay: answer %s", sa6(to));
}

/* Has the request's source proved it receives there (a valid cookie)? If
 * not, the only answer is a cookie, no larger than the request, and
 * nothing is started or remembered. */
static bool rs_proven(struct agentd *a, struct relay_server *rs, const struct glm_msg *m, const struct glm_key *key,
		      const struct sockaddr_in6 *from)
{
	struct glm_msg c;
	uint64_t now = now_ns();

	if (glm_cookie_proven(&rs->cookies, now, m, from))
		return true;
	if (glm_cookie_reply(&rs->cookies, now, m, from, &c) && agentd_send(a, from, &c, key) == 0)
		rs->cookies_sent++;
	log_debug("relay: %s from key %u at %s without a valid cookie: cookie sent", glm_msg_type_name(m->type),
		  key->id, sa6(from));
	return false;
}

/* May the relay stream to `to` for key? `to` has proved it receives
 * there, and must also be inside the prefixes the key's agent serves
 * (its keyring line's 'prefix', glm-keys(5)): an agent's key cannot
 * point a stream at an address of someone else's network. */
static bool rs_destination_ok(const struct agentd *a, const struct glm_key *key, const struct sockaddr_in6 *to)
{
	(void)a;
	return key_serves(key, &to->sin6_addr);
}

static unsigned rs_key_sessions(const struct relay_server *rs, uint32_t key_id)
{
	unsigned n = 0;

	for (unsigned i = 0; i < rs->nsess; i++)
		n += rs->sess[i]->key_id == key_id;
	return n;
}

/* A new session refused because its key holds RELAY_SESSIONS_PER_KEY:
 * counted every time, logged once a minute per key. */
static void rs_limited(struct agentd *a, struct relay_server *rs, const struct glm_msg *m, const struct glm_key *key,
		       const struct sockaddr_in6 *from)
{
	uint64_t quiet;

	rs->refused[GLM_ST_LIMIT]++;
	if (glm_keylog_due(&rs->limit_log, key->id, now_ns(), &quiet))
		log_warnx("relay: request from %s for %s refused: key %u holds %u relay sessions, the most one key may "
			  "(%llu more refused since the last such line)", sa6(from), a6(&m->group), key->id,
			  RELAY_SESSIONS_PER_KEY, (unsigned long long)quiet);
	rs_respond(a, m, key, from, GLM_ST_LIMIT, 0);
}

/* The agent went silent: no refresh within the session's lifetime. */
static void rs_session_expired(void *arg)
{
	struct rs_session *s = arg;
	struct agentd *a = s->agentd;
	struct relay_server *rs = a->relay_server;

	for (unsigned i = 0; i < rs->nsess; i++) {
		if (rs->sess[i] == s) {
			rs->expired++;
			rs_end(a, rs, i, "agent silent");
			return;
		}
	}
}

static void rs_request(struct agentd *a, struct relay_server *rs, const struct glm_msg *m, const struct glm_key *key,
		       const struct sockaddr_in6 *from)
{
	struct in6_addr source = IN6ADDR_ANY_INIT;
	struct rs_session *s;
	unsigned st;
	uint32_t life = a->conf.session_timeout_s ? a->conf.session_timeout_s : RS_LIFETIME_DEFAULT;
	uint64_t now = now_ns();
	int i, err = 0;

	if (GLM_HAS(m, GLM_TLV_SOURCE))
		source = m->source;
	if (!key) {
		rs->refused[GLM_ST_DENIED]++;   /* nothing to answer with */
		return;
	}
	if (!rs_proven(a, rs, m, key, from) || !rs_fresh(a, rs, m, key, from))
		return;
	if (!keyring_find(&a->keys, key->id) || !rs_destination_ok(a, key, from))
		st = GLM_ST_DENIED;
	else if (!GLM_HAS(m, GLM_TLV_GROUP))
		st = GLM_ST_BADREQ;
	else
		st = relay_group_status(&m->group, &source);
	if (st != GLM_ST_OK) {
		rs->refused[st]++;
		log_warnx("relay: request from %s for %s refused: %s", sa6(from),
			  GLM_HAS(m, GLM_TLV_GROUP) ? a6(&m->group) : "no group", glm_status_name(st));
		rs_respond(a, m, key, from, st, 0);
		return;
	}
	/* the agent's lifetime, never longer than ours: a session of a
	 * vanished agent must not outlive session_timeout_s */
	if (GLM_HAS(m, GLM_TLV_LIFETIME)) {
		if (m->lifetime == 0) {
			i = rs_find(rs, from, &m->group, &source);
			if (i >= 0 && rs->sess[i]->key_id == key->id) {
				rs->stops++;
				rs_end(a, rs, (unsigned)i, "lifetime 0");
			}
			rs_respond(a, m, key, from, GLM_ST_OK, 0);
			return;
		}
		if (m->lifetime < life)
			life = m->lifetime;
	}
	if (life > RS_LIFETIME_MAX)
		life = RS_LIFETIME_MAX;
	i = rs_find(rs, from, &m->group, &source);
	if (i >= 0) {
		s = rs->sess[i];
		if (s->key_id != key->id) {
			rs->refused[GLM_ST_DENIED]++;
			rs_respond(a, m, key, from, GLM_ST_DENIED, 0);
			return;
		}
		/* the agent may have restarted: its stream then takes only
		 * seqs from after that, i.e. from after this request */
		uint64_t t = realtime_ns();
		if (s->seq < t)
			s->seq = t;
		rs->refreshes++;
	} else {
		if (rs_key_sessions(rs, key->id) >= RELAY_SESSIONS_PER_KEY)
			return rs_limited(a, rs, m, key, from);
		if (rs->nsess == RS_MAX_SESSIONS || !(s = calloc(1, sizeof(*s)))) {
			rs->refused[GLM_ST_INTERNAL]++;
			log_warnx("relay: request from %s for %s: too many sessions", sa6(from), a6(&m->group));
			rs_respond(a, m, key, from, GLM_ST_INTERNAL, 0);
			return;
		}
		s->member = rs_join(rs, &m->group, &source, &err);
		if (!s->member) {
			free(s);
			rs->refused[GLM_ST_INTERNAL]++;
			rs_respond(a, m, key, from, GLM_ST_INTERNAL, 0);
			return;
		}
		s->agentd = a;
		ev_timer_init(&s->timer, "relay session", rs_session_expired, s);
		s->agent = *from;
		s->group = m->group;
		s->source = source;
		s->key_id = key->id;
		s->local_id = key->local_id;
		crypto_auth_hmacsha256_init(&s->hmac0, key->secret, GLM_KEY_LEN);
		/* wall-clock based: above anything a previous session of
		 * this agent and group used, so its replay window accepts */
		s->seq = seq_next();
		s->created_ns = now;
		rs->sess[rs->nsess++] = s;
		rs->requests++;
		log_info("relay: session %s %s%s%s started, lifetime %us", sa6(from), a6(&m->group),
			 IN6_IS_ADDR_UNSPECIFIED(&source) ? "" : " source ",
			 IN6_IS_ADDR_UNSPECIFIED(&source) ? "" : a6(&source), life);
	}
	s->lifetime = life;
	s->refreshed_ns = now;
	s->expires_ns = now + (uint64_t)life * 1000000000ull;
	ev_timer_at(a->loop, &s->timer, s->expires_ns);
	rs_respond(a, m, key, from, GLM_ST_OK, life);
}

static void rs_stop(struct agentd *a, struct relay_server *rs, const struct glm_msg *m, const struct glm_key *key,
		    const struct sockaddr_in6 *from)
{
	struct in6_addr source = IN6ADDR_ANY_INIT;
	int i;

	if (!key || !GLM_HAS(m, GLM_TLV_GROUP))
		return;
	if (GLM_HAS(m, GLM_TLV_SOURCE))
		source = m->source;
	i = rs_find(rs, from, &m->group, &source);
	if (i < 0 || rs->sess[i]->key_id != key->id || !rs_fresh(a, rs, m, key, from))
		return;
	rs->stops++;
	rs_end(a, rs, (unsigned)i, "stopped by agent");
}

void relay_server_msg(struct agentd *a, const struct glm_msg *m, const struct glm_key *key,
		      const struct sockaddr_in6 *from)
{
	struct relay_server *rs = a->relay_server;

	if (!rs)
		return;
	switch (m->type) {
	case GLM_RELAY_REQUEST:
		rs_request(a, rs, m, key, from);
		break;
	case GLM_RELAY_STOP:
		rs_stop(a, rs, m, key, from);
		break;
	default:
		break;
	}
}

int relay_server_init(struct agentd *a)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IPV6) };
	struct relay_server *rs;
	int one = 1, buf = RS_SOCKBUF, err;

	if (sodium_init() < 0)
		return -EIO;
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	rs->rxbuf = malloc((size_t)RS_BATCH * RELAY_PKT_MAXLEN);
	if (!rs->rxbuf) {
		free(rs);
		return -ENOMEM;
	}
	snprintf(rs->ifname, sizeof(rs->ifname), "%s", a->conf.relay_ifname);
	if (rs->ifname[0]) {
		rs->ifindex = (int)if_nametoindex(rs->ifname);
		if (!rs->ifindex) {
			err = -errno;
			log_warn("relay: interface %s", rs->ifname);
			goto fail;
		}
	} else {
		/* joins then follow the route to the group; capture on all */
		log_warnx("relay: no relay interface configured: joining on the default route's");
		snprintf(rs->ifname, sizeof(rs->ifname), "any");
	}
	/* protocol 0 receives nothing until bind: the filter is in place
	 * before the first packet can be queued */
	rs->pkt_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rs->pkt_fd < 0) {
		err = -errno;
		log_warn("relay: packet socket");
		goto fail;
	}
	if ((err = rs_filter(rs)) < 0)
		goto fail_fd;
	if (setsockopt(rs->pkt_fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0)
		log_warn("relay: PACKET_AUXDATA (checksums left to offload stay unfixed)");
	if (setsockopt(rs->pkt_fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
		log_warn("relay: PACKET_IGNORE_OUTGOING (outgoing packets filtered by type instead)");
	if (setsockopt(rs->pkt_fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(rs->pkt_fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	ll.sll_ifindex = rs->ifindex;
	if (bind(rs->pkt_fd, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
		err = -errno;
		log_warn("relay: bind packet socket to %s", rs->ifname);
		goto fail_fd;
	}
	/* bursts of a whole batch times the fan-out leave at once */
	if (a->udp >= 0 && setsockopt(a->udp, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(a->udp, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if ((err = agentd_watch(a, rs->pkt_fd, rs_on_packets, rs)) < 0) {
		log_warnx("relay: cannot watch the packet socket: %s", strerror(-err));
		goto fail_fd;
	}
	a->relay_server = rs;
	log_info("relay: relaying groups received on %s", rs->ifname);
	return 0;
fail_fd:
	close(rs->pkt_fd);
fail:
	free(rs->rxbuf);
	free(rs);
	return err;
}

void relay_server_free(struct agentd *a)
{
	struct relay_server *rs = a->relay_server;

	if (!rs)
		return;
	while (rs->nsess)
		rs_end(a, rs, rs->nsess - 1, "shutdown");
	agentd_unwatch(a, rs->pkt_fd);
	close(rs->pkt_fd);
	glm_cookie_wipe(&rs->cookies);
	free(rs->rxbuf);
	free(rs);
	a->relay_server = NULL;
}

/* The relay role's counters, as relay_server_status prints them. */
void relay_server_metrics(struct agentd *a, struct strbuf *sb)
{
	struct relay_server *rs = a->relay_server;
	static const char *const reason[] = {
		[GLM_ST_DENIED] = "denied", [GLM_ST_BADREQ] = "badreq", [GLM_ST_INTERNAL] = "internal",
		[GLM_ST_LIMIT] = "limit",
	};

	if (!rs)
		return;
	mx_gauge(sb, "glm_relay_sessions", "Relay sessions open now.", rs->nsess);
	mx_gauge(sb, "glm_relay_groups", "Groups the relay has joined.", rs->nmemb);
	mx_counter(sb, "glm_relay_received_packets_total", "Multicast packets the relay received.", rs->rx_packets);
	mx_counter(sb, "glm_relay_received_bytes_total", "Bytes of those packets.", rs->rx_bytes);
	mx_counter(sb, "glm_relay_forwarded_packets_total", "Packets forwarded to agents.", rs->tx_packets);
	mx_counter(sb, "glm_relay_forwarded_bytes_total", "Bytes forwarded to agents.", rs->tx_bytes);
	mx_counter(sb, "glm_relay_forward_drops_total", "Packets not forwarded (the socket refused them).", rs->tx_drops);
	mx_counter(sb, "glm_relay_requests_total", "RELAY_REQUESTs taken.", rs->requests);
	mx_counter(sb, "glm_relay_expired_total", "Sessions expired (their agent went silent).", rs->expired);
	mx_family(sb, "glm_relay_refused_total", "counter", "RELAY_REQUESTs refused, by reason.");
	for (unsigned i = 0; i < sizeof(reason) / sizeof(reason[0]); i++)
		if (reason[i])
			mx_sample(sb, "glm_relay_refused_total", "reason", reason[i], rs->refused[i]);
}

void relay_server_status(struct agentd *a, struct printer *p)
{
	struct relay_server *rs = a->relay_server;
	uint64_t now = now_ns();

	if (!rs) {
		print_null(p, "relay_server");
		return;
	}
	print_open_object(p, "relay_server");
	print_str(p, "ifname", "relay on %s", rs->ifname);
	print_uint(p, NULL, ": %u sessions", rs->nsess);
	print_uint(p, "groups", ", %u groups joined", rs->nmemb);
	print_u64(p, "rx_packets", "; received %llu packets", rs->rx_packets);
	print_u64(p, "rx_bytes", NULL, rs->rx_bytes);
	print_u64(p, "rx_unmatched", " (%llu unmatched)", rs->rx_unmatched);
	print_u64(p, "rx_truncated", NULL, rs->rx_trunc);
	print_u64(p, "rx_csum_fixed", NULL, rs->rx_csum_fixed);
	print_u64(p, "tx_packets", ", forwarded %llu packets", rs->tx_packets);
	print_u64(p, "tx_bytes", " %llu bytes", rs->tx_bytes);
	print_u64(p, "tx_drops", ", %llu dropped\n", rs->tx_drops);
	print_u64(p, "requests", NULL, rs->requests);
	print_u64(p, "refreshes", NULL, rs->refreshes);
	print_u64(p, "stops", NULL, rs->stops);
	print_u64(p, "expired", NULL, rs->expired);
	print_u64(p, "cookies_sent", NULL, rs->cookies_sent);
	print_open_object(p, "refused");
	print_u64(p, "denied", NULL, rs->refused[GLM_ST_DENIED]);
	print_u64(p, "badreq", NULL, rs->refused[GLM_ST_BADREQ]);
	print_u64(p, "internal", NULL, rs->refused[GLM_ST_INTERNAL]);
	print_u64(p, "limit", "relay sessions refused at the per-key limit: %llu\n", rs->refused[GLM_ST_LIMIT]);
	print_close_object(p);
	print_open_array(p, "sessions");
	for (unsigned i = 0; i < rs->nsess; i++) {
		const struct rs_session *s = rs->sess[i];

		print_open_object(p, NULL);
		print_str(p, "agent", "  session %s", sa6(&s->agent));
		print_addr(p, "group", " group %s", &s->group);
		print_addr(p, "source", " source %s", &s->source);
		print_uint(p, "key_id", " key %u:", s->key_id);
		print_u64(p, "packets", " %llu packets", s->packets);
		print_u64(p, "bytes", " %llu bytes", s->bytes);
		print_u64(p, "drops", " %llu dropped", s->drops);
		print_uint(p, "lifetime", NULL, s->lifetime);
		print_float(p, "age_s", NULL, (double)(now - s->created_ns) / 1e9);
		print_float(p, "expires_in_s", ", expires in %.1fs\n",
			    s->expires_ns > now ? (double)(s->expires_ns - now) / 1e9 : 0.0);
		print_close_object(p);
	}
	print_close_array(p);
	print_close_object(p);
}
