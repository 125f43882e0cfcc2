/* The home addresses' current MAs: memory and the kernel's map, in step.
 *
 * Every change goes to the kernel first, as one atomic batch (a move is
 * the old element's delete and the new one's add together, so no packet
 * sees neither); memory changes only once the kernel took it, so what
 * `status` says is what the kernel does. What is refused is refused
 * before anything is queued: an HA outside the home prefixes, and an MA
 * outside the site prefixes, whoever vouched for it: a node's stolen key
 * cannot send a home address's traffic anywhere else on the internet.
 * News older than what we hold (the mobile node's update seq) is stale:
 * the IMS dumps every mapping again at each renewal, and those repeat
 * what we have. Expiry is a once-a-second sweep in batches, not a timer
 * per mapping: the loop's timer list is sorted by insertion, and a
 * gateway may hold a hundred thousand.
 *
 * A site gateway rewrites the source of a mobile node's packets to its
 * hosts from the MA back to the HA (map ma2ha). After a move the node goes
 * on sending from its previous MA until our binding ack (or, when the
 * IMS's push got here first, until then and a little more): the previous
 * MA stays in ma2ha as an alias until the next move or the mapping's end,
 * as matd's correspondent keeps it, or the host would answer an address it
 * has no socket for with a reset. */
#include "gatewayd.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <string.h>

#define SWEEP_BATCH 340  /* mappings per commit: up to 3 deletes each, a batch takes 1024 */

bool gw_in_site(const struct gw_conf *c, const struct in6_addr *a)
{
	for (unsigned i = 0; i < c->nsite; i++)
		if (in6_prefix_match(a, &c->site[i], c->site_len[i]))
			return true;
	return false;
}

bool gw_in_home(const struct gw_conf *c, const struct in6_addr *a)
{
	for (unsigned i = 0; i < c->nhome; i++)
		if (in6_prefix_match(a, &c->home[i], c->home_len[i]))
			return true;
	return false;
}

void gw_maps_init(struct gw *g)
{
	htab_init(&g->maps, sizeof(struct gw_mapping), sizeof(struct in6_addr));
}

void gw_maps_free(struct gw *g)
{
	htab_free(&g->maps);
}

static int withdraw(struct gw *g, struct gw_mapping *e)
{
	int r;

	gw_nft_unmap(g->nft, &e->ha, &e->ma);
	if (e->has_prev)
		gw_nft_alias(g->nft, &e->prev_ma, &e->ha, false);
	if ((r = mat_nft_commit(g->nft)) < 0) {
		g->st.nft_errors++;
		log_warnx("%s withdrawn, but its mapping to %s stays: nftables: %s", a6(&e->ha), a6(&e->ma),
			  strerror(-r));
		return r;
	}
	log_info("%s withdrawn (was at %s)", a6(&e->ha), a6(&e->ma));
	g->st.withdrawn++;
	htab_remove(&g->maps, e);
	return 0;
}

/* One mapping, from an IMS push or a binding update (via, for the log):
 * a glm_status for the binding ack. Whatever its source, the newest update
 * seq wins. */
/* The changes that move (or add) ha's mapping to ma, queued: the old
 * alias out (unless it is where the node comes back to), the mapping
 * moved, the MA it leaves the alias now. */
static void queue_apply(struct gw *g, const struct gw_mapping *e, const struct in6_addr *ha, const struct in6_addr *ma)
{
	if (e) {
		if (e->has_prev && memcmp(&e->prev_ma, ma, sizeof(*ma)))
			gw_nft_alias(g->nft, &e->prev_ma, ha, false);
		gw_nft_unmap(g->nft, ha, &e->ma);
	}
	gw_nft_map(g->nft, ha, ma);
	if (e)
		gw_nft_alias(g->nft, &e->ma, ha, true);
}

/* The mapping of another home address than ha that keeps ma as its alias
 * (a scan: only when the kernel refused ma as taken). */
static struct gw_mapping *alias_holder(struct gw *g, const struct in6_addr *ma, const struct in6_addr *ha)
{
	struct gw_mapping *e;
	size_t it = 0;

	while ((e = htab_next(&g->maps, &it)))
		if (e->has_prev && !memcmp(&e->prev_ma, ma, sizeof(*ma)) && memcmp(&e->ha, ha, sizeof(*ha)))
			return e;
	return NULL;
}

int gw_apply(struct gw *g, const struct in6_addr *ha_in, const struct in6_addr *ma, uint64_t seq,
	     uint32_t lifetime, const char *via)
{
	struct gw_mapping *e;
	struct in6_addr ha = *ha_in;
	struct gw_mapping *holder;
	int r, added;

	if (!gw_in_home(&g->conf, &ha)) {
		g->st.refused_home++;
		log_warnx("%s for %s ignored: in none of our home prefixes", via, a6(&ha));
		return GLM_ST_DENIED;
	}
	e = htab_find(&g->maps, &ha);
	if (e && seq <= e->update_seq) {
		g->st.stale++;
		log_debug("%s -> %s (%s): update %llu not newer than %llu", a6(&ha), a6(ma), via,
			  (unsigned long long)seq, (unsigned long long)e->update_seq);
		return GLM_ST_STALE;
	}
	if (!lifetime) {
		if (e && withdraw(g, e) < 0)
			return GLM_ST_INTERNAL;
		return GLM_ST_OK;
	}
	if (!gw_in_site(&g->conf, ma)) {
		g->st.refused_site++;
		log_warnx("%s -> %s refused: the MA is in none of our site prefixes%s (%s)", a6(&ha), a6(ma),
			  e ? "; the mapping in place stays" : "", via);
		return GLM_ST_DENIED;
	}
	if (e && !memcmp(&e->ma, ma, sizeof(e->ma))) { /* a refresh */
		e->update_seq = seq;
		e->expires_ns = now_ns() + (uint64_t)lifetime * 1000000000ull;
		return GLM_ST_OK;
	}
	if (!e && htab_count(&g->maps) >= g->conf.max_mappings) {
		g->st.full++;
		log_warnx("%s -> %s not installed: %u mappings held, max-mappings", a6(&ha), a6(ma),
			  g->conf.max_mappings);
		return GLM_ST_INTERNAL;
	}
	queue_apply(g, e, &ha, ma);
	if ((r = mat_nft_commit(g->nft)) == -EEXIST && (holder = alias_holder(g, ma, &ha))) {
		/* the MA is the alias another home address left there (its
		 * node moved on): a courtesy for its packets in flight, it
		 * gives way to the node at that MA now, in the same batch */
		log_info("%s: no longer an alias of %s, %s is there now (%s)", a6(ma), a6(&holder->ha), a6(&ha), via);
		gw_nft_alias(g->nft, ma, &holder->ha, false);
		queue_apply(g, e, &ha, ma);
		if ((r = mat_nft_commit(g->nft)) == 0)
			holder->has_prev = false;
	}
	if (r < 0) {
		g->st.nft_errors++;
		log_warnx("%s -> %s not installed: nftables: %s", a6(&ha), a6(ma), strerror(-r));
		return GLM_ST_INTERNAL;
	}
	if (e) {
		g->st.moved++;
		log_info("%s moved from %s to %s (%s, update %llu)", a6(&ha), a6(&e->ma), a6(ma), via,
			 (unsigned long long)seq);
	} else {
		g->st.added++;
		log_info("%s at %s (%s, update %llu)", a6(&ha), a6(ma), via, (unsigned long long)seq);
	}
	if (e) {
		e->prev_ma = e->ma;
		e->has_prev = true;
	}
	e = htab_insert(&g->maps, &ha, &added);
	if (!e) {
		/* the kernel has it and we cannot remember it: take it back */
		gw_nft_unmap(g->nft, &ha, ma);
		mat_nft_commit(g->nft);
		log_warnx("%s: out of memory, mapping removed", a6(&ha));
		return GLM_ST_INTERNAL;
	}
	if (added)
		e->has_prev = false;
	e->ma = *ma;
	e->update_seq = seq;
	e->expires_ns = now_ns() + (uint64_t)lifetime * 1000000000ull;
	return GLM_ST_OK;
}

void gw_push(void *ctx, const struct glm_msg *m)
{
	struct gw *g = ctx;

	g->st.pushes++;
	gw_apply(g, &m->ha, &m->ma, m->update_seq, m->lifetime, "IMS push");
}

/* Commit the deletes queued for the n addresses in gone, then forget them. */
static void sweep_commit(struct gw *g, const struct in6_addr *gone, unsigned n)
{
	int r;

	if (!n)
		return;
	if ((r = mat_nft_commit(g->nft)) < 0) {
		g->st.nft_errors++;
		log_warnx("%u expired mappings stay until the next sweep: nftables: %s", n, strerror(-r));
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		struct gw_mapping *e = htab_find(&g->maps, &gone[i]);

		if (e) {
			log_info("%s: mapping to %s expired", a6(&e->ha), a6(&e->ma));
			htab_remove(&g->maps, e);
			g->st.expired++;
		}
	}
}

void gw_expire(struct gw *g, uint64_t now)
{
	struct in6_addr gone[SWEEP_BATCH];
	struct gw_mapping *e;
	unsigned n = 0;
	size_t it = 0;

	/* collected first, removed after their commit: entries move on removal */
	while ((e = htab_next(&g->maps, &it))) {
		if (e->expires_ns > now)
			continue;
		gw_nft_unmap(g->nft, &e->ha, &e->ma);
		if (e->has_prev)
			gw_nft_alias(g->nft, &e->prev_ma, &e->ha, false);
		gone[n++] = e->ha;
		if (n == SWEEP_BATCH)
			break; /* the rest next second */
	}
	sweep_commit(g, gone, n);
}
