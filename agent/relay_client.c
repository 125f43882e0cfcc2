/* The agent's side of relaying: one relay session per (group, source) on
 * this host, whatever the number of VMs and bridges that need it. Each
 * bridge that needs the group is a "leg" of the session with its own
 * reference count; the session asks the relay (RELAY_REQUEST, retransmitted
 * with backoff until answered, refreshed every third of the granted
 * lifetime), re-sends every RELAYED_PACKET on each leg's bridge as the
 * original packet with hop limit 1, and stops (RELAY_STOP) when the last
 * reference goes or when every leg sees the group arrive natively. Each
 * session owns its timer, armed for its next request while it is not
 * stopped (rc_session_due).
 *
 * Duplicates. When the native stream starts, packets still come by relay
 * for a while (the STOP is in flight, and the relay path may lag or lead
 * the native one). Each leg keeps hashes of the packets it re-sent and of
 * the native packets it saw. If the first native packet was already
 * re-sent, the relay leads: every later relayed packet is a copy of one
 * the native stream brings, and all are dropped. Otherwise the relay lags:
 * relayed packets are still re-sent (they predate the native stream, which
 * never brought them) until one matches a native packet, or for at most
 * RC_CATCHUP_MS, and from then on all are dropped. No duplicate is re-sent
 * after the first native packet, and none is lost when the relay lags.
 *
 * Cookies. A relay serves only requests that carry its cookie for our
 * address (cookie.h); a request without one, or with one too old, is
 * answered with a COOKIE message, and the request goes again at once with
 * it. Every answer brings a fresh cookie, kept per relay (rc->cookies), so
 * only the first contact with a relay, or one after more than two minutes
 * of silence, costs that round trip. */
#include "agentd.h"
#include "log.h"
#include "nft.h"
#include "relay.h"
#include "util.h"
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RC_MAX_SESSIONS 4096  /* one per (group, source) this host has VMs in */
#define RC_RETRY_MIN_MS 250
#define RC_RETRY_MAX_MS 4000
#define RC_DENIED_RETRY_MS 30000
#define RC_CATCHUP_MS 250
#define RC_LIFETIME_DEFAULT 30
#define RC_COOKIES 8          /* relays whose cookie we keep */
#define RC_COOKIE_RESENDS 2   /* immediate re-sends per round on a COOKIE */

enum rc_state { RC_REQUESTED, RC_ACTIVE, RC_DENIED, RC_STOPPED };
static const char *const rc_state_name[] = { "requested", "active", "denied", "stopped" };
static const char *const rc_mode_name[] = { "relay", "catchup", "native" };

/* What a leg does with relayed packets. */
enum rc_mode {
	LEG_RELAY,        /* no native packet yet: re-send everything */
	LEG_CATCHUP,      /* native started, relay lags: re-send what native never brought */
	LEG_DONE,         /* native carries it all: drop */
};

struct rc_leg {
	unsigned refs;
	enum rc_mode mode;
	uint64_t native_ns;               /* first native packet */
	uint64_t packets, bytes;          /* re-sent on the bridge */
	uint64_t dup_suppressed, late, inject_errs, native;
	bool tell;                        /* a new reference: tell on_flow at the next packet re-sent */
	struct relay_ring sent, seen;     /* hashes: re-sent by us, arrived natively */
};

struct rc_session {
	struct agentd *agentd;            /* for its timer */
	struct ev_timer timer;            /* the next request; not armed while stopped */
	struct in6_addr group, source;
	struct sockaddr_in6 relay;
	uint32_t relay_key;      /* the relay's key id: the agent key that serves its address */
	enum rc_state state;
	uint64_t first_seq, last_seq;     /* of the requests of the current round */
	uint64_t retry_ms;
	bool awaiting;                    /* a request is unanswered */
	uint32_t lifetime;                /* granted */
	uint64_t requested_ns, active_ns, stopped_ns, lease_end_ns;
	unsigned tries, cookie_resends;
	uint16_t last_status;
	struct relay_window win;
	uint64_t invalid[RELAY_PKT_MAX], replayed, wrong_key;
	unsigned nlegs;                   /* the agent's bridges */
	struct rc_leg leg[];              /* per bridge */
};

/* rc->index: (group, source) -> session */
struct rc_key {
	struct in6_addr group, source;
	struct rc_session *s;
};

/* The last cookie a relay gave us: echoed in every request to it. */
struct rc_cookie {
	struct sockaddr_in6 relay;
	uint8_t c[GLM_COOKIE_LEN];
	uint64_t got_ns;                  /* 0: free */
};

struct relay_client {
	int inject_fd;
	struct rc_cookie cookies[RC_COOKIES];
	uint64_t cookie_rounds;           /* COOKIE answers taken: round trips paid */
	unsigned nsess, sess_cap;
	struct rc_session **sess;         /* growable, unordered */
	struct htab index;                /* struct rc_key */
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	uint64_t unknown_group, no_key;
	relay_flow_fn on_flow;            /* the VMs learn that their stream comes */
	/* tests replace the bridge injection */
	int (*inject)(struct agentd *a, int bridge, const struct iovec *iov, int iovcnt, const uint8_t mac[6]);
};

static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

unsigned relay_client_sessions(const struct agentd *a)
{
	return a->relay_client ? a->relay_client->nsess : 0;
}

static unsigned rc_refs(const struct rc_session *s)
{
	unsigned n = 0;

	for (unsigned b = 0; b < s->nlegs; b++)
		n += s->leg[b].refs;
	return n;
}

static struct rc_session *rc_find(const struct relay_client *rc, const struct in6_addr *group,
				  const struct in6_addr *source)
{
	struct rc_key k, *e;

	memset(&k, 0, sizeof(k));
	k.group = *group;
	k.source = *source;
	e = htab_find(&rc->index, &k);
	return e ? e->s : NULL;
}

static bool same_sa(const struct sockaddr_in6 *x, const struct sockaddr_in6 *y)
{
	return !memcmp(&x->sin6_addr, &y->sin6_addr, 16) && x->sin6_port == y->sin6_port;
}

static struct rc_cookie *rc_cookie_find(struct relay_client *rc, const struct sockaddr_in6 *relay)
{
	for (unsigned i = 0; i < RC_COOKIES; i++)
		if (rc->cookies[i].got_ns && same_sa(&rc->cookies[i].relay, relay))
			return &rc->cookies[i];
	return NULL;
}

/* Keep relay's newest cookie, in its slot or the one filled longest ago. */
static void rc_cookie_store(struct relay_client *rc, const struct sockaddr_in6 *relay, const uint8_t c[GLM_COOKIE_LEN])
{
	struct rc_cookie *k = rc_cookie_find(rc, relay);

	if (!k) {
		/* a free slot has got_ns 0: taken before any filled one */
		k = &rc->cookies[0];
		for (unsigned i = 1; i < RC_COOKIES; i++)
			if (rc->cookies[i].got_ns < k->got_ns)
				k = &rc->cookies[i];
	}
	k->relay = *relay;
	memcpy(k->c, c, GLM_COOKIE_LEN);
	k->got_ns = now_ns();
}

static void rc_send(struct agentd *a, struct rc_session *s, uint8_t type, uint32_t lifetime)
{
	struct glm_msg m = { .type = type, .seq = seq_next() };
	const struct glm_key *key = keyring_find(&a->keys, s->relay_key);
	struct rc_cookie *k = rc_cookie_find(a->relay_client, &s->relay);
	int r = -ENOKEY;

	if (k) {
		memcpy(m.cookie, k->c, GLM_COOKIE_LEN);
		m.present |= 1u << GLM_TLV_COOKIE;
	}
	GLM_SET(&m, group, GLM_TLV_GROUP, s->group);
	if (!IN6_IS_ADDR_UNSPECIFIED(&s->source))
		GLM_SET(&m, source, GLM_TLV_SOURCE, s->source);
	if (type == GLM_RELAY_REQUEST) {
		GLM_SET(&m, lifetime, GLM_TLV_LIFETIME, lifetime);
		if (!s->awaiting)
			s->first_seq = m.seq;
		s->last_seq = m.seq;
		s->awaiting = true;
		s->tries++;
	}
	if (key)
		r = agentd_send(a, &s->relay, &m, key);
	if (r < 0)
		log_warnx("relay client: %s for %s to %s: %s", glm_msg_type_name(type), a6(&s->group),
			  sa6(&s->relay), strerror(-r));
}

static uint32_t rc_lifetime(const struct agentd *a)
{
	return a->conf.session_timeout_s ? a->conf.session_timeout_s : RC_LIFETIME_DEFAULT;
}

static void rc_request_now(struct agentd *a, struct rc_session *s, uint64_t now)
{
	s->awaiting = false;
	s->cookie_resends = 0;
	s->retry_ms = RC_RETRY_MIN_MS;
	rc_send(a, s, GLM_RELAY_REQUEST, rc_lifetime(a));
	ev_timer_at(a->loop, &s->timer, now + s->retry_ms * 1000000ull);
}

static void rc_leg_reset(struct rc_leg *l)
{
	memset(l, 0, sizeof(*l));
}

static void rc_stop(struct agentd *a, struct rc_session *s, const char *why)
{
	if (s->state != RC_STOPPED) {
		rc_send(a, s, GLM_RELAY_STOP, 0);
		s->state = RC_STOPPED;
		s->stopped_ns = now_ns();
		s->awaiting = false;
		ev_timer_stop(&s->timer);
		log_info("relay client: %s from %s stopped: %s", a6(&s->group), sa6(&s->relay), why);
	}
}

/* Every leg holding a reference has the native stream: the relay is no
 * longer needed. */
static void rc_check_all_native(struct agentd *a, struct rc_session *s)
{
	bool any = false;

	for (unsigned b = 0; b < s->nlegs; b++) {
		if (!s->leg[b].refs)
			continue;
		if (s->leg[b].mode == LEG_RELAY)
			return;
		any = true;
	}
	if (any)
		rc_stop(a, s, "native stream arrived");
}

static void rc_session_due(void *arg);

/* A new session in rc's table and index, requested now. */
static int rc_session_new(struct agentd *a, struct relay_client *rc, const struct in6_addr *group,
			  const struct in6_addr *source, const struct sockaddr_in6 *relay, struct rc_session **out)
{
	struct rc_session *s;
	struct rc_key k, *e;

	if (rc->nsess == RC_MAX_SESSIONS)
		return -ENOBUFS;
	if (rc->nsess == rc->sess_cap) {
		unsigned cap = rc->sess_cap ? rc->sess_cap * 2 : 16;
		struct rc_session **v = realloc(rc->sess, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rc->sess = v;
		rc->sess_cap = cap;
	}
	memset(&k, 0, sizeof(k));
	k.group = *group;
	k.source = *source;
	s = calloc(1, sizeof(*s) + a->nbr * sizeof(s->leg[0]));
	if (!s || !(e = htab_insert(&rc->index, &k, NULL))) {
		free(s);
		return -ENOMEM;
	}
	e->s = s;
	s->nlegs = a->nbr;
	s->agentd = a;
	ev_timer_init(&s->timer, "relay client session", rc_session_due, s);
	s->group = *group;
	s->source = *source;
	s->relay = *relay;
	s->requested_ns = now_ns();
	rc->sess[rc->nsess++] = s;
	a->mx.relay_requests++;
	*out = s;
	return 0;
}

int relay_client_want(struct agentd *a, int bridge, const struct in6_addr *group, const struct in6_addr *source,
		      const struct sockaddr_in6 *relay)
{
	struct relay_client *rc = a->relay_client;
	struct rc_session *s;
	int r;
	uint64_t now = now_ns();

	if (!rc)
		return -ENOTCONN;
	if (bridge < 0 || (unsigned)bridge >= a->nbr)
		return -EINVAL;
	if (!source)
		source = &any6;
	if (relay_group_status(group, source) != GLM_ST_OK)
		return -EINVAL;
	/* none named (or an unset address): the configured default relay */
	if (!relay || IN6_IS_ADDR_UNSPECIFIED(&relay->sin6_addr) || !relay->sin6_port) {
		if (!a->conf.has_relay)
			return -EDESTADDRREQ;
		relay = &a->conf.relay;
	}
	/* a relay is another host: not this one's loopback (whose requests
	 * would come back to this agent), not a group, not nowhere */
	if (IN6_IS_ADDR_UNSPECIFIED(&relay->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&relay->sin6_addr) ||
	    IN6_IS_ADDR_MULTICAST(&relay->sin6_addr) || IN6_IS_ADDR_V4MAPPED(&relay->sin6_addr) || !relay->sin6_port)
		return -EINVAL;
	s = rc_find(rc, group, source);
	if (!s) {
		/* the relay is the agent whose prefixes hold its address: the
		 * one our requests are sealed for, the only one whose packets
		 * are taken */
		const struct glm_key *rk = keyring_peer(&a->keys, GLM_ROLE_BIT(GLM_ROLE_AGENT), &relay->sin6_addr);

		if (!rk || !key_serves(rk, &relay->sin6_addr)) {
			rc->no_key++;
			log_warnx("relay client: no agent key in the keyring serves relay address %s (its key line "
				  "needs 'prefix'): not asked for %s", a6(&relay->sin6_addr), a6(group));
			return -ENOKEY;
		}
		if ((r = rc_session_new(a, rc, group, source, relay, &s)) < 0)
			return r;
		s->relay_key = rk->id;
		s->leg[bridge].refs = 1;
		s->leg[bridge].tell = true;
		log_info("relay client: asking %s for %s%s%s (bridge %s)", sa6(relay), a6(group),
			 IN6_IS_ADDR_UNSPECIFIED(source) ? "" : " source ",
			 IN6_IS_ADDR_UNSPECIFIED(source) ? "" : a6(source), a->br[bridge].name);
		rc_request_now(a, s, now);
		return 0;
	}
	/* one session per host and group: a second relay named for the same
	 * group is not asked as well */
	if (memcmp(&relay->sin6_addr, &s->relay.sin6_addr, 16) || relay->sin6_port != s->relay.sin6_port)
		log_debug("relay client: %s already relayed by %s, not by %s", a6(group), sa6(&s->relay), sa6(relay));
	if (s->leg[bridge].refs++ == 0) {
		/* a new bridge that has no native stream: restart a stopped
		 * session (new relay session: its sequence numbers restart) */
		rc_leg_reset(&s->leg[bridge]);
		s->leg[bridge].refs = 1;
		if (s->state == RC_STOPPED) {
			s->state = RC_REQUESTED;
			s->requested_ns = now;
			s->win = (struct relay_window){ 0 };
			rc_request_now(a, s, now);
		}
	}
	s->leg[bridge].tell = true;
	return 0;
}

static void rc_free_session(struct relay_client *rc, unsigned i)
{
	struct rc_session *s = rc->sess[i];
	struct rc_key k, *e;

	memset(&k, 0, sizeof(k));
	k.group = s->group;
	k.source = s->source;
	if ((e = htab_find(&rc->index, &k)))
		htab_remove(&rc->index, e);
	ev_timer_stop(&s->timer);
	free(s);
	rc->sess[i] = rc->sess[--rc->nsess];
}

void relay_client_release(struct agentd *a, int bridge, const struct in6_addr *group, const struct in6_addr *source)
{
	struct relay_client *rc = a->relay_client;
	struct rc_session *s;

	if (!rc || bridge < 0)
		return;
	s = rc_find(rc, group, source ? source : &any6);
	if (!s || (unsigned)bridge >= s->nlegs || !s->leg[bridge].refs)
		return;
	if (--s->leg[bridge].refs)
		return;
	rc_leg_reset(&s->leg[bridge]);
	if (rc_refs(s) == 0) {
		rc_stop(a, s, "no VM needs it");
		for (unsigned i = 0; i < rc->nsess; i++) {
			if (rc->sess[i] == s) {
				rc_free_session(rc, i);
				break;
			}
		}
		return;
	}
	if (s->state != RC_STOPPED)
		rc_check_all_native(a, s);
}

static void rc_response(struct agentd *a, struct rc_session *s, const struct glm_msg *m)
{
	uint64_t now = now_ns();

	if (!s->awaiting || m->seq < s->first_seq || m->seq > s->last_seq)
		return;                   /* an answer to an older round */
	/* STALE: the relay already took a later request of ours (this one
	 * was overtaken); that one's answer settles the round */
	if (GLM_HAS(m, GLM_TLV_STATUS) && m->status == GLM_ST_STALE)
		return;
	s->awaiting = false;
	s->cookie_resends = 0;
	if (GLM_HAS(m, GLM_TLV_COOKIE))
		rc_cookie_store(a->relay_client, &s->relay, m->cookie);
	s->last_status = GLM_HAS(m, GLM_TLV_STATUS) ? m->status : GLM_ST_BADREQ;
	if (s->state == RC_STOPPED)
		return;
	if (s->last_status != GLM_ST_OK) {
		log_warnx("relay client: %s refused %s: %s", sa6(&s->relay), a6(&s->group),
			  glm_status_name(s->last_status));
		s->state = RC_DENIED;
		ev_timer_at(a->loop, &s->timer, now + RC_DENIED_RETRY_MS * 1000000ull);
		return;
	}
	s->lifetime = GLM_HAS(m, GLM_TLV_LIFETIME) && m->lifetime ? m->lifetime : rc_lifetime(a);
	s->lease_end_ns = now + (uint64_t)s->lifetime * 1000000000ull;
	if (s->state != RC_ACTIVE) {
		s->state = RC_ACTIVE;
		if (!s->active_ns)
			s->active_ns = now;
		log_info("relay client: %s relays %s for %us (%.1f ms, %u tries)", sa6(&s->relay), a6(&s->group),
			 s->lifetime, ns_to_ms(now - s->requested_ns), s->tries);
	}
	s->tries = 0;
	s->retry_ms = RC_RETRY_MIN_MS;
	/* refresh at a third of the lease: two refreshes may be lost */
	ev_timer_at(a->loop, &s->timer, now + (uint64_t)s->lifetime * 1000000000ull / 3);
}

static int rc_inject_bridge(struct agentd *a, int bridge, const struct iovec *iov, int iovcnt, const uint8_t mac[6])
{
	struct relay_client *rc = a->relay_client;
	struct sockaddr_ll ll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IPV6),
		.sll_ifindex = a->br[bridge].ifindex,
		.sll_halen = 6,
	};
	struct msghdr mh = { .msg_name = &ll, .msg_namelen = sizeof(ll), .msg_iov = (struct iovec *)iov,
			     .msg_iovlen = (size_t)iovcnt };

	memcpy(ll.sll_addr, mac, 6);
	return sendmsg(rc->inject_fd, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
}

static void rc_packet(struct agentd *a, struct relay_client *rc, struct rc_session *s, const struct glm_msg *m)
{
	static const uint8_t hop1 = 1;
	const uint8_t *p = m->packet;
	size_t len = m->packet_len;
	enum relay_pkt_err e;
	struct iovec iov[3];
	uint8_t mac[6];
	uint64_t h, now = 0;

	if (!GLM_HAS(m, GLM_TLV_PACKET)) {
		s->invalid[RELAY_PKT_SHORT]++;
		return;
	}
	e = relay_pkt_check(p, len, &s->group, &s->source);
	if (e != RELAY_PKT_OK) {
		if (s->invalid[e]++ == 0)
			log_warnx("relay client: relayed packet for %s from %s dropped: %s", a6(&s->group),
				  sa6(&s->relay), relay_pkt_err_name(e));
		return;
	}
	if (!relay_window_check(&s->win, m->seq)) {
		s->replayed++;
		return;
	}
	/* packets prove the session: a lost RESPONSE must not stall it */
	if (s->state == RC_REQUESTED)
		s->state = RC_ACTIVE;
	h = relay_pkt_hash(rc->hash_key, p, len);
	/* the original packet, hop limit 1: it must not leave the link */
	iov[0] = (struct iovec){ (void *)p, 7 };
	iov[1] = (struct iovec){ (void *)&hop1, 1 };
	iov[2] = (struct iovec){ (void *)(p + 8), len - 8 };
	relay_group_mac(&s->group, mac);
	for (unsigned b = 0; b < s->nlegs; b++) {
		struct rc_leg *l = &s->leg[b];
		int r;

		if (!l->refs)
			continue;
		if (l->mode == LEG_CATCHUP) {
			if (!now)
				now = now_ns();
			if (relay_ring_has(&l->seen, h)) {
				l->mode = LEG_DONE;   /* caught up with the native stream */
			} else if (now - l->native_ns > RC_CATCHUP_MS * 1000000ull) {
				l->mode = LEG_DONE;
			}
		}
		if (l->mode == LEG_DONE) {
			if (relay_ring_has(&l->seen, h))
				l->dup_suppressed++;
			else
				l->late++;
			continue;
		}
		r = rc->inject ? rc->inject(a, (int)b, iov, 3, mac) : rc_inject_bridge(a, (int)b, iov, 3, mac);
		if (r < 0) {
			if (l->inject_errs++ == 0)
				log_warnx("relay client: re-send %s on %s: %s", a6(&s->group), a->br[b].name,
					  strerror(-r));
			continue;
		}
		relay_ring_add(&l->sent, h);
		l->packets++;
		l->bytes += len;
		a->mx.relay_packets++;
		a->mx.relay_bytes += len;
		if (l->tell) {
			l->tell = false;
			if (rc->on_flow)
				rc->on_flow(a, (int)b, &s->group, &s->source);
		}
	}
}

void relay_client_on_flow(struct agentd *a, relay_flow_fn fn)
{
	struct relay_client *rc = a->relay_client;

	if (rc)
		rc->on_flow = fn;
}

/* A relay asks us to prove our address: the request of this round goes
 * again at once, with the cookie. */
static void rc_cookie_msg(struct agentd *a, struct relay_client *rc, const struct glm_msg *m,
			  const struct glm_key *key, const struct sockaddr_in6 *from)
{
	struct rc_session *s = NULL;

	if (!GLM_HAS(m, GLM_TLV_COOKIE) || !key)
		return;
	/* from the relay the session asked (its key), none other */
	for (unsigned i = 0; i < rc->nsess && !s; i++)
		if (rc->sess[i]->awaiting && m->seq >= rc->sess[i]->first_seq && m->seq <= rc->sess[i]->last_seq &&
		    key->id == rc->sess[i]->relay_key)
			s = rc->sess[i];
	if (!s || !same_sa(from, &s->relay))
		return;
	rc_cookie_store(rc, &s->relay, m->cookie);
	rc->cookie_rounds++;
	log_debug("relay client: cookie from %s for %s", sa6(from), a6(&s->group));
	/* a relay that keeps sending cookies gets the backed-off retries only */
	if (s->state != RC_STOPPED && s->cookie_resends++ < RC_COOKIE_RESENDS)
		rc_send(a, s, GLM_RELAY_REQUEST, rc_lifetime(a));
}

void relay_client_msg(struct agentd *a, const struct glm_msg *m, const struct glm_key *key,
		      const struct sockaddr_in6 *from)
{
	struct relay_client *rc = a->relay_client;
	struct rc_session *s;

	if (rc && m->type == GLM_COOKIE)
		return rc_cookie_msg(a, rc, m, key, from);
	if (!rc || !GLM_HAS(m, GLM_TLV_GROUP))
		return;
	s = rc_find(rc, &m->group, GLM_HAS(m, GLM_TLV_SOURCE) ? &m->source : &any6);
	if (!s) {
		rc->unknown_group++;
		return;
	}
	/* only the relay we asked (the agent key that serves its address)
	 * streams to us: any other agent's key, even one in the keyring, is
	 * not the relay serving this session */
	if (!key || key->id != s->relay_key) {
		s->wrong_key++;
		return;
	}
	switch (m->type) {
	case GLM_RELAY_RESPONSE:
		rc_response(a, s, m);
		break;
	case GLM_RELAYED_PACKET:
		rc_packet(a, rc, s, m);
		break;
	default:
		break;
	}
	(void)from;
}

void relay_client_native(struct agentd *a, int bridge, const uint8_t *pkt, size_t len)
{
	struct relay_client *rc = a->relay_client;
	struct rc_session *s = NULL;
	struct in6_addr dst, src;
	struct rc_leg *l;
	uint64_t h;

	if (!rc || bridge < 0 || len < IP6_HDR_LEN || (pkt[0] >> 4) != 6)
		return;
	memcpy(&src, pkt + 8, 16);
	memcpy(&dst, pkt + 24, 16);
	/* a per-packet lookup: the (S,G) session, else the (*,G) one */
	if (!(s = rc_find(rc, &dst, &src)) && !(s = rc_find(rc, &dst, &any6)))
		return;
	if ((unsigned)bridge >= s->nlegs)
		return;
	l = &s->leg[bridge];
	if (!l->refs)
		return;
	h = relay_pkt_hash(rc->hash_key, pkt, len);
	relay_ring_add(&l->seen, h);
	l->native++;
	if (l->mode != LEG_RELAY)
		return;
	l->native_ns = now_ns();
	/* already re-sent by us: the relay leads, and everything it brings
	 * from now on the native stream brings too */
	l->mode = relay_ring_has(&l->sent, h) || !l->packets ? LEG_DONE : LEG_CATCHUP;
	log_info("relay client: %s arrives natively on %s (%s)", a6(&s->group), a->br[bridge].name,
		 l->mode == LEG_DONE ? "relay leads or idle" : "relay lags: catching up");
	rc_check_all_native(a, s);
}

/* The session's next request is due: a retry (backed off), a refresh, a
 * request after a refusal or a lease that ran out. */
static void rc_session_due(void *arg)
{
	struct rc_session *s = arg;
	struct agentd *a = s->agentd;
	uint64_t now = now_ns();

	if (s->state == RC_ACTIVE && s->lease_end_ns && now >= s->lease_end_ns) {
		log_warnx("relay client: lease of %s at %s ran out unrenewed", a6(&s->group), sa6(&s->relay));
		s->state = RC_REQUESTED;
	}
	if (s->state == RC_DENIED)
		s->state = RC_REQUESTED;
	if (s->awaiting) {
		/* unanswered: back off */
		s->retry_ms = s->retry_ms * 2 > RC_RETRY_MAX_MS ? RC_RETRY_MAX_MS : s->retry_ms * 2;
		rc_send(a, s, GLM_RELAY_REQUEST, rc_lifetime(a));
		ev_timer_at(a->loop, &s->timer, now + s->retry_ms * 1000000ull);
	} else {
		rc_request_now(a, s, now);
	}
}

int relay_client_init(struct agentd *a)
{
	struct relay_client *rc;

	if (sodium_init() < 0)
		return -EIO;
	rc = calloc(1, sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	/* protocol 0: a send-only socket, it never queues received packets */
	rc->inject_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rc->inject_fd < 0) {
		int e = -errno;

		log_warn("relay client: packet socket");
		free(rc);
		return e;
	}
	/* table bridge glm lets frames with this mark out by VM ports only */
	if (setsockopt(rc->inject_fd, SOL_SOCKET, SO_MARK, &(uint32_t){ BR_RELAY_MARK }, sizeof(uint32_t)) < 0)
		log_warn("relay client: SO_MARK: relayed packets may also leave by the bridges' uplinks");
	randombytes_buf(rc->hash_key, sizeof(rc->hash_key));
	htab_init(&rc->index, sizeof(struct rc_key), offsetof(struct rc_key, s));
	a->relay_client = rc;
	return 0;
}

void relay_client_free(struct agentd *a)
{
	struct relay_client *rc = a->relay_client;

	if (!rc)
		return;
	while (rc->nsess) {
		rc_stop(a, rc->sess[rc->nsess - 1], "shutdown");
		rc_free_session(rc, rc->nsess - 1);
	}
	if (rc->inject_fd >= 0)
		close(rc->inject_fd);
	htab_free(&rc->index);
	free(rc->sess);
	free(rc);
	a->relay_client = NULL;
}

static uint64_t rc_invalid(const struct rc_session *s)
{
	uint64_t n = 0;

	for (unsigned e = 1; e < RELAY_PKT_MAX; e++)
		n += s->invalid[e];
	return n;
}

void relay_client_status(struct agentd *a, struct printer *p)
{
	struct relay_client *rc = a->relay_client;
	uint64_t now = now_ns();

	print_open_array(p, "relays");
	for (unsigned i = 0; rc && i < rc->nsess; i++) {
		const struct rc_session *s = rc->sess[i];

		for (unsigned b = 0; b < s->nlegs; b++) {
			const struct rc_leg *l = &s->leg[b];
			const char *mode = rc_mode_name[l->mode];

			/* a catch-up window that ran out with no relayed packet left */
			if (l->mode == LEG_CATCHUP && now - l->native_ns > RC_CATCHUP_MS * 1000000ull)
				mode = rc_mode_name[LEG_DONE];

			if (!l->refs)
				continue;
			print_open_object(p, NULL);
			print_addr(p, "group", "relay %s", &s->group);
			print_addr(p, "source", " source %s", &s->source);
			print_str(p, "relay", " via %s", sa6(&s->relay));
			print_str(p, "bridge", " bridge %s:", a->br[b].name);
			print_uint(p, "refs", " refs %u", l->refs);
			print_str(p, "state", ", %s", rc_state_name[s->state]);
			print_str(p, "mode", ", %s", mode);
			print_u64(p, "packets", ", %llu packets", l->packets);
			print_u64(p, "bytes", " %llu bytes", l->bytes);
			print_u64(p, "dup_suppressed", ", %llu duplicates suppressed", l->dup_suppressed);
			print_u64(p, "late", ", %llu late", l->late);
			print_u64(p, "native", NULL, l->native);
			print_u64(p, "invalid", ", %llu invalid", rc_invalid(s));
			print_u64(p, "replayed", ", %llu replayed\n", s->replayed);
			print_u64(p, "inject_errors", NULL, l->inject_errs);
			print_float(p, "request_ms", NULL, s->active_ns ? ns_to_ms(s->active_ns - s->requested_ns) : -1.0);
			print_float(p, "native_after_ms", NULL, l->native_ns ? ns_to_ms(l->native_ns - s->requested_ns) : -1.0);
			print_close_object(p);
		}
	}
	print_close_array(p);
	if (rc)
		print_u64(p, "relay_cookie_rounds", "relay cookie round trips: %llu\n", rc->cookie_rounds);
}
