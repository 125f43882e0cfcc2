/* The bridges an agent manages: their ifindex and MAC, the socket that
 * holds proxy joins on each, the prefix and router learned from the
 * Router Advertisements seen on it (for PREPARE), and the agent's
 * nftables table bridge glm. The table is set up, RA guard in it
 * (raguard.c), before any bridge's RAs are read: what the agent learns
 * comes from an uplink from the first RA on. */
#include "agent_int.h"
#include "log.h"
#include "nft.h"
#include "ndisc.h"
#include "rtnl.h"
#include "util.h"
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int bridge_by_name(const struct agentd *a, const char *name)
{
	for (unsigned i = 0; i < a->nbr; i++)
		if (!strcmp(a->br[i].name, name))
			return (int)i;
	return -1;
}

static void ra_input(struct agentd *a, void *arg)
{
	int i = (int)(intptr_t)arg;
	struct agent_bridge *b = &a->br[i];
	struct ndisc_msg m;
	int r;

	while ((r = ndisc_recv(b->nd_fd, &m, NULL)) >= 0) {
		if (r == 0)
			continue;
		if (m.kind == NDISC_ECHO_REPLY) {
			prepare_echo_reply(a, i, &m.from, m.id);
			continue;
		}
		for (unsigned k = 0; k < m.ra.nprefixes; k++) {
			const struct ra_prefix *p = &m.ra.prefixes[k];
			if (!p->autonomous || p->len != 64 || !p->valid)
				continue;
			if (!b->have_prefix || memcmp(&b->prefix, &p->prefix, 16) || memcmp(&b->router, &m.from, 16))
				log_info("%s: prefix %s/64, router %s (from RA)", b->name, a6(&p->prefix), a6(&m.from));
			b->prefix = p->prefix;
			b->router = m.from;
			b->have_prefix = true;
			if (m.ra.has_slla) {
				memcpy(b->router_mac, m.ra.slla, 6);
				b->have_router_mac = true;
			}
			break;
		}
	}
}

int bridge_echo(struct agentd *a, int br, const struct in6_addr *dst, uint16_t id)
{
	return ndisc_send_echo(a->br[br].nd_fd, a->br[br].ifindex, NULL, dst, id, 1);
}

/* What the agent needs of a bridge, checked before anything is set up
 * (and by -n): it exists, it is a bridge, and it snoops MLD. Without
 * snooping the bridge floods every group to every port and keeps no MDB:
 * there would be no groups to learn per VM port and nothing to pin. */
static const char *bridge_problem(const char *name, int *err)
{
	char path[64 + IF_NAMESIZE], v[4] = "";
	FILE *f;

	if (!if_nametoindex(name)) {
		*err = -errno;
		return errno == ENODEV ? "does not exist" : strerror(errno);
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", name);
	if (access(path, F_OK) < 0) {
		*err = -EINVAL;
		return "is not a bridge";
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge/multicast_snooping", name);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(v, sizeof(v), f))
			v[0] = '\0';
		fclose(f);
	}
	if (strcmp(v, "1\n")) {
		*err = -EOPNOTSUPP;
		return "does not snoop multicast";
	}
	return NULL;
}

/* An uplink must be a port of its bridge now: one that is not would
 * leave every real port of the bridge untrusted, the routers' RAs with
 * them. 0, or -errno with "CONFIG: bridge NAME: uplink PORT why" logged. */
static int uplink_check(const char *config_path, const char *bridge, const char *port)
{
	char path[64 + 2 * IF_NAMESIZE];
	int e;

	if (!if_nametoindex(port)) {
		e = errno;
		log_warnx("%s: bridge %s: uplink %s %s", config_path, bridge, port,
			  e == ENODEV ? "does not exist" : strerror(e));
		return -e;
	}
	snprintf(path, sizeof(path), "/sys/class/net/%s/brif/%s", bridge, port);
	if (access(path, F_OK) < 0) {
		log_warnx("%s: bridge %s: uplink %s is not a port of %s", config_path, bridge, port, bridge);
		return -EINVAL;
	}
	return 0;
}

int agent_check_bridges(const struct agent_conf *c, const char *config_path)
{
	int r = 0;

	/* every bridge and uplink, so one run names every problem */
	for (unsigned i = 0; i < c->nbridges; i++) {
		const struct agent_conf_bridge *cb = &c->bridges[i];
		const char *name = cb->name, *why;
		int e = 0;

		why = bridge_problem(name, &e);
		if (!why) {
			for (unsigned k = 0; k < cb->nuplinks; k++)
				if ((e = uplink_check(config_path, name, cb->uplinks[k])) < 0 && !r)
					r = e;
			continue;
		}
		if (e == -EOPNOTSUPP)
			log_warnx("%s: bridge %s: %s (ip link set %s type bridge mcast_snooping 1)", config_path, name,
				  why, name);
		else
			log_warnx("%s: bridge %s: %s", config_path, name, why);
		if (!r)
			r = e;
	}
	return r;
}

/* The table bridge glm. Not fatal: without it an arriving guest's first
 * frames go to its old router's MAC until matd has switched, relayed
 * multicast is not kept off the uplinks, and no RA is guarded (see
 * glm-agentd(8)). */
static void bridges_nft(struct agentd *a)
{
	int r;

	if ((r = br_nft_open(&a->nft)) < 0 || (r = br_nft_setup(a->nft)) < 0) {
		log_warnx("nftables table bridge glm: %s: frames of arriving guests to their old router are not "
			  "redirected, relayed multicast is not kept off the uplinks, and router advertisements "
			  "from guests are not dropped (RA guard off: this agent and the other guests believe them)",
			  strerror(-r));
		mat_nft_close(a->nft);
		a->nft = NULL;
	}
}

int bridges_init(struct agentd *a)
{
	struct rtnl *rt;
	int r = rtnl_open(&rt, 0);

	if (r < 0)
		return log_warnx("rtnetlink: %s", strerror(-r)), r;
	a->br = calloc(a->conf.nbridges, sizeof(*a->br));
	if (!a->br) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < a->conf.nbridges; i++) {
		struct agent_bridge *b = &a->br[i];
		struct rtnl_link_info li;

		b->join_fd = b->pkt_fd = b->nd_fd = -1;
		htab_init(&b->joins, sizeof(struct proxy_join), PROXY_JOIN_KEY);
		htab_init(&b->seen, sizeof(struct reception_seen), RECEPTION_SEEN_KEY);

		r = rtnl_link_get(rt, a->conf.bridges[i].name, 0, &li);
		if (r < 0) {
			log_warnx("bridge %s: %s", a->conf.bridges[i].name, strerror(-r));
			goto out;
		}
		strcpy(b->name, li.name);
		b->ifindex = li.ifindex;
		memcpy(b->mac, li.mac, 6);
		a->nbr++;
	}
	/* RA guard before the first RA is read (and before the RS below) */
	bridges_nft(a);
	if ((r = raguard_init(a)) < 0)
		goto out;
	for (unsigned i = 0; i < a->nbr; i++) {
		struct agent_bridge *b = &a->br[i];

		b->join_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (b->join_fd < 0) {
			r = -errno;
			log_warnx("%s: socket for proxy joins: %s", b->name, strerror(-r));
			goto out;
		}
		b->nd_fd = ndisc_socket(b->name, b->ifindex);
		if (b->nd_fd < 0) {
			r = b->nd_fd;
			log_warnx("%s: raw ICMPv6 socket: %s", b->name, strerror(-r));
			goto out;
		}
		agentd_watch(a, b->nd_fd, ra_input, (void *)(intptr_t)i);
		/* Learn the prefix now rather than at the next periodic RA. */
		ndisc_send_rs(b->nd_fd, b->ifindex, b->mac);
		if ((r = reception_init(a, (int)i)) < 0)
			goto out;
	}
	r = 0;
out:
	rtnl_close(rt);
	return r;
}

void bridge_redirect(struct agentd *a, struct agent_vm *vm, const uint8_t old_router[6])
{
	struct agent_bridge *b = &a->br[vm->bridge];
	char m1[MAC_STRLEN], m2[MAC_STRLEN];

	if (!a->nft || !b->have_router_mac || !memcmp(old_router, b->router_mac, 6) || !vm->nports)
		return;
	bridge_unredirect(a, vm);
	br_nft_redirect(a->nft, vm->ports[0].mac, old_router, b->router_mac, BRIDGE_REDIRECT_MS);
	if (mat_nft_commit(a->nft) < 0)
		return;
	vm->redirected = true;
	memcpy(vm->old_router_mac, old_router, 6);
	vm->redirect_until_ns = now_ns() + BRIDGE_REDIRECT_MS * 1000000ull;
	log_info("vm %s: frames to its previous router %s go to %s's router %s until it has switched (%u s at most)",
		 vm->name, mac_str(old_router, m1), b->name, mac_str(b->router_mac, m2), BRIDGE_REDIRECT_MS / 1000);
}

void bridge_unredirect(struct agentd *a, struct agent_vm *vm)
{
	if (!vm->redirected)
		return;
	vm->redirected = false;
	/* an element that timed out is gone already: deleting it would fail */
	if (!a->nft || now_ns() >= vm->redirect_until_ns)
		return;
	br_nft_unredirect(a->nft, vm->ports[0].mac, vm->old_router_mac);
	mat_nft_commit(a->nft);
}

/* Keep the VM's taps (keep) or none of them in vm_ports: the ports relayed
 * multicast may leave by. The bridge still picks among them (MDB, flood
 * hold); the rest, the uplink above all, never get it: there it would go
 * back up to the router and to every host on the link. */
void bridge_vm_ports(struct agentd *a, struct agent_vm *vm, bool keep)
{
	bool changed = false;

	if (!a->nft)
		return;
	for (unsigned p = 0; p < vm->nports; p++) {
		struct vm_port *port = &vm->ports[p];
		int want = keep ? port->ifindex : 0;

		if (port->nft_ifindex == want)
			continue;
		if (port->nft_ifindex)
			br_nft_port(a->nft, (uint32_t)port->nft_ifindex, false);
		if (want)
			br_nft_port(a->nft, (uint32_t)want, true);
		port->nft_ifindex = want;
		changed = true;
	}
	if (!changed || mat_nft_commit(a->nft) == 0)
		return;
	/* nothing of the batch applied: the next call adds them again */
	for (unsigned p = 0; p < vm->nports; p++)
		vm->ports[p].nft_ifindex = 0;
	log_warnx("vm %s: nftables set vm_ports not updated: relayed multicast may not reach it", vm->name);
}

void bridges_free(struct agentd *a)
{
	raguard_free(a);
	if (a->nft) {
		mat_nft_teardown(a->nft);
		mat_nft_close(a->nft);
		a->nft = NULL;
	}
	for (unsigned i = 0; i < a->nbr; i++) {
		struct agent_bridge *b = &a->br[i];

		if (b->join_fd >= 0)
			close(b->join_fd);
		if (b->pkt_fd >= 0)
			close(b->pkt_fd);
		if (b->nd_fd >= 0)
			close(b->nd_fd);
		htab_free(&b->joins);
		htab_free(&b->seen);
	}
	free(a->br);
	a->br = NULL;
	a->nbr = 0;
}
