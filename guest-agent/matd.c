/* matd main: configuration, the one epoll loop, the UDP dispatcher and the
 * control socket that matctl talks to. The roles live in mobile.c and
 * correspondent.c. */
#include "matd.h"
#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <getopt.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sysexits.h>
#include <unistd.h>

static volatile sig_atomic_t got_signal;

static void on_signal(int sig) { got_signal = sig; }

const char *matd_json_addr(const struct in6_addr *a)
{
	return a6(a);
}

int matd_send(struct matd *d, const struct sockaddr_in6 *to, const struct in6_addr *src,
	      struct glm_msg *m, const struct glm_key *key)
{
	uint8_t buf[2048];
	ssize_t n;
	int r;

	if (!key)
		key = d->key;
	m->key_id = key->id;
	n = glm_msg_encode(m, key->secret, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* Control traffic leaves from the MA itself, never from the HA: the
	 * HA would be rewritten to the MA the peer may not know yet. */
	r = sendto_from(d->udp, buf, (size_t)n, to, src, 0);
	if (r < 0)
		log_debug("send %s to %s: %s", glm_msg_type_name(m->type), sa6(to), strerror(-r));
	return r;
}

static void udp_input(struct matd *d)
{
	for (;;) {
		uint8_t buf[GLM_MSG_MAX];
		struct sockaddr_in6 from;
		const struct glm_key *key;
		struct glm_msg m;
		int r = glm_recv_msg(d->udp, &d->keys, buf, sizeof(buf), &m, &key, &from, &d->rx, d->drops);

		if (r < 0)
			return;
		if (r == 0)
			continue;
		switch (m.type) {
		case GLM_IMS_ACK:
		case GLM_BINDING_ACK:
		case GLM_PREPARE:
		case GLM_RESUMED:
			mobile_msg(d, &m, key, &from);
			break;
		case GLM_BINDING_UPDATE:
		case GLM_NOTIFY:
		case GLM_REPLY:
			corr_msg(d, &m, key, &from);
			break;
		default:
			d->drops[GLM_PE_TYPE]++;
			log_debug("unexpected %s from %s", glm_msg_type_name(m.type), sa6(&from));
		}
	}
}

static void stats_out(struct matd *d, FILE *out, bool json)
{
	fprintf(out, json ? "{\"rx\":%llu,\"stale\":%llu,\"refused\":%llu,\"ra_bad\":%llu," :
			    "rx=%llu\nstale=%llu\nrefused=%llu\nra_bad=%llu\n",
		(unsigned long long)d->rx, (unsigned long long)d->stale, (unsigned long long)d->refused,
		(unsigned long long)d->ra_bad);
	glm_drops_print(out, d->drops, json);
	if (json)
		fputs("}\n", out);
}

static int ctl_handler(void *ctx, int argc, char **argv, FILE *out)
{
	struct matd *d = ctx;
	bool json = conf_arg(argc, argv, "format") && !strcmp(conf_arg(argc, argv, "format"), "json");

	if (!strcmp(argv[0], "status")) {
		if (json)
			fputc('{', out);
		mobile_status(d, out, json);
		if (json)
			fputc(',', out);
		corr_status(d, out, json);
		if (json)
			fputs("}\n", out);
		return 0;
	}
	if (!strcmp(argv[0], "stats")) {
		stats_out(d, out, json);
		return 0;
	}
	if (!strcmp(argv[0], "prepare")) {
		const char *p = conf_arg(argc, argv, "prefix"), *r = conf_arg(argc, argv, "router");
		const char *i = conf_arg(argc, argv, "ifname"), *a = conf_arg(argc, argv, "address");
		struct in6_addr prefix, router, ma;
		uint8_t plen;

		if (!p || parse_prefix6(p, &prefix, &plen) || plen != 64) {
			fprintf(out, "prepare: need prefix=P/64 (host bits zero)");
			return -EINVAL;
		}
		if (!r || parse_in6(r, &router) || !IN6_IS_ADDR_LINKLOCAL(&router)) {
			fprintf(out, "prepare: need router=LINK-LOCAL-ADDRESS");
			return -EINVAL;
		}
		if (a && (parse_in6(a, &ma) || !in6_prefix_match(&ma, &prefix, plen))) {
			fprintf(out, "prepare: address %s is not in %s", a, p);
			return -EINVAL;
		}
		return mobile_prepare(d, i, &prefix, plen, &router, a ? &ma : NULL, out);
	}
	if (!strcmp(argv[0], "unprepare")) {
		mobile_unprepare(d);
		return 0;
	}
	if (!strcmp(argv[0], "handover")) {
		if (!d->conf.mobile) {
			fprintf(out, "not a mobile node (no home-address configured)");
			return -EINVAL;
		}
		return mobile_check_link(d, "matctl") ? (fprintf(out, "a handover is already running"), -EBUSY) : 0;
	}
	if (!strcmp(argv[0], "query")) {
		const char *h = conf_arg(argc, argv, "ha");
		struct in6_addr ha;

		if (!h || parse_in6(h, &ha)) {
			fprintf(out, "query: need ha=ADDRESS");
			return -EINVAL;
		}
		if (corr_query(d, &ha) < 0) {
			fprintf(out, "query: no IMS configured or send failed");
			return -EIO;
		}
		return 0;
	}
	fprintf(out, "unknown request '%s'", argv[0]);
	return -EINVAL;
}

static int epoll_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

enum { TAG_UDP = 1, TAG_CTL, TAG_RTNL, TAG_NDISC = 16 };

static void rtnl_cb(void *ctx, const struct rtnl_event *ev)
{
	mobile_link_event(ctx, ev);
}

static int run(struct matd *d)
{
	while (!d->stop) {
		struct epoll_event evs[16];
		uint64_t now = now_ns(), next = mobile_next_deadline(d);
		uint64_t c = corr_next_deadline(d);
		int timeout, n;

		if (c < next)
			next = c;
		timeout = next == UINT64_MAX ? 1000 : next <= now ? 0 : (int)((next - now + 999999) / 1000000);
		if (timeout > 1000)
			timeout = 1000;
		n = epoll_wait(d->epfd, evs, 16, timeout);
		if (n < 0 && errno != EINTR)
			return log_warn("epoll_wait"), -errno;
		if (got_signal) {
			log_info("signal %d: shutting down", (int)got_signal);
			break;
		}
		/* Messages first: a host agent's RESUMED read together with
		 * QEMU's announcement (the guest, just resumed, was slow to get
		 * here) is the faster way of the two to take (no probe). */
		for (int i = 0; i < n; i++)
			if (evs[i].data.u64 == TAG_UDP)
				udp_input(d);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == TAG_UDP)
				continue;
			else if (tag == TAG_CTL)
				ctl_serve(d->ctl, ctl_handler, d);
			else if (tag == TAG_RTNL)
				rtnl_events_read(d->rtnl, rtnl_cb, d);
			else if (tag >= TAG_NDISC)
				mobile_ndisc(d, (int)(tag - TAG_NDISC));
		}
		now = now_ns();
		mobile_timer(d, now);
		corr_timer(d, now);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: matd [-d] [-v] [-n] [-f CONFIG] [-s SOCKET] [-p PIDFILE]\n"
		"The MAT node: keeps a home address across moves between IPv6 subnets.\n"
		"  -f, --config FILE   configuration (default /etc/glm/matd.conf)\n"
		"  -s, --socket PATH   control socket for matctl (default /run/glm/matd.sock)\n"
		"  -p, --pidfile PATH  write the pid here\n"
		"  -d, --foreground    stay in the foreground, log to stderr too\n"
		"  -v, --verbose       debug logging\n"
		"  -n, --check         check the configuration and keyring, then exit\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, 0, 'f' }, { "socket", required_argument, 0, 's' },
		{ "pidfile", required_argument, 0, 'p' }, { "foreground", no_argument, 0, 'd' },
		{ "verbose", no_argument, 0, 'v' }, { "check", no_argument, 0, 'n' },
		{ "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0 } };
	const char *config = "/etc/glm/matd.conf", *sock = "/run/glm/matd.sock", *pidfile = NULL;
	bool fg = false, check = false;
	int verbose = 0, c, r, ret = EX_OK;
	static struct matd d; /* large: keep it off the stack */

	while ((c = getopt_long(argc, argv, "f:s:p:dvnhV", opts, NULL)) != -1) {
		switch (c) {
		case 'f': config = optarg; break;
		case 's': sock = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'd': fg = true; break;
		case 'v': verbose++; break;
		case 'n': check = true; break;
		case 'h': usage(stdout); return EX_OK;
		case 'V': printf("matd %s\n", GLM_VERSION); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	log_init("matd", true, verbose);
	if (matd_conf_load(config, &d.conf) < 0)
		return EX_CONFIG;
	if (keyring_load(d.conf.keyring, &d.keys) < 0)
		return EX_CONFIG;
	d.key = keyring_find(&d.keys, d.conf.key_id);
	if (!d.key) {
		log_warnx("%s: key-id %u is not in keyring %s", config, d.conf.key_id, d.conf.keyring);
		return EX_CONFIG;
	}
	if (d.conf.mobile && !key_owns_home(d.key, &d.conf.ha)) {
		log_warnx("%s: key %u does not own home address %s in %s", config, d.key->id,
			  a6(&d.conf.ha), d.conf.keyring);
		return EX_CONFIG;
	}
	if (check) {
		printf("configuration OK\n");
		return EX_OK;
	}

	/* Every set-up step before the loop, so a failure is an exit code. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	d.udp = d.ctl = d.epfd = d.kick_fd = d.inject_fd = -1;
	if ((r = rtnl_open(&d.rtnl, RTMGRP_LINK)) < 0) {
		log_warnx("rtnetlink: %s", strerror(-r));
		return EX_OSERR;
	}
	if ((r = mat_nft_open(&d.nft, d.conf.table)) < 0 || (r = mat_nft_setup(d.nft)) < 0) {
		log_warnx("nftables table ip6 %s: %s", d.conf.table, strerror(-r));
		ret = EX_OSERR;
		goto cleanup;
	}
	d.udp = udp6_socket(&d.conf.listen);
	if (d.udp < 0) {
		log_warnx("listen %s: %s", sa6(&d.conf.listen), strerror(-d.udp));
		ret = EX_OSERR;
		goto cleanup;
	}
	d.ctl = ctl_listen(sock);
	if (d.ctl < 0) {
		log_warnx("control socket %s: %s", sock, strerror(-d.ctl));
		ret = EX_OSERR;
		goto cleanup;
	}
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d.conf.mobile && (r = mobile_start(&d)) < 0) {
		ret = EX_OSERR;
		goto cleanup;
	}
	if ((r = corr_start(&d)) < 0) {
		ret = EX_OSERR;
		goto cleanup;
	}
	epoll_add(d.epfd, d.udp, TAG_UDP);
	epoll_add(d.epfd, d.ctl, TAG_CTL);
	epoll_add(d.epfd, rtnl_fd(d.rtnl), TAG_RTNL);
	for (unsigned i = 0; i < d.nnics; i++)
		epoll_add(d.epfd, d.nic[i].ndfd, TAG_NDISC + i);
	if (pidfile && write_pidfile(pidfile) < 0)
		log_warn("pidfile %s", pidfile);
	if (!fg) {
		if (daemon(0, 0) < 0)
			fatal("daemon");
		log_set_foreground(false);
		if (pidfile)
			write_pidfile(pidfile);
	}
	log_info("started: %s%s, %u home prefixes, ims %s", d.conf.mobile ? "mobile node for " : "correspondent",
		 d.conf.mobile ? a6(&d.conf.ha) : "", d.conf.nhome, d.conf.have_ims ? sa6(&d.conf.ims) : "none");
	if (run(&d) < 0)
		ret = EX_SOFTWARE;
cleanup:
	if (d.conf.mobile)
		mobile_stop(&d);
	if (d.nft) {
		mat_nft_teardown(d.nft);
		mat_nft_close(d.nft);
	}
	if (d.ctl >= 0) {
		close(d.ctl);
		unlink(sock);
	}
	if (d.udp >= 0)
		close(d.udp);
	if (d.epfd >= 0)
		close(d.epfd);
	if (d.inject_fd >= 0)
		close(d.inject_fd);
	if (pidfile)
		unlink(pidfile);
	rtnl_close(d.rtnl);
	keyring_free(&d.keys);
	return ret;
}
