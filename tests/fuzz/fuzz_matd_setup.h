/* matd for the harnesses (fuzz_matd.c, fuzz_matd_ctl.c): matd.c compiled
 * in (its dispatcher and control handler are static; its main renamed),
 * set up by its own matd_setup() in a namespace of the harness's own with
 * two dummy NICs, as a mobile node for 2001:db8:100::1 (FUZZ_GUEST's
 * home) with the IMS and two correspondents at the peers' addresses.
 * Setting matd up (netlink, the nftables table, the interfaces' state)
 * costs far more than an input: it is done once, and matd lives on from
 * input to input as it would from message to message. */
#ifndef GLM_FUZZ_MATD_SETUP_H
#define GLM_FUZZ_MATD_SETUP_H
#define main matd_main
#include "../../guest-agent/matd.c"
#undef main
#include "fuzz_net.h"

static struct matd D = { .udp = -1, .ctl = -1, .kick_fd = -1, .inject_fd = -1 };

static const char fuzz_matd_conf[] =
	"home-address 2001:db8:100::1\n"
	"interface eth0\n"
	"interface eth1\n"
	"ims [2001:db8:c::5]:5300\n"
	"key-id 3\n"
	"keyring /nonexistent/the-harness-gives-the-keys\n"
	"listen [2001:db8:a::9]:5301\n"
	"correspondent 2001:db8:d::7\n"
	"correspondent 2001:db8:b::9\n"
	"home-prefix 2001:db8:100::/64\n"
	"lifetime 600\n"
	"nft-table fuzzmat\n";

static void fuzz_matd_stop_loop(void *arg)
{
	evloop_stop(arg, 0);
}

/* Run matd's loop for ms (0: one turn): the timers that came due fire,
 * the sockets that are ready are read, as in the daemon. */
static inline void fuzz_matd_turn(uint64_t ms)
{
	static struct ev_timer stop;

	ev_timer_init(&stop, "fuzz: stop", fuzz_matd_stop_loop, D.loop);
	ev_timer_in(D.loop, &stop, ms);
	evloop_run(D.loop);
	ev_timer_stop(&stop);
}

static inline void fuzz_matd_start(const char *name)
{
	static char sock[64];
	struct evloop *l;

	fuzz_log_init(name);
	fuzz_netns("ip link add eth0 address 52:54:00:12:34:56 type veth peer name eth0p; ip link set eth0p up; ip link set eth0 up; "
		   "ip link add eth1 address 52:54:00:12:34:57 type veth peer name eth1p; ip link set eth1p up; ip link set eth1 up; "
		   "ip -6 addr add 2001:db8:a::9/64 dev eth0 nodad; ip -6 route add default via fe80::1 dev eth0;");
	snprintf(sock, sizeof(sock), "/tmp/%s.%d.sock", name, (int)getpid());
	D.sock = sock;
	if (matd_conf_load_buf("fuzz-matd.conf", fuzz_matd_conf, sizeof(fuzz_matd_conf) - 1, &D.conf) < 0 ||
	    fuzz_keyring(FUZZ_GUEST, &D.keys) < 0 || !(D.key = keyring_find(&D.keys, FUZZ_GUEST)) ||
	    evloop_new(&l) < 0 || matd_setup(&D, l) != 0) {
		fprintf(stderr, "%s: matd set-up failed\n", name);
		exit(1);
	}
	/* the control socket is served by the harness, not listened on */
	close(D.ctl);
	unlink(sock);
	D.ctl = -1;
	/* no router answers on the NICs: the solicitation matd started
	 * with gives up after 3 s, and matd is idle, ready to be prepared */
	fuzz_matd_turn(3200);
}
#endif
