/* An IMS subscription, client side: see imssub.h. */
#include "imssub.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <string.h>

static void round_send(struct ims_sub *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct glm_msg m = { .type = GLM_SUBSCRIBE, .seq = seq_next() };

		ims_sub_with_cookie(s, &m);
		if (i == 0)
			s->round[0] = m.seq;
		s->round[1] = m.seq;
		GLM_SET(&m, prefix, GLM_TLV_PREFIX, s->prefix[i].addr);
		m.prefix_len = s->prefix[i].len;
		GLM_SET(&m, lifetime, GLM_TLV_LIFETIME, s->lifetime);
		s->send(s->ctx, &m);
	}
	s->rounds++;
	s->unanswered++;
	/* until the IMS acknowledges, try again soon */
	ev_timer_in(s->loop, &s->timer, IMS_SUB_RETRY_MS);
}

/* The next IMS, from scratch: its cookie and its push order are its own. */
static void failover(struct ims_sub *s)
{
	if (!ims_set_failover(s->ims, "subscription", s->unanswered))
		return;
	s->unanswered = 0;
	s->granted = 0;
	s->push_seq = 0;
	s->have_cookie = false;
	s->resends = 0;
}

static void round_due(void *arg)
{
	struct ims_sub *s = arg;

	if (s->ims && s->unanswered >= IMS_SUB_FAILOVER_ROUNDS)
		failover(s);
	round_send(s);
}

void ims_sub_init(struct ims_sub *s, struct evloop *loop, struct ims_set *ims, uint32_t lifetime,
		  ims_sub_send_fn send, ims_sub_push_fn push, void *ctx, uint64_t drops[GLM_PE_MAX])
{
	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->ims = ims;
	s->lifetime = lifetime;
	s->send = send;
	s->push = push;
	s->ctx = ctx;
	s->drops = drops;
	ev_timer_init(&s->timer, "IMS subscription", round_due, s);
}

int ims_sub_add_prefix(struct ims_sub *s, const struct in6_addr *prefix, uint8_t len)
{
	if (s->n == IMS_SUB_MAX_PREFIXES)
		return -ENOSPC;
	s->prefix[s->n].addr = *prefix;
	s->prefix[s->n].len = len;
	s->n++;
	return 0;
}

void ims_sub_start(struct ims_sub *s)
{
	if (s->n)
		round_send(s);
}

void ims_sub_stop(struct ims_sub *s, bool unsubscribe)
{
	ev_timer_stop(&s->timer);
	for (unsigned i = 0; unsubscribe && i < s->n; i++) {
		struct glm_msg m = { .type = GLM_SUBSCRIBE, .seq = seq_next() };

		ims_sub_with_cookie(s, &m);
		GLM_SET(&m, prefix, GLM_TLV_PREFIX, s->prefix[i].addr);
		m.prefix_len = s->prefix[i].len;
		GLM_SET(&m, lifetime, GLM_TLV_LIFETIME, 0);
		s->send(s->ctx, &m);
	}
}

void ims_sub_with_cookie(const struct ims_sub *s, struct glm_msg *m)
{
	if (s->have_cookie) {
		memcpy(m->cookie, s->cookie, GLM_COOKIE_LEN);
		m->present |= 1u << GLM_TLV_COOKIE;
	}
}

bool ims_sub_may_resend(struct ims_sub *s)
{
	if (s->resends >= IMS_SUB_COOKIE_RESENDS)
		return false;
	s->resends++;
	return true;
}

static bool in_round(const struct ims_sub *s, uint64_t seq)
{
	return s->n && s->round[0] && seq >= s->round[0] && seq <= s->round[1];
}

static void drop_replay(struct ims_sub *s)
{
	if (s->drops)
		s->drops[GLM_PE_REPLAY]++;
}

bool ims_sub_msg(struct ims_sub *s, const struct sockaddr_in6 *from, const struct glm_msg *m)
{
	bool current = !s->ims || ims_set_is_current(s->ims, from);

	if (!current) {
		/* the IMS we left: its REPLY is still the caller's, the
		 * rest was for a subscription we no longer have there */
		if (m->type == GLM_NOTIFY || (m->type == GLM_COOKIE && in_round(s, m->seq))) {
			s->other_ims++;
			log_debug("%s from %s dropped: not the IMS we subscribe at now", glm_msg_type_name(m->type),
				  sa6(from));
			return true;
		}
		return false;
	}
	if (GLM_HAS(m, GLM_TLV_COOKIE)) {
		memcpy(s->cookie, m->cookie, GLM_COOKIE_LEN);
		s->have_cookie = true;
		if (m->type != GLM_COOKIE)
			s->resends = 0;
	}
	if (m->type == GLM_COOKIE) {
		if (!in_round(s, m->seq))
			return false;
		s->unanswered = 0; /* it answers: only not with an ack yet */
		if (GLM_HAS(m, GLM_TLV_COOKIE) && ims_sub_may_resend(s)) {
			log_debug("IMS asks us to prove our address: SUBSCRIBE again");
			round_send(s);
		}
		return true;
	}
	if (m->type != GLM_NOTIFY)
		return false;
	if (!GLM_HAS(m, GLM_TLV_HA)) { /* an ack, with our seq */
		if (!in_round(s, m->seq)) {
			drop_replay(s);
			log_debug("subscription ack: seq %llu of no SUBSCRIBE of the last round",
				  (unsigned long long)m->seq);
			return true;
		}
		s->unanswered = 0;
		if (m->status == GLM_ST_OK && GLM_HAS(m, GLM_TLV_LIFETIME) && m->lifetime) {
			s->acks++;
			s->granted = m->lifetime;
			/* renew at half the lifetime granted: the dump that
			 * comes with it mends whatever was missed */
			ev_timer_in(s->loop, &s->timer, (uint64_t)m->lifetime * 500);
		} else {
			s->refusals++;
			log_warnx("IMS refused our subscription: %s", glm_status_name(m->status));
		}
		return true;
	}
	/* a push, with the IMS's own seq */
	if (m->seq <= s->push_seq) {
		drop_replay(s);
		log_debug("push: seq %llu not above the last one, %llu", (unsigned long long)m->seq,
			  (unsigned long long)s->push_seq);
		return true;
	}
	s->push_seq = m->seq;
	if (GLM_HAS(m, GLM_TLV_MA) && GLM_HAS(m, GLM_TLV_UPDATE_SEQ) && GLM_HAS(m, GLM_TLV_LIFETIME)) {
		s->pushes++;
		s->push(s->ctx, m);
	}
	return true;
}
