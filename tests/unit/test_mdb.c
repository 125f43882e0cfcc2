/* lib/mdb.c against the kernel. The binary moves itself into a fresh
 * network namespace first (unshare), and puts the far end of the veth in
 * a second, named one, so a real MLD stack joins groups behind the port:
 *
 *   this process's netns                     glm-unit-$PID-peer
 *   br0 (mcast_snooping 1) --- vnet0 <----> vpeer  (UDP socket joins G)
 *
 * vnet0 stays down until the replace test, as a migrating VM's tap is
 * between "master" and "up". Asserts on what the library reports, on the
 * events it decodes and on what bridge(8) shows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "unit.h"

#include "log.h"
#include "mdb.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_bridge.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int br0, vnet0;
static char peer_ns[64];

static int group_setup(void **state)
{
	struct mdb *m;

	if (!in_netns)
		return 0;
	assert_int_equal(mdb_open(&m, true), 0);
	assert_true(mdb_fd(m) >= 0);
	*state = m;
	return 0;
}

static int group_teardown(void **state)
{
	mdb_close(*state);
	return 0;
}

/* --- collecting entries --- */

#define MAX_SEEN 64
struct seen {
	struct mdb_entry e[MAX_SEEN];
	int n;
};

static void collect(void *ctx, const struct mdb_entry *e)
{
	struct seen *s = ctx;

	if (s->n < MAX_SEEN)
		s->e[s->n++] = *e;
}

static const struct mdb_entry *find(const struct seen *s, int port, const struct in6_addr *g)
{
	for (int i = 0; i < s->n; i++)
		if (s->e[i].port == port && !memcmp(&s->e[i].group, g, sizeof(*g)))
			return &s->e[i];
	return NULL;
}

static void dump(struct mdb *m, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(mdb_dump(m, br0, collect, s), 0);
}

/* Read events until one for (port, g, deleted) arrives; its copy into out.
 * Returns the ns waited, or 0 on timeout. */
static uint64_t wait_event(struct mdb *m, int port, const struct in6_addr *g, bool deleted, int timeout_ms,
			   struct mdb_entry *out)
{
	uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)timeout_ms * 1000000;
	struct pollfd p = { .fd = mdb_fd(m), .events = POLLIN };
	struct seen s;

	for (;;) {
		uint64_t now = now_ns();

		if (now >= deadline)
			return 0;
		if (poll(&p, 1, (int)((deadline - now) / 1000000) + 1) <= 0)
			continue;
		memset(&s, 0, sizeof(s));
		assert_true(mdb_events_read(m, collect, &s) >= 0);
		for (int i = 0; i < s.n; i++) {
			if (s.e[i].port == port && !memcmp(&s.e[i].group, g, sizeof(*g)) &&
			    s.e[i].deleted == deleted) {
				if (out)
					*out = s.e[i];
				return now_ns() - t0 ?: 1;
			}
		}
	}
}

static void drain(struct mdb *m)
{
	struct seen s;

	do {
		memset(&s, 0, sizeof(s));
	} while (mdb_events_read(m, collect, &s) > 0);
}

/* A UDP socket in the peer's netns, for IPV6_JOIN_GROUP on vpeer. */
static int peer_socket(int *ifindex)
{
	char path[128];
	int self, ns, fd;

	snprintf(path, sizeof(path), "/run/netns/%s", peer_ns);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(self >= 0 && ns >= 0);
	assert_int_equal(setns(ns, CLONE_NEWNET), 0);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	*ifindex = (int)if_nametoindex("vpeer");
	assert_int_equal(setns(self, CLONE_NEWNET), 0);
	close(self);
	close(ns);
	assert_true(fd >= 0 && *ifindex > 0);
	return fd;
}

static void peer_join(int fd, int ifindex, const struct in6_addr *g, bool join)
{
	struct ipv6_mreq mr = { .ipv6mr_multiaddr = *g, .ipv6mr_interface = (unsigned)ifindex };

	assert_int_equal(setsockopt(fd, IPPROTO_IPV6, join ? IPV6_JOIN_GROUP : IPV6_LEAVE_GROUP, &mr, sizeof(mr)), 0);
}

/* --- the parser, on hand-built messages --- */

static size_t put_msg(char *buf, uint16_t type, int bridge, const struct br_mdb_entry *be, size_t n,
		      const void *src, size_t src_len, int rtprot)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct br_port_msg *bpm;
	struct nlattr *mdb, *ent, *info;

	nlh->nlmsg_type = type;
	bpm = mnl_nlmsg_put_extra_header(nlh, sizeof(*bpm));
	bpm->family = AF_BRIDGE;
	bpm->ifindex = (uint32_t)bridge;
	mdb = mnl_attr_nest_start(nlh, MDBA_MDB);
	ent = mnl_attr_nest_start(nlh, MDBA_MDB_ENTRY);
	for (size_t i = 0; i < n; i++) {
		info = mnl_attr_nest_start(nlh, MDBA_MDB_ENTRY_INFO);
		memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(be[i])), &be[i], sizeof(be[i]));
		if (src)
			mnl_attr_put(nlh, MDBA_MDB_EATTR_SOURCE, src_len, src);
		if (rtprot >= 0)
			mnl_attr_put_u8(nlh, MDBA_MDB_EATTR_RTPROT, (uint8_t)rtprot);
		mnl_attr_nest_end(nlh, info);
	}
	mnl_attr_nest_end(nlh, ent);
	mnl_attr_nest_end(nlh, mdb);
	return nlh->nlmsg_len;
}

static void test_decode(void **state)
{
	char buf[2048] __attribute__((aligned(4)));
	struct in6_addr g = ip6("ff3e::1234"), src = ip6("2001:db8::1");
	struct br_mdb_entry be[3];
	struct seen s = { 0 };
	size_t len, l2;

	memset(be, 0, sizeof(be));
	be[0].ifindex = 7;
	be[0].state = MDB_PERMANENT;
	be[0].addr.proto = htons(ETH_P_IPV6);
	be[0].addr.u.ip6 = g;
	be[1] = be[0];
	be[1].ifindex = 3; /* the host's own membership: port == bridge */
	be[1].state = MDB_TEMPORARY;
	be[2].ifindex = 7;
	be[2].addr.proto = htons(ETH_P_IP); /* IPv4: skipped */
	be[2].addr.u.ip4 = htonl(0xef010203);

	/* Two IPv6 infos and one IPv4 in one entry; then a DEL with a source. */
	len = put_msg(buf, RTM_NEWMDB, 3, be, 3, NULL, 0, RTPROT_STATIC);
	l2 = put_msg(buf + len, RTM_DELMDB, 3, be, 1, &src, sizeof(src), -1);
	assert_int_equal(mdb_decode(buf, len + l2, collect, &s), 3);
	assert_int_equal(s.e[0].bridge, 3);
	assert_int_equal(s.e[0].port, 7);
	assert_memory_equal(&s.e[0].group, &g, sizeof(g));
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&s.e[0].source));
	assert_int_equal(s.e[0].state, MDB_ENTRY_PERMANENT);
	assert_int_equal(s.e[0].proto, RTPROT_STATIC);
	assert_false(s.e[0].deleted);
	assert_int_equal(s.e[1].port, 3);
	assert_int_equal(s.e[1].state, MDB_ENTRY_TEMP);
	assert_true(s.e[2].deleted);
	assert_memory_equal(&s.e[2].source, &src, sizeof(src));
	assert_int_equal(s.e[2].proto, 0);

	/* A dump reply is typed RTM_GETMDB with family 0: decoded the same. */
	len = put_msg(buf, RTM_GETMDB, 3, be, 1, NULL, 0, -1);
	((struct br_port_msg *)mnl_nlmsg_get_payload((struct nlmsghdr *)buf))->family = 0;
	memset(&s, 0, sizeof(s));
	assert_int_equal(mdb_decode(buf, len, collect, &s), 1);

	/* An info too short for its br_mdb_entry: skipped, not read past. */
	len = put_msg(buf, RTM_NEWMDB, 3, be, 1, NULL, 0, -1);
	{
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
		struct nlattr *mdb = (struct nlattr *)((char *)mnl_nlmsg_get_payload(nlh) + 8);
		struct nlattr *ent = mnl_attr_get_payload(mdb), *info = mnl_attr_get_payload(ent);

		info->nla_len = 4 + 8;
	}
	memset(&s, 0, sizeof(s));
	assert_int_equal(mdb_decode(buf, len, collect, &s), 0);

	/* A source of the wrong size (an IPv4 one on an IPv6 group): skipped;
	 * the next info in the same entry still counts. */
	len = put_msg(buf, RTM_NEWMDB, 3, be, 2, &src, 4, -1);
	memset(&s, 0, sizeof(s));
	assert_int_equal(mdb_decode(buf, len, collect, &s), 0);
	len = put_msg(buf, RTM_NEWMDB, 3, be, 2, NULL, 0, 300 & 0xff);
	memset(&s, 0, sizeof(s));
	assert_int_equal(mdb_decode(buf, len, collect, &s), 2);

	/* Truncated buffers and a length of 2^31: -EBADMSG, no loop. */
	assert_int_equal(mdb_decode(buf, 10, collect, &s), -EBADMSG);
	((struct nlmsghdr *)buf)->nlmsg_len = 0x80000000u;
	assert_int_equal(mdb_decode(buf, len, collect, &s), -EBADMSG);
	assert_int_equal(mdb_decode(buf, 0, collect, &s), 0);
}

/* --- against the kernel --- */

static void test_dump_empty(void **state)
{
	struct mdb *m = *state;
	struct seen s;

	need_netns();
	/* br0 has no carrier yet (vnet0 is down): no link-local, so not even
	 * the host's own solicited-node groups. */
	dump(m, &s);
	assert_int_equal(s.n, 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(mdb_dump(m, 0, collect, &s), 0);
}

static void test_add_permanent_down(void **state)
{
	struct mdb *m = *state;
	struct in6_addr g = ip6("ff3e::1234");
	const struct mdb_entry *e;
	struct mdb_entry ev;
	char log[1024], out[1024];
	struct seen s;

	need_netns();
	drain(m);
	assert_int_equal(run(out, sizeof(out), "ip -br link show vnet0"), 0);
	assert_non_null(strstr(out, "DOWN"));

	/* A temp entry on a port that is not up is refused, with the reason. */
	capture_begin();
	int err = mdb_add(m, br0, vnet0, &g, MDB_ENTRY_TEMP, false);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -EINVAL);
	assert_non_null(strstr(log, "mdb: add ff3e::1234 on br0 port vnet0"));
	assert_non_null(strstr(log, "not permanent"));

	/* A permanent one is taken: the pin for a VM that has not resumed. */
	assert_int_equal(mdb_add(m, br0, vnet0, &g, MDB_ENTRY_PERMANENT, false), 0);
	assert_true(wait_event(m, vnet0, &g, false, 1000, &ev) > 0);
	assert_int_equal(ev.bridge, br0);
	assert_int_equal(ev.state, MDB_ENTRY_PERMANENT);
	assert_int_equal(ev.proto, RTPROT_STATIC);

	dump(m, &s);
	e = find(&s, vnet0, &g);
	assert_non_null(e);
	assert_int_equal(e->bridge, br0);
	assert_int_equal(e->state, MDB_ENTRY_PERMANENT);
	assert_int_equal(e->proto, RTPROT_STATIC);
	assert_false(e->deleted);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&e->source));
	assert_int_equal(run(out, sizeof(out), "bridge mdb show dev br0"), 0);
	assert_non_null(strstr(out, "port vnet0 grp ff3e::1234 permanent"));

	/* Adding it again: -EEXIST (no NLM_F_REPLACE). */
	capture_begin();
	err = mdb_add(m, br0, vnet0, &g, MDB_ENTRY_PERMANENT, false);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -EEXIST);
}

static void test_replace_temp(void **state)
{
	struct mdb *m = *state;
	struct in6_addr g = ip6("ff3e::1234");
	const struct mdb_entry *e;
	struct mdb_entry ev;
	char out[1024];
	struct seen s;
	double timer = 0;
	char *p;
	uint64_t t0 = now_ns();
	int tries = 0;

	need_netns();
	assert_int_equal(run(NULL, 0, "ip -n %s link set vpeer up && ip link set vnet0 up", peer_ns), 0);
	/* The bridge enables the port on carrier, which linkwatch reports
	 * asynchronously: until then a temp entry is refused as on a down port. */
	while (run(NULL, 0, "bridge link show dev vnet0 | grep -q 'state forwarding'") != 0) {
		assert_true(++tries < 300);
		usleep(10000);
	}
	printf("# vnet0 up -> bridge port forwarding: %.0f ms\n", ns_to_ms(now_ns() - t0));
	drain(m);
	assert_int_equal(mdb_add(m, br0, vnet0, &g, MDB_ENTRY_TEMP, true), 0);
	assert_true(wait_event(m, vnet0, &g, false, 1000, &ev) > 0);
	assert_int_equal(ev.state, MDB_ENTRY_TEMP);
	dump(m, &s);
	e = find(&s, vnet0, &g);
	assert_non_null(e);
	assert_int_equal(e->state, MDB_ENTRY_TEMP);
	/* It now ages: bridge -s shows the membership timer running. */
	assert_int_equal(run(out, sizeof(out), "bridge -s mdb show dev br0 | grep 'port vnet0 grp ff3e::1234'"), 0);
	p = strstr(out, "temp");
	assert_non_null(p);
	assert_int_equal(sscanf(p + 4, "%lf", &timer), 1);
	assert_true(timer > 1.0);
}

static void test_del(void **state)
{
	struct mdb *m = *state;
	struct in6_addr g = ip6("ff3e::1234");
	struct mdb_entry ev;
	char log[1024];
	struct seen s;
	int err;

	need_netns();
	drain(m);
	assert_int_equal(mdb_del(m, br0, vnet0, &g), 0);
	assert_true(wait_event(m, vnet0, &g, true, 1000, &ev) > 0);
	assert_true(ev.deleted);
	assert_int_equal(ev.bridge, br0);
	dump(m, &s);
	assert_null(find(&s, vnet0, &g));

	capture_begin();
	err = mdb_del(m, br0, vnet0, &g);
	capture_end(log, sizeof(log));
	/* The kernel says -EINVAL, without text, for an entry it lacks. */
	assert_int_equal(err, -EINVAL);
	assert_non_null(strstr(log, "mdb: delete ff3e::1234 on br0 port vnet0: "));
}

/* The peer's own MLD report: an event with proto kernel, and the
 * latency from IPV6_JOIN_GROUP to it. */
static void test_join_event(void **state)
{
	struct mdb *m = *state;
	struct in6_addr g = ip6("ff3e::4242");
	uint64_t lat[9], t_leave;
	struct mdb_entry ev;
	int fd, ifindex;

	need_netns();
	fd = peer_socket(&ifindex);
	for (size_t i = 0; i < ARRAY_SIZE(lat); i++) {
		g.s6_addr[15] = (uint8_t)(0x40 + i);
		drain(m);
		peer_join(fd, ifindex, &g, true);
		lat[i] = wait_event(m, vnet0, &g, false, 3000, &ev);
		assert_true(lat[i] > 0);
		assert_int_equal(ev.bridge, br0);
		assert_int_equal(ev.proto, RTPROT_KERNEL);
		assert_int_equal(ev.state, MDB_ENTRY_TEMP);
		assert_false(ev.deleted);
	}
	for (size_t i = 0; i < ARRAY_SIZE(lat); i++)
		for (size_t j = i + 1; j < ARRAY_SIZE(lat); j++)
			if (lat[j] < lat[i]) {
				uint64_t t = lat[i];
				lat[i] = lat[j];
				lat[j] = t;
			}
	printf("# join -> RTM_NEWMDB event: median %.1f ms, min %.1f, max %.1f (n=%zu)\n",
	       ns_to_ms(lat[ARRAY_SIZE(lat) / 2]), ns_to_ms(lat[0]), ns_to_ms(lat[ARRAY_SIZE(lat) - 1]),
	       ARRAY_SIZE(lat));

	/* Leave: the bridge queries the port (last member count x interval)
	 * and deletes the entry ~2 s later. */
	drain(m);
	peer_join(fd, ifindex, &g, false);
	t_leave = wait_event(m, vnet0, &g, true, 5000, &ev);
	assert_true(t_leave > 0);
	assert_true(ev.deleted);
	printf("# leave -> RTM_DELMDB event: %.0f ms\n", ns_to_ms(t_leave));
	close(fd);
}

static void test_errors(void **state)
{
	struct mdb *m = *state;
	struct in6_addr g = ip6("ff3e::1234");
	char log[1024];
	int err, lo = (int)if_nametoindex("lo");

	need_netns();
	capture_begin();
	err = mdb_add(m, br0, 9999, &g, MDB_ENTRY_PERMANENT, false);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -ENODEV);
	assert_non_null(strstr(log, "mdb: add ff3e::1234 on br0 port if9999"));

	capture_begin();
	err = mdb_add(m, lo, vnet0, &g, MDB_ENTRY_PERMANENT, false);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -EOPNOTSUPP);
	assert_non_null(strstr(log, "mdb: add ff3e::1234 on lo port vnet0: Device does not support MDB operations"));

	capture_begin();
	err = mdb_add(m, 9999, vnet0, &g, MDB_ENTRY_PERMANENT, false);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -ENODEV);
	assert_non_null(strstr(log, "mdb: add ff3e::1234 on if9999 port vnet0: "));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_latency(void **state)
{
	struct mdb *m = *state;
	struct in6_addr g = ip6("ff3e::9000");
	uint64_t t[100], t0;

	need_netns();
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		g.s6_addr[15] = (uint8_t)i;
		t0 = now_ns();
		assert_int_equal(mdb_add(m, br0, vnet0, &g, MDB_ENTRY_PERMANENT, false), 0);
		t[i] = now_ns() - t0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		g.s6_addr[15] = (uint8_t)i;
		assert_int_equal(mdb_del(m, br0, vnet0, &g), 0);
	}
	qsort(t, ARRAY_SIZE(t), sizeof(t[0]), cmp_u64);
	printf("# mdb_add (permanent, acked): median %.1f us, p90 %.1f us\n", t[50] / 1e3, t[90] / 1e3);
	drain(m);
}

static void cleanup(void)
{
	if (peer_ns[0]) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "ip netns del %s 2>/dev/null", peer_ns);
		if (system(cmd) != 0)
			fprintf(stderr, "test_mdb: could not delete netns %s\n", peer_ns);
		peer_ns[0] = '\0';
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_dump_empty),
		cmocka_unit_test(test_add_permanent_down),
		cmocka_unit_test(test_replace_temp),
		cmocka_unit_test(test_del),
		cmocka_unit_test(test_join_event),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_latency),
	};
	char cmd[1024];
	int rc;

	log_init("test_mdb", true, 0);
	if (geteuid() != 0) {
		fprintf(stderr, "test_mdb: SKIP kernel tests: needs root (netns, bridge, veth)\n");
	} else if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "test_mdb: SKIP kernel tests: cannot unshare a netns: %s\n", strerror(errno));
	} else {
		snprintf(peer_ns, sizeof(peer_ns), "glm-unit-%d-peer", (int)getpid());
		atexit(cleanup);
		/* No DAD, so the link-locals MLD needs as source are there at once. */
		snprintf(cmd, sizeof(cmd),
			 "ip netns add %s && ip netns exec %s sysctl -qw net.ipv6.conf.all.accept_dad=0"
			 " net.ipv6.conf.default.accept_dad=0 &&"
			 " sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 &&"
			 " ip link set lo up && ip link add br0 type bridge mcast_snooping 1 &&"
			 " ip link add vnet0 type veth peer name vpeer netns %s &&"
			 " ip link set vnet0 master br0 && ip link set br0 up",
			 peer_ns, peer_ns, peer_ns);
		if (system(cmd) != 0)
			fprintf(stderr, "test_mdb: SKIP kernel tests: cannot build the bridge topology\n");
		else
			in_netns = true;
	}
	br0 = (int)if_nametoindex("br0");
	vnet0 = (int)if_nametoindex("vnet0");
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	cleanup();
	return rc;
}
