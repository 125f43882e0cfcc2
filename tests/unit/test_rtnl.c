/* lib/rtnl.c against the kernel. The binary moves itself into a fresh
 * network namespace first (unshare), so nothing it does leaks:
 *
 *   veth0 <----> veth1        (both in this process's private netns)
 *
 * and asserts on what the library reports and on what ip(8) shows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "unit.h"

#include "log.h"
#include "rtnl.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h> /* after net/if.h: IFF_LOWER_UP */
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int veth0;

static int group_setup(void **state)
{
	struct rtnl *r;

	if (!in_netns)
		return 0;
	assert_int_equal(rtnl_open(&r, 0), 0);
	assert_int_equal(rtnl_fd(r), -1);
	*state = r;
	return 0;
}

static int group_teardown(void **state)
{
	rtnl_close(*state);
	return 0;
}

struct found {
	struct in6_addr want;
	int n;
	uint8_t plen;
	uint32_t flags;
};

static void find_addr(void *ctx, int ifindex, const struct in6_addr *a, uint8_t plen, uint8_t scope,
		      uint32_t ifa_flags)
{
	struct found *f = ctx;

	if (ifindex == veth0 && !memcmp(a, &f->want, sizeof(*a))) {
		f->n++;
		f->plen = plen;
		f->flags = ifa_flags;
	}
}

static struct found dump_find(struct rtnl *r, const char *addr)
{
	struct found f = { .want = ip6(addr) };

	assert_int_equal(rtnl_addr_dump(r, veth0, find_addr, &f), 0);
	return f;
}

static void test_addr_nodad(void **state)
{
	struct rtnl *r = *state;
	struct in6_addr a = ip6("2001:db8:1::1");
	struct found f;
	char out[4096];

	need_netns();
	assert_int_equal(rtnl_addr_add(r, veth0, &a, 64, IFA_F_NODAD, 0xffffffff, 0xffffffff), 0);
	f = dump_find(r, "2001:db8:1::1");
	assert_int_equal(f.n, 1);
	assert_int_equal(f.plen, 64);
	assert_true(f.flags & IFA_F_NODAD);
	assert_false(f.flags & IFA_F_TENTATIVE);
	run(out, sizeof(out), "ip -6 addr show dev veth0");
	assert_non_null(strstr(out, "inet6 2001:db8:1::1/64 scope global nodad"));
	/* Replace: the same address again is not an error. */
	assert_int_equal(rtnl_addr_add(r, veth0, &a, 64, IFA_F_NODAD, 0xffffffff, 0xffffffff), 0);
	assert_int_equal(dump_find(r, "2001:db8:1::1").n, 1);
}

static void test_addr_optimistic(void **state)
{
	struct rtnl *r = *state;
	struct in6_addr a = ip6("2001:db8:1::2");
	struct found f;

	need_netns();
	assert_int_equal(sysctl_ipv6_set("veth0", "optimistic_dad", "1"), 0);
	assert_int_equal(sysctl_ipv6_set("veth0", "use_optimistic", "1"), 0);
	assert_int_equal(rtnl_addr_add(r, veth0, &a, 64, IFA_F_OPTIMISTIC, 0xffffffff, 0xffffffff), 0);
	f = dump_find(r, "2001:db8:1::2");
	assert_int_equal(f.n, 1);
	assert_true(f.flags & IFA_F_OPTIMISTIC); /* DAD takes a second: still optimistic */
	assert_int_equal(rtnl_addr_del(r, veth0, &a, 64), 0);
}

static void test_addr_flags_lifetimes(void **state)
{
	struct rtnl *r = *state;
	struct in6_addr a = ip6("2001:db8:2::1");
	struct found f;
	char out[4096];

	need_netns();
	/* IFA_F_NOPREFIXROUTE is past the first byte: only IFA_FLAGS carries it. */
	assert_int_equal(rtnl_addr_add(r, veth0, &a, 64, IFA_F_NODAD | IFA_F_NOPREFIXROUTE, 300, 100), 0);
	f = dump_find(r, "2001:db8:2::1");
	assert_int_equal(f.n, 1);
	assert_true(f.flags & IFA_F_NOPREFIXROUTE);
	run(out, sizeof(out), "ip -6 route show 2001:db8:2::/64");
	assert_string_equal(out, "");
	run(out, sizeof(out), "ip -6 addr show dev veth0 to 2001:db8:2::1/128");
	if (!strstr(out, "valid_lft 300sec preferred_lft 100sec") &&
	    !strstr(out, "valid_lft 299sec preferred_lft 99sec"))
		fail_msg("lifetimes not applied: %s", out);
	assert_int_equal(rtnl_addr_del(r, veth0, &a, 64), 0);
}

static void test_route_replace(void **state)
{
	struct rtnl *r = *state;
	struct in6_addr dst = ip6("2001:db8:ff::"), gw1 = ip6("2001:db8:1::fe"), gw2 = ip6("2001:db8:1::fd"),
			src = ip6("2001:db8:1::1");
	char out[4096], log[1024];
	int err;

	need_netns();
	assert_int_equal(rtnl_route_replace(r, &dst, 64, &gw1, veth0, &src, 100), 0);
	run(out, sizeof(out), "ip -6 route show 2001:db8:ff::/64");
	assert_string_equal(out, "2001:db8:ff::/64 via 2001:db8:1::fe dev veth0 proto static src 2001:db8:1::1 metric 100 pref medium\n");
	/* Replace changes the route in place: still exactly one. */
	assert_int_equal(rtnl_route_replace(r, &dst, 64, &gw2, veth0, &src, 100), 0);
	run(out, sizeof(out), "ip -6 route show 2001:db8:ff::/64");
	assert_string_equal(out, "2001:db8:ff::/64 via 2001:db8:1::fd dev veth0 proto static src 2001:db8:1::1 metric 100 pref medium\n");
	/* Without gateway or source, default metric. */
	assert_int_equal(rtnl_route_replace(r, &dst, 64, NULL, veth0, NULL, 0), 0);
	run(out, sizeof(out), "ip -6 route show 2001:db8:ff::/64 metric 1024");
	assert_string_equal(out, "2001:db8:ff::/64 dev veth0 proto static pref medium\n");
	assert_int_equal(rtnl_route_del(r, &dst, 64, NULL, veth0, 1024), 0);
	assert_int_equal(rtnl_route_del(r, &dst, 64, &gw2, veth0, 100), 0);
	run(out, sizeof(out), "ip -6 route show 2001:db8:ff::/64");
	assert_string_equal(out, "");
	capture_begin();
	err = rtnl_route_del(r, &dst, 64, NULL, veth0, 0);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -ESRCH);
	assert_non_null(strstr(log, "rtnl: delete route 2001:db8:ff::/64 dev veth0: "));
}

static void test_addr_del(void **state)
{
	struct rtnl *r = *state;
	struct in6_addr a = ip6("2001:db8:3::1");
	char log[1024];

	need_netns();
	assert_int_equal(rtnl_addr_add(r, veth0, &a, 64, IFA_F_NODAD, 0xffffffff, 0xffffffff), 0);
	assert_int_equal(dump_find(r, "2001:db8:3::1").n, 1);
	assert_int_equal(rtnl_addr_del(r, veth0, &a, 64), 0);
	assert_int_equal(dump_find(r, "2001:db8:3::1").n, 0);
	capture_begin();
	assert_int_equal(rtnl_addr_del(r, veth0, &a, 64), -EADDRNOTAVAIL);
	capture_end(log, sizeof(log));
	assert_non_null(strstr(log, "rtnl: delete 2001:db8:3::1/64 on veth0: "));
}

static void test_neigh(void **state)
{
	struct rtnl *r = *state;
	struct in6_addr a = ip6("2001:db8:3::77");
	const uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0xe2, 0x77 };
	char out[1024], log[1024];

	need_netns();
	assert_int_equal(rtnl_neigh_replace(r, veth0, &a, mac), 0);
	assert_int_equal(run(out, sizeof(out), "ip -6 neigh show dev veth0 to 2001:db8:3::77"), 0);
	assert_non_null(strstr(out, "lladdr 52:54:00:00:e2:77 STALE"));
	assert_int_equal(rtnl_neigh_del(r, veth0, &a), 0);
	assert_int_equal(run(out, sizeof(out), "ip -6 neigh show dev veth0 to 2001:db8:3::77"), 0);
	assert_null(strstr(out, "lladdr"));
	/* nothing to delete: said, not logged */
	capture_begin();
	assert_int_equal(rtnl_neigh_del(r, veth0, &a), -ENOENT);
	capture_end(log, sizeof(log));
	assert_string_equal(log, "");
}

/* A bridge port's multicast and broadcast flooding, off and on again;
 * unknown unicast flooding untouched; a port that is not one is an error
 * with the kernel's words. */
static void test_brport_flood(void **state)
{
	struct rtnl *r = *state;
	char out[4096], log[1024];
	int port;

	need_netns();
	assert_int_equal(system("ip link add brf0 type bridge && ip link add vf0 type veth peer name vf1 &&"
				" ip link set vf0 master brf0"), 0);
	port = (int)if_nametoindex("vf0");
	assert_int_equal(rtnl_brport_flood(r, port, false), 0);
	assert_int_equal(run(out, sizeof(out), "bridge -d link show dev vf0"), 0);
	if (!strstr(out, "mcast_flood off") || !strstr(out, "bcast_flood off") || !strstr(out, " flood on"))
		fail_msg("want mcast_flood off, bcast_flood off, flood on: %s", out);
	assert_int_equal(rtnl_brport_flood(r, port, true), 0);
	assert_int_equal(run(out, sizeof(out), "bridge -d link show dev vf0"), 0);
	if (!strstr(out, "mcast_flood on") || !strstr(out, "bcast_flood on"))
		fail_msg("want mcast_flood on, bcast_flood on: %s", out);
	capture_begin();
	assert_true(rtnl_brport_flood(r, (int)if_nametoindex("vf1"), false) < 0);
	capture_end(log, sizeof(log));
	assert_non_null(strstr(log, "rtnl: bridge port vf1: multicast and broadcast flooding off: "));
	assert_int_equal(system("ip link del vf0 && ip link del brf0"), 0);
}

static void test_errors(void **state)
{
	struct rtnl *r = *state;
	struct in6_addr a = ip6("2001:db8::1"), dst = ip6("2001:db8:ee::"), bad = ip6("2001:db8:77::7");
	struct rtnl_link_info li;
	char log[1024];
	int err;

	need_netns();
	capture_begin();
	err = rtnl_addr_add(r, 9999, &a, 64, IFA_F_NODAD, 0xffffffff, 0xffffffff);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -ENODEV);
	/* The kernel's own words, after the object that failed. */
	if (!strstr(log, "rtnl: add 2001:db8::1/64 on if9999: ") || strstr(log, "No such device"))
		fail_msg("want the kernel's extack text: %s", log);
	fprintf(stderr, "# logged: %s", log);

	capture_begin();
	err = rtnl_route_replace(r, &dst, 64, NULL, veth0, &bad, 0);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -EINVAL);
	assert_non_null(strstr(log, "rtnl: replace route 2001:db8:ee::/64 dev veth0 src 2001:db8:77::7: "));
	fprintf(stderr, "# logged: %s", log);

	/* Lifetimes the kernel refuses: preferred longer than valid. */
	capture_begin();
	err = rtnl_addr_add(r, veth0, &a, 64, 0, 10, 20);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -EINVAL);

	capture_begin();
	err = rtnl_link_get(r, "nosuchlink", 0, &li);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -ENODEV);
	assert_non_null(strstr(log, "rtnl: get link nosuchlink: "));
	assert_int_equal(rtnl_link_get(r, NULL, 0, &li), -EINVAL);

	capture_begin();
	err = sysctl_ipv6_set("nosuchlink", "accept_ra", "0");
	capture_end(log, sizeof(log));
	assert_int_equal(err, -ENOENT);
	assert_non_null(strstr(log, "sysctl net.ipv6.conf.nosuchlink.accept_ra=0: No such file or directory"));
	assert_int_equal(sysctl_ipv6_set("../all", "forwarding", "1"), -EINVAL);
}

static void test_link_get(void **state)
{
	struct rtnl *r = *state;
	struct rtnl_link_info li, lj;
	unsigned m[6];
	char out[64];

	need_netns();
	assert_int_equal(rtnl_link_get(r, "veth0", 0, &li), 0);
	assert_int_equal(li.ifindex, veth0);
	assert_string_equal(li.name, "veth0");
	/* Not /sys/class/net: sysfs shows the namespace that mounted it. */
	run(out, sizeof(out), "ip -br link show veth0 | awk '{print $3}'");
	assert_int_equal(sscanf(out, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]), 6);
	for (int i = 0; i < 6; i++)
		assert_int_equal(li.mac[i], m[i]);
	assert_true(li.flags & IFF_UP);
	assert_true(li.carrier);
	assert_int_equal(li.operstate, IF_OPER_UP);

	assert_int_equal(rtnl_link_get(r, NULL, veth0, &lj), 0);
	assert_string_equal(lj.name, "veth0");
	assert_memory_equal(lj.mac, li.mac, 6);
}

struct ev_wait {
	int ifindex;
	int kind;
	bool want_carrier;
	struct in6_addr addr;
	bool seen;
	struct rtnl_event last;
};

static void on_event(void *ctx, const struct rtnl_event *ev)
{
	struct ev_wait *w = ctx;

	if (ev->ifindex != w->ifindex || (int)ev->kind != w->kind)
		return;
	if (ev->kind == RTNL_EV_LINK && !!(ev->flags & IFF_LOWER_UP) != w->want_carrier)
		return;
	if (ev->kind == RTNL_EV_ADDR_NEW && memcmp(&ev->addr, &w->addr, sizeof(w->addr)))
		return;
	w->seen = true;
	w->last = *ev;
}

/* Read events until the one w describes arrives, or 3 s pass. */
static bool wait_event(struct rtnl *ev, struct ev_wait *w)
{
	uint64_t deadline = now_ns() + 3000000000ull;
	struct pollfd p = { .fd = rtnl_fd(ev), .events = POLLIN };

	while (!w->seen && now_ns() < deadline) {
		if (poll(&p, 1, 100) > 0)
			assert_true(rtnl_events_read(ev, on_event, w) >= 0);
	}
	return w->seen;
}

static void test_events(void **state)
{
	struct rtnl *r = *state, *ev;
	struct ev_wait w = { .ifindex = veth0, .kind = RTNL_EV_LINK, .want_carrier = false };
	struct in6_addr a = ip6("2001:db8:4::1");

	need_netns();
	assert_int_equal(rtnl_open(&ev, RTMGRP_LINK | RTMGRP_IPV6_IFADDR), 0);
	assert_true(rtnl_fd(ev) >= 0);
	assert_int_equal(rtnl_events_read(ev, on_event, &w), 0); /* nothing yet, no blocking */

	assert_int_equal(run(NULL, 0, "ip link set veth1 down"), 0);
	assert_true(wait_event(ev, &w));
	assert_string_equal(w.last.ifname, "veth0");
	assert_true(w.last.flags & IFF_UP);
	assert_int_equal(w.last.operstate, IF_OPER_LOWERLAYERDOWN);

	w = (struct ev_wait){ .ifindex = veth0, .kind = RTNL_EV_LINK, .want_carrier = true };
	assert_int_equal(run(NULL, 0, "ip link set veth1 up"), 0);
	assert_true(wait_event(ev, &w));
	assert_int_equal(w.last.operstate, IF_OPER_UP);

	w = (struct ev_wait){ .ifindex = veth0, .kind = RTNL_EV_ADDR_NEW, .addr = a };
	assert_int_equal(rtnl_addr_add(r, veth0, &a, 64, IFA_F_NODAD, 0xffffffff, 0xffffffff), 0);
	assert_true(wait_event(ev, &w));
	assert_int_equal(w.last.plen, 64);
	assert_true(w.last.ifa_flags & IFA_F_NODAD);
	w = (struct ev_wait){ .ifindex = veth0, .kind = RTNL_EV_ADDR_DEL };
	assert_int_equal(rtnl_addr_del(r, veth0, &a, 64), 0);
	assert_true(wait_event(ev, &w));
	assert_memory_equal(&w.last.addr, &a, sizeof(a));
	rtnl_close(ev);
}

static void count_event(void *ctx, const struct rtnl_event *ev)
{
	(*(int *)ctx)++;
}

/* The decoder on hand-made input: bounds, lengths, families. */
static void test_decode(void **state)
{
	union {
		uint32_t align;
		unsigned char b[256];
	} u;
	struct nlmsghdr *nlh = (struct nlmsghdr *)u.b;
	struct ifaddrmsg *ifa;
	struct rtattr *rta;
	int n = 0;

	memset(&u, 0, sizeof(u));
	assert_int_equal(rtnl_events_decode(u.b, 0, count_event, &n), 0);
	assert_int_equal(rtnl_events_decode(u.b, 3, count_event, &n), -EBADMSG);

	/* An RTM_NEWADDR too short for its ifaddrmsg: skipped, not read past. */
	nlh->nlmsg_len = NLMSG_HDRLEN + 4;
	nlh->nlmsg_type = RTM_NEWADDR;
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, count_event, &n), 0);
	/* nlmsg_len larger than the buffer. */
	nlh->nlmsg_len = 200;
	assert_int_equal(rtnl_events_decode(u.b, 100, count_event, &n), -EBADMSG);

	/* Lengths past 2^31: libmnl's own check passes them as negative. */
	nlh->nlmsg_len = 0xfffffffd;
	assert_int_equal(rtnl_events_decode(u.b, 100, count_event, &n), -EBADMSG);
	nlh->nlmsg_len = 0x80000000;
	assert_int_equal(rtnl_events_decode(u.b, 100, count_event, &n), -EBADMSG);

	/* Found by the fuzzer: the last message's nlmsg_len (51) is not a
	 * multiple of 4 and its IFA_ADDRESS runs one byte past it. With the
	 * buffer exactly 51 bytes, ASan (make SAN=1) sees any over-read. */
	{
		static const unsigned char crash[] = {
			0x33, 0, 0, 0, 0x14, 0, 0x2c, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			0x0a, 0x40, 0x82, 0, 0x03, 0, 0, 0xe5, 0x07, 0, 0, 0, 0, 0, 0, 0,
			0x14, 0, 0x01, 0, 0x40, 0, 0, 0x05, 0, 0x10, 0, 0, 0, 0x05, 0, 0x02,
			0, 0, 0,
		};
		void *heap = malloc(sizeof(crash));

		assert_non_null(heap);
		memcpy(heap, crash, sizeof(crash));
		assert_int_equal(rtnl_events_decode(heap, sizeof(crash), count_event, &n), 0);
		free(heap);
	}

	/* A well-formed one, then the same with a short IFA_ADDRESS. */
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(*ifa)) + RTA_LENGTH(16);
	ifa = NLMSG_DATA(nlh);
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = 64;
	ifa->ifa_index = 7;
	rta = (struct rtattr *)((char *)ifa + NLMSG_ALIGN(sizeof(*ifa)));
	rta->rta_type = IFA_ADDRESS;
	rta->rta_len = RTA_LENGTH(16);
	memset(RTA_DATA(rta), 0x20, 16);
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, count_event, &n), 1);
	assert_int_equal(n, 1);
	rta->rta_len = RTA_LENGTH(8);
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, count_event, &n), 0);
	/* An attribute claiming more than the message holds. */
	rta->rta_len = 200;
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, count_event, &n), 0);
	/* IPv4 addresses are not ours. */
	rta->rta_len = RTA_LENGTH(16);
	ifa->ifa_family = AF_INET;
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, count_event, &n), 0);
	assert_int_equal(n, 1);
}

static void keep_event(void *ctx, const struct rtnl_event *ev)
{
	*(struct rtnl_event *)ctx = *ev;
}

/* A link event built by hand: what a bond failover or a NOTIFY_PEERS
 * request sends, which a veth cannot be made to produce. */
static void test_decode_link(void **state)
{
	union {
		uint32_t align;
		char b[512];
	} u;
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(u.b);
	struct rtnl_event ev;
	struct ifinfomsg *ifi;
	struct nlattr *name;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = 4;
	ifi->ifi_flags = IFF_UP | IFF_LOWER_UP | IFF_RUNNING;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "eth0");
	mnl_attr_put_u8(nlh, IFLA_OPERSTATE, IF_OPER_UP);
	mnl_attr_put_u32(nlh, IFLA_EVENT, IFLA_EVENT_NOTIFY_PEERS);
	mnl_attr_put_u32(nlh, IFLA_CARRIER_DOWN_COUNT, 3);
	mnl_attr_put_u32(nlh, IFLA_MASTER, 9);
	mnl_attr_put_u32(nlh, 0x7fff, 1); /* an attribute from a future kernel: ignored */
	memset(&ev, 0xff, sizeof(ev));
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, keep_event, &ev), 1);
	assert_int_equal(ev.kind, RTNL_EV_LINK);
	assert_int_equal(ev.ifindex, 4);
	assert_string_equal(ev.ifname, "eth0");
	assert_true(ev.flags & IFF_LOWER_UP);
	assert_int_equal(ev.operstate, IF_OPER_UP);
	assert_int_equal(ev.link_event, IFLA_EVENT_NOTIFY_PEERS);
	assert_true(ev.has_down_count);
	assert_int_equal(ev.carrier_down_count, 3);
	assert_int_equal(ev.master, 9);

	/* The same as an AF_BRIDGE port message: not link state, skipped. */
	ifi->ifi_family = AF_BRIDGE;
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, keep_event, &ev), 0);
	ifi->ifi_family = AF_UNSPEC;

	/* A name without its NUL, or longer than IFNAMSIZ: message dropped. */
	name = (struct nlattr *)((char *)ifi + MNL_ALIGN(sizeof(*ifi)));
	assert_int_equal(name->nla_type, IFLA_IFNAME);
	((char *)mnl_attr_get_payload(name))[4] = 'x';
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, keep_event, &ev), 0);

	nlh = mnl_nlmsg_put_header(u.b);
	nlh->nlmsg_type = RTM_DELLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = 5;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, "a-very-long-name-indeed");
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, keep_event, &ev), 0);
	/* A truncated ifinfomsg. */
	nlh->nlmsg_len = NLMSG_HDRLEN + 8;
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, keep_event, &ev), 0);
	/* No attributes at all is fine: a DELLINK with just the index. */
	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, keep_event, &ev), 1);
	assert_int_equal(ev.kind, RTNL_EV_LINK_DEL);
	assert_int_equal(ev.ifindex, 5);
	assert_string_equal(ev.ifname, "");
	assert_int_equal(ev.master, 0);
	/* An IFLA_MASTER that is no u32: message dropped. */
	mnl_attr_put_u8(nlh, IFLA_MASTER, 9);
	assert_int_equal(rtnl_events_decode(u.b, nlh->nlmsg_len, keep_event, &ev), 0);
}

struct dump_seen {
	int port, peer, bridge;       /* ifindexes to look for */
	int port_master, peer_master; /* what the dump said, -1 if not seen */
	unsigned n;
};

static void on_dump(void *ctx, const struct rtnl_event *ev)
{
	struct dump_seen *d = ctx;

	assert_int_equal(ev->kind, RTNL_EV_LINK);
	d->n++;
	if (ev->ifindex == d->port)
		d->port_master = ev->master;
	if (ev->ifindex == d->peer)
		d->peer_master = ev->master;
}

/* The link dump names every link and the bridge each port is in (RA
 * guard's ra_untrusted is built from it). */
static void test_link_dump(void **state)
{
	struct rtnl *r = *state;
	struct dump_seen d = { .port_master = -1, .peer_master = -1 };

	need_netns();
	assert_int_equal(system("ip link add brd0 type bridge && ip link add vd0 type veth peer name vd1 &&"
				" ip link set vd0 master brd0"), 0);
	d.bridge = (int)if_nametoindex("brd0");
	d.port = (int)if_nametoindex("vd0");
	d.peer = (int)if_nametoindex("vd1");
	assert_int_equal(rtnl_link_dump(r, on_dump, &d), 0);
	assert_true(d.n >= 4); /* lo, the veths, the bridge, and the fixture's */
	assert_int_equal(d.port_master, d.bridge);
	assert_int_equal(d.peer_master, 0);
	assert_int_equal(system("ip link del vd0 && ip link del brd0"), 0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_latency(void **state)
{
	struct rtnl *r = *state;
	struct in6_addr ma[2] = { ip6("2001:db8:5::1"), ip6("2001:db8:6::1") }, dst = ip6("2001:db8:fe::"),
			gw = ip6("2001:db8:1::fe");
	uint64_t ta[100], tr[100];
	unsigned i;

	need_netns();
	/* A move: a new address (optimistic, as the agent adds it), then the
	 * route that uses it as source. */
	assert_int_equal(rtnl_addr_add(r, veth0, &ma[1], 64, IFA_F_NODAD, 0xffffffff, 0xffffffff), 0);
	for (i = 0; i < ARRAY_SIZE(ta); i++) {
		const struct in6_addr *a = &ma[i % 2], *prev = &ma[(i + 1) % 2];
		uint64_t t0 = now_ns();

		/* A fresh address each time (the old one goes, untimed). */
		assert_int_equal(rtnl_addr_add(r, veth0, a, 64, IFA_F_NODAD, 0xffffffff, 0xffffffff), 0);
		ta[i] = now_ns() - t0;
		t0 = now_ns();
		assert_int_equal(rtnl_route_replace(r, &dst, 64, &gw, veth0, a, 100), 0);
		tr[i] = now_ns() - t0;
		assert_int_equal(rtnl_addr_del(r, veth0, prev, 64), 0);
	}
	qsort(ta, ARRAY_SIZE(ta), sizeof(ta[0]), cmp_u64);
	qsort(tr, ARRAY_SIZE(tr), sizeof(tr[0]), cmp_u64);
	printf("# rtnl_addr_add: median %.1f us, p90 %.1f us; rtnl_route_replace: median %.1f us, p90 %.1f us\n",
	       ta[50] / 1e3, ta[90] / 1e3, tr[50] / 1e3, tr[90] / 1e3);
	assert_int_equal(rtnl_route_del(r, &dst, 64, NULL, veth0, 100), 0);
	assert_int_equal(rtnl_addr_del(r, veth0, &ma[1], 64), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_decode_link),
		cmocka_unit_test(test_link_get),
		cmocka_unit_test(test_link_dump),
		cmocka_unit_test(test_addr_nodad),
		cmocka_unit_test(test_addr_optimistic),
		cmocka_unit_test(test_addr_flags_lifetimes),
		cmocka_unit_test(test_route_replace),
		cmocka_unit_test(test_addr_del),
		cmocka_unit_test(test_neigh),
		cmocka_unit_test(test_brport_flood),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_latency),
	};

	log_init("test_rtnl", true, 0);
	if (unshare(CLONE_NEWNET) < 0)
		fprintf(stderr, "test_rtnl: SKIP kernel tests: needs root (CAP_NET_ADMIN) for a private netns: %s\n",
			strerror(errno));
	else if (system("ip link set lo up && ip link add veth0 type veth peer name veth1 &&"
			" ip link set veth1 up && ip link set veth0 up") != 0)
		fprintf(stderr, "test_rtnl: SKIP kernel tests: cannot create a veth pair\n");
	else
		in_netns = true;
	veth0 = (int)if_nametoindex("veth0");
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
