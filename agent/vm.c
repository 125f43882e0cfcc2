/* The VMs a host holds or is about to receive, and what the agent does for
 * each of their multicast groups:
 *
 *   incoming (hook: migrate/prepare)  proxy join on the bridge; reception
 *                                     check; PREPARE to the guest's matd
 *   started  (hook: the tap exists)   pin the VM's port into its groups in
 *                                     the MDB (permanent: the port is not
 *                                     forwarding for the VM's report yet)
 *                                     and watch the port for that report
 *   no native stream within reception-timeout: relay (shared per group),
 *                                     whatever the VM reported meanwhile
 *   the VM's own report on its port   the pin becomes an ordinary entry
 *                                     that ages with the VM's reports
 *   native stream arrives             the relay reference is dropped; the
 *                                     proxy join is left once the VM has
 *                                     reported too
 *   release (hook: stopped/release)   everything undone
 *
 * A group's state machine is group.c's; this file does what it asks.
 * Each VM owns a timer, armed for its next deadline (vm_arm). */
#include "agent_int.h"
#include "conf.h"
#include "log.h"
#include "mld.h"
#include "rtnl.h"
#include "util.h"
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIN_MAX_NS (30 * 1000000000ull) /* a VM that never reports: unpin anyway */
#define HOLD_MAX_NS PIN_MAX_NS          /* no RESUMED event: flood to its tap anyway */
#define STUCK_RETRY_NS 1000000000ull    /* a deadline that did not move (a failing kernel call) */

static const struct in6_addr any6;

struct agent_vm *vm_find(struct agentd *a, const char *name)
{
	for (unsigned i = 0; i < a->nvms; i++)
		if (!strcmp(a->vms[i]->name, name))
			return a->vms[i];
	return NULL;
}

static struct vm_group *vm_group(struct agent_vm *vm, const struct in6_addr *g, const struct in6_addr *s)
{
	for (unsigned i = 0; i < vm->ngroups; i++)
		if (!memcmp(&vm->groups[i].group, g, 16) && (!s || !memcmp(&vm->groups[i].source, s, 16)))
			return &vm->groups[i];
	return NULL;
}

/* Add (group, source) to vm's groups, in state wanted; NULL if the VM has
 * AGENT_MAX_GROUPS already or memory ran out. */
static struct vm_group *vm_group_add(struct agent_vm *vm, const struct in6_addr *group, const struct in6_addr *source)
{
	if (vm->ngroups == vm->groups_cap) {
		unsigned cap = vm->groups_cap ? vm->groups_cap * 2 : 8;
		struct vm_group *g;

		if (vm->ngroups >= AGENT_MAX_GROUPS)
			return NULL;
		if (cap > AGENT_MAX_GROUPS)
			cap = AGENT_MAX_GROUPS;
		if (!(g = realloc(vm->groups, cap * sizeof(*g))))
			return NULL;
		vm->groups = g;
		vm->groups_cap = cap;
	}
	group_init(&vm->groups[vm->ngroups], group, source);
	return &vm->groups[vm->ngroups++];
}

static double ms_since(uint64_t t, uint64_t now)
{
	return t ? ns_to_ms(now - t) : -1;
}

static void unpin(struct agentd *a, struct agent_vm *vm, struct vm_group *g, const char *why)
{
	bool held = false;

	for (unsigned p = 0; p < vm->nports; p++) {
		int br = a->br[vm->bridge].ifindex, port = vm->ports[p].ifindex;

		if (!port)
			continue;
		/* Replace, not delete: the VM's report landed on our entry, so
		 * deleting it would drop the VM's membership with it. A port
		 * the bridge has disabled (a tap without carrier) takes no
		 * temporary entry, and holds no membership of the VM's to
		 * keep: there our pin is removed. Should that fail too, the
		 * group stays pinned, so that its release removes it. */
		if (mdb_add(a->mdb, br, port, &g->group, MDB_ENTRY_TEMP, true) == 0)
			continue;
		if (mdb_del(a->mdb, br, port, &g->group) == 0) {
			log_info("vm %s: %s on %s: MDB pin removed (the bridge takes no temporary entry there)",
				 vm->name, a6(&g->group), vm->ports[p].name);
			continue;
		}
		log_warnx("vm %s: %s on %s: MDB pin neither handed back to the kernel nor removed: kept until the "
			  "VM is released", vm->name, a6(&g->group), vm->ports[p].name);
		held = true;
	}
	g->pinned = held;
	g->pin_stuck = held;
	log_info("vm %s: MDB pin of %s released (%s)%s", vm->name, a6(&g->group), why,
		 held ? ", except where noted" : "");
}

static bool port_has_carrier(const char *name)
{
	char path[64], c = '0';
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", name);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fread(&c, 1, 1, f) != 1)
		c = '0';
	fclose(f);
	return c == '1';
}

/* The VM's tap still exists (it goes with QEMU: after a migration away,
 * or when the domain stopped). */
static bool port_exists(const struct vm_port *port)
{
	return port->ifindex && if_indextoname((unsigned)port->ifindex, (char[IF_NAMESIZE]){ 0 });
}

/* The bridge's multicast and broadcast flooding to an arriving VM's tap,
 * off from the moment the tap exists until the VM resumes: a paused QEMU
 * leaves all of it queued in the tap (router advertisements, neighbour
 * solicitations, MLD queries; 15 of them in a migration on the testbed)
 * and the guest, just resumed and at its slowest, would process every
 * stale copy before its applications run. What the VM itself reported,
 * or what we pin for it, is not flooding and still goes through. */
static void port_hold_flood(struct agent_vm *vm, struct vm_port *port, bool hold, const char *why)
{
	struct rtnl *rt;
	int r;

	if (port->flood_held == hold || !port->ifindex)
		return;
	if (!hold && !port_exists(port)) {
		port->flood_held = false; /* the tap is gone */
		return;
	}
	r = rtnl_open(&rt, 0);
	if (r == 0) {
		r = rtnl_brport_flood(rt, port->ifindex, !hold);
		rtnl_close(rt);
	} else {
		log_warnx("vm %s: %s: netlink: %s", vm->name, port->name, strerror(-r));
	}
	if (r == 0) {
		port->flood_held = hold;
		if (hold)
			vm->agentd->mx.flood_holds++;
		if (hold)
			log_info("vm %s: flooding to %s held until it resumes", vm->name, port->name);
		else
			log_info("vm %s: flooding to %s released (%s)", vm->name, port->name, why);
	}
}

/* Our permanent MDB entry for every group the VM has not reported yet. */
static unsigned pin_port(struct agentd *a, struct agent_vm *vm, struct vm_port *port)
{
	unsigned n = 0;

	for (unsigned i = 0; i < vm->ngroups; i++) {
		struct vm_group *g = &vm->groups[i];
		int r;

		if (g->own_report)
			continue;
		r = mdb_add(a->mdb, a->br[vm->bridge].ifindex, port->ifindex, &g->group, MDB_ENTRY_PERMANENT, false);
		if (r == 0 || r == -EEXIST) {
			g->pinned = true;
			n++;
		}
	}
	return n;
}

void vm_resumed(struct agentd *a, const char *name)
{
	struct agent_vm *vm = vm_find(a, name);
	unsigned n = 0;

	if (!vm)
		return;
	prepare_resumed(a, vm);
	for (unsigned p = 0; p < vm->nports; p++)
		port_hold_flood(vm, &vm->ports[p], false, "resumed");
	if (vm->pin_deferred) {
		vm->pin_deferred = false;
		for (unsigned p = 0; p < vm->nports; p++)
			if (vm->ports[p].ifindex)
				n += pin_port(a, vm, &vm->ports[p]);
		log_info("vm %s resumed: %u MDB pins, %.1f ms after the tap appeared", vm->name, n,
			 ms_since(vm->started_ns, now_ns()));
	}
	vm_arm(a, vm);
}

/* What group.c asked for, in the kernel and at the relay client. */
static void group_do(struct agentd *a, struct agent_vm *vm, struct vm_group *g, unsigned act)
{
	if (act & GROUP_DO_DROP_RELAY)
		relay_client_release(a, vm->bridge, &g->group, &g->source);
	if (act & GROUP_DO_LEAVE)
		proxy_leave(a, vm->bridge, &g->group, &g->source);
	if (act & GROUP_DO_WARN_SILENT)
		log_warnx("vm %s: nothing relayed for %s from %s in %u ms since it was asked", vm->name,
			  a6(&g->group), sa6(&vm->relay), GROUP_ASK_WARN_MS);
}

static const char *relay_err_str(int err)
{
	switch (err) {
	case -EDESTADDRREQ: return "no relay configured (neither in the domain's metadata nor 'relay' here)";
	case -ENOBUFS: return "too many relay sessions on this host";
	default: return strerror(-err);
	}
}

/* relay_client.c: the first relayed packet went onto bridge for (group,
 * source), after a VM took a reference. */
static void vm_relayed(struct agentd *a, int br, const struct in6_addr *group, const struct in6_addr *source)
{
	uint64_t now = now_ns();

	for (unsigned i = 0; i < a->nvms; i++) {
		struct agent_vm *vm = a->vms[i];
		bool moved = false;

		if (vm->bridge != br)
			continue;
		for (unsigned k = 0; k < vm->ngroups; k++) {
			struct vm_group *g = &vm->groups[k];

			if (g->state != GROUP_RELAY_ASKED || memcmp(&g->group, group, 16) ||
			    (source && memcmp(&g->source, source, 16)))
				continue;
			log_info("vm %s: %s relayed from %s on %s, %.1f ms after asking, %.1f ms after the proxy join",
				 vm->name, a6(&g->group), sa6(&vm->relay), a->br[br].name, ms_since(g->relay_ns, now),
				 ms_since(g->joined_ns, now));
			group_do(a, vm, g, group_event(g, vm->name, GROUP_EV_RELAYED, now, 0));
			moved = true;
		}
		if (moved)
			vm_arm(a, vm);
	}
}

/* No native stream by the timeout (or a retry after a failed request). */
static void ask_relay(struct agentd *a, struct agent_vm *vm, struct vm_group *g, uint64_t now)
{
	unsigned act;
	int r = -EDESTADDRREQ;

	if (g->state == GROUP_PROXY_JOINED)
		log_info("vm %s: no %s on %s within %u ms: asking the relay %s", vm->name, a6(&g->group),
			 a->br[vm->bridge].name, a->conf.reception_timeout_ms, vm->has_relay ? sa6(&vm->relay) : "(none)");
	if (vm->has_relay) {
		relay_client_on_flow(a, vm_relayed);
		r = relay_client_want(a, vm->bridge, &g->group, &g->source, &vm->relay);
	}
	if (r == 0) {
		if (g->state == GROUP_RELAY_FAILED)
			log_info("vm %s: asked the relay %s for %s at last", vm->name, sa6(&vm->relay), a6(&g->group));
		act = group_event(g, vm->name, GROUP_EV_RELAY_TAKEN, now, 0);
	} else {
		act = group_event(g, vm->name, GROUP_EV_RELAY_FAILED, now, r);
		if (act & GROUP_DO_LOG_FAILURE)
			log_warnx("vm %s: cannot ask the relay %s for %s: %s (trying again, at most every %u s)",
				  vm->name, vm->has_relay ? sa6(&vm->relay) : "(none)", a6(&g->group), relay_err_str(r),
				  GROUP_RETRY_MAX_MS / 1000);
	}
	group_do(a, vm, g, act);
}

static void close_mld(struct agentd *a, struct agent_vm *vm)
{
	for (unsigned p = 0; p < vm->nports; p++)
		if (vm->ports[p].mld_fd >= 0) {
			agentd_unwatch(a, vm->ports[p].mld_fd);
			close(vm->ports[p].mld_fd);
			vm->ports[p].mld_fd = -1;
		}
}

struct report_ctx {
	struct agentd *a;
	struct agent_vm *vm;
	const char *port;
};

static void on_report(void *ctx, const struct mld_record *r)
{
	struct report_ctx *c = ctx;
	struct agent_vm *vm = c->vm;
	uint64_t now = now_ns();

	for (unsigned i = 0; i < vm->ngroups; i++) {
		struct vm_group *g = &vm->groups[i];

		if (!r->join || memcmp(&g->group, &r->group, 16) || g->own_report)
			continue;
		log_info("vm %s: own report for %s on %s, %.1f ms after the tap appeared", vm->name, a6(&g->group),
			 c->port, ms_since(vm->started_ns, now));
		if (g->pinned)
			unpin(c->a, vm, g, "the VM reported");
		group_do(c->a, vm, g, group_event(g, vm->name, GROUP_EV_REPORT, now, 0));
	}
}

static void report_input(struct agentd *a, void *arg)
{
	struct vm_port *port = arg;
	struct agent_vm *vm = NULL;
	uint8_t pkt[2048];

	for (unsigned i = 0; i < a->nvms && !vm; i++)
		if (port >= a->vms[i]->ports && port < a->vms[i]->ports + AGENT_MAX_PORTS)
			vm = a->vms[i];
	if (!vm)
		return;
	for (;;) {
		struct report_ctx c = { a, vm, port->name };
		ssize_t n = recv(port->mld_fd, pkt, sizeof(pkt), 0);

		if (n < 0)
			break;
		if (mld_parse_report(pkt, (size_t)n, on_report, &c) < 0)
			log_debug("vm %s: malformed MLD report on %s", vm->name, port->name);
	}
	bool all = true;
	for (unsigned i = 0; i < vm->ngroups; i++)
		all &= vm->groups[i].own_report;
	if (all)
		close_mld(a, vm);
}

/* Copy what the hook told us into the VM: NICs on a bridge we manage,
 * home address, key, relay, groups (merged: a group already known keeps
 * its state). */
static int vm_fill(struct agentd *a, struct agent_vm *vm, const struct domxml *d, FILE *out)
{
	int br = -1;

	for (unsigned i = 0; i < d->nnics && br < 0; i++)
		br = bridge_by_name(a, d->nics[i].bridge);
	if (br < 0) {
		fprintf(out, "domain %s has no interface on a bridge this agent manages", d->name);
		return -ENOENT;
	}
	vm->bridge = br;
	for (unsigned i = 0; i < d->nnics; i++) {
		struct vm_port *p = NULL;

		if (strcmp(d->nics[i].bridge, a->br[br].name))
			continue;
		for (unsigned k = 0; k < vm->nports; k++)
			if (!memcmp(vm->ports[k].mac, d->nics[i].mac, 6))
				p = &vm->ports[k];
		if (!p) {
			if (vm->nports == AGENT_MAX_PORTS)
				continue;
			p = &vm->ports[vm->nports++];
			memset(p, 0, sizeof(*p));
			p->mld_fd = -1;
			memcpy(p->mac, d->nics[i].mac, 6);
		}
		if (d->nics[i].target[0]) {
			strcpy(p->name, d->nics[i].target);
			p->ifindex = (int)if_nametoindex(p->name);
		}
	}
	if (d->has_home) {
		vm->has_home = true;
		vm->home = d->home;
		vm->key_id = d->key_id;
	}
	if (d->has_relay && !parse_sockaddr6(d->relay, AGENT_PORT, &vm->relay))
		vm->has_relay = true;
	else if (a->conf.has_relay && !vm->has_relay) {
		vm->relay = a->conf.relay;
		vm->has_relay = true;
	}
	for (unsigned i = 0; i < d->ngroups; i++)
		if (!vm_group(vm, &d->groups[i].group, &d->groups[i].source) &&
		    !vm_group_add(vm, &d->groups[i].group, &d->groups[i].source)) {
			fprintf(out, "domain %s: out of memory for its groups", d->name);
			return -ENOMEM;
		}
	return 0;
}

/* Instances that ended here (name, libvirt id; a->ended): the hook's
 * "stopped"/"release" for a domain that migrated away comes 1-2 s after
 * libvirt's own event, when the same domain may be arriving back. */
static bool instance_ended(const struct agentd *a, const char *name, int id)
{
	for (unsigned i = 0; i < AGENT_ENDED_MAX && id >= 0; i++)
		if (a->ended[i].id == id && a->ended[i].name[0] && !strcmp(a->ended[i].name, name))
			return true;
	return false;
}

static void vm_fire(void *arg);

/* A new VM in a->vms, or NULL (memory). */
static struct agent_vm *vm_new(struct agentd *a, const char *name, enum vm_state state)
{
	struct agent_vm *vm;

	if (a->nvms == a->vms_cap) {
		unsigned cap = a->vms_cap ? a->vms_cap * 2 : 16;
		struct agent_vm **v = realloc(a->vms, cap * sizeof(*v));

		if (!v)
			return NULL;
		a->vms = v;
		a->vms_cap = cap;
	}
	if (!(vm = calloc(1, sizeof(*vm))))
		return NULL;
	vm->agentd = a;
	ev_timer_init(&vm->timer, "vm", vm_fire, vm);
	vm->instance_id = -1;
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->state = state;
	a->vms[a->nvms++] = vm;
	return vm;
}

/* Take vm out of a->vms and free it: nothing of it is left in the kernel
 * (vm_free) or there never was (a request that failed). */
static void vm_drop(struct agentd *a, struct agent_vm *vm)
{
	for (unsigned i = 0; i < a->nvms; i++)
		if (a->vms[i] == vm) {
			a->vms[i] = a->vms[--a->nvms];
			break;
		}
	ev_timer_stop(&vm->timer);
	free(vm->groups);
	free(vm);
}

static void vm_free(struct agentd *a, struct agent_vm *vm)
{
	migration_released(a, vm);
	ev_timer_stop(&vm->timer);
	if (vm->instance_id >= 0 && !instance_ended(a, vm->name, vm->instance_id)) {
		snprintf(a->ended[a->ended_next].name, sizeof(a->ended[0].name), "%s", vm->name);
		a->ended[a->ended_next].id = vm->instance_id;
		a->ended_next = (a->ended_next + 1) % AGENT_ENDED_MAX;
	}
	for (unsigned i = 0; i < vm->ngroups; i++) {
		struct vm_group *g = &vm->groups[i];

		if (g->pinned)
			for (unsigned p = 0; p < vm->nports; p++)
				if (port_exists(&vm->ports[p]))
					mdb_del(a->mdb, a->br[vm->bridge].ifindex, vm->ports[p].ifindex, &g->group);
		if (g->proxy_joined)
			proxy_leave(a, vm->bridge, &g->group, &g->source);
		if (group_holds_relay(g))
			relay_client_release(a, vm->bridge, &g->group, &g->source);
	}
	for (unsigned p = 0; p < vm->nports; p++)
		port_hold_flood(vm, &vm->ports[p], false, "released");
	close_mld(a, vm);
	bridge_unredirect(a, vm);
	bridge_vm_ports(a, vm, false);
	vm_drop(a, vm);
}

/* The hook's "release" (and libvirt's STOPPED): everything undone, unless
 * it is about an instance that ended already (the same name may be back). */
static int vm_release(struct agentd *a, struct agent_vm *vm, const struct domxml *d, FILE *out)
{
	if (instance_ended(a, d->name, d->id) || (vm && d->id >= 0 && vm->instance_id >= 0 && d->id != vm->instance_id)) {
		log_info("vm %s: release of its instance %d, which ended here already: %s", d->name, d->id,
			 vm ? "the one here now is kept" : "nothing to do");
		fprintf(out, "domain %s: instance %d ended already\n", d->name, d->id);
		return 0;
	}
	if (!vm) {
		fprintf(out, "domain %s: not known here\n", d->name);
		return 0;
	}
	log_info("vm %s released", vm->name);
	vm_free(a, vm);
	fprintf(out, "domain %s released\n", d->name);
	return 0;
}

/* A domain found running through libvirt: its memberships are its own,
 * nothing is joined or pinned. */
static int vm_running(struct agentd *a, struct agent_vm *vm, FILE *out)
{
	for (unsigned p = 0; p < vm->nports; p++)
		if (vm->ports[p].ifindex)
			mdbwatch_port(a, vm->bridge, vm->ports[p].ifindex);
	for (unsigned i = 0; i < vm->ngroups; i++)
		vm->groups[i].own_report = true;
	log_info("vm %s running on %s: %u ports, %u groups (from libvirt)", vm->name, a->br[vm->bridge].name,
		 vm->nports, vm->ngroups);
	fprintf(out, "domain %s: running, %u groups\n", vm->name, vm->ngroups);
	return 0;
}

/* A migrating VM's groups, before it runs here: a proxy join each, and
 * the stream taken as native at once if it arrived in the last second. */
static unsigned vm_proxy_join(struct agentd *a, struct agent_vm *vm, uint64_t now)
{
	unsigned joined = 0;

	for (unsigned i = 0; i < vm->ngroups; i++) {
		struct vm_group *g = &vm->groups[i];

		if (g->state != GROUP_WANTED || g->proxy_joined || g->own_report)
			continue;
		if (proxy_join(a, vm->bridge, &g->group, &g->source) == 0) {
			group_event(g, vm->name, GROUP_EV_JOINED, now, (int)a->conf.reception_timeout_ms);
			joined++;
			if (reception_seen(a, vm->bridge, &g->group, now - 1000000000ull))
				group_do(a, vm, g, group_event(g, vm->name, GROUP_EV_NATIVE, now, 0));
		}
	}
	return joined;
}

/* The tap of a migrating VM exists (hook "started"): watch it for the VM's
 * own reports and pin it into the VM's groups, now or at the RESUMED
 * event. Returns the pins made. */
static unsigned vm_pin_taps(struct agentd *a, struct agent_vm *vm)
{
	unsigned pinned = 0;

	for (unsigned p = 0; p < vm->nports; p++) {
		struct vm_port *port = &vm->ports[p];

		if (!port->ifindex) {
			log_warnx("vm %s: tap %s does not exist", vm->name, port->name[0] ? port->name : "(unnamed)");
			continue;
		}
		/* A real tap with a paused QEMU behind it queues whatever the
		 * bridge sends it and hands it all to the guest at resume:
		 * packets it already had on the source, duplicates. With
		 * libvirt's events, pin at the RESUMED event instead. A tap
		 * without carrier (the guest is not attached yet) queues
		 * nothing: pin now. Flooding to the tap waits for the RESUMED
		 * event too (port_hold_flood). */
		if (port->mld_fd < 0 && vm->ngroups) {
			port->mld_fd = mld_socket(port->ifindex);
			if (port->mld_fd < 0)
				log_warnx("vm %s: watching %s for MLD reports: %s", vm->name, port->name,
					  strerror(-port->mld_fd));
			else
				agentd_watch(a, port->mld_fd, report_input, port);
		}
		mdbwatch_port(a, vm->bridge, port->ifindex);
		if (a->conf.use_libvirt && port_has_carrier(port->name)) {
			vm->pin_deferred = true;
			port_hold_flood(vm, port, true, NULL);
		} else {
			pinned += pin_port(a, vm, port);
		}
	}
	return pinned;
}

/* The hook's "incoming" (migrate begin: prepare too; prepare begin) and
 * "started", and libvirt's RUNNING; "release" undoes. */
int vm_request(struct agentd *a, enum vm_event ev, const struct domxml *d, bool prepare, FILE *out)
{
	struct agent_vm *vm = vm_find(a, d->name);
	uint64_t now = now_ns();
	unsigned joined = 0, pinned = 0;
	int r;

	if (ev == VM_EV_RELEASE)
		return vm_release(a, vm, d, out);
	if (vm && ev == VM_EV_INCOMING && vm->state == VM_RUNNING && vm->instance_id >= 0) {
		/* its release has not come yet: that instance ended, this is another */
		log_info("vm %s arriving while its instance %d is still recorded here: that one has ended", vm->name,
			 vm->instance_id);
		vm_free(a, vm);
		vm = NULL;
	}
	if (!vm && !(vm = vm_new(a, d->name, ev == VM_EV_INCOMING ? VM_INCOMING : VM_RUNNING))) {
		fprintf(out, "domain %s: out of memory", d->name);
		return -ENOMEM;
	}
	if (ev == VM_EV_STARTED && d->id >= 0)
		vm->instance_id = d->id;
	if ((r = vm_fill(a, vm, d, out)) < 0) {
		if (!vm->ngroups && !vm->nports)
			vm_drop(a, vm);
		return r;
	}
	bridge_vm_ports(a, vm, true);
	if (ev == VM_EV_RUNNING)
		return vm_running(a, vm, out);
	if (ev == VM_EV_INCOMING && !vm->incoming_ns)
		vm->incoming_ns = now;
	if (ev == VM_EV_INCOMING && prepare) {
		vm->migrating = true;
		migration_begin(a, vm);
	}
	/* A domain that starts here (no "migrate begin") has no stream to keep:
	 * it joins its groups itself once it runs. Only a migrating one gets
	 * proxy joins, the reception check and pins. */
	if (vm->migrating) {
		joined = vm_proxy_join(a, vm, now);
		vm->mig_joins += joined;
	}
	if (ev == VM_EV_STARTED) {
		if (!vm->started_ns)
			vm->started_ns = now;
		if (vm->state == VM_INCOMING)
			vm->state = VM_RUNNING;
		if (vm->migrating)
			pinned = vm_pin_taps(a, vm);
		else
			for (unsigned p = 0; p < vm->nports; p++)
				if (vm->ports[p].ifindex)
					mdbwatch_port(a, vm->bridge, vm->ports[p].ifindex);
	}
	log_info("vm %s %s on %s: %u groups, %u proxy joins, %u MDB pins%s", vm->name,
		 ev == VM_EV_INCOMING ? "incoming" : "started", a->br[vm->bridge].name, vm->ngroups, joined, pinned,
		 prepare && vm->has_home ? ", preparing its mobile address" : "");
	fprintf(out, "domain %s: %u groups, %u proxy joins, %u pins\n", vm->name, vm->ngroups, joined, pinned);
	if (prepare && vm->has_home && ev == VM_EV_INCOMING && vm->prepare == PREPARE_NONE)
		prepare_start(a, vm);
	vm_arm(a, vm);
	return 0;
}

void vm_native(struct agentd *a, int br, const struct in6_addr *group)
{
	uint64_t now = now_ns();

	for (unsigned i = 0; i < a->nvms; i++) {
		struct agent_vm *vm = a->vms[i];
		if (vm->bridge != br)
			continue;
		for (unsigned k = 0; k < vm->ngroups; k++) {
			struct vm_group *g = &vm->groups[k];
			if (memcmp(&g->group, group, 16) || g->state == GROUP_NATIVE)
				continue;
			log_info("vm %s: %s arriving natively on %s, %.1f ms after the proxy join%s", vm->name, a6(group),
				 a->br[br].name, ms_since(g->joined_ns, now),
				 group_holds_relay(g) ? ": relay no longer needed" : "");
			group_do(a, vm, g, group_event(g, vm->name, GROUP_EV_NATIVE, now, 0));
			vm_arm(a, vm);
		}
	}
}

void vm_mdb_entry(struct agentd *a, const struct mdb_entry *e)
{
	int br = agentd_bridge_by_ifindex(a, e->bridge);
	char name[IF_NAMESIZE];

	/* Link-local groups (solicited-node, all-routers...) belong to the
	 * link the VM is on; they are not followed, nor written into the
	 * metadata that the destination's hook reads. */
	if (br < 0 || e->port == e->bridge || e->group.s6_addr[0] != 0xff || (e->group.s6_addr[1] & 0x0f) < 3)
		return;
	for (unsigned i = 0; i < a->nvms; i++) {
		struct agent_vm *vm = a->vms[i];
		struct vm_group *g;
		bool mine = false;

		if (vm->bridge != br)
			continue;
		for (unsigned p = 0; p < vm->nports; p++)
			mine |= vm->ports[p].ifindex == e->port;
		if (!mine)
			continue;
		g = vm_group(vm, &e->group, &e->source);
		if (!e->deleted && !g && (g = vm_group_add(vm, &e->group, &e->source))) {
			g->own_report = true; /* learned from the VM's own membership */
			log_info("vm %s joined %s (bridge MDB)", vm->name, a6(&e->group));
			libvirt_record(a, vm);
		} else if (e->deleted && g && !g->pinned && !g->proxy_joined && !group_holds_relay(g) &&
			   if_indextoname((unsigned)e->port, name)) {
			/* The VM left the group (not: its tap went away with a migration). */
			log_info("vm %s left %s (bridge MDB)", vm->name, a6(&e->group));
			*g = vm->groups[--vm->ngroups];
			libvirt_record(a, vm);
		}
	}
}

/* The VM's next deadline: its groups' (reception-timeout, relay retry),
 * its pins' and flood hold's 30 s, its PREPARE's. */
static uint64_t vm_deadline(const struct agent_vm *vm)
{
	uint64_t t = prepare_deadline(vm), m = migration_deadline(vm);

	if (m < t)
		t = m;
	for (unsigned k = 0; k < vm->ngroups; k++) {
		const struct vm_group *g = &vm->groups[k];

		if (g->due_ns < t)
			t = g->due_ns;
		if (g->pinned && !g->pin_stuck && vm->started_ns && vm->started_ns + PIN_MAX_NS < t)
			t = vm->started_ns + PIN_MAX_NS;
	}
	for (unsigned p = 0; p < vm->nports; p++)
		if (vm->ports[p].flood_held && vm->started_ns + HOLD_MAX_NS < t)
			t = vm->started_ns + HOLD_MAX_NS;
	return t;
}

static void vm_arm_at(struct agentd *a, struct agent_vm *vm, uint64_t t)
{
	if (t == UINT64_MAX)
		ev_timer_stop(&vm->timer);
	else
		ev_timer_at(a->loop, &vm->timer, t);
}

void vm_arm(struct agentd *a, struct agent_vm *vm)
{
	migration_check(a, vm, now_ns());
	vm_arm_at(a, vm, vm_deadline(vm));
}

static void vm_fire(void *arg)
{
	struct agent_vm *vm = arg;
	struct agentd *a = vm->agentd;
	uint64_t now = now_ns(), next;

	for (unsigned k = 0; k < vm->ngroups; k++) {
		struct vm_group *g = &vm->groups[k];

		if (now >= g->due_ns) {
			unsigned act = group_event(g, vm->name, GROUP_EV_DUE, now, 0);

			if (act & GROUP_DO_ASK_RELAY)
				ask_relay(a, vm, g, now);
			group_do(a, vm, g, act & ~GROUP_DO_ASK_RELAY);
		}
		if (g->pinned && !g->pin_stuck && vm->started_ns && now >= vm->started_ns + PIN_MAX_NS)
			unpin(a, vm, g, "no report from the VM in 30 s");
	}
	for (unsigned p = 0; p < vm->nports; p++)
		if (vm->ports[p].flood_held && now >= vm->started_ns + HOLD_MAX_NS)
			port_hold_flood(vm, &vm->ports[p], false, "no RESUMED event in 30 s");
	prepare_timer(a, vm, now);
	migration_check(a, vm, now);
	/* Every deadline that came has moved on, unless a kernel call failed
	 * (a flood hold the bridge would not lift): then not again at once,
	 * which would spin, but in a second. */
	next = vm_deadline(vm);
	if (next <= now) {
		log_debug("vm %s: a deadline did not move, next try in %llu ms", vm->name,
			  (unsigned long long)(STUCK_RETRY_NS / 1000000));
		next = now + STUCK_RETRY_NS;
	}
	vm_arm_at(a, vm, next);
}

void vm_release_all(struct agentd *a)
{
	while (a->nvms)
		vm_free(a, a->vms[a->nvms - 1]);
	free(a->vms);
	a->vms = NULL;
	a->vms_cap = 0;
}

void vm_status(struct agentd *a, struct printer *p)
{
	static const char *const st[] = { "incoming", "running", "outgoing" };
	uint64_t now = now_ns();

	print_open_array(p, "vms");
	for (unsigned i = 0; i < a->nvms; i++) {
		struct agent_vm *vm = a->vms[i];
		bool redir = vm->redirected && now < vm->redirect_until_ns;
		bool acked = vm->prepare == PREPARE_ACKED || vm->prepare == PREPARE_RESUMED;
		char mac[MAC_STRLEN];

		print_open_object(p, NULL);
		print_str(p, "name", "vm %s:", vm->name);
		print_str(p, "state", " %s", st[vm->state]);
		print_str(p, "bridge", " on %s, ports", a->br[vm->bridge].name);
		print_open_array(p, "ports");
		for (unsigned k = 0; k < vm->nports; k++) {
			print_str(p, "port", NULL, vm->ports[k].name);
			print_str(p, NULL, " %s", vm->ports[k].name[0] ? vm->ports[k].name : "(none yet)");
		}
		print_close_array(p);
		print_addr(p, "home", ", home %s", vm->has_home ? &vm->home : NULL);
		print_open_object(p, "prepare");
		print_str(p, "state", NULL, prepare_state_name(vm->prepare));
		print_bool(p, "acked", NULL, acked);
		print_addr(p, "ma", ", prepared %s", acked ? &vm->prepared_ma : NULL);
		print_float(p, "rtt_ms", acked ? " (%.2f ms)" : NULL, vm->prepare_rtt_ms);
		print_close_object(p);
		if (redir) {
			print_open_object(p, "redirect");
			print_str(p, "from", ", frames to %s redirected", mac_str(vm->old_router_mac, mac));
			print_float(p, "expires_s", " (%.0f s left)", ns_to_ms(vm->redirect_until_ns - now) / 1000);
			print_close_object(p);
		} else {
			print_null(p, "redirect");
		}
		print_text(p, "\n");
		print_open_array(p, "groups");
		for (unsigned k = 0; k < vm->ngroups; k++) {
			struct vm_group *g = &vm->groups[k];

			print_open_object(p, NULL);
			print_addr(p, "group", "  group %s:", &g->group);
			print_str(p, "state", " %s", group_state_name(g->state));
			/* the booleans as they always were: native and
			 * relayed say what arrives, proxy_joined what we hold */
			print_bool(p, "proxy_joined", ", proxy-joined", g->proxy_joined);
			print_bool(p, "pinned", ", pinned", g->pinned);
			print_bool(p, "own_report", ", reported", g->own_report);
			print_bool(p, "native", NULL, g->state == GROUP_NATIVE);
			print_bool(p, "relayed", NULL, g->state == GROUP_RELAYED);
			if (g->state == GROUP_RELAY_FAILED)
				print_str(p, NULL, " (%s)", relay_err_str(g->relay_err));
			print_float(p, "native_after_join_ms", NULL,
				    g->native_ns && g->joined_ns ? ns_to_ms(g->native_ns - g->joined_ns) : -1.0);
			print_float(p, "report_after_start_ms", NULL,
				    g->own_report_ns && vm->started_ns ? ns_to_ms(g->own_report_ns - vm->started_ns) : -1.0);
			print_float(p, "relayed_after_ask_ms", NULL,
				    g->relayed_ns && g->relay_ns ? ns_to_ms(g->relayed_ns - g->relay_ns) : -1.0);
			print_float(p, NULL, " (joined %.0f s ago)\n", g->joined_ns ? ns_to_ms(now - g->joined_ns) / 1000 : 0);
			print_close_object(p);
		}
		print_close_array(p);
		print_close_object(p);
	}
	print_close_array(p);
	(void)any6;
}
