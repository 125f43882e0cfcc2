/* A VM's multicast group at this agent: its state machine, in one place
 * and without side effects. group_event() moves the state (and logs the
 * move by name: "vm NAME: ff3e::1234 proxy-joined -> relay-asked"), keeps
 * the group's timestamps and its one deadline (due_ns), and returns what
 * the caller must do in the kernel or with the relay (GROUP_DO_*); the
 * outcome of asking the relay comes back as an event. So the transitions
 * are driven by unit tests (tests/unit/test_group.c) with no kernel, and
 * vm.c is left with the doing. agentd.h draws the states. */
#include "agent_int.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <string.h>

static const char *const state_names[GROUP_STATE_MAX] = {
	[GROUP_WANTED] = "wanted",
	[GROUP_PROXY_JOINED] = "proxy-joined",
	[GROUP_NATIVE] = "native",
	[GROUP_RELAY_ASKED] = "relay-asked",
	[GROUP_RELAYED] = "relayed",
	[GROUP_RELAY_FAILED] = "relay-failed",
};

const char *group_state_name(enum group_state s)
{
	return (unsigned)s < GROUP_STATE_MAX ? state_names[s] : "?";
}

void group_init(struct vm_group *g, const struct in6_addr *group, const struct in6_addr *source)
{
	memset(g, 0, sizeof(*g));
	g->group = *group;
	if (source)
		g->source = *source;
	g->state = GROUP_WANTED;
	g->due_ns = UINT64_MAX;
}

bool group_holds_relay(const struct vm_group *g)
{
	return g->state == GROUP_RELAY_ASKED || g->state == GROUP_RELAYED;
}

static void move(struct vm_group *g, const char *vm, enum group_state to)
{
	if (g->state == to)
		return;
	log_info("vm %s: %s %s -> %s", vm, a6(&g->group), group_state_name(g->state), group_state_name(to));
	g->state = to;
}

/* The stream is here: whatever relay reference there was goes, and the
 * join too once the VM has reported (before that it is what brings the
 * stream to the bridge, the VM's own membership not being there yet). */
static unsigned native(struct vm_group *g, const char *vm, uint64_t now)
{
	unsigned act = 0;

	if (group_holds_relay(g))
		act |= GROUP_DO_DROP_RELAY;
	g->native_ns = now;
	g->due_ns = UINT64_MAX;
	move(g, vm, GROUP_NATIVE);
	if (g->proxy_joined && g->own_report) {
		g->proxy_joined = false;
		act |= GROUP_DO_LEAVE;
	}
	return act;
}

unsigned group_event(struct vm_group *g, const char *vm, enum group_event ev, uint64_t now, int arg)
{
	switch (ev) {
	case GROUP_EV_JOINED:
		if (g->state != GROUP_WANTED || g->proxy_joined)
			return 0;
		g->proxy_joined = true;
		g->joined_ns = now;
		g->due_ns = now + (uint64_t)(arg > 0 ? arg : 1) * 1000000ull;
		move(g, vm, GROUP_PROXY_JOINED);
		return 0;
	case GROUP_EV_NATIVE:
		if (g->state == GROUP_NATIVE)
			return 0;
		return native(g, vm, now);
	case GROUP_EV_REPORT:
		if (!g->own_report) {
			g->own_report = true;
			g->own_report_ns = now;
		}
		/* only a native stream lets the join go: on a link without
		 * it, the relay is still to be asked at the timeout */
		if (g->state == GROUP_NATIVE && g->proxy_joined) {
			g->proxy_joined = false;
			return GROUP_DO_LEAVE;
		}
		return 0;
	case GROUP_EV_DUE:
		if (now < g->due_ns)
			return 0;
		g->due_ns = UINT64_MAX;
		switch (g->state) {
		case GROUP_PROXY_JOINED:
		case GROUP_RELAY_FAILED:
			return GROUP_DO_ASK_RELAY;
		case GROUP_RELAY_ASKED:
			if (g->ask_warned)
				return 0;
			g->ask_warned = true;
			return GROUP_DO_WARN_SILENT;
		default:
			return 0;
		}
	case GROUP_EV_RELAY_TAKEN:
		if (g->state != GROUP_PROXY_JOINED && g->state != GROUP_RELAY_FAILED)
			return GROUP_DO_DROP_RELAY; /* not ours to hold */
		g->relay_ns = now;
		g->relay_err = 0;
		g->retry_ms = 0;
		g->ask_warned = false;
		g->due_ns = now + GROUP_ASK_WARN_MS * 1000000ull;
		move(g, vm, GROUP_RELAY_ASKED);
		return 0;
	case GROUP_EV_RELAY_FAILED: {
		unsigned act = 0;

		if (g->state != GROUP_PROXY_JOINED && g->state != GROUP_RELAY_FAILED)
			return 0;
		if (arg >= 0)
			arg = -EIO;
		if (arg != g->relay_err)
			act |= GROUP_DO_LOG_FAILURE;
		g->relay_err = arg;
		/* a failure that does not go away by itself (no relay, a bad
		 * address) costs one attempt per GROUP_RETRY_MAX_MS */
		g->retry_ms = !g->retry_ms ? GROUP_RETRY_MIN_MS :
			      g->retry_ms * 2 > GROUP_RETRY_MAX_MS ? GROUP_RETRY_MAX_MS : g->retry_ms * 2;
		g->due_ns = now + g->retry_ms * 1000000ull;
		move(g, vm, GROUP_RELAY_FAILED);
		return act;
	}
	case GROUP_EV_RELAYED:
		if (g->state != GROUP_RELAY_ASKED)
			return 0;
		g->relayed_ns = now;
		g->due_ns = UINT64_MAX;
		move(g, vm, GROUP_RELAYED);
		return 0;
	}
	return 0;
}
