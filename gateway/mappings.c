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

/* A withdrawal queued: the mapping and its alias out. */
static void queue_withdraw(struct gw *g, const struct gw_mapping *e)
{
	gw_nft_unmap(g->nft, &e->ha, &e->ma);
	if (e->has_prev)
		gw_nft_alias(g->nft, &e->prev_ma, &e->ha, false);
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

#define NEEDS_KERNEL (-1)

/* What one piece of news asks, checked before anything is queued: a
 * glm_status when the kernel's maps are not to change (refused, stale,
 * nothing to withdraw; a refresh, done here), else NEEDS_KERNEL. adding:
 * new mappings already queued beside it (max-mappings). */
static int check(struct gw *g, const struct in6_addr *ha, const struct in6_addr *ma, uint64_t seq, uint32_t lifetime,
		 const char *via, unsigned adding)
{
	struct gw_mapping *e;

	if (!gw_in_home(&g->conf, ha)) {
		g->st.refused_home++;
		log_warnx("%s for %s ignored: in none of our home prefixes", via, a6(ha));
		return GLM_ST_DENIED;
	}
	e = htab_find(&g->maps, ha);
	if (e && seq <= e->update_seq) {
		g->st.stale++;
		log_debug("%s -> %s (%s): update %llu not newer than %llu", a6(ha), a6(ma), via,
			  (unsigned long long)seq, (unsigned long long)e->update_seq);
		return GLM_ST_STALE;
	}
	if (!lifetime)
		return e ? NEEDS_KERNEL : GLM_ST_OK;
	if (!gw_in_site(&g->conf, ma)) {
		g->st.refused_site++;
		log_warnx("%s -> %s refused: the MA is in none of our site prefixes%s (%s)", a6(ha), a6(ma),
			  e ? "; the mapping in place stays" : "", via);
		return GLM_ST_DENIED;
	}
	if (e && !memcmp(&e->ma, ma, sizeof(e->ma))) { /* a refresh */
		e->update_seq = seq;
		e->expires_ns = now_ns() + (uint64_t)lifetime * 1000000000ull;
		return GLM_ST_OK;
	}
	if (!e && htab_count(&g->maps) + adding >= g->conf.max_mappings) {
		g->st.full++;
		log_warnx("%s -> %s not installed: %u mappings held, max-mappings", a6(ha), a6(ma),
			  g->conf.max_mappings);
		return GLM_ST_INTERNAL;
	}
	return NEEDS_KERNEL;
}

/* The news in memory, once the kernel took it (check said NEEDS_KERNEL);
 * quiet: a batch's, logged at debug (its summary line is at info). */
#define LOG_NEWS(quiet, ...) do { if (quiet) log_debug(__VA_ARGS__); else log_info(__VA_ARGS__); } while (0)
static int record(struct gw *g, const struct in6_addr *ha, const struct in6_addr *ma, uint64_t seq, uint32_t lifetime,
		  const char *via, bool quiet)
{
	struct gw_mapping *e = htab_find(&g->maps, ha);
	int added;

	if (!lifetime) {
		LOG_NEWS(quiet, "%s withdrawn (was at %s)", a6(&e->ha), a6(&e->ma));
		g->st.withdrawn++;
		htab_remove(&g->maps, e);
		return GLM_ST_OK;
	}
	if (e) {
		g->st.moved++;
		LOG_NEWS(quiet, "%s moved from %s to %s (%s, update %llu)", a6(ha), a6(&e->ma), a6(ma), via,
			 (unsigned long long)seq);
		e->prev_ma = e->ma;
		e->has_prev = true;
	} else {
		g->st.added++;
		LOG_NEWS(quiet, "%s at %s (%s, update %llu)", a6(ha), a6(ma), via, (unsigned long long)seq);
	}
	e = htab_insert(&g->maps, ha, &added);
	if (!e) {
		/* the kernel has it and we cannot remember it: take it back */
		gw_nft_unmap(g->nft, ha, ma);
		mat_nft_commit(g->nft);
		log_warnx("%s: out of memory, mapping removed", a6(ha));
		return GLM_ST_INTERNAL;
	}
	if (added)
		e->has_prev = false;
	e->ma = *ma;
	e->update_seq = seq;
	e->expires_ns = now_ns() + (uint64_t)lifetime * 1000000000ull;
	return GLM_ST_OK;
}

/* One mapping, from an IMS push or a binding update (via, for the log):
 * a glm_status for the binding ack. Whatever its source, the newest update
 * seq wins. */
int gw_apply(struct gw *g, const struct in6_addr *ha_in, const struct in6_addr *ma, uint64_t seq, uint32_t lifetime,
	     const char *via)
{
	const struct in6_addr copy = *ha_in, *ha = &copy; /* ha_in may move with the table */
	struct gw_mapping *e, *holder;
	int r = check(g, ha, ma, seq, lifetime, via, 0);

	if (r != NEEDS_KERNEL)
		return r;
	e = htab_find(&g->maps, ha);
	if (!lifetime) {
		queue_withdraw(g, e);
		if ((r = mat_nft_commit(g->nft)) < 0) {
			g->st.nft_errors++;
			log_warnx("%s withdrawn, but its mapping to %s stays: nftables: %s", a6(ha), a6(&e->ma),
				  strerror(-r));
			return GLM_ST_INTERNAL;
		}
		return record(g, ha, ma, seq, lifetime, via, false);
	}
	queue_apply(g, e, ha, ma);
	if ((r = mat_nft_commit(g->nft)) == -EEXIST && (holder = alias_holder(g, ma, ha))) {
		/* the MA is the alias another home address left there (its
		 * node moved on): a courtesy for its packets in flight, it
		 * gives way to the node at that MA now, in the same batch */
		log_info("%s: no longer an alias of %s, %s is there now (%s)", a6(ma), a6(&holder->ha), a6(ha), via);
		gw_nft_alias(g->nft, ma, &holder->ha, false);
		queue_apply(g, e, ha, ma);
		if ((r = mat_nft_commit(g->nft)) == 0)
			holder->has_prev = false;
	}
	if (r < 0) {
		g->st.nft_errors++;
		log_warnx("%s -> %s not installed: nftables: %s", a6(ha), a6(ma), strerror(-r));
		return GLM_ST_INTERNAL;
	}
	return record(g, ha, ma, seq, lifetime, via, false);
}

/* The IMS's pushes come in bursts (a dump is every mapping at once: a
 * restarted gateway's whole map), faster than one kernel commit each
 * could take them: they wait here for the end of the socket's burst
 * (gw_flush), or for a full batch, and go to the kernel together. */
void gw_push(void *ctx, const struct glm_msg *m)
{
	struct gw *g = ctx;
	struct gw_pending *p;

	g->st.pushes++;
	if (g->npending == GW_PENDING_MAX)
		gw_flush(g);
	p = &g->pending[g->npending++];
	p->ha = m->ha;
	p->ma = m->ma;
	p->seq = m->update_seq;
	p->lifetime = m->lifetime;
}

/* Is p[i] older news than another push for its HA in the batch? */
static bool superseded(const struct gw_pending *p, unsigned n, unsigned i)
{
	for (unsigned j = 0; j < n; j++)
		if (j != i && !memcmp(&p[j].ha, &p[i].ha, sizeof(p[i].ha)) &&
		    (p[j].seq > p[i].seq || (p[j].seq == p[i].seq && j > i)))
			return true;
	return false;
}

void gw_flush(struct gw *g)
{
	struct gw_pending *p = g->pending;
	unsigned n = g->npending, adding = 0, queued = 0;
	bool q[GW_PENDING_MAX];
	int r;

	g->npending = 0;
	if (n == 1) {
		gw_apply(g, &p[0].ha, &p[0].ma, p[0].seq, p[0].lifetime, "IMS push");
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		q[i] = false;
		if (superseded(p, n, i)) {
			g->st.stale++;
			continue;
		}
		r = check(g, &p[i].ha, &p[i].ma, p[i].seq, p[i].lifetime, "IMS push", adding);
		if (r != NEEDS_KERNEL)
			continue;
		struct gw_mapping *e = htab_find(&g->maps, &p[i].ha);

		if (!p[i].lifetime) {
			queue_withdraw(g, e);
		} else {
			queue_apply(g, e, &p[i].ha, &p[i].ma);
			adding += !e;
		}
		q[i] = true;
		queued++;
	}
	if (!queued)
		return;
	if ((r = mat_nft_commit(g->nft)) == 0) {
		uint64_t a = g->st.added, m = g->st.moved, w = g->st.withdrawn;

		for (unsigned i = 0; i < n; i++)
			if (q[i])
				record(g, &p[i].ha, &p[i].ma, p[i].seq, p[i].lifetime, "IMS push", true);
		log_info("IMS pushes: %u in one batch: %llu added, %llu moved, %llu withdrawn (%zu mappings held)",
			 queued, (unsigned long long)(g->st.added - a), (unsigned long long)(g->st.moved - m),
			 (unsigned long long)(g->st.withdrawn - w), htab_count(&g->maps));
		return;
	}
	/* nothing of it was taken (an MA still another's alias, ...): one
	 * by one, each with its own answer from the kernel */
	log_debug("%u pushes in one batch refused (nftables: %s): one by one", queued, strerror(-r));
	for (unsigned i = 0; i < n; i++)
		if (q[i])
			gw_apply(g, &p[i].ha, &p[i].ma, p[i].seq, p[i].lifetime, "IMS push");
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
		queue_withdraw(g, e);
		gone[n++] = e->ha;
		if (n == SWEEP_BATCH)
			break; /* the rest next second */
	}
	sweep_commit(g, gone, n);
}
