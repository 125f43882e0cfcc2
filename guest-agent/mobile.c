/* The mobile-node half of matd.
 *
 * Applications use the home address (HA), kept on lo. Output packets from
 * the HA are rewritten to the current mobile address (MA) and input to any
 * of our MAs is rewritten back to the HA, statelessly, by the nftables maps
 * self_ha2ma / self_ma2ha (lib/nft.h). A move is noticed from rtnetlink
 * alone (carrier back, or IFLA_EVENT_NOTIFY_PEERS after a live migration),
 * then:
 *   prepared:   echo the prepared router from the prepared MA (only the new
 *               link can answer: the reply goes to the MA's subnet) and
 *               send an RS; the echo reply or an RA for the prepared
 *               prefix confirms the move, then switch. A move that did
 *               not happen changes nothing.
 *   unprepared: RS with our link-layer address, take the solicited RA,
 *               SLAAC with optimistic DAD (DAD still runs; the address is
 *               usable meanwhile), switch. An RA for the prefix we are
 *               already in means no move: nothing changes.
 * The switch: default route via the new router with src HA, the new MA
 * accepted on input, IMS UPDATE and, at the same time, BINDING_UPDATE to
 * the correspondents; once all have acked, the output map moves to the new
 * MA (the peer must accept the new MA before we send from it, LAB.md),
 * with the rest of the work that waits until the guest's applications
 * have run (post_switch).
 *
 * Each piece of state owns its timer: the handover one for its state's
 * retransmission and give-up deadline (ho_arm), each correspondent's
 * binding update one for its retransmissions, and the post-switch work,
 * the IMS lifetime refresh and the SCHED_IDLE limit one each. */
#include "matd.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000 /* linux/if.h; glibc net/if.h lacks it */
#endif
#include <sched.h>
#include <string.h>
#include <unistd.h>

#define PROBE_RETX_NS (20 * 1000000ull)
#define PROBE_GIVEUP_NS (100 * 1000000ull)
#define RS_FIRST_RETX_NS (10 * 1000000ull)
#define RS_GIVEUP_NS (3000 * 1000000ull)
#define MSG_FIRST_RETX_NS (50 * 1000000ull)
#define MSG_MAX_TRIES 5
#define FOREVER 0xffffffffu
#define POST_SWITCH_DELAY_NS (200 * 1000000ull)
#define YIELD_MAX_NS (30 * 1000000000ull)

static const struct in6_addr in6_any;

/* From the agent's PREPARE until the move: SCHED_IDLE. A guest just
 * resumed after a live migration runs nothing quickly for its first tens of
 * milliseconds (cold caches; in a TCG guest, code translated anew) and
 * every task it woke competes: matd reads the RESUMED, and its updates go
 * out, after the applications' first packets rather than before them (the
 * updates are not on the path of what the guest sends; the correspondents
 * restart their side at once when they arrive). Back to SCHED_OTHER as
 * soon as matd handles the move, drops the preparation, or 30 s after the
 * PREPARE (a migration aborted), so a busy guest cannot starve it. */
static void yield_cpu(struct matd *d, bool on, const char *why)
{
	struct sched_param sp = { 0 };

	if (d->yielding == on)
		return;
	if (sched_setscheduler(0, on ? SCHED_IDLE : SCHED_OTHER, &sp) < 0) {
		log_warn("sched_setscheduler %s", on ? "SCHED_IDLE" : "SCHED_OTHER");
		return;
	}
	d->yielding = on;
	if (on)
		ev_timer_at(d->loop, &d->yield_timer, now_ns() + YIELD_MAX_NS);
	else
		ev_timer_stop(&d->yield_timer);
	log_debug("scheduling: %s (%s)", on ? "SCHED_IDLE" : "SCHED_OTHER", why);
}

static void yield_expired(void *arg)
{
	yield_cpu(arg, false, "no move within 30 s of the PREPARE");
}

static const char *const ho_state_names[HO_STATE_MAX] = {
	[HO_IDLE] = "idle",
	[HO_PROBE] = "probe",
	[HO_SOLICIT] = "solicit",
	[HO_IMS] = "ims-update",
	[HO_NOTIFY] = "notify",
};

static const char *ho_state_name(enum ho_state s)
{
	return (unsigned)s < HO_STATE_MAX ? ho_state_names[s] : "?";
}

static void ho_move(struct matd *d, enum ho_state to)
{
	if (d->ho.state == to)
		return;
	log_debug("handover: %s -> %s", ho_state_name(d->ho.state), ho_state_name(to));
	d->ho.state = to;
}

static void ho_fire(void *arg);
static void bu_fire(void *arg);

/* Back to idle, every timer of the handover stopped. An IMS refresh that
 * came due meanwhile goes out now (at the end of a handover that switched,
 * finish() has moved it on: that IMS update was the refresh). */
static void ho_reset(struct matd *d)
{
	ho_move(d, HO_IDLE);
	ev_timer_stop(&d->ho.timer);
	for (unsigned i = 0; i < MATD_MAX_CNS; i++)
		ev_timer_stop(&d->ho.cn[i].timer);
	memset(&d->ho, 0, sizeof(d->ho));
	d->ho.state = HO_IDLE;
	ev_timer_init(&d->ho.timer, "handover", ho_fire, d);
	for (unsigned i = 0; i < MATD_MAX_CNS; i++) {
		d->ho.cn[i].matd = d;
		ev_timer_init(&d->ho.cn[i].timer, "binding update", bu_fire, &d->ho.cn[i]);
	}
	if (d->refresh_ns)
		ev_timer_at(d->loop, &d->refresh_timer, d->refresh_ns);
}

/* A binding update is pending while its timer runs: until its ack, or
 * the end of the wait after its last try. */
static bool bu_pending(const struct matd *d)
{
	for (unsigned i = 0; i < d->conf.ncns; i++)
		if (ev_timer_armed(&d->ho.cn[i].timer))
			return true;
	return false;
}

/* The handover's timer, for its state: the next retransmission or the
 * give-up deadline, whichever comes first; in notify, with no binding
 * update pending any more, at once (finish in the next loop turn). */
static void ho_arm(struct matd *d)
{
	struct ev_timer *t = &d->ho.timer;

	switch (d->ho.state) {
	case HO_PROBE:
	case HO_SOLICIT:
		ev_timer_at(d->loop, t, d->ho.next_ns < d->ho.deadline_ns ? d->ho.next_ns : d->ho.deadline_ns);
		break;
	case HO_IMS:
		ev_timer_at(d->loop, t, d->ho.next_ns);
		break;
	case HO_NOTIFY:
		if (bu_pending(d))
			ev_timer_stop(t);
		else
			ev_timer_at(d->loop, t, now_ns());
		break;
	default:
		ev_timer_stop(t);
	}
}

static bool in6_listed(const struct in6_addr *a, const struct in6_addr *list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!memcmp(a, &list[i], sizeof(*a)))
			return true;
	return false;
}

/* Program both self maps in one batch: HA -> out_ma, and every MA we may
 * still receive on -> HA: the current one, the previous one, extra, and a
 * prepared one (nothing arrives there before the move, and then the maps
 * need no change at the switch). Nothing is sent when the maps already
 * hold exactly that: an nftables commit costs milliseconds in a TCG guest. */
static int program_self(struct matd *d, const struct in6_addr *out_ma, const struct in6_addr *extra)
{
	const struct in6_addr *cand[4] = { d->have_ma ? &d->ma : NULL, d->have_prev_ma ? &d->prev_ma : NULL, extra,
					   d->prep.valid ? &d->prep.ma : NULL };
	struct in6_addr in[4];
	unsigned nin = 0;
	bool same;
	int r;

	for (int i = 0; i < 4; i++)
		if (cand[i] && !in6_listed(cand[i], in, nin))
			in[nin++] = *cand[i];
	same = d->self.valid && d->self.has_out == !!out_ma && (!out_ma || !memcmp(&d->self.out, out_ma, 16)) &&
	       d->self.nin == nin;
	for (unsigned i = 0; same && i < nin; i++)
		same = in6_listed(&in[i], d->self.in, d->self.nin);
	if (same)
		return 0;
	mat_nft_flush(d->nft, MAT_SELF_HA2MA);
	mat_nft_flush(d->nft, MAT_SELF_MA2HA);
	if (out_ma)
		mat_nft_add(d->nft, MAT_SELF_HA2MA, &d->conf.ha, out_ma);
	for (unsigned i = 0; i < nin; i++)
		mat_nft_add(d->nft, MAT_SELF_MA2HA, &in[i], &d->conf.ha);
	r = mat_nft_commit(d->nft);
	d->self.valid = r == 0;
	if (r < 0) {
		log_warnx("nftables: update of self maps failed: %s", strerror(-r));
		return r;
	}
	d->self.has_out = !!out_ma;
	if (out_ma)
		d->self.out = *out_ma;
	d->self.nin = nin;
	memcpy(d->self.in, in, sizeof(in));
	return 0;
}

static int nic_by_name(const struct matd *d, const char *name)
{
	for (unsigned i = 0; i < d->nnics; i++)
		if (!strcmp(d->nic[i].name, name))
			return (int)i;
	return -1;
}

static int nic_by_ifindex(const struct matd *d, int ifindex)
{
	for (unsigned i = 0; i < d->nnics; i++)
		if (d->nic[i].ifindex == ifindex)
			return (int)i;
	return -1;
}

/* The MA's credentials in an update: the agent's VOUCH if we have one,
 * the receiver's PROOF token if it asked for one (glm-keys(5)). */
static void set_ma_proof(struct glm_msg *m, const struct glm_vouch *v, const uint8_t *proof)
{
	if (v) {
		m->vouch = *v;
		m->present |= 1u << GLM_TLV_VOUCH;
	}
	if (proof) {
		memcpy(m->proof, proof, 16);
		m->present |= 1u << GLM_TLV_PROOF;
	}
}

static void send_ims_update(struct matd *d, const struct in6_addr *ma, uint64_t seq, const struct glm_vouch *v,
			    const uint8_t *proof)
{
	struct glm_msg m = { .type = GLM_IMS_UPDATE, .seq = seq };

	GLM_SET(&m, ha, GLM_TLV_HA, d->conf.ha);
	GLM_SET(&m, ma, GLM_TLV_MA, *ma);
	GLM_SET(&m, lifetime, GLM_TLV_LIFETIME, d->conf.lifetime);
	set_ma_proof(&m, v, proof);
	matd_send(d, ims_set_current(&d->conf.ims), ma, &m, matd_ims_key(d));
}

static void send_ho_update(struct matd *d)
{
	send_ims_update(d, &d->ho.new_ma, d->ho.ims_seq, d->ho.has_vouch ? &d->ho.vouch : NULL,
			d->ho.has_proof ? d->ho.proof : NULL);
}

static void send_bu(struct matd *d, unsigned i)
{
	struct glm_msg m = { .type = GLM_BINDING_UPDATE, .seq = d->ho.ims_seq };
	struct cn_state *c = &d->ho.cn[i];

	GLM_SET(&m, ha, GLM_TLV_HA, d->conf.ha);
	GLM_SET(&m, ma, GLM_TLV_MA, d->ho.new_ma);
	GLM_SET(&m, lifetime, GLM_TLV_LIFETIME, d->conf.lifetime);
	set_ma_proof(&m, d->ho.has_vouch ? &d->ho.vouch : NULL, c->has_proof ? c->proof : NULL);
	c->sent_ns = now_ns();
	if (!c->tries)
		c->next_ns = c->sent_ns + MSG_FIRST_RETX_NS;
	else
		c->next_ns = c->sent_ns + (MSG_FIRST_RETX_NS << c->tries);
	c->tries++;
	ev_timer_at(d->loop, &c->timer, c->next_ns);
	matd_send(d, &d->conf.cns[i], &d->ho.new_ma, &m, matd_peer_key(d, &d->conf.cns[i].sin6_addr));
}

static void post_switch(struct matd *d);

static void finish(struct matd *d, bool ok)
{
	struct handover_record *h = &d->last;
	uint64_t now = now_ns();
	struct in6_addr old = d->ma;
	bool had = d->have_ma, moved = !had || memcmp(&old, &d->ho.new_ma, sizeof(old)) || d->active != d->ho.nic;
	int old_nic = d->active;
	unsigned acked = 0;
	double cn_rtt = 0;

	log_debug("handover: finishing %.3f ms after the trigger", ns_to_ms(now - d->ho.t_event));

	for (unsigned i = 0; i < d->conf.ncns; i++)
		if (d->ho.cn[i].acked) {
			acked++;
			if (d->ho.cn[i].rtt_ms > cn_rtt)
				cn_rtt = d->ho.cn[i].rtt_ms;
		}
	/* Now that the correspondents accept the new MA, send from it. */
	if (had && memcmp(&old, &d->ho.new_ma, sizeof(old))) {
		d->prev_ma = old;
		d->have_prev_ma = true;
	}
	d->ma = d->ho.new_ma;
	d->have_ma = true;
	d->ma_has_vouch = d->ho.has_vouch;
	d->ma_vouch = d->ho.vouch;
	d->router = d->ho.router;
	d->have_router_mac = d->ho.has_router_mac;
	memcpy(d->router_mac, d->ho.router_mac, 6);
	d->ma_plen = d->ho.plen;
	d->active = d->ho.nic;
	if (d->ho.prepared)
		d->prep.valid = false;
	yield_cpu(d, false, "handover done");
	/* Output to the new MA (an nftables commit: 10 ms of a just-resumed
	 * TCG guest), the old MA off its NIC and the TCP sessions with peers
	 * other than the correspondents: with the rest, in post_switch(),
	 * while the guest's applications catch up. Until then the HA still
	 * goes out as the old MA, which every correspondent accepts, through
	 * the new router (the agent redirects frames to the old one). */
	d->post.output = true;
	d->post.del_old = had && moved && (memcmp(&old, &d->ma, sizeof(old)) || old_nic != d->active);
	d->post.old = old;
	d->post.old_nic = old_nic;
	if (!d->post.pending)
		post_switch(d);

	memset(h, 0, sizeof(*h));
	h->id = ++d->handovers;
	h->prepared = d->ho.prepared;
	h->ok = ok;
	strcpy(h->nic, d->nic[d->ho.nic].name);
	strcpy(h->trigger, d->ho.trigger);
	h->from_ma = had ? old : in6_any;
	h->to_ma = d->ma;
	h->detect_to_usable_ms = ns_to_ms(d->ho.t_usable - d->ho.t_event);
	h->usable_to_ims_ms = ns_to_ms(d->ho.t_ims_sent - d->ho.t_usable);
	h->ims_rtt_ms = d->ho.t_ims_ack ? ns_to_ms(d->ho.t_ims_ack - d->ho.t_ims_sent) : -1;
	h->cn_rtt_ms = d->conf.ncns ? (acked ? cn_rtt : -1) : 0;
	h->cns = d->conf.ncns;
	h->cns_acked = acked;
	h->total_ms = ns_to_ms(now - d->ho.t_event);
	h->finished_ns = now;
	{
		const double ms[HO_PHASES] = {
			[HO_DETECT_TO_USABLE] = h->detect_to_usable_ms, [HO_USABLE_TO_IMS] = h->usable_to_ims_ms,
			[HO_IMS_RTT] = h->ims_rtt_ms, [HO_CN_RTT] = d->conf.ncns ? h->cn_rtt_ms : -1,
			[HO_TOTAL] = h->total_ms,
		};

		/* a phase that did not happen (-1: no ack, no correspondent) is not observed */
		for (unsigned i = 0; i < HO_PHASES; i++)
			if (ms[i] >= 0)
				mx_hist_observe(&d->ho_phase[i], ms[i] / 1e3);
		if (!ok)
			d->handovers_incomplete++;
	}
	log_info("handover #%u %s %s (%s): %s -> %s: detect->usable %.3f ms, usable->ims %.3f ms, "
		 "ims rtt %.3f ms, cn notify rtt %.3f ms (%u/%u acked), total %.3f ms%s",
		 h->id, h->prepared ? "prepared" : "unprepared", h->nic, h->trigger,
		 had ? a6(&h->from_ma) : "none", a6(&h->to_ma), h->detect_to_usable_ms, h->usable_to_ims_ms,
		 h->ims_rtt_ms, h->cn_rtt_ms, acked, d->conf.ncns, h->total_ms, ok ? "" : " (incomplete)");
	d->refresh_ns = now + (uint64_t)d->conf.lifetime * 500000000ull;
	ho_reset(d);
}

/* The handover goes to the prepared MA, router and router MAC. */
static void take_prepared(struct matd *d)
{
	d->ho.prepared = true;
	d->ho.new_ma = d->prep.ma;
	d->ho.router = d->prep.router;
	d->ho.has_router_mac = d->prep.has_router_mac;
	memcpy(d->ho.router_mac, d->prep.router_mac, 6);
	d->ho.plen = d->prep.plen;
	d->ho.has_vouch = d->prep.has_vouch;
	d->ho.vouch = d->prep.vouch;
}

static void default_route(struct matd *d, const struct nic *n)
{
	static const struct in6_addr dflt;
	int r = rtnl_route_replace(d->rtnl, &dflt, 0, &d->ho.router, n->ifindex, &d->conf.ha, MATD_ROUTE_METRIC);

	if (r < 0)
		log_warnx("handover: default route via %s dev %s src %s: %s", a6(&d->ho.router), n->name,
			  a6(&d->conf.ha), strerror(-r));
}

/* The new link is confirmed: make the new MA usable, then tell the IMS
 * and the correspondents. */
static void commit(struct matd *d, const char *how)
{
	struct nic *n = &d->nic[d->ho.nic];
	uint64_t t0 = now_ns();
	int r;

	log_debug("handover: %s confirmed the link %.3f ms after the trigger", how, ns_to_ms(t0 - d->ho.t_event));
	post_switch(d); /* the last switch's, if still pending */
	/* A prepared MA is installed already (without its prefix route: it
	 * was not on-link then) and answers neighbour solicitations: the
	 * default route makes it usable; the prefix route and the router's
	 * MAC follow once the IMS update is out. A new MA is added first. */
	if (!d->ho.prepared) {
		r = rtnl_addr_add(d->rtnl, n->ifindex, &d->ho.new_ma, 64, IFA_F_OPTIMISTIC, FOREVER, FOREVER);
		if (r < 0) {
			log_warnx("handover: add %s/64 on %s: %s; staying with %s", a6(&d->ho.new_ma), n->name,
				  strerror(-r), d->have_ma ? a6(&d->ma) : "no address");
			ho_reset(d);
			return;
		}
	}
	uint64_t t_addr = now_ns();
	/* Routers often have the same link-local address on every link: the
	 * default route we have is then already right, and is only refreshed
	 * once the updates are out. */
	bool same_route = d->have_ma && d->active == d->ho.nic && !memcmp(&d->router, &d->ho.router, 16);
	if (!same_route)
		default_route(d, n);
	uint64_t t_route = now_ns();
	/* Accept the new MA at once (a prepared one is accepted since the
	 * PREPARE); keep sending from the old one until the correspondents
	 * know the new one (first handover: nothing to wait for). */
	program_self(d, d->have_ma ? &d->ma : &d->ho.new_ma, &d->ho.new_ma);
	d->ho.t_usable = now_ns();
	d->ho.ims_seq = seq_next();
	d->ho.tries = 1;
	d->ho.ims_failovers = 0;
	d->ho.t_ims_sent = now_ns();
	d->ho.next_ns = d->ho.t_ims_sent + MSG_FIRST_RETX_NS;
	send_ho_update(d);
	/* The correspondents at once, not after the IMS ack as the published
	 * system did: their binding updates carry the same sequence number
	 * (whichever of it and the IMS's push comes second is stale), and
	 * the IMS round trip is off the path of every open session. */
	for (unsigned i = 0; i < d->conf.ncns; i++)
		send_bu(d, i);
	ho_move(d, HO_IMS); /* after the updates: the move is logged */
	ho_arm(d);
	/* The acks and every packet to the new MA come through the router:
	 * its neighbour entry for the MA, from this solicitation (it gets
	 * there before the acks do), spares it a resolution round trip in
	 * front of them. */
	ndisc_send_ns(n->ndfd, n->ifindex, &d->ho.new_ma, &d->ho.router, n->mac);
	/* The TCP sessions to restart at the acks, unless listed at the
	 * PREPARE: now, while the updates are out */
	if (d->have_ma && memcmp(&d->ma, &d->ho.new_ma, 16))
		tcp_kick_list(d);
	/* The rest is not on the sessions' path: it waits until the guest,
	 * just resumed (and in a TCG guest slow to run anything for a while),
	 * has served its applications (see post_switch). */
	d->post.pending = true;
	ev_timer_at(d->loop, &d->post.timer, now_ns() + POST_SWITCH_DELAY_NS);
	d->post.nic = d->ho.nic;
	d->post.route = same_route;
	d->post.prefix_route = d->ho.prepared;
	d->post.has_router_mac = d->ho.prepared && d->ho.has_router_mac;
	d->post.router = d->ho.router;
	memcpy(d->post.router_mac, d->ho.router_mac, 6);
	d->post.ma = d->ho.new_ma;
	log_debug("handover: usable after %.3f ms (address %.3f, route %.3f, nft %.3f)", ns_to_ms(d->ho.t_usable - t0),
		  ns_to_ms(t_addr - t0), ns_to_ms(t_route - t_addr), ns_to_ms(d->ho.t_usable - t_route));
}

/* After a switch: refresh an unchanged default route; for a prepared MA
 * its prefix route (dropping NOPREFIXROUTE adds it) and the new router's
 * MAC from the agent's PREPARE in the neighbour cache (the router here may
 * answer to the same link-local address as the last one with another MAC;
 * until then the agent redirects our frames, and the RA answering an RS
 * would correct it as well). */
static void post_switch(struct matd *d)
{
	struct nic *n = &d->nic[d->post.nic];
	uint64_t t0 = now_ns();
	int r;

	if (d->post.output) {
		d->post.output = false;
		/* ACKs sent to the old MA since the resume are lost: have the
		 * peers not asked at their binding ack send them again, to the
		 * new MA (tcpkick.c); the list is used up by this move */
		if (d->post.del_old && memcmp(&d->post.old, &d->ma, 16))
			tcp_kick(d, &d->ma, NULL);
		d->kick.loaded = false;
		program_self(d, &d->ma, NULL);
		if (d->post.del_old) {
			struct nic *o = &d->nic[d->post.old_nic];

			r = rtnl_addr_del(d->rtnl, o->ifindex, &d->post.old, 64);
			if (r < 0 && r != -EADDRNOTAVAIL)
				log_warnx("remove old address %s from %s: %s", a6(&d->post.old), o->name, strerror(-r));
		}
	}
	if (!d->post.pending)
		return;
	d->post.pending = false;
	ev_timer_stop(&d->post.timer);
	if (d->post.route) {
		r = rtnl_route_replace(d->rtnl, &in6_any, 0, &d->post.router, n->ifindex, &d->conf.ha, MATD_ROUTE_METRIC);
		if (r < 0)
			log_warnx("handover: default route via %s dev %s src %s: %s", a6(&d->post.router), n->name,
				  a6(&d->conf.ha), strerror(-r));
	}
	if (d->post.has_router_mac)
		rtnl_neigh_replace(d->rtnl, n->ifindex, &d->post.router, d->post.router_mac);
	if (d->post.prefix_route) {
		r = rtnl_addr_add(d->rtnl, n->ifindex, &d->post.ma, 64, IFA_F_NODAD, FOREVER, FOREVER);
		if (r < 0)
			log_warnx("handover: prefix route of %s/64 on %s: %s", a6(&d->post.ma), n->name, strerror(-r));
	}
	log_debug("handover: route, prefix route and neighbour after the switch: %.3f ms", ns_to_ms(now_ns() - t0));
}

/* The binding updates went out with the IMS update (commit); once the
 * IMS has acked, the handover ends when every correspondent has. */
static void start_notify(struct matd *d)
{
	bool all = true;

	ho_move(d, HO_NOTIFY);
	for (unsigned i = 0; i < d->conf.ncns; i++) {
		if (!d->ho.cn[i].tries)
			send_bu(d, i);
		all &= d->ho.cn[i].acked;
	}
	if (all)
		finish(d, true);
	else
		ho_arm(d);
}

/* A correspondent's binding update is due again, or its last wait is
 * over (given up on: in notify, the last one pending ends the handover). */
static void bu_fire(void *arg)
{
	struct cn_state *c = arg;
	struct matd *d = c->matd;

	if (c->acked)
		return;
	if (c->tries < MSG_MAX_TRIES) {
		send_bu(d, (unsigned)(c - d->ho.cn));
		return;
	}
	if (d->ho.state == HO_NOTIFY && !bu_pending(d)) {
		log_warnx("handover: not every correspondent acknowledged the binding update");
		finish(d, false);
	}
}

static void start_solicit(struct matd *d, int nic)
{
	struct nic *n = &d->nic[nic];
	int r;

	d->ho.nic = nic;
	d->ho.tries = 1;
	d->ho.next_ns = now_ns() + RS_FIRST_RETX_NS;
	d->ho.deadline_ns = d->ho.t_event + RS_GIVEUP_NS;
	r = ndisc_send_rs(n->ndfd, n->ifindex, n->mac);
	if (r < 0)
		log_debug("RS on %s: %s", n->name, strerror(-r));
	ho_move(d, HO_SOLICIT);
	ho_arm(d);
}

static void send_probe(struct matd *d)
{
	struct nic *n = &d->nic[d->prep.nic];
	int r = ndisc_send_echo(n->ndfd, n->ifindex, &d->prep.ma, &d->prep.router, d->ho.echo_id,
				(uint16_t)d->ho.tries);

	if (r < 0)
		log_debug("probe %s on %s: %s", a6(&d->prep.router), n->name, strerror(-r));
}

int mobile_check_link(struct matd *d, const char *trigger)
{
	yield_cpu(d, false, trigger);
	if (d->ho.state == HO_IMS || d->ho.state == HO_NOTIFY)
		finish(d, false); /* a new move during the last one: close that one first */
	else if (d->ho.state != HO_IDLE && strcmp(trigger, "carrier"))
		return -EBUSY;
	ho_reset(d);
	d->ho.t_event = now_ns();
	snprintf(d->ho.trigger, sizeof(d->ho.trigger), "%s", trigger);
	if (d->prep.valid) {
		d->ho.nic = d->prep.nic;
		d->ho.echo_id = (uint16_t)(getpid() ^ d->handovers);
		d->ho.tries = 1;
		d->ho.next_ns = d->ho.t_event + PROBE_RETX_NS;
		d->ho.deadline_ns = d->ho.t_event + PROBE_GIVEUP_NS;
		send_probe(d);
		/* An RS as well: its RA confirms the prefix just as well, and
		 * refreshes the router's link-layer address in our neighbour
		 * cache (the same fe80::1 may be another MAC on this link). */
		ndisc_send_rs(d->nic[d->ho.nic].ndfd, d->nic[d->ho.nic].ifindex, d->nic[d->ho.nic].mac);
		ho_move(d, HO_PROBE);
		ho_arm(d);
	} else {
		start_solicit(d, d->active);
	}
	return 0;
}

void mobile_link_event(struct matd *d, const struct rtnl_event *ev)
{
	int i = nic_by_ifindex(d, ev->ifindex);
	bool carrier;

	if (i < 0 || ev->kind != RTNL_EV_LINK)
		return;
	carrier = (ev->flags & IFF_LOWER_UP) && (ev->flags & IFF_UP);
	log_debug("link event %s: flags 0x%x operstate %u event %u", d->nic[i].name, ev->flags, ev->operstate,
		  ev->link_event);
	/* A loss folded into this event by linkwatch counts as a flap. */
	bool flapped = ev->has_down_count && ev->carrier_down_count != d->nic[i].down_count;
	if (ev->has_down_count)
		d->nic[i].down_count = ev->carrier_down_count;
	if (carrier != d->nic[i].carrier || (carrier && flapped)) {
		d->nic[i].carrier = carrier;
		log_info("%s: carrier %s", d->nic[i].name, carrier ? (flapped ? "lost and back" : "up") : "down");
		if (carrier)
			mobile_check_link(d, "carrier");
		return;
	}
	if (ev->link_event == IFLA_EVENT_NOTIFY_PEERS) {
		uint64_t now = now_ns(), prev = d->last_notify_ns;

		/* QEMU announces five times in ~0.85 s after a migration: the
		 * first event of such a burst is the move, the rest repeat it. */
		d->last_notify_ns = now;
		if (d->ho.state != HO_IDLE || (prev && now - prev < (uint64_t)d->conf.debounce_ms * 1000000ull)) {
			log_debug("%s: peer notification ignored (same announcement)", d->nic[i].name);
			return;
		}
		log_info("%s: peer notification (resumed after migration?)", d->nic[i].name);
		mobile_check_link(d, "announce");
	}
}

static const struct ra_prefix *ra_slaac_prefix(const struct ra_info *ra)
{
	for (unsigned i = 0; i < ra->nprefixes; i++)
		if (ra->prefixes[i].autonomous && ra->prefixes[i].len == 64 && ra->prefixes[i].valid)
			return &ra->prefixes[i];
	return NULL;
}

void mobile_ndisc(struct matd *d, int nic)
{
	struct ndisc_msg m;
	unsigned bad = 0;
	int r;

	while ((r = ndisc_recv(d->nic[nic].ndfd, &m, &bad)) >= 0) {
		if (r == 0)
			continue;
		if (m.kind == NDISC_ECHO_REPLY && d->ho.state == HO_PROBE && nic == d->prep.nic &&
		    m.id == d->ho.echo_id && !memcmp(&m.from, &d->prep.router, sizeof(m.from))) {
			take_prepared(d);
			commit(d, "echo reply of the prepared router");
		} else if (m.kind == NDISC_RA && (d->ho.state == HO_SOLICIT || d->ho.state == HO_PROBE) &&
			   nic == d->ho.nic) {
			const struct ra_prefix *p = ra_slaac_prefix(&m.ra);
			struct in6_addr ma;

			if (!p) {
				log_debug("RA from %s on %s has no SLAAC /64 prefix", a6(&m.from), d->nic[nic].name);
				continue;
			}
			if (d->have_ma && nic == d->active && in6_prefix_match(&d->ma, &p->prefix, 64)) {
				log_info("%s: still in %s/64 (router %s): no move", d->nic[nic].name, a6(&p->prefix),
					 a6(&m.from));
				ho_reset(d);
				continue;
			}
			if (d->prep.valid && in6_prefix_match(&d->prep.ma, &p->prefix, 64) && d->prep.nic == nic) {
				/* the preparation whole (its MA and the agent's
				 * vouch for it), with the router that answered */
				take_prepared(d);
				ma = d->prep.ma;
			} else {
				ma = p->prefix;
				eui64_iid(&ma, d->nic[nic].mac);
			}
			d->ho.new_ma = ma;
			d->ho.router = m.from;
			d->ho.has_router_mac = m.ra.has_slla;
			memcpy(d->ho.router_mac, m.ra.slla, 6);
			d->ho.plen = 64;
			commit(d, "router advertisement");
		}
	}
	d->ra_bad += bad;
}

void mobile_msg(struct matd *d, const struct glm_msg *m, const struct glm_key *key,
		const struct sockaddr_in6 *from)
{
	/* Each type only from the role that sends it (glm_recv_msg): PREPARE
	 * and RESUMED from a host agent, IMS_ACK from the IMS, BINDING_ACK
	 * from a correspondent; the acks matched to what we sent. */
	if (!d->conf.mobile) {
		d->refused++;
		return;
	}
	/* Each PREPARE and RESUMED is taken once: the agent sends every
	 * copy, retransmissions too, with a new seq; a copy that is not
	 * newer than the last one taken from its key is a replay, dropped
	 * unanswered. (The acks are matched to what we sent instead.) */
	if (m->type == GLM_PREPARE || m->type == GLM_RESUMED) {
		enum glm_parse_err e = glm_replay_check(&d->agent_seq, key->id, m->seq);

		if (e != GLM_PE_OK) {
			d->drops[e]++;
			log_debug("dropped %s from key %u at %s: %s (seq %llu)", glm_msg_type_name(m->type), key->id,
				  sa6(from), glm_parse_err_name(e), (unsigned long long)m->seq);
			return;
		}
	}
	if (m->type == GLM_IMS_ACK) {
		/* an ack from any of our IMSes: one we left for its silence may
		 * have stored the update after all. Its PROVE token is good at
		 * that IMS only: followed from the current one alone. */
		bool current = d->conf.ims.n < 2 || ims_set_is_current(&d->conf.ims, from);

		if (!matd_is_ims_key(d, key)) {
			d->refused++;
			return;
		}
		if (d->ho.state == HO_IDLE && m->seq == d->ims_refresh_seq && d->ims_refresh_seq && current &&
		    m->status == GLM_ST_PROVE && GLM_HAS(m, GLM_TLV_PROOF) && d->have_ma) {
			/* the mapping lapsed: the same refresh again, with the
			 * IMS's token that reached us at the MA */
			log_info("IMS asks %s to prove it receives at %s: sent again with its token", a6(&d->conf.ha),
				 a6(&d->ma));
			send_ims_update(d, &d->ma, d->ims_refresh_seq, d->ma_has_vouch ? &d->ma_vouch : NULL, m->proof);
			d->ims_refresh_seq = 0;
			return;
		}
		if (d->ho.state == HO_IDLE && m->seq == d->ims_refresh_seq && d->ims_refresh_seq) {
			d->ims_refresh_seq = 0;
			if (m->status != GLM_ST_OK)
				log_warnx("IMS refused the lifetime refresh of %s: %s", a6(&d->conf.ha),
					  glm_status_name(m->status));
			return;
		}
		if (d->ho.state != HO_IMS || m->seq != d->ho.ims_seq)
			return;
		if (m->status == GLM_ST_PROVE && !current)
			return; /* the IMS we left wants a proof: the current one decides */
		if (m->status == GLM_ST_PROVE && GLM_HAS(m, GLM_TLV_PROOF) && !d->ho.has_proof) {
			/* no vouch for the MA (an unprepared move): the IMS's
			 * token reached us at it; the update again, with it
			 * (the same seq: the first was not stored) */
			memcpy(d->ho.proof, m->proof, 16);
			d->ho.has_proof = true;
			log_debug("handover: IMS asks to prove %s: sent again with its token", a6(&d->ho.new_ma));
			send_ho_update(d);
			return;
		}
		d->ho.t_ims_ack = now_ns();
		log_debug("handover: IMS ack %.3f ms after the trigger", ns_to_ms(d->ho.t_ims_ack - d->ho.t_event));
		if (m->status == GLM_ST_STALE && (d->ho.tries > 1 || d->ho.ims_failovers)) {
			/* our retransmission of an update the IMS already stored */
		} else if (m->status != GLM_ST_OK) {
			log_warnx("IMS refused %s -> %s: %s", a6(&d->conf.ha), a6(&d->ho.new_ma),
				  glm_status_name(m->status));
		}
		start_notify(d);
	} else if (m->type == GLM_BINDING_ACK) {
		if ((d->ho.state != HO_IMS && d->ho.state != HO_NOTIFY) || m->seq != d->ho.ims_seq)
			return;
		bool all = true;
		for (unsigned i = 0; i < d->conf.ncns; i++) {
			struct cn_state *c = &d->ho.cn[i];
			if (!c->acked && m->status == GLM_ST_PROVE && GLM_HAS(m, GLM_TLV_PROOF) && !c->has_proof &&
			    key == matd_peer_key(d, &d->conf.cns[i].sin6_addr)) {
				/* the correspondent asks us to prove the MA: its
				 * token came to the MA; the binding update again */
				memcpy(c->proof, m->proof, 16);
				c->has_proof = true;
				send_bu(d, i);
				all = false;
				continue;
			}
			if (!c->acked && !memcmp(&d->conf.cns[i].sin6_addr, &from->sin6_addr, 16) &&
			    key == matd_peer_key(d, &d->conf.cns[i].sin6_addr)) {
				c->acked = true;
				ev_timer_stop(&c->timer);
				c->rtt_ms = ns_to_ms(now_ns() - c->sent_ns);
				log_debug("handover: binding ack from %s %.3f ms after the trigger (try %u)", sa6(from),
					  ns_to_ms(now_ns() - d->ho.t_event), c->tries);
				/* stale: the IMS push got there first, nothing to do */
				if (m->status != GLM_ST_OK && m->status != GLM_ST_STALE)
					log_warnx("correspondent %s: binding update %s", sa6(from), glm_status_name(m->status));
				/* it has the new MA: its ACKs lost since the resume,
				 * now, not after the IMS ack (tcpkick.c) */
				else if (d->have_ma && memcmp(&d->ma, &d->ho.new_ma, 16))
					tcp_kick(d, &d->ho.new_ma, &from->sin6_addr);
			}
			all &= c->acked;
		}
		if (all && d->ho.state == HO_NOTIFY)
			finish(d, true);
		else if (d->ho.state == HO_NOTIFY)
			ho_arm(d); /* the rest given up on: finish(false) next turn */
	} else if (m->type == GLM_RESUMED) {
		/* The destination's agent saw libvirt resume us there: the
		 * move, ~50 ms before QEMU's announcement tells us. Only for a
		 * prepared move (it names the MA it prepared), only once. */
		if (!d->prep.valid || !GLM_HAS(m, GLM_TLV_MA) || memcmp(&m->ma, &d->prep.ma, 16)) {
			log_debug("RESUMED from %s for %s: not what we are prepared for", sa6(from),
				  GLM_HAS(m, GLM_TLV_MA) ? a6(&m->ma) : "no MA");
			return;
		}
		if (d->ho.state != HO_IDLE)
			return;
		yield_cpu(d, false, "resumed");
		log_info("%s: resumed on the prepared link (host agent %s)", d->nic[d->prep.nic].name, sa6(from));
		/* QEMU's announcement that follows is this same move */
		d->last_notify_ns = now_ns();
		/* The agent that prepared us says we run on its link: that is
		 * the confirmation the probe would bring, one round trip later. */
		ho_reset(d);
		d->ho.t_event = d->last_notify_ns;
		snprintf(d->ho.trigger, sizeof(d->ho.trigger), "agent");
		d->ho.nic = d->prep.nic;
		take_prepared(d);
		commit(d, "the host agent's RESUMED");
		/* without the router's MAC from the agent, its RA refreshes ours */
		if (!d->ho.has_router_mac && d->ho.state != HO_IDLE)
			ndisc_send_rs(d->nic[d->ho.nic].ndfd, d->nic[d->ho.nic].ifindex, d->nic[d->ho.nic].mac);
	} else if (m->type == GLM_PREPARE) {
		struct glm_msg a = { .type = GLM_PREPARE_ACK, .seq = m->seq };
		int r = -EINVAL;

		if (GLM_HAS(m, GLM_TLV_PREFIX) && GLM_HAS(m, GLM_TLV_ROUTER) && m->prefix_len == 64)
			r = mobile_prepare(d, NULL, &m->prefix, 64, &m->router,
					   GLM_HAS(m, GLM_TLV_MA) ? &m->ma : NULL, NULL);
		GLM_SET(&a, status, GLM_TLV_STATUS, r < 0 ? GLM_ST_BADREQ : GLM_ST_OK);
		if (r == 0 && d->prep.valid) {
			/* the sessions to restart after the move, listed now
			 * rather than by the just-resumed guest */
			if (d->ho.state == HO_IDLE) {
				d->kick.loaded = false;
				tcp_kick_list(d);
			}
			GLM_SET(&a, ma, GLM_TLV_MA, d->prep.ma);
			/* the agent's VOUCH for the MA it prepared, carried in
			 * the update and binding updates of the move */
			d->prep.has_vouch = GLM_HAS(m, GLM_TLV_VOUCH) && GLM_HAS(m, GLM_TLV_MA) &&
					    !memcmp(&m->ma, &d->prep.ma, 16);
			if (d->prep.has_vouch)
				d->prep.vouch = m->vouch;
			d->prep.has_router_mac = GLM_HAS(m, GLM_TLV_LLADDR);
			memcpy(d->prep.router_mac, m->lladdr, 6);
			/* our router now: the agent there sends our first frames,
			 * still addressed to it, to its own router */
			if (d->have_router_mac) {
				memcpy(a.lladdr, d->router_mac, 6);
				a.present |= 1u << GLM_TLV_LLADDR;
			}
		}
		matd_send(d, from, NULL, &a, key);
		if (r == 0 && d->prep.valid && d->ho.state == HO_IDLE)
			yield_cpu(d, true, "prepared");
	}
}

/* The handover's own deadline for its state (ho_arm): a retransmission,
 * or giving up. */
static void ho_fire(void *arg)
{
	struct matd *d = arg;
	uint64_t now = now_ns();

	switch (d->ho.state) {
	case HO_IDLE:
		return;
	case HO_PROBE:
		if (now >= d->ho.deadline_ns) {
			log_info("%s: prepared router %s did not answer from %s: asking for a router",
				 d->nic[d->prep.nic].name, a6(&d->prep.router), a6(&d->prep.ma));
			start_solicit(d, d->prep.nic);
			return;
		} else if (now >= d->ho.next_ns) {
			struct nic *n = &d->nic[d->ho.nic];
			d->ho.tries++;
			d->ho.next_ns = now + PROBE_RETX_NS;
			send_probe(d);
			ndisc_send_rs(n->ndfd, n->ifindex, n->mac);
		}
		break;
	case HO_SOLICIT:
		if (now >= d->ho.deadline_ns) {
			log_warnx("%s: no router advertisement after %u solicitations: staying with %s",
				  d->nic[d->ho.nic].name, d->ho.tries, d->have_ma ? a6(&d->ma) : "no address");
			ho_reset(d);
			return;
		} else if (now >= d->ho.next_ns) {
			struct nic *n = &d->nic[d->ho.nic];
			/* An RS that could not even be sent (no link-local address
			 * yet, right after carrier) is retried at once, not backed off. */
			if (ndisc_send_rs(n->ndfd, n->ifindex, n->mac) < 0) {
				d->ho.next_ns = now + RS_FIRST_RETX_NS;
				break;
			}
			d->ho.next_ns = now + (RS_FIRST_RETX_NS << (d->ho.tries < 6 ? d->ho.tries : 6));
			d->ho.tries++;
		}
		break;
	case HO_IMS:
		if (now >= d->ho.next_ns) {
			if (d->ho.tries >= MSG_MAX_TRIES && d->ho.ims_failovers + 1 < d->conf.ims.n) {
				/* the update in flight to the next IMS, unchanged: the
				 * same seq, so frontends sharing a store take it once */
				char what[INET6_ADDRSTRLEN + 20];

				snprintf(what, sizeof(what), "IMS update of %s", a6(&d->conf.ha));
				ims_set_failover(&d->conf.ims, what, d->ho.tries);
				d->ho.ims_failovers++;
				/* a token asked for by the last IMS is its own */
				d->ho.has_proof = false;
				d->ho.tries = 1;
				d->ho.next_ns = now + MSG_FIRST_RETX_NS;
				log_info("handover: IMS update seq %llu of %s -> %s sent again, unchanged, to %s",
					 (unsigned long long)d->ho.ims_seq, a6(&d->conf.ha), a6(&d->ho.new_ma),
					 sa6(ims_set_current(&d->conf.ims)));
				send_ho_update(d);
				break;
			}
			if (d->ho.tries >= MSG_MAX_TRIES) {
				log_warnx("IMS %s did not acknowledge %s -> %s after %u tries%s: notifying correspondents anyway",
					  sa6(ims_set_current(&d->conf.ims)), a6(&d->conf.ha), a6(&d->ho.new_ma),
					  d->ho.tries, d->ho.ims_failovers ? ", nor did the others" : "");
				start_notify(d);
				return;
			}
			d->ho.next_ns = now + (MSG_FIRST_RETX_NS << d->ho.tries);
			d->ho.tries++;
			send_ho_update(d);
		}
		break;
	case HO_NOTIFY:
		if (!bu_pending(d)) {
			log_warnx("handover: not every correspondent acknowledged the binding update");
			finish(d, false);
			return;
		}
		break;
	default:
		break;
	}
	ho_arm(d);
}

static void post_switch_due(void *arg)
{
	post_switch(arg);
}

/* The IMS lifetime refresh, half a lifetime after the last update; one due
 * during a handover waits for its end (ho_reset). */
static void refresh_due(void *arg)
{
	struct matd *d = arg;

	if (d->ho.state != HO_IDLE || !d->have_ma || !d->refresh_ns)
		return;
	/* the last refresh went unanswered for half a lifetime: the next IMS */
	if (d->ims_refresh_seq)
		ims_set_failover(&d->conf.ims, "lifetime refresh", 1);
	d->ims_refresh_seq = seq_next();
	send_ims_update(d, &d->ma, d->ims_refresh_seq, d->ma_has_vouch ? &d->ma_vouch : NULL, NULL);
	d->refresh_ns = now_ns() + (uint64_t)d->conf.lifetime * 500000000ull;
	ev_timer_at(d->loop, &d->refresh_timer, d->refresh_ns);
}

int mobile_prepare(struct matd *d, const char *ifname, const struct in6_addr *prefix, uint8_t plen,
		   const struct in6_addr *router, const struct in6_addr *ma, FILE *err)
{
	int nic = ifname ? nic_by_name(d, ifname) : -1;
	struct in6_addr a;
	int r;

	if (!d->conf.mobile) {
		if (err)
			fprintf(err, "not a mobile node (no home-address configured)");
		return -EINVAL;
	}
	if (ifname && nic < 0) {
		if (err)
			fprintf(err, "%s is not a managed interface", ifname);
		return -ENODEV;
	}
	if (nic < 0) /* two NICs: prepare the idle one; one NIC: itself */
		nic = d->nnics > 1 ? !d->active : d->active;
	if (d->have_ma && in6_prefix_match(&d->ma, prefix, plen)) {
		/* a move inside the subnet we are in: nothing to prepare (and
		 * re-adding our own MA without its prefix route would hurt) */
		log_info("prepare for %s/%u: already there, nothing to do", a6(prefix), plen);
		return 0;
	}
	if (ma) {
		a = *ma;
	} else {
		a = *prefix;
		eui64_iid(&a, d->nic[nic].mac);
	}
	/* the same preparation again (the agent's retransmission, its first
	 * ack lost): it stands, answered again, not made anew */
	if (d->prep.valid && d->prep.nic == nic && d->prep.plen == plen && !memcmp(&d->prep.prefix, prefix, 16) &&
	    !memcmp(&d->prep.router, router, 16) && !memcmp(&d->prep.ma, &a, 16)) {
		d->prep.has_router_mac = false; /* PREPARE from an agent sets it after us */
		log_debug("prepare for %s/%u: already prepared %s", a6(prefix), plen, a6(&a));
		return 0;
	}
	if (d->prep.valid)
		mobile_unprepare(d);
	/* nodad: the destination's agent checked it is unused; no prefix
	 * route: the prefix is not on this link yet. */
	r = rtnl_addr_add(d->rtnl, d->nic[nic].ifindex, &a, 64, IFA_F_NODAD | IFA_F_NOPREFIXROUTE, FOREVER, FOREVER);
	if (r < 0) {
		if (err)
			fprintf(err, "add %s/64 on %s: %s", a6(&a), d->nic[nic].name, strerror(-r));
		return r;
	}
	d->prep.valid = true;
	d->prep.has_router_mac = false; /* PREPARE from an agent sets it after us */
	d->prep.nic = nic;
	d->prep.prefix = *prefix;
	d->prep.plen = plen;
	d->prep.router = *router;
	d->prep.ma = a;
	if (d->ho.state == HO_IDLE && d->have_ma)
		program_self(d, &d->ma, NULL);
	log_info("prepared %s on %s for %s/%u via %s", a6(&a), d->nic[nic].name, a6(prefix), plen, a6(router));
	return 0;
}

void mobile_unprepare(struct matd *d)
{
	if (!d->prep.valid)
		return;
	if (!(d->have_ma && !memcmp(&d->ma, &d->prep.ma, sizeof(d->ma))))
		rtnl_addr_del(d->rtnl, d->nic[d->prep.nic].ifindex, &d->prep.ma, 64);
	log_info("dropped preparation of %s", a6(&d->prep.ma));
	d->prep.valid = false;
	yield_cpu(d, false, "preparation dropped");
	if (d->ho.state == HO_IDLE && d->have_ma)
		program_self(d, &d->ma, NULL);
}

int mobile_start(struct matd *d)
{
	static const char *const sysctls[][2] = {
		{ "accept_ra", "0" }, { "autoconf", "0" }, { "optimistic_dad", "1" }, { "use_optimistic", "1" },
	};
	int r;

	ev_timer_init(&d->post.timer, "post-switch", post_switch_due, d);
	ev_timer_init(&d->yield_timer, "SCHED_IDLE limit", yield_expired, d);
	ev_timer_init(&d->refresh_timer, "IMS refresh", refresh_due, d);
	ho_reset(d);
	for (unsigned i = 0; i < d->conf.nnics; i++) {
		struct rtnl_link_info li;
		struct nic *n = &d->nic[i];

		r = rtnl_link_get(d->rtnl, d->conf.nics[i], 0, &li);
		if (r < 0) {
			log_warnx("interface %s: %s", d->conf.nics[i], strerror(-r));
			return r;
		}
		n->matd = d;
		strcpy(n->name, li.name);
		n->ifindex = li.ifindex;
		memcpy(n->mac, li.mac, 6);
		n->carrier = li.carrier && (li.flags & IFF_UP);
		n->down_count = li.carrier_down_count;
		/* matd owns addressing on its interfaces: the kernel's own
		 * SLAAC would re-add addresses behind our back. */
		for (unsigned k = 0; k < sizeof(sysctls) / sizeof(sysctls[0]); k++)
			if ((r = sysctl_ipv6_set(n->name, sysctls[k][0], sysctls[k][1])) < 0)
				log_warnx("sysctl net.ipv6.conf.%s.%s: %s", n->name, sysctls[k][0], strerror(-r));
		n->ndfd = ndisc_socket(n->name, n->ifindex);
		if (n->ndfd < 0) {
			log_warnx("raw ICMPv6 socket on %s: %s", n->name, strerror(-n->ndfd));
			return n->ndfd;
		}
		d->nnics++;
	}
	r = rtnl_addr_add(d->rtnl, 1, &d->conf.ha, 128, IFA_F_NODAD, FOREVER, FOREVER);
	if (r < 0) {
		log_warnx("home address %s on lo: %s", a6(&d->conf.ha), strerror(-r));
		return r;
	}
	if ((r = tcp_kick_open(d)) < 0)
		log_warnx("raw TCP socket: %s; TCP sessions will not be asked for their ACKs after a move",
			  strerror(-r));
	d->active = 0;
	mobile_check_link(d, "start");
	return 0;
}

void mobile_stop(struct matd *d)
{
	static const struct in6_addr dflt;

	if (d->have_ma)
		rtnl_route_del(d->rtnl, &dflt, 0, &d->router, d->nic[d->active].ifindex, MATD_ROUTE_METRIC);
	mobile_unprepare(d);
	ev_timer_stop(&d->ho.timer);
	for (unsigned i = 0; i < MATD_MAX_CNS; i++)
		ev_timer_stop(&d->ho.cn[i].timer);
	ev_timer_stop(&d->post.timer);
	ev_timer_stop(&d->yield_timer);
	ev_timer_stop(&d->refresh_timer);
	rtnl_addr_del(d->rtnl, 1, &d->conf.ha, 128);
	for (unsigned i = 0; i < d->nnics; i++)
		if (d->nic[i].ndfd >= 0)
			close(d->nic[i].ndfd);
	if (d->kick_fd >= 0)
		close(d->kick_fd);
}

/* A phase of the last handover that did not happen: null in JSON, and
 * "null" in the text as well. The text keeps the millisecond rounding. */
static void phase(struct printer *p, const char *key, const char *fmt, double ms)
{
	char b[32];

	if (ms < 0) {
		print_null(p, key);
		print_str(p, NULL, fmt, "null");
		return;
	}
	snprintf(b, sizeof(b), "%.3f", ms);
	print_float(p, key, NULL, ms);
	print_str(p, NULL, fmt, b);
}

void mobile_status(struct matd *d, struct printer *p)
{
	const struct handover_record *h = &d->last;
	const struct nic *nic = &d->nic[d->active];
	char pfx[INET6_ADDRSTRLEN + 8];

	if (!d->conf.mobile) {
		print_null(p, "mobile");
		print_text(p, "mobile node: no (correspondent only)\n");
		return;
	}
	print_open_object(p, "mobile");
	print_addr(p, "ha", "home address: %s\n", &d->conf.ha);
	print_str(p, "interface", "interface: %s", nic->name);
	print_bool(p, "carrier", NULL, nic->carrier);
	print_str(p, NULL, " (carrier %s)\n", nic->carrier ? "up" : "down");
	print_addr(p, "ma", "mobile address: %s\n", d->have_ma ? &d->ma : NULL);
	if (!d->have_ma)
		print_text(p, "mobile address: none\n");
	print_addr(p, "router", "router: %s\n", d->have_ma ? &d->router : NULL);
	if (!d->have_ma)
		print_text(p, "router: none\n");
	if (d->prep.valid) {
		print_open_object(p, "prepared");
		print_addr(p, "ma", "prepared: %s", &d->prep.ma);
		print_str(p, "interface", " on %s", d->nic[d->prep.nic].name);
		snprintf(pfx, sizeof(pfx), "%s/%u", a6(&d->prep.prefix), d->prep.plen);
		print_str(p, "prefix", " for %s", pfx);
		print_addr(p, "router", " via %s\n", &d->prep.router);
		print_close_object(p);
	} else {
		print_null(p, "prepared");
		print_text(p, "prepared: no\n");
	}
	print_open_array(p, "correspondents");
	for (unsigned i = 0; i < d->conf.ncns; i++)
		print_str(p, "correspondent", "correspondent: %s\n", sa6(&d->conf.cns[i]));
	print_close_array(p);
	print_uint(p, "handovers", "handovers: %u", d->handovers);
	print_bool(p, "in_progress", " (one in progress)", d->ho.state != HO_IDLE);
	print_text(p, "\n");
	if (!h->id) {
		print_null(p, "last_handover");
		print_close_object(p);
		return;
	}
	print_open_object(p, "last_handover");
	print_uint(p, "id", "last handover: #%u", h->id);
	print_bool(p, "prepared", NULL, h->prepared);
	print_str(p, NULL, " %s", h->prepared ? "prepared" : "unprepared");
	print_bool(p, "complete", NULL, h->ok);
	print_str(p, "interface", " on %s", h->nic);
	print_str(p, "trigger", " (%s)", h->trigger);
	print_addr(p, "from", " %s", &h->from_ma);
	print_addr(p, "to", " -> %s:", &h->to_ma);
	phase(p, "detect_to_usable_ms", " detect->usable %s ms,", h->detect_to_usable_ms);
	phase(p, "usable_to_ims_ms", " usable->ims %s ms,", h->usable_to_ims_ms);
	phase(p, "ims_rtt_ms", " ims rtt %s ms,", h->ims_rtt_ms);
	phase(p, "cn_rtt_ms", " cn notify rtt %s ms", h->cn_rtt_ms);
	print_uint(p, "cns_acked", " (%u", h->cns_acked);
	print_uint(p, "cns", "/%u acked)", h->cns);
	print_float(p, "total_ms", ", total %.3f ms\n", h->total_ms);
	print_close_object(p);
	print_close_object(p);
}
