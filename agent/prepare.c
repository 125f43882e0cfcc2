/* PREPARE: before the switch-over, give an incoming VM's matd everything
 * it needs in this network (prefix, MA, default router), so nothing has to
 * be learned from the network after the guest resumes.
 *   1. MA = the bridge's RA prefix + the VM's EUI-64; an echo to it must go
 *      unanswered for 30 ms (in use: another IID, up to 3 times);
 *   2. the guest's current MA from the IMS (QUERY for its home address);
 *   3. PREPARE to matd at that MA, retransmitted until PREPARE_ACK (each
 *      copy with a seq of its own: matd takes a seq once).
 * Failing is not fatal: the guest then finds its network by RS/RA.
 * agentd.h draws the states (enum prepare_state); each move is logged by
 * name at -v ("vm NAME: prepare checking -> sending"). */
#include "agent_int.h"
#include "log.h"
#include "ndisc.h"
#include "rtnl.h"
#include "util.h"
#include <errno.h>
#include <sodium.h>
#include <string.h>

#define CHECK_NS (30 * 1000000ull)
#define GIVEUP_NS (3000 * 1000000ull)
#define RETX_NS (50 * 1000000ull)
#define QUERY_RETX_NS (100 * 1000000ull)
#define QUERY_TRIES_PER_IMS 5        /* unanswered, then the next IMS (several 'ims') */

static const char *const state_names[PREPARE_STATE_MAX] = {
	[PREPARE_NONE] = "none",
	[PREPARE_CHECKING] = "checking",
	[PREPARE_SENDING] = "sending",
	[PREPARE_ACKED] = "acked",
	[PREPARE_RESUMED] = "resumed",
	[PREPARE_NOT_NEEDED] = "not-needed",
	[PREPARE_FAILED] = "failed",
};

const char *prepare_state_name(enum prepare_state s)
{
	return (unsigned)s < PREPARE_STATE_MAX ? state_names[s] : "?";
}

static void move(struct agent_vm *vm, enum prepare_state to)
{
	if (vm->prepare == to)
		return;
	log_debug("vm %s: prepare %s -> %s", vm->name, prepare_state_name(vm->prepare), prepare_state_name(to));
	vm->prepare = to;
}

static void fail(struct agent_vm *vm, const char *why)
{
	move(vm, PREPARE_FAILED);
	log_warnx("vm %s: not prepared (%s): the guest will find its network by RS/RA", vm->name, why);
}

static void check_ma(struct agentd *a, struct agent_vm *vm)
{
	vm->echo_id = (uint16_t)randombytes_uniform(65536);
	vm->check_deadline_ns = now_ns() + CHECK_NS;
	vm->ma_checked = false;
	bridge_echo(a, vm->bridge, &vm->prepared_ma, vm->echo_id);
}

/* The key of the VM's matd: its metadata's key-id (glm-metadata(5)). */
static const struct glm_key *vm_key(struct agentd *a, const struct agent_vm *vm)
{
	const struct glm_key *k = keyring_find(&a->keys, vm->key_id);

	return k && k->role == GLM_ROLE_GUEST ? k : NULL;
}

static void query(struct agentd *a, struct agent_vm *vm)
{
	const struct sockaddr_in6 *ims = ims_set_current(&a->conf.ims);
	struct glm_msg m = { .type = GLM_QUERY, .seq = seq_next() };

	GLM_SET(&m, ha, GLM_TLV_HA, vm->home);
	if (a->have_ims_cookie) {
		memcpy(m.cookie, a->ims_cookie, GLM_COOKIE_LEN);
		m.present |= 1u << GLM_TLV_COOKIE;
	}
	vm->query_seq = m.seq;
	vm->query_next_ns = now_ns() + QUERY_RETX_NS;
	vm->query_tries++;
	if (agentd_send(a, ims, &m, keyring_peer(&a->keys, GLM_ROLE_BIT(GLM_ROLE_IMS), &ims->sin6_addr)) == -ENOKEY)
		log_warnx("vm %s: no ims key in the keyring for %s: cannot ask where it is", vm->name, sa6(ims));
}

/* The QUERY went unanswered QUERY_TRIES_PER_IMS times: the next IMS (each
 * tried once per preparation), without the last one's cookie. */
static void query_again(struct agentd *a, struct agent_vm *vm)
{
	if (vm->query_tries >= QUERY_TRIES_PER_IMS && vm->query_failovers + 1 < a->conf.ims.n) {
		char what[sizeof(vm->name) + 16];

		snprintf(what, sizeof(what), "QUERY for vm %s", vm->name);
		ims_set_failover(&a->conf.ims, what, vm->query_tries);
		vm->query_failovers++;
		vm->query_tries = 0;
		a->have_ims_cookie = false;
	}
	query(a, vm);
}

void prepare_start(struct agentd *a, struct agent_vm *vm)
{
	struct agent_bridge *b = &a->br[vm->bridge];

	if (vm->prepare != PREPARE_NONE)
		return;
	move(vm, PREPARE_CHECKING);
	vm->prepare_deadline_ns = now_ns() + GIVEUP_NS;
	if (!a->conf.ims.n)
		return fail(vm, "no 'ims' in the agent's configuration");
	if (!b->have_prefix)
		return fail(vm, "no router advertisement seen on the bridge yet");
	if (!vm_key(a, vm))
		return fail(vm, "its metadata's key-id is no guest key in the keyring");
	vm->prepared_ma = b->prefix;
	eui64_iid(&vm->prepared_ma, vm->ports[0].mac);
	check_ma(a, vm);
	vm->query_tries = vm->query_failovers = 0;
	query(a, vm);
}

void prepare_echo_reply(struct agentd *a, int br, const struct in6_addr *from, uint16_t id)
{
	for (unsigned i = 0; i < a->nvms; i++) {
		struct agent_vm *vm = a->vms[i];

		if (vm->prepare != PREPARE_CHECKING || vm->ma_checked || vm->bridge != br || vm->echo_id != id ||
		    memcmp(from, &vm->prepared_ma, 16))
			continue;
		log_info("vm %s: %s is in use on %s, trying another", vm->name, a6(&vm->prepared_ma), a->br[br].name);
		if (++vm->ma_tries >= 3)
			return fail(vm, "no unused address found");
		randombytes_buf(vm->prepared_ma.s6_addr + 8, 8);
		vm->prepared_ma.s6_addr[8] &= 0xfd; /* not a universal IID */
		check_ma(a, vm);
		vm_arm(a, vm);
	}
}

/* Is seq one of the PREPAREs sent for vm? */
static bool prepare_sent(const struct agent_vm *vm, uint64_t seq)
{
	for (unsigned i = 0; seq && i < vm->prepare_tries && i < PREPARE_SEQS; i++)
		if (vm->prepare_seq[i] == seq)
			return true;
	return false;
}

void prepare_msg(struct agentd *a, const struct glm_msg *m, const struct glm_key *key, const struct sockaddr_in6 *from)
{
	/* the IMS's cookie for our address, fresh with each of its answers
	 * (the current IMS's: another's cookie is no good there) */
	if ((m->type == GLM_REPLY || m->type == GLM_COOKIE) && GLM_HAS(m, GLM_TLV_COOKIE) &&
	    ims_set_is_current(&a->conf.ims, from)) {
		memcpy(a->ims_cookie, m->cookie, GLM_COOKIE_LEN);
		a->have_ims_cookie = true;
	}
	for (unsigned i = 0; i < a->nvms; i++) {
		struct agent_vm *vm = a->vms[i];

		/* a VM's ack comes from its own key, none other */
		if (m->type == GLM_PREPARE_ACK && key->id != vm->key_id)
			continue;
		if (m->type == GLM_COOKIE && key->role == GLM_ROLE_IMS && m->seq == vm->query_seq && vm->prepare == PREPARE_CHECKING &&
		    !vm->have_current_ma && a->have_ims_cookie && vm->query_cookies++ < 2) {
			/* the IMS wants our address proved: ask again at once */
			query(a, vm);
			vm_arm(a, vm);
		} else if (m->type == GLM_REPLY && m->seq == vm->query_seq && vm->prepare == PREPARE_CHECKING &&
		    !vm->have_current_ma) {
			if (m->status != GLM_ST_OK || !GLM_HAS(m, GLM_TLV_MA))
				return fail(vm, "the IMS has no mapping for its home address");
			vm->current_ma = m->ma;
			vm->have_current_ma = true;
			vm->prepare_next_ns = now_ns();
			if (in6_prefix_match(&m->ma, &a->br[vm->bridge].prefix, 64)) {
				/* a move inside the subnet: the guest keeps its MA */
				move(vm, PREPARE_NOT_NEEDED);
				log_info("vm %s: already in %s/64 (%s): nothing to prepare", vm->name,
					 a6(&a->br[vm->bridge].prefix), a6(&m->ma));
			}
			vm_arm(a, vm);
		} else if (m->type == GLM_PREPARE_ACK && vm->prepare == PREPARE_SENDING && prepare_sent(vm, m->seq)) {
			if (m->status != GLM_ST_OK)
				return fail(vm, "matd refused the preparation");
			move(vm, PREPARE_ACKED);
			vm_arm(a, vm);
			vm->prepare_rtt_ms = ns_to_ms(now_ns() - vm->prepare_sent_ns);
			log_info("vm %s: matd prepared %s via %s (%.3f ms)", vm->name, a6(&vm->prepared_ma),
				 a6(&a->br[vm->bridge].router), vm->prepare_rtt_ms);
			/* the guest's current router, whose MAC it will still use
			 * for its first frames here */
			if (GLM_HAS(m, GLM_TLV_LLADDR))
				bridge_redirect(a, vm, m->lladdr);
		}
	}
}

#define RESUMED_COPIES 2

static void resumed_send(struct agentd *a, struct agent_vm *vm, uint64_t now)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = vm->prepared_ma };
	struct glm_msg m = { .type = GLM_RESUMED, .seq = seq_next() };

	to.sin6_port = htons(a->conf.guest_port);
	GLM_SET(&m, ma, GLM_TLV_MA, vm->prepared_ma);
	GLM_SET(&m, ha, GLM_TLV_HA, vm->home);
	agentd_send(a, &to, &m, vm_key(a, vm));
	/* UDP: a second copy, should the first be lost; late enough not to
	 * land in the just-resumed guest's slowest first tens of ms (each
	 * copy costs it a receive and a wakeup of matd) */
	vm->resumed_next_ns = now + 100 * 1000000ull;
	vm->resumed_sent++;
}

void prepare_resumed(struct agentd *a, struct agent_vm *vm)
{
	struct rtnl *rt;

	if (vm->prepare != PREPARE_ACKED || !vm->nports)
		return;
	move(vm, PREPARE_RESUMED);
	/* The prepared MA answers neighbour solicitations only once the
	 * guest runs; tell the kernel its MAC so the first copy goes now.
	 * The entry there is the one our unused-address echo left
	 * unresolved, holding that echo: dropped with it, or the guest
	 * would answer an obsolete probe just as it resumes. */
	if (rtnl_open(&rt, 0) == 0) {
		rtnl_neigh_del(rt, a->br[vm->bridge].ifindex, &vm->prepared_ma);
		rtnl_neigh_replace(rt, a->br[vm->bridge].ifindex, &vm->prepared_ma, vm->ports[0].mac);
		rtnl_close(rt);
	}
	resumed_send(a, vm, now_ns());
	log_info("vm %s resumed here: told its matd at %s", vm->name, a6(&vm->prepared_ma));
}

void prepare_timer(struct agentd *a, struct agent_vm *vm, uint64_t now)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6 };
	struct glm_msg m = { .type = GLM_PREPARE };

	if (vm->prepare == PREPARE_RESUMED && vm->resumed_sent < RESUMED_COPIES && now >= vm->resumed_next_ns)
		resumed_send(a, vm, now);
	if (vm->prepare != PREPARE_CHECKING && vm->prepare != PREPARE_SENDING)
		return;
	if (now >= vm->prepare_deadline_ns)
		return fail(vm, vm->have_current_ma ? "matd did not acknowledge" : "the IMS did not answer");
	if (vm->prepare == PREPARE_CHECKING) {
		if (!vm->ma_checked && now >= vm->check_deadline_ns)
			vm->ma_checked = true;
		if (!vm->have_current_ma && now >= vm->query_next_ns)
			query_again(a, vm);
		if (!vm->ma_checked || !vm->have_current_ma)
			return;
		move(vm, PREPARE_SENDING);
	}
	if (now < vm->prepare_next_ns)
		return;
	to.sin6_addr = vm->current_ma;
	to.sin6_port = htons(a->conf.guest_port);
	/* a retransmission too: matd takes a seq once, and drops a copy
	 * of one it has taken as a replay */
	m.seq = seq_next();
	vm->prepare_seq[vm->prepare_tries % PREPARE_SEQS] = m.seq;
	GLM_SET(&m, prefix, GLM_TLV_PREFIX, a->br[vm->bridge].prefix);
	m.prefix_len = 64;
	GLM_SET(&m, ma, GLM_TLV_MA, vm->prepared_ma);
	GLM_SET(&m, router, GLM_TLV_ROUTER, a->br[vm->bridge].router);
	/* A matd older than the LLADDR TLV refuses the whole message (unknown
	 * TLVs are errors): from the third try on, prepare it without. */
	if (a->br[vm->bridge].have_router_mac && vm->prepare_tries < 2) {
		memcpy(m.lladdr, a->br[vm->bridge].router_mac, 6);
		m.present |= 1u << GLM_TLV_LLADDR;
	}
	GLM_SET(&m, ha, GLM_TLV_HA, vm->home);
	/* our word for (HA, MA), which the guest's update carries to the IMS
	 * and its correspondents (glm-keys(5)): no round trip to prove the
	 * MA on the move's path */
	glm_vouch_sign(&a->keys, &vm->home, &vm->prepared_ma, realtime_ns() / 1000000000ull + GLM_VOUCH_LIFETIME_S,
		       &m.vouch);
	m.present |= 1u << GLM_TLV_VOUCH;
	vm->prepare_sent_ns = now;
	vm->prepare_next_ns = now + (RETX_NS << (vm->prepare_tries < 5 ? vm->prepare_tries : 5));
	vm->prepare_tries++;
	agentd_send(a, &to, &m, vm_key(a, vm));
}

uint64_t prepare_deadline(const struct agent_vm *vm)
{
	uint64_t t;

	switch (vm->prepare) {
	case PREPARE_RESUMED:
		return vm->resumed_sent < RESUMED_COPIES ? vm->resumed_next_ns : UINT64_MAX;
	case PREPARE_CHECKING:
		t = vm->prepare_deadline_ns;
		if (!vm->ma_checked && vm->check_deadline_ns < t)
			t = vm->check_deadline_ns;
		if (!vm->have_current_ma && vm->query_next_ns < t)
			t = vm->query_next_ns;
		if (vm->ma_checked && vm->have_current_ma && vm->prepare_next_ns < t)
			t = vm->prepare_next_ns;
		return t;
	case PREPARE_SENDING:
		return vm->prepare_next_ns < vm->prepare_deadline_ns ? vm->prepare_next_ns : vm->prepare_deadline_ns;
	default:
		return UINT64_MAX;
	}
}
