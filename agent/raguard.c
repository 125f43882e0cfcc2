/* RA guard (RFC 6105): router advertisements are believed only from a
 * bridge's uplinks, never from a guest's port. The dropping is the
 * kernel's, in the table bridge glm (lib/nft.c: chain ra_guard), for the
 * agent's own RA socket and for the other guests alike; this module keeps
 * the set it drops by, ra_untrusted, equal to "every port of a bridge
 * configured with uplinks, but those": a link dump at start, then link
 * events (a port joins, leaves, is renamed or deleted), a dump again when
 * events were lost. The kernel has no "which bridge is this port of" for
 * nftables without the nft_meta_bridge module (meta ibrname), which
 * distribution kernels do not all have: so the set, by ifindex.
 *
 * A bridge without uplinks is guarded by the set vm_ports only (the taps
 * of the VMs the agent knows, bridges.c): a port it knows nothing of can
 * still advertise, which the log says at start. */
#include "agent_int.h"
#include "log.h"
#include "nft.h"
#include "rtnl.h"
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>

struct ra_port {
	int ifindex;                     /* the key */
	char name[IF_NAMESIZE];
	int bridge;                      /* index in a->br[] */
};
#define RA_PORT_KEY offsetof(struct ra_port, name)

/* A batch holds 1024 changes: a burst of ports (a host's taps created at
 * once, a dump) is committed in parts of this many. */
#define RA_BATCH 512

struct ra_guard {
	struct rtnl *rt;                 /* link events, and the dumps */
	struct htab ports;               /* struct ra_port: what ra_untrusted holds */
	bool failed;                     /* a commit was refused: the set is not what ports says */
};

static void commit(struct agentd *a)
{
	if (mat_nft_commit(a->nft) < 0)
		a->ra_guard->failed = true; /* nothing of the batch applied */
}

/* The bridge with uplinks that ifindex is, or -1. */
static int guarded_bridge(const struct agentd *a, int ifindex)
{
	for (unsigned i = 0; ifindex > 0 && i < a->nbr; i++)
		if (a->br[i].ifindex == ifindex && a->conf.bridges[i].nuplinks)
			return (int)i;
	return -1;
}

static bool is_uplink(const struct agent_conf_bridge *cb, const char *name)
{
	for (unsigned k = 0; k < cb->nuplinks; k++)
		if (!strcmp(cb->uplinks[k], name))
			return true;
	return false;
}

/* A link as it is now (a dump's entry or an event): in the set or not. */
static void port_update(void *ctx, const struct rtnl_event *ev)
{
	struct agentd *a = ctx;
	struct ra_guard *g = a->ra_guard;
	struct ra_port key, *p;
	int br = -1;

	if (ev->kind == RTNL_EV_LINK)
		br = guarded_bridge(a, ev->master);
	if (br >= 0 && is_uplink(&a->conf.bridges[br], ev->ifname))
		br = -1;
	memset(&key, 0, sizeof(key));
	key.ifindex = ev->ifindex;
	p = htab_find(&g->ports, &key);
	if (p && br >= 0 && p->bridge == br) {
		memcpy(p->name, ev->ifname, sizeof(p->name)); /* a rename */
		return;
	}
	if (p) {
		log_debug("%s: %s no longer untrusted: it left the bridge or became its uplink", a->br[p->bridge].name,
			  p->name);
		br_nft_ra_port(a->nft, (uint32_t)p->ifindex, false);
		htab_remove(&g->ports, p);
	}
	if (br < 0)
		return;
	if (!(p = htab_insert(&g->ports, &key, NULL))) {
		log_warnx("%s: %s: out of memory: its router advertisements are not dropped", a->br[br].name,
			  ev->ifname);
		return;
	}
	memcpy(p->name, ev->ifname, sizeof(p->name));
	p->bridge = br;
	log_debug("%s: %s untrusted: its router advertisements are dropped", a->br[br].name, p->name);
	br_nft_ra_port(a->nft, (uint32_t)ev->ifindex, true);
	if (mat_nft_pending(a->nft) >= RA_BATCH)
		commit(a);
}

/* The set from scratch, in one batch (a few, for many ports): at start,
 * and whenever what we hold may differ from the kernel's links (events
 * lost, a commit refused). */
static int resync(struct agentd *a)
{
	struct ra_guard *g = a->ra_guard;
	int r;

	htab_free(&g->ports);
	htab_init(&g->ports, sizeof(struct ra_port), RA_PORT_KEY);
	g->failed = false;
	br_nft_ra_flush(a->nft);
	r = rtnl_link_dump(g->rt, port_update, a);
	/* even after a failed dump: nothing may stay queued on the shared
	 * handle, and what the dump gave is worth having */
	commit(a);
	if (g->failed) {
		/* forget what we thought the set holds, so that the next
		 * event adds its port again (adds are idempotent) */
		htab_free(&g->ports);
		htab_init(&g->ports, sizeof(struct ra_port), RA_PORT_KEY);
		g->failed = false;
		r = -EIO;
	}
	if (r < 0)
		log_warnx("RA guard: nftables set ra_untrusted not (fully) updated (%s): a guest's router "
			  "advertisements may not be dropped",
			  strerror(-r));
	return r;
}

static void ignore_event(void *ctx, const struct rtnl_event *ev)
{
	(void)ctx;
	(void)ev;
}

static void link_events(struct agentd *a, void *arg)
{
	struct ra_guard *g = a->ra_guard;
	int r;

	(void)arg;
	r = rtnl_events_read(g->rt, port_update, a);
	commit(a);
	if (r != -ENOBUFS && !g->failed)
		return;
	/* Events were lost: what is still queued is older than what was
	 * lost, and applied after the dump it would undo what the dump says
	 * (a port that joined, seen as the port it was before). Drop it all,
	 * then dump: later events are newer than the dump. */
	if (r == -ENOBUFS)
		while (rtnl_events_read(g->rt, ignore_event, NULL) == -ENOBUFS)
			;
	resync(a);
}

int raguard_init(struct agentd *a)
{
	bool any = false;
	int r;

	for (unsigned i = 0; i < a->nbr; i++) {
		const struct agent_conf_bridge *cb = &a->conf.bridges[i];
		char list[AGENT_MAX_UPLINKS * (IF_NAMESIZE + 2)] = "";

		if (!cb->nuplinks) {
			if (a->nft)
				log_warnx("%s: no 'uplink': router advertisements are refused only from the taps of VMs "
					  "this agent knows (RA guard partial; see glm-agentd.conf(5))",
					  a->br[i].name);
			continue;
		}
		any = true;
		for (unsigned k = 0; k < cb->nuplinks; k++) {
			if (k)
				strcat(list, ", ");
			strcat(list, cb->uplinks[k]);
		}
		if (a->nft)
			log_info("%s: router advertisements are trusted only from %s (RA guard)", a->br[i].name, list);
	}
	if (!any || !a->nft)
		return 0;
	a->ra_guard = calloc(1, sizeof(*a->ra_guard));
	if (!a->ra_guard)
		return log_warnx("RA guard: %s", strerror(ENOMEM)), -ENOMEM;
	htab_init(&a->ra_guard->ports, sizeof(struct ra_port), RA_PORT_KEY);
	/* events first: a port that joins during the dump is not missed */
	if ((r = rtnl_open(&a->ra_guard->rt, RTMGRP_LINK)) < 0)
		return log_warnx("RA guard: rtnetlink link events: %s", strerror(-r)), r;
	if ((r = resync(a)) < 0)
		return r;
	return agentd_watch(a, rtnl_fd(a->ra_guard->rt), link_events, NULL);
}

void raguard_free(struct agentd *a)
{
	struct ra_guard *g = a->ra_guard;

	if (!g)
		return;
	if (g->rt) {
		agentd_unwatch(a, rtnl_fd(g->rt));
		rtnl_close(g->rt);
	}
	htab_free(&g->ports);
	free(g);
	a->ra_guard = NULL;
}
