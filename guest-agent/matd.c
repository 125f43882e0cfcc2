/* matd main: configuration, the one epoll loop, the UDP dispatcher and the
 * control socket that matctl talks to. The roles live in mobile.c and
 * correspondent.c. */
#include "matd.h"
#include "conf.h"
#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>



const char *matd_json_addr(const struct in6_addr *a)
{
	return a6(a);
}

/* Control traffic leaves from the MA itself, never from the HA: the HA
 * would be rewritten to the MA the peer may not know yet. */
int matd_send(struct matd *d, const struct sockaddr_in6 *to, const struct in6_addr *src,
	      struct glm_msg *m, const struct glm_key *key)
{
	if (!key)
		return -ENOKEY;
	return glm_send_msg(d->udp, to, src, m, key);
}

const struct glm_key *matd_ims_key(const struct matd *d)
{
	const struct sockaddr_in6 *ims = ims_set_current(&d->conf.ims);

	return ims ? keyring_peer(&d->keys, GLM_ROLE_BIT(GLM_ROLE_IMS), &ims->sin6_addr) : NULL;
}

bool matd_is_ims_key(const struct matd *d, const struct glm_key *key)
{
	for (unsigned i = 0; key && i < d->conf.ims.n; i++)
		if (key == keyring_peer(&d->keys, GLM_ROLE_BIT(GLM_ROLE_IMS), &d->conf.ims.addr[i].sin6_addr))
			return true;
	return false;
}

/* A correspondent's key: the guest or gateway that has addr as a home
 * address or in a prefix; never just the only one (the MAC would be made
 * for a node that is not there). */
const struct glm_key *matd_peer_key(const struct matd *d, const struct in6_addr *addr)
{
	const struct glm_key *k = keyring_peer(&d->keys, GLM_ROLE_BIT(GLM_ROLE_GUEST) | GLM_ROLE_BIT(GLM_ROLE_GATEWAY), addr);

	return k && (key_owns_home(k, addr) || key_serves(k, addr)) ? k : NULL;
}

/* The site gateway among our correspondents whose key's prefixes hold
 * addr: a plain host behind it, for which it translates. */
static const struct glm_key *site_gateway_for(const struct matd *d, const struct in6_addr *addr)
{
	for (unsigned i = 0; i < d->conf.ncns; i++) {
		const struct glm_key *k = matd_peer_key(d, &d->conf.cns[i].sin6_addr);

		if (k && k->role == GLM_ROLE_GATEWAY && key_serves(k, addr))
			return k;
	}
	return NULL;
}

bool matd_peer_translates(const struct matd *d, const struct in6_addr *addr)
{
	if (!d->conf.home_gateway)
		return true;
	for (unsigned i = 0; i < d->conf.ncns; i++)
		if (!memcmp(&d->conf.cns[i].sin6_addr, addr, sizeof(*addr)))
			return true;
	if (site_gateway_for(d, addr))
		return true;
	for (unsigned i = 0; i < d->npeers; i++)
		if (!memcmp(&d->peers[i].ha, addr, sizeof(*addr)))
			return true;
	return false;
}

/* With a home gateway, the hosts behind a site gateway we send binding
 * updates to (a correspondent whose key is a gateway's) see the MA too:
 * one rule per prefix of that key, built with the table. */
static int xlate_prefixes(struct matd *d)
{
	int r;

	if (!d->conf.home_gateway)
		return 0;
	for (unsigned i = 0; i < d->conf.ncns; i++) {
		const struct glm_key *k = matd_peer_key(d, &d->conf.cns[i].sin6_addr);

		if (!k || k->role != GLM_ROLE_GATEWAY)
			continue;
		for (unsigned j = 0; j < k->nprefixes; j++) {
			if ((r = mat_nft_xlate_prefix(d->nft, &k->prefixes[j].addr, k->prefixes[j].len)) < 0) {
				log_warnx("correspondent %s: site gateway key %u: prefix %s/%u: %s",
					  sa6(&d->conf.cns[i]), k->id, a6(&k->prefixes[j].addr), k->prefixes[j].len,
					  strerror(-r));
				return r;
			}
			log_info("hosts in %s/%u translate: site gateway %s (key %u)", a6(&k->prefixes[j].addr),
				 k->prefixes[j].len, sa6(&d->conf.cns[i]), k->id);
		}
	}
	return 0;
}

/* With a home gateway, the correspondents are the peers that translate
 * from the start (mobile peers join as the IMS or they tell us). */
static int xlate_peers_setup(struct matd *d)
{
	if (!d->conf.home_gateway)
		return 0;
	for (unsigned i = 0; i < d->conf.ncns; i++)
		mat_nft_xlate_peer(d->nft, &d->conf.cns[i].sin6_addr, true);
	return mat_nft_commit(d->nft);
}

static void udp_input(struct matd *d)
{
	for (;;) {
		uint8_t buf[GLM_MSG_MAX];
		struct sockaddr_in6 from;
		struct in6_addr local;
		const struct glm_key *key;
		struct glm_msg m;
		int r = glm_recv_msg_to(d->udp, &d->keys, d->since, buf, sizeof(buf), &m, &key, &from, &local, &d->rx,
					d->drops);

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
		case GLM_COOKIE:
			corr_msg(d, &m, key, &local, &from);
			break;
		default:
			d->drops[GLM_PE_TYPE]++;
			log_debug("unexpected %s from %s", glm_msg_type_name(m.type), sa6(&from));
		}
	}
}

static void stats_out(struct matd *d, struct printer *p)
{
	print_u64(p, "rx", "rx=%llu\n", d->rx);
	print_u64(p, "stale", "stale=%llu\n", d->stale);
	print_u64(p, "refused", "refused=%llu\n", d->refused);
	print_u64(p, "bu_prove", "bu_prove=%llu\n", d->bu_prove);
	print_u64(p, "ra_bad", "ra_bad=%llu\n", d->ra_bad);
	print_u64(p, "ims_failovers", "ims_failovers=%llu\n", d->conf.ims.failovers);
	print_u64(p, "ims_other", "ims_other=%llu\n", d->sub.other_ims);
	glm_drops_print(p, d->drops);
}

static int ctl_handler(void *ctx, int argc, char **argv, FILE *out)
{
	struct matd *d = ctx;

	if (!strcmp(argv[0], "status") || !strcmp(argv[0], "stats")) {
		const char *f = conf_arg(argc, argv, "format");
		struct printer pr;

		print_init(&pr, out, f && !strcmp(f, "json"));
		print_open_object(&pr, NULL);
		if (!strcmp(argv[0], "stats")) {
			stats_out(d, &pr);
		} else {
			ims_set_print(&d->conf.ims, &pr);
			print_text(&pr, "\n");
			mobile_status(d, &pr);
			corr_status(d, &pr);
		}
		print_close_object(&pr);
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

static void on_udp(void *arg)
{
	udp_input(arg);
}

static void on_ctl(void *arg)
{
	struct matd *d = arg;

	ctl_serve(d->ctl, ctl_handler, d);
}

static void rtnl_cb(void *ctx, const struct rtnl_event *ev)
{
	mobile_link_event(ctx, ev);
}

/* Messages first: a host agent's RESUMED read together with QEMU's
 * announcement (the guest, just resumed, was slow to get here) is the
 * faster way of the two to take (no probe). */
static void on_rtnl(void *arg)
{
	struct matd *d = arg;

	udp_input(d);
	rtnl_events_read(d->rtnl, rtnl_cb, d);
}

static void on_ndisc(void *arg)
{
	struct nic *n = arg;
	struct matd *d = n->matd;

	udp_input(d);
	mobile_ndisc(d, (int)(n - d->nic));
}

/* SIGHUP: the keyring again; one that is broken, lacks our key or no
 * longer gives it our home address keeps the keys in use. */
static void reload(void *arg)
{
	struct matd *d = arg;

	daemon_reload_keyring(d->conf.keyring, d->conf.key_id, GLM_ROLE_GUEST, d->conf.mobile ? &d->conf.ha : NULL, &d->keys, &d->key);
}

static const struct daemon_opt matd_opts[] = {
	DAEMON_OPT_CONFIG("/etc/glm/matd.conf"),
	DAEMON_OPT_SOCKET("control socket for matctl (default /run/glm/matd.sock)"),
	DAEMON_OPT_PIDFILE, DAEMON_OPT_FOREGROUND, DAEMON_OPT_VERBOSE, DAEMON_OPT_CHECK,
};
static const struct daemon_opts matd_cli = {
	"matd", NULL, "The MAT node: keeps a home address across moves between IPv6 subnets.", matd_opts,
	ARRAY_SIZE(matd_opts),
};

/* Configuration and keyring, checked: 0, or the exit code (logged). */
static int matd_load(void *ctx, const struct daemon_args *args)
{
	struct matd *d = ctx;

	d->sock = args->socket;
	if (matd_conf_load(args->config, &d->conf) < 0 || keyring_load(d->conf.keyring, &d->keys) < 0)
		return EX_CONFIG;
	d->key = keyring_self(&d->keys);
	if ((d->conf.key_id && d->conf.key_id != d->keys.self_id) || d->key->role != GLM_ROLE_GUEST) {
		log_warnx("%s: key-id %u, but keyring %s holds the private key of %s %u", args->config, d->conf.key_id,
			  d->conf.keyring, glm_role_name(d->key->role), d->keys.self_id);
		return EX_CONFIG;
	}
	for (unsigned i = 0; i < d->conf.ims.n; i++)
		if (!keyring_peer(&d->keys, GLM_ROLE_BIT(GLM_ROLE_IMS), &d->conf.ims.addr[i].sin6_addr)) {
			log_warnx("%s: no ims key in keyring %s for %s (one ims key, or one whose 'prefix' holds it)",
				  args->config, d->conf.keyring, sa6(&d->conf.ims.addr[i]));
			return EX_CONFIG;
		}
	for (unsigned i = 0; i < d->conf.ncns; i++)
		if (!matd_peer_key(d, &d->conf.cns[i].sin6_addr)) {
			log_warnx("%s: no guest or gateway key in keyring %s has correspondent %s as 'home' or in a "
				  "'prefix'", args->config, d->conf.keyring, a6(&d->conf.cns[i].sin6_addr));
			return EX_CONFIG;
		}
	if (d->conf.mobile && !key_owns_home(d->key, &d->conf.ha)) {
		log_warnx("%s: key %u does not own home address %s in %s", args->config, d->key->id,
			  a6(&d->conf.ha), d->conf.keyring);
		return EX_CONFIG;
	}
	return 0;
}

/* Every set-up step before the loop, so a failure is an exit code. */
static int matd_setup(void *ctx, struct evloop *loop)
{
	struct matd *d = ctx;
	int one = 1, r;

	d->loop = loop;
	/* before the socket exists: whatever it receives was sent after this */
	d->since = realtime_ns();
	glm_proof_init(&d->proof);
	if ((r = rtnl_open(&d->rtnl, RTMGRP_LINK)) < 0)
		return log_warnx("rtnetlink: %s", strerror(-r)), EX_OSERR;
	if ((r = mat_nft_open(&d->nft, d->conf.table)) < 0)
		return log_warnx("nftables table ip6 %s: %s", d->conf.table, strerror(-r)), EX_OSERR;
	mat_nft_per_peer(d->nft, d->conf.home_gateway);
	if ((r = xlate_prefixes(d)) < 0 || (r = mat_nft_setup(d->nft)) < 0 || (r = xlate_peers_setup(d)) < 0)
		return log_warnx("nftables table ip6 %s: %s", d->conf.table, strerror(-r)), EX_OSERR;
	d->udp = udp6_socket(&d->conf.listen);
	if (d->udp < 0)
		return log_warnx("listen %s: %s", sa6(&d->conf.listen), strerror(-d->udp)), EX_OSERR;
	/* the address each message was sent to: acks leave from it */
	if (setsockopt(d->udp, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0)
		log_warn("listen %s: IPV6_RECVPKTINFO", sa6(&d->conf.listen));
	d->ctl = ctl_listen(d->sock);
	if (d->ctl < 0)
		return log_warnx("control socket %s: %s", d->sock, strerror(-d->ctl)), EX_OSERR;
	if ((d->conf.mobile && mobile_start(d) < 0) || corr_start(d) < 0)
		return EX_OSERR;
	if ((r = ev_watch(d->loop, d->udp, on_udp, d)) < 0 || (r = ev_watch(d->loop, d->ctl, on_ctl, d)) < 0 ||
	    (r = ev_watch(d->loop, rtnl_fd(d->rtnl), on_rtnl, d)) < 0)
		return log_warnx("event loop: %s", strerror(-r)), EX_OSERR;
	for (unsigned i = 0; i < d->nnics; i++)
		if ((r = ev_watch(d->loop, d->nic[i].ndfd, on_ndisc, &d->nic[i])) < 0)
			return log_warnx("event loop: %s", strerror(-r)), EX_OSERR;
	for (unsigned i = 0; i < HO_PHASES; i++)
		mx_hist_init(&d->ho_phase[i], mx_seconds_le, mx_seconds_n);
	if (d->conf.has_metrics && (r = metrics_http_start(&d->metrics, loop, &d->conf.metrics, matd_metrics, d)) < 0)
		return log_warnx("metrics on %s: %s", sa6(&d->conf.metrics), strerror(-r)), EX_UNAVAILABLE;
	log_info("started: %s%s, %u home prefixes, ims %s%s", d->conf.mobile ? "mobile node for " : "correspondent",
		 d->conf.mobile ? a6(&d->conf.ha) : "", d->conf.nhome, d->conf.ims.n ? sa6(ims_set_current(&d->conf.ims)) : "none",
		 d->conf.home_gateway ? ", home gateway: other peers see the home address" : "");
	return 0;
}

static void matd_cleanup(void *ctx)
{
	struct matd *d = ctx;

	metrics_http_free(d->metrics);
	d->metrics = NULL;
	corr_stop(d);
	if (d->conf.mobile && d->rtnl)
		mobile_stop(d);
	if (d->nft) {
		mat_nft_teardown(d->nft);
		mat_nft_close(d->nft);
	}
	if (d->ctl >= 0) {
		close(d->ctl);
		unlink(d->sock);
	}
	if (d->udp >= 0)
		close(d->udp);
	if (d->inject_fd >= 0)
		close(d->inject_fd);
	rtnl_close(d->rtnl);
}

static const char *matd_socket(void *ctx) { return ((struct matd *)ctx)->sock; }
static void matd_free(void *ctx) { keyring_free(&((struct matd *)ctx)->keys); }

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
		.cli = &matd_cli, .load = matd_load, .socket = matd_socket, .setup = matd_setup,
		.cleanup = matd_cleanup, .reload = reload, .free = matd_free,
	};
	struct daemon_args args = { .config = "/etc/glm/matd.conf", .socket = "/run/glm/matd.sock" };
	static struct matd d = { .udp = -1, .ctl = -1, .kick_fd = -1, .inject_fd = -1 }; /* large: off the stack */

	return daemon_main(&ops, &d, &args, argc, argv);
}
