/* The correspondent half of matd: translation for mobile peers.
 *
 * For each mobile peer it holds HA -> current MA (peer_ha2ma: the
 * destination of what we send is rewritten) and the peer's current and
 * previous MA -> HA (peer_ma2ha: the source of what we receive is
 * rewritten back, so our sockets only ever see the HA). Mappings come from
 * three places, ordered by the mobile node's update sequence number so an
 * old one never overwrites a newer one: BINDING_UPDATEs from the peer, IMS
 * pushes for subscribed home prefixes, and IMS query replies. Each peer
 * owns a timer for its expiry.
 *
 * The subscription (its rounds, acks, cookie and the order of pushes) is
 * lib/imssub.c's, shared with the gateway. Besides the window every
 * message must be in (glm_seq_fresh()), a reply is taken only to the query
 * outstanding; the query carries the subscription's cookie for our
 * address and goes again at once on a COOKIE answer. */
#include "matd.h"
#include "binding.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <string.h>

#define SUBSCRIBE_LIFETIME 600
#define EXPIRE_RETRY_NS (1000 * 1000000ull)

static struct peer *peer_find(struct matd *d, const struct in6_addr *ha)
{
	for (unsigned i = 0; i < d->npeers; i++)
		if (!memcmp(&d->peers[i].ha, ha, sizeof(*ha)))
			return &d->peers[i];
	return NULL;
}

static bool same(const struct in6_addr *a, const struct in6_addr *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static bool peer_is_cn(const struct matd *d, const struct in6_addr *a)
{
	for (unsigned i = 0; i < d->conf.ncns; i++)
		if (same(&d->conf.cns[i].sin6_addr, a))
			return true;
	return false;
}

static void peer_remove_rules(struct matd *d, const struct peer *p)
{
	mat_nft_del(d->nft, MAT_PEER_HA2MA, &p->ha);
	mat_nft_del(d->nft, MAT_PEER_MA2HA, &p->ma);
	if (p->has_prev)
		mat_nft_del(d->nft, MAT_PEER_MA2HA, &p->prev_ma);
	if (d->conf.home_gateway && !peer_is_cn(d, &p->ha))
		mat_nft_xlate_peer(d->nft, &p->ha, false);
}

static void peer_expire(void *arg);

/* Slot p takes n, its timer armed at n's expiry. A timer is linked into
 * the loop's list: the slot's own is taken out before the struct is
 * overwritten, and one copied in (stopped by the caller) is made the
 * slot's own again. */
static void peer_store(struct matd *d, struct peer *p, const struct peer *n)
{
	ev_timer_stop(&p->timer);
	*p = *n;
	p->matd = d;
	ev_timer_init(&p->timer, "peer expiry", peer_expire, p);
	ev_timer_at(d->loop, &p->timer, p->expires_ns);
}

/* The last slot moves into p's. */
static void peer_remove(struct matd *d, struct peer *p)
{
	struct peer *last = &d->peers[--d->npeers];

	ev_timer_stop(&p->timer);
	ev_timer_stop(&last->timer);
	if (p != last)
		peer_store(d, p, last);
}

static void peer_expire(void *arg)
{
	struct peer *p = arg;
	struct matd *d = p->matd;

	peer_remove_rules(d, p);
	if (mat_nft_commit(d->nft) < 0) { /* logged */
		ev_timer_at(d->loop, &p->timer, now_ns() + EXPIRE_RETRY_NS);
		return;
	}
	log_info("peer %s: mapping to %s expired", a6(&p->ha), a6(&p->ma));
	peer_remove(d, p);
}

/* Apply one mapping; returns a glm_status. Memory changes only once the
 * kernel has taken the batch. */
static int apply(struct matd *d, const struct in6_addr *ha, const struct in6_addr *ma, uint64_t seq,
		 uint32_t lifetime, const char *via)
{
	struct peer *p = peer_find(d, ha), n;
	int r;

	if (p && seq <= p->seq) {
		d->stale++;
		log_debug("%s for %s: seq %llu not newer than %llu, ignored", via, a6(ha),
			  (unsigned long long)seq, (unsigned long long)p->seq);
		return GLM_ST_STALE;
	}
	if (lifetime == 0) {
		if (!p)
			return GLM_ST_OK;
		peer_remove_rules(d, p);
		if ((r = mat_nft_commit(d->nft)) < 0)
			return GLM_ST_INTERNAL;
		log_info("peer %s withdrawn (%s)", a6(ha), via);
		peer_remove(d, p);
		return GLM_ST_OK;
	}
	if (!p && d->npeers == MATD_MAX_PEERS) {
		log_warnx("peer table full (%d): %s -> %s not installed", MATD_MAX_PEERS, a6(ha), a6(ma));
		return GLM_ST_INTERNAL;
	}
	memset(&n, 0, sizeof(n));
	n.ha = *ha;
	n.ma = *ma;
	n.seq = seq;
	n.expires_ns = now_ns() + (uint64_t)lifetime * 1000000000ull;
	if (p && same(&p->ma, ma)) {
		n.prev_ma = p->prev_ma;
		n.has_prev = p->has_prev;
		peer_store(d, p, &n);
		return GLM_ST_OK;
	}
	if (p) {
		/* Keep the old MA as a receive alias: packets already on
		 * their way from it still reach the right socket. */
		n.prev_ma = p->ma;
		n.has_prev = true;
		mat_nft_del(d->nft, MAT_PEER_HA2MA, &p->ha);
		if (p->has_prev && !same(&p->prev_ma, ma))
			mat_nft_del(d->nft, MAT_PEER_MA2HA, &p->prev_ma);
	}
	mat_nft_add(d->nft, MAT_PEER_HA2MA, ha, ma);
	/* a mobile peer runs matd: it sees our MA (home-gateway) */
	if (!p && d->conf.home_gateway && !peer_is_cn(d, ha))
		mat_nft_xlate_peer(d->nft, ha, true);
	if (!(p && p->has_prev && same(&p->prev_ma, ma)))
		mat_nft_add(d->nft, MAT_PEER_MA2HA, ma, ha);
	if ((r = mat_nft_commit(d->nft)) < 0) {
		log_warnx("peer %s -> %s (%s): nftables: %s", a6(ha), a6(ma), via, strerror(-r));
		return GLM_ST_INTERNAL;
	}
	bool moved = p != NULL;

	if (!p)
		p = &d->peers[d->npeers++];
	peer_store(d, p, &n);
	log_info("peer %s now at %s (%s, seq %llu)", a6(ha), a6(ma), via, (unsigned long long)seq);
	/* our ACKs since it left went to the old MA: send one now, to the
	 * new one (tcpkick.c) */
	if (moved)
		tcp_kick_peer(d, ha);
	return GLM_ST_OK;
}

static int sub_send(void *ctx, struct glm_msg *m)
{
	struct matd *d = ctx;

	return matd_send(d, ims_set_current(&d->conf.ims), NULL, m, matd_ims_key(d));
}

static void sub_push(void *ctx, const struct glm_msg *m)
{
	apply(ctx, &m->ha, &m->ma, m->update_seq, m->lifetime, "IMS push");
}

int corr_start(struct matd *d)
{
	ims_sub_init(&d->sub, d->loop, &d->conf.ims, SUBSCRIBE_LIFETIME, sub_send, sub_push, d, d->drops);
	for (unsigned i = 0; i < d->conf.nhome; i++)
		ims_sub_add_prefix(&d->sub, &d->conf.home[i], d->conf.home_len[i]);
	ims_sub_start(&d->sub);
	return 0;
}

void corr_stop(struct matd *d)
{
	ims_sub_stop(&d->sub, false);
	for (unsigned i = 0; i < d->npeers; i++)
		ev_timer_stop(&d->peers[i].timer);
}

int corr_query(struct matd *d, const struct in6_addr *ha)
{
	struct glm_msg m = { .type = GLM_QUERY, .seq = seq_next() };

	if (!d->conf.ims.n)
		return -ENOENT;
	GLM_SET(&m, ha, GLM_TLV_HA, *ha);
	ims_sub_with_cookie(&d->sub, &m);
	d->query_seq = m.seq;
	d->query_ha = *ha;
	return matd_send(d, ims_set_current(&d->conf.ims), NULL, &m, matd_ims_key(d));
}

void corr_msg(struct matd *d, const struct glm_msg *m, const struct glm_key *key, const struct in6_addr *local,
	      const struct sockaddr_in6 *from)
{
	if (m->type == GLM_BINDING_UPDATE) {
		/* the checks are lib/binding.c's, the gateway's too */
		struct peer *p = GLM_HAS(m, GLM_TLV_HA) ? peer_find(d, &m->ha) : NULL;
		struct glm_msg a;
		const char *why;
		int st;

		d->bu_rx++;
		st = glm_bu_check(&d->keys, &d->proof, m, key, p ? &p->ma : NULL, p ? p->seq : 0, &why);
		if (st == GLM_ST_DENIED) {
			d->refused++;
			log_warnx("binding update for %s from %s refused: key %u does not own it", a6(&m->ha),
				  sa6(from), key->id);
		} else if (st == GLM_ST_PROVE) {
			struct sockaddr_in6 to;

			d->bu_prove++;
			log_info("binding update %s -> %s: %s; asking it to prove the MA", a6(&m->ha), a6(&m->ma),
				 why ? why : "no vouch");
			glm_bu_prove(&d->proof, m, key, from, &a, &to);
			matd_send(d, &to, NULL, &a, key);
			return;
		} else if (st == GLM_ST_OK) {
			st = apply(d, &m->ha, &m->ma, m->seq, m->lifetime, "binding update");
		}
		glm_bu_ack(m, (uint16_t)st, &a);
		/* from the address it was sent to: with a second address on
		 * the link the kernel may pick the other, whose ack the mobile
		 * node would not take */
		matd_send(d, from, local && !IN6_IS_ADDR_UNSPECIFIED(local) && !IN6_IS_ADDR_MULTICAST(local) ? local : NULL,
			  &a, key);
		return;
	}
	/* NOTIFY, REPLY and COOKIE come from one of our IMSes, with its key
	 * (only an ims key may send them) */
	if (!ims_set_has(&d->conf.ims, from) ||
	    key != keyring_peer(&d->keys, GLM_ROLE_BIT(GLM_ROLE_IMS), &from->sin6_addr)) {
		d->refused++;
		log_debug("%s from %s ignored: not our IMS", glm_msg_type_name(m->type), sa6(from));
		return;
	}
	if (m->type == GLM_NOTIFY)
		d->notify_rx++;
	/* the subscription's acks, pushes and COOKIEs (imssub.c) */
	if (ims_sub_msg(&d->sub, from, m))
		return;
	if (m->type == GLM_COOKIE) {
		/* the query goes again at once, with the cookie (a few
		 * times in a row at most) */
		if (!GLM_HAS(m, GLM_TLV_COOKIE) || !d->query_seq || m->seq != d->query_seq ||
		    !ims_sub_may_resend(&d->sub))
			return;
		log_debug("IMS %s asks us to prove our address: QUERY again", sa6(from));
		corr_query(d, &d->query_ha);
		return;
	}
	if (m->type == GLM_REPLY) {
		/* our seq: the answer to the query outstanding, once */
		if (!d->query_seq || m->seq != d->query_seq) {
			d->drops[GLM_PE_REPLAY]++;
			log_debug("reply from %s: seq %llu is not the query outstanding", sa6(from),
				  (unsigned long long)m->seq);
			return;
		}
		d->query_seq = 0;
		if (m->status == GLM_ST_NOTFOUND)
			log_info("IMS: no mapping for %s", GLM_HAS(m, GLM_TLV_HA) ? a6(&m->ha) : "?");
		else if (m->status == GLM_ST_OK && GLM_HAS(m, GLM_TLV_HA) && GLM_HAS(m, GLM_TLV_MA) &&
			 GLM_HAS(m, GLM_TLV_UPDATE_SEQ) && GLM_HAS(m, GLM_TLV_LIFETIME))
			apply(d, &m->ha, &m->ma, m->update_seq, m->lifetime, "IMS query");
	}
}

void corr_status(struct matd *d, struct printer *p)
{
	uint64_t now = now_ns();

	print_uint(p, NULL, "peers: %u\n", d->npeers);
	print_open_array(p, "peers");
	for (unsigned i = 0; i < d->npeers; i++) {
		const struct peer *c = &d->peers[i];

		print_open_object(p, NULL);
		print_addr(p, "ha", "peer: %s", &c->ha);
		print_addr(p, "ma", " -> %s", &c->ma);
		print_u64(p, "seq", " (seq %llu", c->seq);
		print_u64(p, "expires_in_s", ", expires in %llu s)\n",
			  c->expires_ns > now ? (c->expires_ns - now) / 1000000000ull : 0);
		print_close_object(p);
	}
	print_close_array(p);
}

