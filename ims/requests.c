/* One batch of requests: what imsd does with the datagrams one recvmmsg
 * returned.
 *
 * Every datagram goes through glm_msg_accept() and glm_seq_fresh() first
 * (parsed, authentic, its seq within the window and from after our
 * start); what fails is counted by reason and never answered (an answer
 * would tell a prober which of its guesses got further). QUERY and
 * SUBSCRIBE must also be newer than the last of their key (glm_replay);
 * an UPDATE newer than the one stored for its HA. The UPDATEs of the
 * batch are then applied in ONE transaction, so a burst of N updates
 * costs one fsync; the acks and the pushes they cause are queued and
 * leave only after COMMIT returned. If the commit fails, every update of the batch is answered
 * INTERNAL and nothing else happens: no push, no counter moves as if it
 * had been stored. QUERY and SUBSCRIBE are answered after the commit, so
 * they never report something that might still be rolled back.
 *
 * Nothing larger than a request goes to an address that has not proved it
 * receives there (cookie.h): a QUERY or SUBSCRIBE without our cookie for
 * its source is answered with a COOKIE message only, and changes nothing;
 * an UPDATE's ACK to such a source leaves out what does not fit in the
 * UPDATE's size (the MA first: the sender knows it). */
#include "imsd.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* Larger than any request imsd understands; a bigger datagram is cut by
 * the kernel (MSG_TRUNC) and counted as a length mismatch. */
#define RX_BUF 2048

int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

static void reply(struct imsd *d, const struct rx *r, struct glm_msg *out)
{
	/* what may go unasked-for to an unproven address, least needed first */
	static const unsigned optional[] = { GLM_TLV_MA, GLM_TLV_UPDATE_SEQ, GLM_TLV_LIFETIME };

	out->seq = r->m.seq;
	out->key_id = r->key->local_id;   /* as sendq_msg will seal it: the length counts it */
	if (r->proven)
		glm_cookie_add(&d->cookies, now_ns(), r->from, r->key->id, out);
	for (unsigned i = 0; !r->proven && i < ARRAY_SIZE(optional) && glm_msg_len(out) > r->m.len; i++)
		out->present &= ~(1u << optional[i]);
	if (!r->proven && glm_msg_len(out) > r->m.len)
		return;
	sendq_msg(d, r->from, out, r->key);
}

/* A QUERY or SUBSCRIBE from an address not proven: its only answer. */
static void send_cookie(struct imsd *d, const struct rx *r)
{
	struct glm_msg c;

	if (glm_cookie_reply(&d->cookies, now_ns(), &r->m, r->from, &c)) {
		sendq_msg(d, r->from, &c, r->key);
		d->st.cookies_sent++;
	}
	log_debug("%s from key %u at %s without a valid cookie: cookie sent", glm_msg_type_name(r->m.type),
		  r->m.key_id, sa6(r->from));
}

/* Check one update against the store (inside the batch's transaction) and
 * write it. Returns <0 only if the store failed. */
static int update_apply(struct imsd *d, struct update *u, int64_t now)
{
	const struct glm_msg *m = &u->r->m;
	struct mapping old;
	int r;

	if (!GLM_HAS(m, GLM_TLV_HA) || !GLM_HAS(m, GLM_TLV_LIFETIME) ||
	    (m->lifetime && !GLM_HAS(m, GLM_TLV_MA))) {
		u->status = GLM_ST_BADREQ;
		log_warnx("update from key %u refused: missing %s", m->key_id,
			  !GLM_HAS(m, GLM_TLV_HA) ? "HA" : !GLM_HAS(m, GLM_TLV_LIFETIME) ? "LIFETIME" : "MA");
		return 0;
	}
	if (!key_owns_home(u->r->key, &m->ha)) {
		u->status = GLM_ST_DENIED;
		log_warnx("update %s from key %u refused: key does not own this home address",
			  a6(&m->ha), m->key_id);
		return 0;
	}
	r = d->es ? estore_get(d, &m->ha, &old) : store_get(d->store, &m->ha, &old);
	if (r && r != -ENOENT)
		return r;
	/* A stored seq beyond the window ahead of our clock cannot have come
	 * from an update taken since seqs are bounded (or our clock went
	 * back): it no longer holds every later update off. */
	if (!r && m->seq <= old.seq && old.seq > realtime_ns() + GLM_SEQ_FUTURE_NS) {
		log_warnx("update %s from key %u: stored seq %llu is ahead of our clock beyond the window; "
			  "replaced", a6(&m->ha), m->key_id, (unsigned long long)old.seq);
	} else if (!r && m->seq <= old.seq) {
		u->status = GLM_ST_STALE;
		log_warnx("update %s from key %u refused: stale seq %llu <= %llu", a6(&m->ha),
			  m->key_id, (unsigned long long)m->seq, (unsigned long long)old.seq);
		return 0;
	}
	/* The MA: the one live for this HA already (a refresh), or vouched
	 * for by the agent of its prefix, or proven by our token (else the
	 * token goes to the MA; glm-keys(5)). */
	if (m->lifetime && !(!r && old.expires > now && !memcmp(&old.ma, &m->ma, 16))) {
		const char *why;

		if (glm_ma_check(&d->keys, &d->proof, m, (uint64_t)now, &why) != GLM_ST_OK) {
			u->status = GLM_ST_PROVE;
			log_info("update %s -> %s from key %u: %s; asking it to prove the MA", a6(&m->ha), a6(&m->ma),
				 m->key_id, why ? why : "no vouch");
			return 0;
		}
	}
	u->was_live = !r && old.expires > now;
	u->lifetime = m->lifetime < d->conf.max_lifetime ? m->lifetime : d->conf.max_lifetime;
	u->m.ha = m->ha;
	/* A withdraw may omit MA; the tombstone keeps the last one. */
	u->m.ma = GLM_HAS(m, GLM_TLV_MA) ? m->ma : (!r ? old.ma : in6addr_any);
	u->m.seq = m->seq;
	u->m.expires = u->lifetime ? now + u->lifetime : 0;
	u->m.key_id = m->key_id;
	if (d->es) {
		/* written with the batch's other updates, by estore_commit */
		u->status = GLM_ST_OK;
		return 0;
	}
	{
		uint64_t t0 = now_ns();

		r = store_put(d->store, &u->m);
		mx_hist_observe(&d->store_write, (double)(now_ns() - t0) / 1e9);
	}
	if (r)
		return r;
	u->status = GLM_ST_OK;
	return 0;
}

static void updates_run(struct imsd *d, struct update *u, unsigned n)
{
	int64_t now = wall_now();
	unsigned applied = 0;
	int r;

	if (d->es) {
		for (unsigned i = 0; i < n; i++)
			update_apply(d, &u[i], now);
		estore_commit(d, u, n, now);
		r = 0;
		goto answer;
	}
	r = store_begin(d->store);
	for (unsigned i = 0; !r && i < n; i++) {
		r = update_apply(d, &u[i], now);
		applied += !r && u[i].status == GLM_ST_OK;
	}
	if (!r && applied)
		r = store_commit(d->store);
	else if (!r)
		store_rollback(d->store); /* nothing written: no fsync for refusals */
	if (r) {
		log_warnx("store: batch of %u update%s not stored: %s", n, n == 1 ? "" : "s",
			  store_errmsg(d->store));
		store_rollback(d->store);
	}

answer:
	for (unsigned i = 0; i < n; i++) {
		struct glm_msg a = { .type = GLM_IMS_ACK };
		const struct glm_msg *m = &u[i].r->m;

		/* Refusals stand (they were decided, not stored); what was
		 * or would have been stored is now known not to be. */
		if (r && u[i].status == GLM_ST_OK)
			u[i].status = GLM_ST_INTERNAL;
		/* etcd: no member could store it. No answer: the client tries
		 * again, at this frontend or another (imsd.conf(5)). */
		if (u[i].unavailable) {
			d->st.updates_failed++;
			d->st.updates_unavailable++;
			continue;
		}
		switch (u[i].status) {
		case GLM_ST_OK:
			d->st.updates_ok++;
			break;
		case GLM_ST_STALE:
			d->st.updates_stale++;
			break;
		case GLM_ST_DENIED:
			d->st.updates_denied++;
			break;
		case GLM_ST_BADREQ:
			d->st.updates_badreq++;
			break;
		case GLM_ST_PROVE:
			d->st.updates_prove++;
			break;
		default:
			u[i].status = GLM_ST_INTERNAL;
			d->st.updates_failed++;
			break;
		}
		GLM_SET(&a, status, GLM_TLV_STATUS, u[i].status);
		if (GLM_HAS(m, GLM_TLV_HA))
			GLM_SET(&a, ha, GLM_TLV_HA, m->ha);
		if (u[i].status == GLM_ST_OK) {
			GLM_SET(&a, ma, GLM_TLV_MA, u[i].m.ma);
			GLM_SET(&a, lifetime, GLM_TLV_LIFETIME, u[i].lifetime);
			GLM_SET(&a, update_seq, GLM_TLV_UPDATE_SEQ, u[i].m.seq);
		}
		if (u[i].status == GLM_ST_PROVE) {
			/* to the MA, not to the sender: no larger than the update */
			struct sockaddr_in6 to = *u[i].r->from;

			to.sin6_addr = m->ma;
			glm_proof_make(&d->proof, (uint64_t)wall_now(), m->key_id, &m->ha, &m->ma, a.proof);
			a.present |= 1u << GLM_TLV_PROOF;
			a.seq = m->seq;
			sendq_msg(d, &to, &a, u[i].r->key);
			continue;
		}
		reply(d, u[i].r, &a);
		if (u[i].status == GLM_ST_OK) {
			log_debug("update %s -> %s lifetime %u seq %llu from key %u", a6(&u[i].m.ha),
				  a6(&u[i].m.ma), u[i].lifetime, (unsigned long long)u[i].m.seq, m->key_id);
			/* etcd: every frontend pushes what its watch sees */
			if (!d->es && (u[i].lifetime || u[i].was_live))
				subs_notify(d, &u[i].m, u[i].lifetime);
		}
	}
}

static void query(struct imsd *d, const struct rx *r)
{
	struct glm_msg a = { .type = GLM_REPLY };
	struct mapping m;
	int64_t now = wall_now();
	int e;

	d->st.queries++;
	if (!GLM_HAS(&r->m, GLM_TLV_HA)) {
		GLM_SET(&a, status, GLM_TLV_STATUS, GLM_ST_BADREQ);
		reply(d, r, &a);
		return;
	}
	GLM_SET(&a, ha, GLM_TLV_HA, r->m.ha);
	e = d->es ? estore_query(d, &r->m.ha, &m) : store_get(d->store, &r->m.ha, &m);
	if (e == 0 && m.expires > now) {
		GLM_SET(&a, status, GLM_TLV_STATUS, GLM_ST_OK);
		GLM_SET(&a, ma, GLM_TLV_MA, m.ma);
		GLM_SET(&a, lifetime, GLM_TLV_LIFETIME, (uint32_t)(m.expires - now));
		GLM_SET(&a, update_seq, GLM_TLV_UPDATE_SEQ, m.seq);
	} else if (e == 0 || e == -ENOENT) {
		GLM_SET(&a, status, GLM_TLV_STATUS, GLM_ST_NOTFOUND);
	} else {
		log_warnx("store: query %s: %s", a6(&r->m.ha), d->es ? "etcd unavailable" : store_errmsg(d->store));
		GLM_SET(&a, status, GLM_TLV_STATUS, GLM_ST_INTERNAL);
	}
	reply(d, r, &a);
}

static void subscribe(struct imsd *d, const struct rx *r)
{
	struct glm_msg a = { .type = GLM_NOTIFY };
	struct sockaddr_in6 to = *r->from;
	uint32_t lifetime;
	int e;

	d->st.subscribes++;
	if (!GLM_HAS(&r->m, GLM_TLV_PREFIX) || !GLM_HAS(&r->m, GLM_TLV_LIFETIME)) {
		GLM_SET(&a, status, GLM_TLV_STATUS, GLM_ST_BADREQ);
		reply(d, r, &a);
		return;
	}
	if (GLM_HAS(&r->m, GLM_TLV_PORT) && r->m.port)
		to.sin6_port = htons(r->m.port);
	lifetime = r->m.lifetime < d->conf.sub_lifetime ? r->m.lifetime : d->conf.sub_lifetime;
	e = subs_add(d, &to, &r->m, r->key, lifetime);
	GLM_SET(&a, status, GLM_TLV_STATUS, !e ? GLM_ST_OK : e == -EDQUOT ? GLM_ST_LIMIT : GLM_ST_INTERNAL);
	GLM_SET(&a, prefix, GLM_TLV_PREFIX, r->m.prefix);
	a.prefix_len = r->m.prefix_len;
	GLM_SET(&a, lifetime, GLM_TLV_LIFETIME, e ? 0 : lifetime);
	reply(d, r, &a);
	if (e == -EDQUOT) {
		uint64_t quiet;

		d->st.subscribes_limited++;
		if (glm_keylog_due(&d->limit_log, r->key->id, now_ns(), &quiet))
			log_warnx("subscribe %s/%u from key %u at %s refused: key %u holds %u subscriptions, the most "
				  "one key may (%llu more refused since the last such line)", a6(&r->m.prefix),
				  r->m.prefix_len, r->key->id, sa6(&to), r->key->id, IMSD_SUBS_PER_KEY,
				  (unsigned long long)quiet);
		return;
	}
	if (e) {
		log_warnx("subscribe %s/%u from key %u at %s refused: %s", a6(&r->m.prefix),
			  r->m.prefix_len, r->key->id, sa6(&to), strerror(-e));
		return;
	}
	log_debug("subscribe %s/%u from key %u at %s for %us", a6(&r->m.prefix), r->m.prefix_len,
		  r->key->id, sa6(&to), lifetime);
	if (!lifetime)
		return;
	/* The ack goes first (it is queued first), then the current state. */
	if ((e = subs_dump(d, &to, r->key, &r->m.prefix, r->m.prefix_len)) < 0)
		log_warnx("store: dump of %s/%u: %s", a6(&r->m.prefix), r->m.prefix_len,
			  e == -ENOMEM ? "out of memory"
			  : d->es ? "the etcd cache is not synchronised yet (the pushes will follow)"
				  : store_errmsg(d->store));
}

int requests_batch(struct imsd *d)
{
	static uint8_t bufs[IMSD_BATCH][RX_BUF];
	static struct sockaddr_in6 from[IMSD_BATCH];
	struct mmsghdr mm[IMSD_BATCH];
	struct iovec iov[IMSD_BATCH];
	struct rx rx[IMSD_BATCH];
	struct update upd[IMSD_BATCH];
	unsigned nrx = 0, nupd = 0;
	uint64_t clock;
	int n;

	memset(mm, 0, sizeof(mm));
	for (unsigned i = 0; i < IMSD_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		mm[i].msg_hdr.msg_name = &from[i];
		mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	n = recvmmsg(d->udp, mm, IMSD_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;

	clock = realtime_ns();
	for (int i = 0; i < n; i++) {
		struct rx *r = &rx[nrx];
		enum glm_parse_err e;

		d->st.rx++;
		if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
			e = GLM_PE_LENGTH;
		else if (mm[i].msg_hdr.msg_namelen != sizeof(from[i]))
			e = GLM_PE_SHORT; /* not an IPv6 peer: cannot happen on our socket */
		else
			e = glm_msg_accept(&d->keys, bufs[i], mm[i].msg_len, &r->m, &r->key);
		/* every request, UPDATE too: one far ahead would hold the
		 * later updates of its home address off (its seq is stored) */
		if (e == GLM_PE_OK)
			e = glm_seq_fresh(r->m.seq, clock, d->since);
		if (e != GLM_PE_OK) {
			d->st.drop[e < GLM_PE_MAX ? e : GLM_PE_MAC]++;
			log_debug("drop %u bytes from %s: %s", mm[i].msg_len, sa6(&from[i]),
				  glm_parse_err_name(e));
			continue;
		}
		r->from = &from[i];
		r->proven = glm_cookie_proven(&d->cookies, now_ns(), &r->m, r->from);
		switch (r->m.type) {
		case GLM_IMS_UPDATE:
			memset(&upd[nupd], 0, sizeof(upd[nupd]));
			upd[nupd].r = r;
			upd[nupd].status = 0xffff; /* not looked at yet */
			nupd++;
			break;
		case GLM_QUERY:
		case GLM_SUBSCRIBE:
			/* unproven: nothing remembered, nothing but a cookie sent */
			if (!r->proven) {
				send_cookie(d, r);
				continue;
			}
			if ((e = glm_replay_check(&d->kseq, r->m.key_id, r->m.seq)) != GLM_PE_OK) {
				d->st.drop[e]++;
				log_debug("drop %s from key %u at %s: seq %llu not above the last taken from it",
					  glm_msg_type_name(r->m.type), r->m.key_id, sa6(r->from),
					  (unsigned long long)r->m.seq);
				continue;
			}
			break;
		default:
			d->st.drop_unexpected++;
			log_debug("drop %s from key %u at %s: not a request imsd serves",
				  glm_msg_type_name(r->m.type), r->m.key_id, sa6(r->from));
			continue;
		}
		nrx++;
	}
	if (nupd)
		updates_run(d, upd, nupd);
	for (unsigned i = 0; i < nrx; i++) {
		if (rx[i].m.type == GLM_QUERY)
			query(d, &rx[i]);
		else if (rx[i].m.type == GLM_SUBSCRIBE)
			subscribe(d, &rx[i]);
	}
	sendq_flush(d);
	return n;
}
