/* lib/nft.c against the kernel: the test binary moves itself into a fresh
 * network namespace (unshare), so the table it builds and the links it
 * makes vanish with it. Asserts on what `nft list` shows.
 *
 * The translation test adds a second namespace:
 *
 *   this process's netns                        glm-unit-PID-peer
 *   lo     HA 2001:db8:aa::1/128
 *   mat0   MA 2001:db8:1::1/64  <---- veth ---->  mat1  2001:db8:1::2/64
 *   ip6 mat: self_ha2ma HA->MA, self_ma2ha MA->HA
 *
 * A UDP socket bound to HA sends to the peer; the peer must see MA as the
 * source (and a valid checksum, or it drops the datagram), echo to MA, and
 * the echo must reach the socket bound to HA. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "unit.h"

#include "log.h"
#include "nft.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char peer_ns[64];

static int group_setup(void **state)
{
	struct mat_nft *n;

	if (!in_netns)
		return 0;
	assert_int_equal(mat_nft_open(&n, NULL), 0);
	*state = n;
	return 0;
}

static int group_teardown(void **state)
{
	mat_nft_close(*state);
	return 0;
}

static void test_setup(void **state)
{
	struct mat_nft *n = *state;
	static const char *want[] = {
		"table ip6 mat {",
		"map self_ha2ma {", "map self_ma2ha {", "map peer_ha2ma {", "map peer_ma2ha {",
		"type ipv6_addr : ipv6_addr",
		"chain out {", "type route hook output priority raw; policy accept;",
		"ip6 saddr set ip6 saddr map @self_ha2ma notrack",
		"ip6 daddr set ip6 daddr map @peer_ha2ma notrack",
		"chain in {", "type filter hook prerouting priority raw; policy accept;",
		"ip6 daddr set ip6 daddr map @self_ma2ha notrack",
		"ip6 saddr set ip6 saddr map @peer_ma2ha notrack",
		/* ICMPv6 errors quoting our MA as the source, a peer's MA as
		 * the destination: put back to the HAs */
		"icmpv6 type 1-4 @th,128,128 set @th,128,128 map @self_ma2ha counter packets 0 bytes 0 notrack",
		"icmpv6 type 1-4 @th,256,128 set @th,256,128 map @peer_ma2ha counter packets 0 bytes 0 notrack",
	};
	char out[8192];
	unsigned i;

	need_netns();
	assert_int_equal(mat_nft_setup(n), 0);
	assert_int_equal(run(out, sizeof(out), "nft list table ip6 mat"), 0);
	for (i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(out, want[i]))
			fail_msg("'%s' missing from:\n%s", want[i], out);
	/* The exact expressions: the write fixes the L4 checksum. */
	assert_int_equal(run(out, sizeof(out), "nft --debug=netlink list chain ip6 mat out"), 0);
	assert_non_null(strstr(out, "[ payload load 16b @ network header + 8 => reg 1 ]"));
	assert_non_null(strstr(out, "[ lookup reg 1 set self_ha2ma dreg 1 0x0 ]"));
	assert_non_null(strstr(out, "[ payload write reg 1 => 16b @ network header + 8 csum_type 0 csum_off 0 csum_flags 0x1 ]"));
	assert_non_null(strstr(out, "[ payload load 16b @ network header + 24 => reg 1 ]"));
	assert_non_null(strstr(out, "[ notrack ]"));
	assert_int_equal(run(out, sizeof(out), "nft --debug=netlink list chain ip6 mat in"), 0);
	assert_non_null(strstr(out, "[ payload write reg 1 => 16b @ transport header + 16 csum_type 1 csum_off 2 csum_flags 0x0 ]"));
	assert_non_null(strstr(out, "[ lookup reg 1 set self_ma2ha dreg 1 0x0 ]"));

	/* Setup again: idempotent, and it empties the maps. */
	struct in6_addr k = ip6("2001:db8::1"), v = ip6("2001:db8::2");

	mat_nft_add(n, MAT_SELF_HA2MA, &k, &v);
	assert_int_equal(mat_nft_commit(n), 0);
	assert_int_equal(mat_nft_setup(n), 0);
	assert_int_equal(run(out, sizeof(out), "nft list map ip6 mat self_ha2ma"), 0);
	assert_null(strstr(out, "2001:db8::1"));
}

static void test_elements(void **state)
{
	struct mat_nft *n = *state;
	struct in6_addr ha = ip6("2001:db8:aa::1"), ma1 = ip6("2001:db8:1::1"),
			ha2 = ip6("2001:db8:aa::2"), ma2 = ip6("2001:db8:2::1");
	char out[4096];

	need_netns();
	assert_int_equal(mat_nft_commit(n), 0); /* nothing queued */
	mat_nft_add(n, MAT_SELF_HA2MA, &ha, &ma1);
	mat_nft_add(n, MAT_SELF_HA2MA, &ha2, &ma2);
	mat_nft_add(n, MAT_PEER_MA2HA, &ma1, &ha);
	assert_int_equal(mat_nft_commit(n), 0);
	run(out, sizeof(out), "nft list map ip6 mat self_ha2ma");
	assert_non_null(strstr(out, "2001:db8:aa::1 : 2001:db8:1::1"));
	assert_non_null(strstr(out, "2001:db8:aa::2 : 2001:db8:2::1"));
	run(out, sizeof(out), "nft list map ip6 mat peer_ma2ha");
	assert_non_null(strstr(out, "2001:db8:1::1 : 2001:db8:aa::1"));

	/* Adding the same pair again is a no-op, not an error. */
	mat_nft_add(n, MAT_SELF_HA2MA, &ha, &ma1);
	assert_int_equal(mat_nft_commit(n), 0);

	mat_nft_del(n, MAT_SELF_HA2MA, &ha2);
	assert_int_equal(mat_nft_commit(n), 0);
	run(out, sizeof(out), "nft list map ip6 mat self_ha2ma");
	assert_non_null(strstr(out, "2001:db8:aa::1 : 2001:db8:1::1"));
	assert_null(strstr(out, "2001:db8:aa::2"));

	/* A move: flush and re-add in one batch. */
	mat_nft_flush(n, MAT_SELF_HA2MA);
	mat_nft_add(n, MAT_SELF_HA2MA, &ha, &ma2);
	assert_int_equal(mat_nft_commit(n), 0);
	run(out, sizeof(out), "nft list map ip6 mat self_ha2ma");
	assert_non_null(strstr(out, "2001:db8:aa::1 : 2001:db8:2::1"));
	assert_null(strstr(out, "2001:db8:1::1"));

	mat_nft_flush(n, MAT_SELF_HA2MA);
	mat_nft_flush(n, MAT_PEER_MA2HA);
	assert_int_equal(mat_nft_commit(n), 0);
	run(out, sizeof(out), "nft list map ip6 mat self_ha2ma; nft list map ip6 mat peer_ma2ha");
	assert_null(strstr(out, "elements"));

	/* A full batch: 1000 acks must all be read back. */
	for (unsigned i = 0; i < 1000; i++) {
		struct in6_addr k = ip6("2001:db8:d::");

		k.s6_addr[14] = (uint8_t)(i >> 8);
		k.s6_addr[15] = (uint8_t)i;
		mat_nft_add(n, MAT_PEER_HA2MA, &k, &ma1);
	}
	assert_int_equal(mat_nft_commit(n), 0);
	run(out, sizeof(out), "nft list map ip6 mat peer_ha2ma | grep -o '2001:db8:d::[0-9a-f]* :' | wc -l");
	assert_string_equal(out, "1000\n");
	mat_nft_flush(n, MAT_PEER_HA2MA);
	assert_int_equal(mat_nft_commit(n), 0);
}

/* Capture what the library logs to stderr while fn runs. */

static void test_atomic(void **state)
{
	struct mat_nft *n = *state;
	struct in6_addr a = ip6("2001:db8::a"), b = ip6("2001:db8::b"), missing = ip6("2001:db8::dead"),
			x = ip6("2001:db8::1");
	char out[4096], log[1024];
	int err;

	need_netns();
	mat_nft_add(n, MAT_PEER_HA2MA, &a, &x);
	assert_int_equal(mat_nft_commit(n), 0);

	/* The delete of a missing key fails the whole batch: neither the
	 * flush nor the add before it may take effect. */
	mat_nft_flush(n, MAT_PEER_HA2MA);
	mat_nft_add(n, MAT_PEER_HA2MA, &b, &x);
	mat_nft_del(n, MAT_PEER_HA2MA, &missing);
	capture_begin();
	err = mat_nft_commit(n);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -ENOENT);
	if (!strstr(log, "nft: delete element 2001:db8::dead from map peer_ha2ma: No such file or directory"))
		fail_msg("unexpected log: %s", log);
	run(out, sizeof(out), "nft list map ip6 mat peer_ha2ma");
	assert_non_null(strstr(out, "2001:db8::a : 2001:db8::1"));
	assert_null(strstr(out, "2001:db8::b"));

	/* A conflicting value for an existing key is refused, also atomically. */
	mat_nft_add(n, MAT_PEER_HA2MA, &b, &x);
	mat_nft_add(n, MAT_PEER_HA2MA, &a, &b);
	capture_begin();
	err = mat_nft_commit(n);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -EEXIST);
	assert_non_null(strstr(log, "nft: add element 2001:db8::a : 2001:db8::b to map peer_ha2ma: "));
	run(out, sizeof(out), "nft list map ip6 mat peer_ha2ma");
	assert_null(strstr(out, "2001:db8::b"));

	/* More changes than a batch holds: refused whole, before sending. */
	for (unsigned i = 0; i < 1100; i++) {
		struct in6_addr k = ip6("2001:db8:c::");

		k.s6_addr[14] = (uint8_t)(i >> 8);
		k.s6_addr[15] = (uint8_t)i;
		mat_nft_add(n, MAT_PEER_HA2MA, &k, &x);
	}
	capture_begin();
	err = mat_nft_commit(n);
	capture_end(log, sizeof(log));
	assert_int_equal(err, -EMSGSIZE);
	run(out, sizeof(out), "nft list map ip6 mat peer_ha2ma");
	assert_null(strstr(out, "2001:db8:c::"));

	/* The handle stays usable after a failed batch. */
	mat_nft_flush(n, MAT_PEER_HA2MA);
	assert_int_equal(mat_nft_commit(n), 0);
	run(out, sizeof(out), "nft list map ip6 mat peer_ha2ma");
	assert_null(strstr(out, "elements"));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The batch a move sends: flush both own maps, add the new pairs. */
static void test_move_latency(void **state)
{
	struct mat_nft *n = *state;
	struct in6_addr ha = ip6("2001:db8:aa::1"), ma[2] = { ip6("2001:db8:1::1"), ip6("2001:db8:2::1") },
			old = ip6("2001:db8:3::1");
	uint64_t t[100];
	unsigned i;

	need_netns();
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		const struct in6_addr *cur = &ma[i % 2];
		uint64_t t0 = now_ns();

		mat_nft_flush(n, MAT_SELF_HA2MA);
		mat_nft_flush(n, MAT_SELF_MA2HA);
		mat_nft_add(n, MAT_SELF_HA2MA, &ha, cur);
		mat_nft_add(n, MAT_SELF_MA2HA, cur, &ha);
		mat_nft_add(n, MAT_SELF_MA2HA, &old, &ha);
		assert_int_equal(mat_nft_commit(n), 0);
		t[i] = now_ns() - t0;
	}
	qsort(t, ARRAY_SIZE(t), sizeof(t[0]), cmp_u64);
	printf("# mat_nft_commit (flush 2 maps + add 3): median %.1f us, p90 %.1f us, max %.1f us\n",
	       t[50] / 1e3, t[90] / 1e3, t[99] / 1e3);
	assert_true(t[50] < 20 * 1000 * 1000); /* generous: sanitizer builds, loaded CI */
	mat_nft_flush(n, MAT_SELF_HA2MA);
	mat_nft_flush(n, MAT_SELF_MA2HA);
	assert_int_equal(mat_nft_commit(n), 0);
}

static void peer_ns_delete(void)
{
	if (peer_ns[0]) {
		run(NULL, 0, "ip netns del %s", peer_ns);
		peer_ns[0] = '\0';
	}
}

/* The peer: receive one datagram in its namespace, report the source
 * address through the pipe, echo it back. */
static void peer_echo(int report, int ready)
{
	struct sockaddr_in6 me = { .sin6_family = AF_INET6, .sin6_port = htons(5555) }, from;
	struct timeval tv = { 3, 0 };
	socklen_t flen = sizeof(from);
	char path[128], buf[64], src[INET6_ADDRSTRLEN] = "timeout";
	ssize_t len;
	int fd, s;

	snprintf(path, sizeof(path), "/run/netns/%s", peer_ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		_exit(2);
	s = socket(AF_INET6, SOCK_DGRAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof(me)) < 0)
		_exit(3);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (write(ready, "r", 1) != 1)
		_exit(4);
	len = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	if (len > 0)
		inet_ntop(AF_INET6, &from.sin6_addr, src, sizeof(src));
	if (write(report, src, strlen(src) + 1) < 0)
		_exit(5);
	if (len > 0)
		sendto(s, buf, (size_t)len, 0, (struct sockaddr *)&from, flen);
	_exit(0);
}

static void tx_csum_off(const char *ifname)
{
	struct ethtool_value ev = { .cmd = ETHTOOL_STXCSUM, .data = 0 };
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET6, SOCK_DGRAM, 0);

	assert_true(s >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&ev;
	assert_int_equal(ioctl(s, SIOCETHTOOL, &ifr), 0);
	close(s);
}

static void test_translation(void **state)
{
	struct mat_nft *n = *state;
	struct in6_addr ha = ip6("2001:db8:aa::1"), ma = ip6("2001:db8:1::1");
	struct sockaddr_in6 bind_to = { .sin6_family = AF_INET6, .sin6_addr = ha },
			    peer = { .sin6_family = AF_INET6, .sin6_port = htons(5555) }, from;
	struct timeval tv = { 3, 0 };
	socklen_t flen = sizeof(from);
	int report[2], ready[2], s, st;
	char src[INET6_ADDRSTRLEN + 1] = "", buf[64], c;
	ssize_t len;
	pid_t pid;

	need_netns();
	snprintf(peer_ns, sizeof(peer_ns), "glm-unit-%d-peer", (int)getpid());
	if (run(NULL, 0,
		"set -e; ip netns add %1$s; ip link add mat0 type veth peer name mat1;"
		"ip link set mat1 netns %1$s; ip addr add 2001:db8:aa::1/128 dev lo;"
		"ip addr add 2001:db8:1::1/64 dev mat0 nodad; ip link set mat0 up;"
		"ip -n %1$s link set lo up; ip -n %1$s addr add 2001:db8:1::2/64 dev mat1 nodad;"
		"ip -n %1$s link set mat1 up", peer_ns)) {
		peer_ns_delete();
		fail_msg("could not build the two-namespace topology");
	}
	/* veth hands a CHECKSUM_PARTIAL skb across unverified: turn tx
	 * checksum offload off so the UDP checksum is computed before the
	 * rewrite and verified by the peer. */
	tx_csum_off("mat0");
	mat_nft_add(n, MAT_SELF_HA2MA, &ha, &ma);
	mat_nft_add(n, MAT_SELF_MA2HA, &ma, &ha);
	assert_int_equal(mat_nft_commit(n), 0);

	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		peer_echo(report[1], ready[1]);
	close(report[1]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);

	s = socket(AF_INET6, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&bind_to, sizeof(bind_to)), 0);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	inet_pton(AF_INET6, "2001:db8:1::2", &peer.sin6_addr);
	assert_int_equal(sendto(s, "hello", 5, 0, (struct sockaddr *)&peer, sizeof(peer)), 5);
	len = read(report[0], src, sizeof(src) - 1);
	assert_true(len > 0);
	len = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
	waitpid(pid, &st, 0);
	close(s);
	close(report[0]);
	close(ready[0]);
	peer_ns_delete();
	run(NULL, 0, "ip addr del 2001:db8:aa::1/128 dev lo"); /* mat0 went with the peer */
	mat_nft_flush(n, MAT_SELF_HA2MA);
	mat_nft_flush(n, MAT_SELF_MA2HA);
	assert_int_equal(mat_nft_commit(n), 0);

	assert_string_equal(src, "2001:db8:1::1"); /* the peer saw MA, never HA */
	assert_int_equal(len, 5);                  /* the echo to MA reached HA's socket */
	assert_memory_equal(buf, "hello", 5);
}

static void test_teardown(void **state)
{
	struct mat_nft *n = *state;
	char out[1024];

	need_netns();
	assert_int_equal(mat_nft_teardown(n), 0);
	assert_int_not_equal(run(out, sizeof(out), "nft list table ip6 mat"), 0);
	assert_int_equal(mat_nft_teardown(n), 0); /* idempotent */
	/* Elements for a table that is gone: the commit fails, with the reason. */
	struct in6_addr k = ip6("2001:db8::1");

	mat_nft_add(n, MAT_SELF_HA2MA, &k, &k);
	capture_begin();
	assert_int_equal(mat_nft_commit(n), -ENOENT);
	capture_end(out, sizeof(out));
	assert_non_null(strstr(out, "nft: add element 2001:db8::1 : 2001:db8::1 to map self_ha2ma"));
}

static void test_table_name(void **state)
{
	struct mat_nft *m;
	char out[4096];

	need_netns();
	assert_int_equal(mat_nft_open(&m, ""), -EINVAL);
	assert_int_equal(mat_nft_open(&m, "glmtest"), 0);
	assert_int_equal(mat_nft_setup(m), 0);
	assert_int_equal(run(out, sizeof(out), "nft list table ip6 glmtest"), 0);
	assert_non_null(strstr(out, "map peer_ma2ha"));
	assert_int_equal(mat_nft_teardown(m), 0);
	mat_nft_close(m);
	assert_string_equal(mat_map_name(MAT_PEER_HA2MA), "peer_ha2ma");
}

/* The gateway's table: both maps kept in step by gw_nft_map and
 * gw_nft_unmap, and the ICMPv6 error rules as nft lists them, with the
 * exact expressions (the write fixes the ICMPv6 checksum at transport
 * header + 2, no pseudo-header flag). */
static void test_gateway_icmp(void **state)
{
	struct in6_addr home = ip6("2001:db8:100::"), ha = ip6("2001:db8:100::10"), ma = ip6("2001:db8:b::10"),
			ma2 = ip6("2001:db8:a::10"), ha2 = ip6("2001:db8:100::11");
	static const char *want[] = {
		"map ha2ma {", "map ma2ha {",
		"2001:db8:100::10 : 2001:db8:b::10", "2001:db8:b::10 : 2001:db8:100::10",
		"chain pre {", "type filter hook prerouting priority raw; policy accept;",
		"icmpv6 type 1-4 @th,256,128 set @th,256,128 map @ma2ha counter packets 0 bytes 0 notrack\n"
		"\t\tip6 daddr set ip6 daddr map @ha2ma counter packets 0 bytes 0 notrack accept\n"
		"\t\tip6 daddr 2001:db8:100::/64 counter",
		"chain out {", "type route hook output priority raw; policy accept;",
		"map @ma2ha counter packets 0 bytes 0 notrack\n\t\tip6 daddr set ip6 daddr map @ha2ma counter packets 0 bytes 0 notrack\n\t}",
	};
	uint8_t len = 64;
	struct mat_nft *g;
	char out[8192];

	(void)state;
	need_netns();
	assert_int_equal(gw_nft_open(&g, NULL), 0);
	assert_int_equal(gw_nft_setup(g, &home, &len, 1), 0);
	gw_nft_map(g, &ha, &ma);
	assert_int_equal(mat_nft_pending(g), 2);
	assert_int_equal(mat_nft_commit(g), 0);
	assert_int_equal(run(out, sizeof(out), "nft list table ip6 glm_gw"), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(want); i++)
		if (!strstr(out, want[i]))
			fail_msg("'%s' missing from:\n%s", want[i], out);
	assert_int_equal(run(out, sizeof(out), "nft --debug=netlink list chain ip6 glm_gw out"), 0);
	assert_non_null(strstr(out, "[ meta load l4proto => reg 1 ]\n  [ cmp eq reg 1 0x0000003a ]\n"
				    "  [ payload load 1b @ transport header + 0 => reg 1 ]\n"
				    "  [ range eq reg 1 0x00000001 0x00000004 ]\n"
				    "  [ payload load 16b @ transport header + 32 => reg 1 ]\n"
				    "  [ lookup reg 1 set ma2ha dreg 1 0x0 ]\n"
				    "  [ payload write reg 1 => 16b @ transport header + 32 csum_type 1 csum_off 2 csum_flags 0x0 ]\n"
				    "  [ counter pkts 0 bytes 0 ]\n  [ notrack ]"));
	/* the translation counters, read back from the rules: nothing passed */
	{
		struct gw_nft_counters c;

		assert_int_equal(gw_nft_counters(g, &c), 0);
		assert_true(c.to_ma.packets == 0 && c.icmp.packets == 0 && c.rejected.packets == 0);
	}
	/* a move: both maps change in one batch */
	gw_nft_unmap(g, &ha, &ma);
	gw_nft_map(g, &ha, &ma2);
	assert_int_equal(mat_nft_commit(g), 0);
	assert_int_equal(run(out, sizeof(out), "nft list table ip6 glm_gw"), 0);
	assert_non_null(strstr(out, "2001:db8:100::10 : 2001:db8:a::10"));
	assert_non_null(strstr(out, "2001:db8:a::10 : 2001:db8:100::10"));
	assert_null(strstr(out, "2001:db8:b::10"));
	/* an MA another HA holds: refused whole, the first HA keeps it */
	gw_nft_map(g, &ha2, &ma2);
	assert_int_equal(mat_nft_commit(g), -EEXIST);
	assert_int_equal(run(out, sizeof(out), "nft list table ip6 glm_gw"), 0);
	assert_null(strstr(out, "2001:db8:100::11"));
	gw_nft_unmap(g, &ha, &ma2);
	assert_int_equal(mat_nft_commit(g), 0);
	assert_int_equal(run(out, sizeof(out), "nft list table ip6 glm_gw"), 0);
	assert_null(strstr(out, "2001:db8:a::10"));
	assert_int_equal(mat_nft_teardown(g), 0);
	mat_nft_close(g);
}

/* The host agent's bridge table: the rule as nft prints it, an element
 * with its timeout, removal, a missing element refused, and the ip6 map
 * calls refused on a bridge handle. */
static void test_bridge(void **state)
{
	static const uint8_t vm[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, old[6] = { 2, 0, 0, 0, 0x0a, 1 },
			     new[6] = { 2, 0, 0, 0, 0x0b, 1 };
	struct mat_nft *b;
	char out[4096];

	(void)state;
	need_netns();
	assert_int_equal(br_nft_open(&b), 0);
	assert_int_equal(mat_nft_setup(b), -EINVAL);
	assert_int_equal(br_nft_setup(b), 0);
	assert_int_equal(run(out, sizeof(out), "nft list table bridge glm"), 0);
	assert_non_null(strstr(out, "type ether_addr . ether_addr : ether_addr"));
	assert_non_null(strstr(out, "flags timeout"));
	assert_non_null(strstr(out, "type filter hook prerouting priority dstnat; policy accept;"));
	assert_non_null(strstr(out, "ether daddr set ether daddr . ether saddr map @to_router"));
	br_nft_redirect(b, vm, old, new, 30000);
	assert_int_equal(mat_nft_commit(b), 0);
	assert_int_equal(run(out, sizeof(out), "nft list map bridge glm to_router"), 0);
	assert_non_null(strstr(out, "02:00:00:00:0a:01 . 52:54:00:12:34:56 timeout 30s"));
	assert_non_null(strstr(out, ": 02:00:00:00:0b:01"));
	br_nft_unredirect(b, vm, old);
	assert_int_equal(mat_nft_commit(b), 0);
	assert_int_equal(run(out, sizeof(out), "nft list map bridge glm to_router"), 0);
	assert_null(strstr(out, "52:54:00:12:34:56"));
	br_nft_unredirect(b, vm, old);
	assert_int_equal(mat_nft_commit(b), -ENOENT);
	mat_nft_add(b, MAT_SELF_HA2MA, &in6addr_loopback, &in6addr_loopback);
	assert_int_equal(mat_nft_commit(b), -EINVAL);
	/* setup again replaces the table (an agent restart) */
	br_nft_redirect(b, vm, old, new, 30000);
	assert_int_equal(mat_nft_commit(b), 0);
	assert_int_equal(br_nft_setup(b), 0);
	assert_int_equal(run(out, sizeof(out), "nft list map bridge glm to_router"), 0);
	assert_null(strstr(out, "52:54:00:12:34:56"));
	assert_int_equal(mat_nft_teardown(b), 0);
	assert_int_not_equal(run(out, sizeof(out), "nft list table bridge glm 2>&1"), 0);
	mat_nft_close(b);
}

/* The bridge table's relay filter: the set and the rule as nft prints
 * them, a port in and out of the set, a missing one refused. */
static void test_bridge_ports(void **state)
{
	struct mat_nft *b;
	char out[4096];

	(void)state;
	need_netns();
	assert_int_equal(br_nft_open(&b), 0);
	assert_int_equal(br_nft_setup(b), 0);
	assert_int_equal(run(out, sizeof(out), "nft list table bridge glm"), 0);
	assert_non_null(strstr(out, "set vm_ports {\n\t\ttype iface_index"));
	assert_non_null(strstr(out, "type filter hook output priority -300; policy accept;"));
	assert_non_null(strstr(out, "meta mark 0x676c6d00 oif != @vm_ports drop"));
	br_nft_port(b, 1, true);
	assert_int_equal(mat_nft_commit(b), 0);
	assert_int_equal(run(out, sizeof(out), "nft list set bridge glm vm_ports"), 0);
	assert_non_null(strstr(out, "elements = { \"lo\" }"));
	/* adding it again changes nothing */
	br_nft_port(b, 1, true);
	assert_int_equal(mat_nft_commit(b), 0);
	br_nft_port(b, 1, false);
	assert_int_equal(mat_nft_commit(b), 0);
	assert_int_equal(run(out, sizeof(out), "nft list set bridge glm vm_ports"), 0);
	assert_null(strstr(out, "elements"));
	br_nft_port(b, 1, false);
	assert_int_equal(mat_nft_commit(b), -ENOENT);
	assert_int_equal(mat_nft_teardown(b), 0);
	mat_nft_close(b);
}

/* RA guard: the set, the chain and its rules as nft prints them (it
 * leaves out "meta protocol ip6" as implied by icmpv6), a port in and out of
 * ra_untrusted, a missing one refused, the flush. The rules at work:
 * tests/bats/raguard.bats. */
static void test_bridge_ra_guard(void **state)
{
	struct mat_nft *b;
	char out[4096];

	(void)state;
	need_netns();
	assert_int_equal(br_nft_open(&b), 0);
	assert_int_equal(br_nft_setup(b), 0);
	assert_int_equal(run(out, sizeof(out), "nft list table bridge glm"), 0);
	assert_non_null(strstr(out, "set ra_untrusted {\n\t\ttype iface_index"));
	assert_non_null(strstr(out, "chain ra_guard {\n\t\ttype filter hook prerouting priority dstnat; policy accept;"));
	assert_non_null(strstr(out, "iif @ra_untrusted icmpv6 type nd-router-advert counter packets 0 bytes 0 drop"));
	assert_non_null(strstr(out, "iif @vm_ports icmpv6 type nd-router-advert counter packets 0 bytes 0 drop"));
	br_nft_ra_port(b, 1, true);
	assert_int_equal(mat_nft_commit(b), 0);
	assert_int_equal(run(out, sizeof(out), "nft list set bridge glm ra_untrusted"), 0);
	assert_non_null(strstr(out, "elements = { \"lo\" }"));
	br_nft_ra_port(b, 1, false);
	assert_int_equal(mat_nft_commit(b), 0);
	br_nft_ra_port(b, 1, false);
	capture_begin();
	assert_int_equal(mat_nft_commit(b), -ENOENT);
	capture_end(out, sizeof(out));
	assert_non_null(strstr(out, "nft: delete element ifindex 1 from set ra_untrusted"));
	br_nft_ra_port(b, 1, true);
	br_nft_ra_flush(b);
	assert_int_equal(mat_nft_commit(b), 0);
	assert_int_equal(run(out, sizeof(out), "nft list set bridge glm ra_untrusted"), 0);
	assert_null(strstr(out, "elements"));
	assert_int_equal(mat_nft_teardown(b), 0);
	mat_nft_close(b);
}

/* The gateway's table (gw_nft_*): a home gateway's reject rule; a site
 * gateway's source rule per served prefix and no reject; map, alias and
 * unmap keep ha2ma and ma2ha in step. And matd's rule per prefix of a site
 * gateway's hosts (mat_nft_xlate_prefix). */
static void test_gateway(void **state)
{
	struct in6_addr home = ip6("2001:db8:100::"), d = ip6("2001:db8:d::"), ha = ip6("2001:db8:100::10"),
			ma1 = ip6("2001:db8:a::10"), ma2 = ip6("2001:db8:b::10");
	uint8_t home_len = 64;
	struct mat_nft *g, *m;
	char out[8192];

	(void)state;
	need_netns();
	assert_int_equal(gw_nft_open(&g, "gwtest"), 0);
	assert_int_equal(gw_nft_setup(g, &home, &home_len, 1), 0);
	assert_int_equal(run(out, sizeof(out), "nft list table ip6 gwtest"), 0);
	assert_non_null(strstr(out, "map ma2ha {"));
	assert_non_null(strstr(out, "ip6 daddr 2001:db8:100::/64 counter packets 0 bytes 0 reject with icmpv6 addr-unreachable"));
	assert_null(strstr(out, "ip6 saddr set"));
	mat_nft_close(g);

	assert_int_equal(gw_nft_open(&g, "gwtest"), 0);
	assert_int_equal(gw_nft_serve(g, &d, 64), 0);
	assert_int_equal(gw_nft_setup(g, &home, &home_len, 1), 0);
	assert_int_equal(run(out, sizeof(out), "nft list table ip6 gwtest"), 0);
	assert_non_null(strstr(out, "ip6 daddr 2001:db8:d::/64 ip6 saddr set ip6 saddr map @ma2ha notrack"));
	assert_null(strstr(out, "reject"));
	assert_int_equal(run(out, sizeof(out), "nft --debug=netlink list chain ip6 gwtest pre"), 0);
	assert_non_null(strstr(out, "[ lookup reg 1 set ma2ha dreg 1 0x0 ]"));
	assert_non_null(strstr(out, "[ payload write reg 1 => 16b @ network header + 8 csum_type 0 csum_off 0 csum_flags 0x1 ]"));

	gw_nft_map(g, &ha, &ma1);
	assert_int_equal(mat_nft_commit(g), 0);
	run(out, sizeof(out), "nft list map ip6 gwtest ha2ma; nft list map ip6 gwtest ma2ha");
	assert_non_null(strstr(out, "2001:db8:100::10 : 2001:db8:a::10"));
	assert_non_null(strstr(out, "2001:db8:a::10 : 2001:db8:100::10"));
	/* a move that keeps the old MA as an alias, in one batch */
	gw_nft_unmap(g, &ha, &ma1);
	gw_nft_map(g, &ha, &ma2);
	gw_nft_alias(g, &ma1, &ha, true);
	assert_int_equal(mat_nft_commit(g), 0);
	run(out, sizeof(out), "nft list map ip6 gwtest ha2ma; nft list map ip6 gwtest ma2ha");
	assert_non_null(strstr(out, "2001:db8:100::10 : 2001:db8:b::10"));
	assert_non_null(strstr(out, "2001:db8:b::10 : 2001:db8:100::10"));
	assert_non_null(strstr(out, "2001:db8:a::10 : 2001:db8:100::10"));
	assert_null(strstr(out, "2001:db8:100::10 : 2001:db8:a::10"));
	gw_nft_unmap(g, &ha, &ma2);
	gw_nft_alias(g, &ma1, &ha, false);
	assert_int_equal(mat_nft_commit(g), 0);
	run(out, sizeof(out), "nft list map ip6 gwtest ha2ma; nft list map ip6 gwtest ma2ha");
	assert_null(strstr(out, "elements"));
	assert_int_equal(mat_nft_teardown(g), 0);
	mat_nft_close(g);

	assert_int_equal(mat_nft_open(&m, "pptest"), 0);
	assert_int_equal(mat_nft_xlate_prefix(m, &d, 64), -EINVAL); /* not per peer */
	mat_nft_per_peer(m, true);
	assert_int_equal(mat_nft_xlate_prefix(m, &d, 64), 0);
	assert_int_equal(mat_nft_setup(m), 0);
	assert_int_equal(run(out, sizeof(out), "nft list chain ip6 pptest out"), 0);
	assert_non_null(strstr(out, "ip6 daddr @xlate_peers ip6 saddr set ip6 saddr map @self_ha2ma notrack"));
	assert_non_null(strstr(out, "ip6 daddr 2001:db8:d::/64 ip6 saddr set ip6 saddr map @self_ha2ma notrack"));
	assert_int_equal(mat_nft_teardown(m), 0);
	mat_nft_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_setup),
		cmocka_unit_test(test_elements),
		cmocka_unit_test(test_atomic),
		cmocka_unit_test(test_move_latency),
		cmocka_unit_test(test_translation),
		cmocka_unit_test(test_teardown),
		cmocka_unit_test(test_table_name),
		cmocka_unit_test(test_gateway_icmp),
		cmocka_unit_test(test_bridge),
		cmocka_unit_test(test_bridge_ports),
		cmocka_unit_test(test_bridge_ra_guard),
		cmocka_unit_test(test_gateway),
	};

	log_init("test_nft", true, 0);
	if (unshare(CLONE_NEWNET) == 0 && system("ip link set lo up") == 0)
		in_netns = true;
	else
		fprintf(stderr, "test_nft: SKIP: needs root (CAP_NET_ADMIN) for a private netns: %s\n",
			strerror(errno));
	atexit(peer_ns_delete);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
