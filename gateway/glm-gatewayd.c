/* glm-gatewayd: the home or site gateway, for correspondents that run
 * nothing of glm's. A home gateway: the home prefix is routed to the
 * router it runs on; it subscribes
 * to the IMS for that prefix (a dump, then pushes) and keeps the kernel's
 * map HA -> current MA (table ip6 glm_gw), which rewrites the destination
 * of every packet to a home address before it is routed on to the VM's
 * site. The guest's matd turns the MA back into the HA on input, and
 * answers such peers from its HA, straight to them (matd.conf(5)
 * home-gateway). A site gateway ('serve' lines) sits in front of a
 * network of plain hosts and translates for them both ways, fed by the
 * same subscription and by the mobile nodes' binding updates (site.c).
 * This file is the process: options, configuration,
 * set-up before detaching, the UDP and control sockets, the sweep timer
 * and the signals; SIGTERM removes the table whole. */
#include "conf.h"
#include "ctl.h"
#include "daemon.h"
#include "gatewayd.h"
#include "log.h"
#include "print.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static const struct daemon_opt opts[] = {
	DAEMON_OPT_CONFIG(GW_DEFAULT_CONF),
	DAEMON_OPT_SOCKET("control socket, overrides 'control'"),
	DAEMON_OPT_PIDFILE, DAEMON_OPT_FOREGROUND, DAEMON_OPT_VERBOSE, DAEMON_OPT_CHECK,
};
static const struct daemon_opts cli = {
	"glm-gatewayd", NULL,
	"The glm home or site gateway: translates for correspondents that run nothing of glm's.",
	opts, ARRAY_SIZE(opts),
};

static const struct glm_key *ims_key(const struct gw *g, const struct sockaddr_in6 *ims)
{
	return keyring_peer(&g->keys, GLM_ROLE_BIT(GLM_ROLE_IMS), &ims->sin6_addr);
}

/* The first of our IMSes the keyring has no key for (NULL: none). */
static const struct sockaddr_in6 *ims_keyless(const struct gw *g)
{
	for (unsigned i = 0; i < g->conf.ims.n; i++)
		if (!ims_key(g, &g->conf.ims.addr[i]))
			return &g->conf.ims.addr[i];
	return NULL;
}

static int sub_send(void *ctx, struct glm_msg *m)
{
	struct gw *g = ctx;
	const struct sockaddr_in6 *to = ims_set_current(&g->conf.ims);
	const struct glm_key *k = ims_key(g, to);

	return k ? glm_send_msg(g->udp, to, NULL, m, k) : -ENOKEY;
}

/* Any of our IMSes, under its own key: a late answer of one we left is
 * still authentic (imssub.c drops what is not the current one's). */
static bool from_ims(const struct gw *g, const struct glm_key *key, const struct sockaddr_in6 *from)
{
	return ims_set_has(&g->conf.ims, from) && key == ims_key(g, from);
}

static void on_udp(void *arg)
{
	struct gw *g = arg;

	for (;;) {
		uint8_t buf[GLM_MSG_MAX];
		struct sockaddr_in6 from;
		struct in6_addr local;
		const struct glm_key *key;
		struct glm_msg m;
		int r = glm_recv_msg_to(g->udp, &g->keys, g->since, buf, sizeof(buf), &m, &key, &from, &local,
					&g->st.rx, g->st.drops);

		if (r < 0) {
			gw_flush(g); /* the burst's pushes, in one batch */
			return;
		}
		if (r == 0)
			continue;
		/* only a guest key may send one (lib/keys.c), a site gateway answers it */
		if (m.type == GLM_BINDING_UPDATE) {
			gw_flush(g); /* the pushes before it first */
			gw_binding_update(g, &m, key, &local, &from);
			continue;
		}
		/* a NOTIFY must come from one of our IMSes, under its key:
		 * another node's key, even an IMS's, changes nothing */
		if (!from_ims(g, key, &from)) {
			g->st.not_ims++;
			log_debug("%s from %s (key %u) ignored: not our IMS", glm_msg_type_name(m.type), sa6(&from),
				  key->id);
			continue;
		}
		if (!ims_sub_msg(&g->sub, &from, &m)) {
			g->st.drops[GLM_PE_TYPE]++;
			log_debug("unexpected %s from %s", glm_msg_type_name(m.type), sa6(&from));
		}
	}
}

/* Datagrams lost in our receive buffer (a dump or a storm of pushes
 * faster than we took it, on a loaded machine) are mappings we may lack
 * until the next renewal: once the losses stop (a second without any),
 * a subscription round now brings the whole state again. */
static void check_losses(struct gw *g)
{
	uint32_t drops;

	if (sock_drops(g->udp, &drops) < 0)
		return;
	if (drops != g->sock_drops) {
		log_warnx("%u datagrams lost in the receive buffer (pushes faster than we took them): "
			  "the whole state again once they stop", drops - g->sock_drops);
		g->st.rx_lost += drops - g->sock_drops;
		g->sock_drops = drops;
		g->lost = true;
	} else if (g->lost) {
		g->lost = false;
		g->st.resubscribes++;
		ims_sub_start(&g->sub);
	}
}

static void on_sweep(void *arg)
{
	struct gw *g = arg;

	gw_expire(g, now_ns());
	check_losses(g);
	ev_timer_in(g->loop, &g->sweep, 1000);
}

static void stats_out(const struct gw *g, struct printer *p)
{
	const struct { const char *name; uint64_t v; } c[] = {
		{ "rx", g->st.rx },
		{ "not_ims", g->st.not_ims },
		{ "pushes", g->st.pushes },
		{ "added", g->st.added },
		{ "moved", g->st.moved },
		{ "withdrawn", g->st.withdrawn },
		{ "expired", g->st.expired },
		{ "stale", g->st.stale },
		{ "refused_site", g->st.refused_site },
		{ "refused_home", g->st.refused_home },
		{ "full", g->st.full },
		{ "nft_errors", g->st.nft_errors },
		{ "bu_rx", g->st.bu_rx },
		{ "bu_prove", g->st.bu_prove },
		{ "bu_refused", g->st.bu_refused },
		{ "rx_lost", g->st.rx_lost },
		{ "resubscribes", g->st.resubscribes },
		{ "subscribe_rounds", g->sub.rounds },
		{ "subscribe_acks", g->sub.acks },
		{ "subscribe_refused", g->sub.refusals },
		{ "ims_failovers", g->conf.ims.failovers },
		{ "ims_other", g->sub.other_ims },
		{ "mappings", htab_count(&g->maps) },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(c); i++) {
		char fmt[48];

		snprintf(fmt, sizeof(fmt), "%s=%%llu\n", c[i].name);
		print_u64(p, c[i].name, fmt, c[i].v);
	}
	glm_drops_print(p, g->st.drops);
}

static void status_out(const struct gw *g, struct printer *p, bool all)
{
	uint64_t now = now_ns();
	const struct gw_mapping *e;
	size_t it = 0;

	ims_set_print(&g->conf.ims, p);
	print_str(p, "subscription", "\nsubscription: %s", g->sub.granted ? "acknowledged" : "pending");
	print_uint(p, "granted_s", ", %u s\n", g->sub.granted);
	print_str(p, "table", "table: ip6 %s\n", g->conf.table);
	print_open_array(p, "home_prefixes");
	for (unsigned i = 0; i < g->conf.nhome; i++) {
		print_addr(p, "prefix", "home-prefix: %s", &g->conf.home[i]);
		print_uint(p, NULL, "/%u\n", g->conf.home_len[i]);
	}
	print_close_array(p);
	print_open_array(p, "site_prefixes");
	for (unsigned i = 0; i < g->conf.nsite; i++) {
		print_addr(p, "prefix", "site-prefix: %s", &g->conf.site[i]);
		print_uint(p, NULL, "/%u\n", g->conf.site_len[i]);
	}
	print_close_array(p);
	print_open_array(p, "served_prefixes");
	for (unsigned i = 0; i < g->conf.nserve; i++) {
		print_addr(p, "prefix", "serve: %s", &g->conf.serve[i]);
		print_uint(p, NULL, "/%u\n", g->conf.serve_len[i]);
	}
	print_close_array(p);
	print_u64(p, "mappings", "mappings: %llu\n", htab_count(&g->maps));
	if (!all)
		return;
	print_open_array(p, "map");
	while ((e = htab_next(&g->maps, &it))) {
		print_open_object(p, NULL);
		print_addr(p, "ha", "%s", &e->ha);
		print_addr(p, "ma", " -> %s", &e->ma);
		if (e->has_prev)
			print_addr(p, "previous_ma", " (previous %s still translated back)", &e->prev_ma);
		print_u64(p, "update_seq", " (update %llu", e->update_seq);
		print_u64(p, "expires_in_s", ", expires in %llu s)\n",
			  e->expires_ns > now ? (e->expires_ns - now) / 1000000000ull : 0);
		print_close_object(p);
	}
	print_close_array(p);
}

/* status [format=json]: the summary; dump [format=json]: and every
 * mapping; stats [format=json]: the counters. */
static int ctl_handler(void *ctx, int argc, char **argv, FILE *out)
{
	struct gw *g = ctx;
	const char *f = conf_arg(argc, argv, "format");
	struct printer pr;

	if (strcmp(argv[0], "status") && strcmp(argv[0], "stats") && strcmp(argv[0], "dump")) {
		fprintf(out, "unknown request '%s' (known: status, stats, dump)", argv[0]);
		return -EINVAL;
	}
	print_init(&pr, out, f && !strcmp(f, "json"));
	print_open_object(&pr, NULL);
	if (!strcmp(argv[0], "stats"))
		stats_out(g, &pr);
	else
		status_out(g, &pr, !strcmp(argv[0], "dump"));
	print_close_object(&pr);
	return 0;
}

static void on_ctl(void *arg)
{
	struct gw *g = arg;

	ctl_serve(g->ctl, ctl_handler, g);
}

/* SIGHUP: the keyring again, kept only if it still holds our gateway key. */
static void reload(void *arg)
{
	struct gw *g = arg;

	daemon_reload_keyring(g->conf.keyring, g->conf.key_id, GLM_ROLE_GATEWAY, NULL, &g->keys, NULL);
	const struct sockaddr_in6 *ims = ims_keyless(g);

	if (ims)
		log_warnx("keyring %s has no ims key for %s: subscriptions there fail until it does", g->conf.keyring,
			  sa6(ims));
}

static int gw_load(void *ctx, const struct daemon_args *args)
{
	struct gw *g = ctx;
	const struct glm_key *self;
	int r;

	if (gw_conf_load(args->config, &g->conf) < 0)
		return EX_CONFIG;
	if (args->socket) {
		if (strlen(args->socket) >= sizeof(g->conf.control))
			return log_warnx("control socket path too long: %s", args->socket), EX_USAGE;
		strcpy(g->conf.control, args->socket);
	}
	if ((r = keyring_load(g->conf.keyring, &g->keys)) < 0)
		return r == -ENOENT || r == -EACCES ? EX_NOINPUT : EX_CONFIG;
	self = keyring_self(&g->keys);
	if (g->conf.key_id != g->keys.self_id || self->role != GLM_ROLE_GATEWAY) {
		log_warnx("%s: key-id %u, but keyring %s holds the private key of %s %u", args->config,
			  g->conf.key_id, g->conf.keyring, glm_role_name(self->role), g->keys.self_id);
		return EX_CONFIG;
	}
	if (ims_keyless(g)) {
		log_warnx("%s: no ims key in keyring %s for %s (one ims key, or one whose 'prefix' holds it)",
			  args->config, g->conf.keyring, sa6(ims_keyless(g)));
		return EX_CONFIG;
	}
	return 0;
}

/* The table first (a gateway that cannot translate must not subscribe),
 * then the sockets, then the first subscription round. */
static int gw_setup(void *ctx, struct evloop *loop)
{
	struct gw *g = ctx;
	int r;

	g->loop = loop;
	g->since = realtime_ns();
	glm_proof_init(&g->proof);
	gw_maps_init(g);
	if ((r = gw_nft_open(&g->nft, g->conf.table)) < 0)
		return log_warnx("nftables table ip6 %s: %s", g->conf.table, strerror(-r)), EX_OSERR;
	for (unsigned i = 0; i < g->conf.nserve; i++)
		if ((r = gw_nft_serve(g->nft, &g->conf.serve[i], g->conf.serve_len[i])) < 0)
			return log_warnx("nftables table ip6 %s: serve %s/%u: %s", g->conf.table, a6(&g->conf.serve[i]),
					 g->conf.serve_len[i], strerror(-r)), EX_OSERR;
	if ((r = gw_nft_setup(g->nft, g->conf.home, g->conf.home_len, g->conf.nhome)) < 0)
		return log_warnx("nftables table ip6 %s: %s", g->conf.table, strerror(-r)), EX_OSERR;
	g->udp = udp6_socket(&g->conf.listen);
	if (g->udp < 0)
		return log_warnx("listen %s: %s", sa6(&g->conf.listen), strerror(-g->udp)), EX_UNAVAILABLE;
	/* the IMS's dump comes paced (imsd: subs_dump), still faster than
	 * a loaded gateway may read it for a while */
	sock_rcvbuf(g->udp, (int)g->conf.rcvbuf);
	/* the address a binding update was sent to: its ack leaves from it */
	if (setsockopt(g->udp, IPPROTO_IPV6, IPV6_RECVPKTINFO, &(int){ 1 }, sizeof(int)) < 0)
		log_warn("listen %s: IPV6_RECVPKTINFO", sa6(&g->conf.listen));
	g->ctl = ctl_listen(g->conf.control);
	if (g->ctl < 0)
		return log_warnx("control socket %s: %s", g->conf.control, strerror(-g->ctl)), EX_CANTCREAT;
	if ((r = ev_watch(loop, g->udp, on_udp, g)) < 0 || (r = ev_watch(loop, g->ctl, on_ctl, g)) < 0)
		return log_warnx("event loop: %s", strerror(-r)), EX_OSERR;
	ims_sub_init(&g->sub, loop, &g->conf.ims, g->conf.sub_lifetime, sub_send, gw_push, g, g->st.drops);
	for (unsigned i = 0; i < g->conf.nhome; i++)
		ims_sub_add_prefix(&g->sub, &g->conf.home[i], g->conf.home_len[i]);
	ims_sub_start(&g->sub);
	ev_timer_init(&g->sweep, "mapping expiry", on_sweep, g);
	ev_timer_in(loop, &g->sweep, 1000);
	if (g->conf.has_metrics && (r = metrics_http_start(&g->metrics, loop, &g->conf.metrics, gw_metrics, g)) < 0)
		return log_warnx("metrics on %s: %s", sa6(&g->conf.metrics), strerror(-r)), EX_UNAVAILABLE;
	log_info("%s gateway: %u home prefixes into table ip6 %s, %u site prefixes, %u served prefixes, ims %s, "
		 "control %s", g->conf.nserve ? "site" : "home", g->conf.nhome, g->conf.table, g->conf.nsite,
		 g->conf.nserve, sa6(ims_set_current(&g->conf.ims)), g->conf.control);
	return 0;
}

static const char *gw_socket(void *ctx) { return ((struct gw *)ctx)->conf.control; }

static void gw_cleanup(void *ctx)
{
	struct gw *g = ctx;
	int r;

	metrics_http_free(g->metrics);
	g->metrics = NULL;
	if (g->loop) {
		ev_timer_stop(&g->sweep);
		ims_sub_stop(&g->sub, g->udp >= 0);
	}
	if (g->nft) {
		if ((r = mat_nft_teardown(g->nft)) < 0)
			log_warnx("nftables: table ip6 %s not removed: %s", g->conf.table, strerror(-r));
		mat_nft_close(g->nft);
		g->nft = NULL;
	}
	if (g->ctl >= 0) {
		close(g->ctl);
		unlink(g->conf.control);
	}
	if (g->udp >= 0)
		close(g->udp);
	g->ctl = g->udp = -1;
}

static void gw_free(void *ctx)
{
	struct gw *g = ctx;

	gw_maps_free(g);
	keyring_free(&g->keys);
}

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
		.cli = &cli, .load = gw_load, .socket = gw_socket, .setup = gw_setup,
		.cleanup = gw_cleanup, .reload = reload, .free = gw_free,
	};
	struct daemon_args args = { .config = GW_DEFAULT_CONF };
	static struct gw g = { .udp = -1, .ctl = -1 };

	return daemon_main(&ops, &g, &args, argc, argv);
}
