/* The client side of an IMS subscription, for every node that follows the
 * mappings of home prefixes: matd's correspondent role and the gateway.
 *
 * A round is one SUBSCRIBE per prefix, each with the IMS's cookie for our
 * address when we have one (glm-keys(5) ADDRESS VALIDATION). The IMS
 * answers each with an ack (a NOTIFY without HA, with our seq) and then
 * the prefix's mappings, one NOTIFY each; later changes come as pushes. A
 * round goes again every IMS_SUB_RETRY_MS until acknowledged, then at half
 * the lifetime the IMS granted: every renewal brings the full dump again,
 * so a client that missed pushes, or whose IMS restarted and forgot it,
 * is whole again one renewal later.
 *
 * Nothing from the IMS is taken twice: an ack only for a SUBSCRIBE of the
 * last round, pushes only in the order the IMS sent them (header seq above
 * the last one taken), so a push replayed after its mapping was withdrawn
 * does not bring it back. The caller has checked the message's MAC, its
 * freshness and that it came from its IMS's key and address.
 *
 * A COOKIE answer to a SUBSCRIBE of the round makes the round go again at
 * once, a few times in a row at most (then the retry timer); every answer
 * brings a fresh cookie, kept for the next request, QUERYs included.
 *
 * With several IMS addresses (imsset.h), IMS_SUB_FAILOVER_ROUNDS rounds
 * in a row unacknowledged (the first ones or a renewal's) move the
 * subscription to the next IMS: a round there at once, with none of the
 * last one's cookie or push order (each IMS has its own). Acks, pushes and
 * cookies are taken from the current IMS only; a late one from the IMS we
 * left is dropped and counted (other_ims). */
#ifndef GLM_IMSSUB_H
#define GLM_IMSSUB_H
#include "evloop.h"
#include "imsset.h"
#include "keys.h"
#include "wire.h"
#include <stdbool.h>
#include <stdint.h>

#define IMS_SUB_MAX_PREFIXES 8
#define IMS_SUB_RETRY_MS 2000
#define IMS_SUB_COOKIE_RESENDS 2     /* immediate re-sends on COOKIE answers in a row */
#define IMS_SUB_FAILOVER_ROUNDS 3    /* rounds unacknowledged before the next IMS */

/* Seal m for the current IMS (ims_set_current) and send it: 0 or -errno. */
typedef int (*ims_sub_send_fn)(void *ctx, struct glm_msg *m);
/* A mapping pushed (or dumped): m has HA, MA, LIFETIME (0: withdrawn)
 * and UPDATE_SEQ, the mobile node's sequence, to order it against other
 * news of the same HA. */
typedef void (*ims_sub_push_fn)(void *ctx, const struct glm_msg *m);

struct ims_sub {
	struct evloop *loop;
	struct ev_timer timer;           /* the next round: a retry, or the renewal */
	struct ims_set *ims;             /* the owner's IMS addresses; which one is current */
	unsigned unanswered;             /* rounds sent since the last ack */
	unsigned n;
	struct glm_prefix prefix[IMS_SUB_MAX_PREFIXES];
	uint32_t lifetime;               /* asked for, seconds */
	uint32_t granted;                /* the IMS's last ack: its lifetime (0: none yet) */
	uint64_t round[2];               /* the first and last SUBSCRIBE seq of the last round */
	uint64_t push_seq;               /* the IMS's last push taken */
	uint8_t cookie[GLM_COOKIE_LEN];  /* the IMS's last cookie for our address */
	bool have_cookie;
	unsigned resends;                /* requests sent again on a COOKIE since the last answer */
	ims_sub_send_fn send;
	ims_sub_push_fn push;
	void *ctx;
	uint64_t *drops;                 /* the owner's counters by enum glm_parse_err (replays) */
	/* counters */
	uint64_t rounds, acks, refusals, pushes, other_ims;
};

void ims_sub_init(struct ims_sub *s, struct evloop *loop, struct ims_set *ims, uint32_t lifetime,
		  ims_sub_send_fn send, ims_sub_push_fn push, void *ctx, uint64_t drops[GLM_PE_MAX]);
/* -ENOSPC past IMS_SUB_MAX_PREFIXES. */
int ims_sub_add_prefix(struct ims_sub *s, const struct in6_addr *prefix, uint8_t len);
/* The first round now (nothing without prefixes); again later: a round
 * now, for the whole state again (the IMS dumps it at each round). */
void ims_sub_start(struct ims_sub *s);
/* No more rounds; with unsubscribe, LIFETIME 0 for each prefix, so the
 * IMS stops pushing to an address nobody listens on. */
void ims_sub_stop(struct ims_sub *s, bool unsubscribe);
/* Add the IMS's cookie, if we have one, to a request of the caller's (QUERY). */
void ims_sub_with_cookie(const struct ims_sub *s, struct glm_msg *m);
/* A message from one of our IMSes (from: its address). Keeps the cookie
 * it carries if from the current one; takes the subscription's acks,
 * pushes and COOKIEs. true: it was the subscription's (handled, or dropped
 * and counted); false: the caller's (a REPLY, a COOKIE for its QUERY). */
bool ims_sub_msg(struct ims_sub *s, const struct sockaddr_in6 *from, const struct glm_msg *m);
/* May a request of the caller's be sent again at once on a COOKIE? (counted) */
bool ims_sub_may_resend(struct ims_sub *s);
#endif
