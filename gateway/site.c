/* The site gateway's own part (MAT-NET): binding updates.
 *
 * A mobile node treats the plain hosts behind a site gateway as peers
 * that translate (matd.conf(5) correspondent, a gateway key with their
 * prefixes) and sends its binding updates here. They are checked exactly
 * as matd's correspondent role checks them (lib/binding.c: the key owns
 * the HA, a new MA vouched for or proven), then go the way of an IMS push
 * (gw_apply: only an HA in a home prefix, only an MA in a site prefix,
 * the newest update seq wins, whichever of the two brought it). */
#include "gatewayd.h"
#include "binding.h"
#include "log.h"
#include "util.h"
#include <string.h>

static void send_ack(struct gw *g, const struct sockaddr_in6 *to, const struct in6_addr *local, struct glm_msg *a,
		     const struct glm_key *key)
{
	/* from the address the update was sent to: the mobile node takes
	 * an ack only from there */
	bool from_local = local && !IN6_IS_ADDR_UNSPECIFIED(local) && !IN6_IS_ADDR_MULTICAST(local);

	glm_send_msg(g->udp, to, from_local ? local : NULL, a, key);
}

void gw_binding_update(struct gw *g, const struct glm_msg *m, const struct glm_key *key,
		       const struct in6_addr *local, const struct sockaddr_in6 *from)
{
	const struct gw_mapping *e;
	struct glm_msg a;
	const char *why;
	int st;

	g->st.bu_rx++;
	if (!g->conf.nserve) {
		g->st.bu_refused++;
		log_debug("binding update from %s ignored: a home gateway serves no hosts", sa6(from));
		return;
	}
	e = GLM_HAS(m, GLM_TLV_HA) ? htab_find(&g->maps, &m->ha) : NULL;
	st = glm_bu_check(&g->keys, &g->proof, m, key, e ? &e->ma : NULL, e ? e->update_seq : 0, &why);
	if (st == GLM_ST_DENIED || st == GLM_ST_BADREQ) {
		g->st.bu_refused++;
		log_warnx("binding update%s%s from %s (key %u) refused: %s", GLM_HAS(m, GLM_TLV_HA) ? " for " : "",
			  GLM_HAS(m, GLM_TLV_HA) ? a6(&m->ha) : "", sa6(from), key->id,
			  st == GLM_ST_DENIED ? "the key does not own the home address" : "HA, MA or lifetime missing");
	} else if (st == GLM_ST_PROVE && gw_in_home(&g->conf, &m->ha) && gw_in_site(&g->conf, &m->ma)) {
		struct sockaddr_in6 to;

		g->st.bu_prove++;
		log_info("binding update %s -> %s: %s; asking it to prove the MA", a6(&m->ha), a6(&m->ma),
			 why ? why : "no vouch");
		glm_bu_prove(&g->proof, m, key, from, &a, &to);
		send_ack(g, &to, NULL, &a, key);
		return;
	} else {
		/* OK, or PROVE for an HA or MA we would never install:
		 * gw_apply refuses those (DENIED) before any token goes out */
		st = gw_apply(g, &m->ha, &m->ma, m->seq, m->lifetime, "binding update");
	}
	glm_bu_ack(m, (uint16_t)st, &a);
	send_ack(g, from, local, &a, key);
}
