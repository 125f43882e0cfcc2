/* relayagent: the agent's relay modules (agent/relay_client.c and
 * agent/relay_server.c, compiled in) in a minimal event loop, without the
 * rest of glm-agentd: no VMs, no MDB, no libvirt. For benchmarks and tests
 * of the relay path alone.
 *
 *   relayagent client --listen [ADDR]:PORT --relay [ADDR]:PORT --bridge BR
 *                     --group G [--source S] -k KEYRING -i KEYID [--duration S]
 *                     [--native]
 *       holds one reference on (BR, G, S) for the run, so the session is
 *       requested, refreshed, and re-sends relayed packets on BR; with
 *       --native it also joins G on BR (as the agent's proxy join does)
 *       and feeds what arrives natively there to relay_client_native(),
 *       as the agent's reception check does
 *   relayagent relay  --listen [ADDR]:PORT --ifname IF -k KEYRING -i KEYID
 *                     [--session-timeout S] [--duration S]
 *
 * SIGUSR1 prints the status JSON; at the end (duration over, SIGTERM or
 * SIGINT) the client releases its reference and the status JSON is printed
 * on stdout as one object. Unlike glm-agentd's dispatcher, received
 * datagrams are read in batches (recvmmsg), so the harness itself is not
 * what limits a throughput measurement. */
#include "../../agent/relay_client.c"
#include "../../agent/relay_server.c"
#include "../../agent/watch.c"
#include "conf.h"
#include <getopt.h>
#include <signal.h>
#include <sysexits.h>

static void status(struct agentd *a);

/* The end of --duration (the relay modules' sessions arm timers of their
 * own). */
static void duration_over(void *arg)
{
	evloop_stop(((struct agentd *)arg)->loop, 0);
}

static void on_signal(int sig, void *arg)
{
	if (sig == SIGUSR1)
		status(arg);
	else
		evloop_stop(((struct agentd *)arg)->loop, 0);
}

#define RA_BATCH 64
#define RA_BUF 2048

static void udp_input(struct agentd *a, void *arg)
{
	static uint8_t buf[RA_BATCH][RA_BUF];
	static struct sockaddr_in6 from[RA_BATCH];
	struct mmsghdr mm[RA_BATCH];
	struct iovec iov[RA_BATCH];
	int n;

	(void)arg;
	for (int i = 0; i < RA_BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], RA_BUF };
		mm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof(from[i]),
						 .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	n = recvmmsg(a->udp, mm, RA_BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		const struct glm_key *key;
		struct glm_msg m;
		enum glm_parse_err e = glm_msg_accept(&a->keys, buf[i], mm[i].msg_len, &m, &key);

		a->rx++;
		if (e != GLM_PE_OK) {
			a->drops[e]++;
			continue;
		}
		if (m.type == GLM_RELAY_REQUEST || m.type == GLM_RELAY_STOP)
			relay_server_msg(a, &m, key, &from[i]);
		else if (m.type == GLM_RELAY_RESPONSE || m.type == GLM_RELAYED_PACKET || m.type == GLM_COOKIE)
			relay_client_msg(a, &m, key, &from[i]);
		else
			a->refused++;
	}
}

/* What reception.c does in glm-agentd: native arrivals on the bridge. */
static void native_input(struct agentd *a, void *arg)
{
	uint8_t pkt[2048];

	(void)arg;
	for (int budget = 0; budget < 256; budget++) {
		ssize_t n = recv(a->br[0].pkt_fd, pkt, sizeof(pkt), MSG_DONTWAIT);

		if (n < 0)
			return;
		relay_client_native(a, 0, pkt, (size_t)n);
	}
}

static int native_init(struct agentd *a, const struct in6_addr *group)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IPV6),
				  .sll_ifindex = a->br[0].ifindex };
	struct group_req gr = { .gr_interface = (uint32_t)a->br[0].ifindex };
	int one = 1, fd;

	((struct sockaddr_in6 *)&gr.gr_group)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)&gr.gr_group)->sin6_addr = *group;
	a->br[0].join_fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (a->br[0].join_fd < 0 ||
	    setsockopt(a->br[0].join_fd, IPPROTO_IPV6, MCAST_JOIN_GROUP, &gr, sizeof(gr)) < 0)
		return -errno;
	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IPV6));
	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0)
		return -errno;
	a->br[0].pkt_fd = fd;
	return agentd_watch(a, fd, native_input, NULL);
}

static void status(struct agentd *a)
{
	struct printer p;

	print_init(&p, stdout, true);
	print_open_object(&p, NULL);
	print_u64(&p, "rx", NULL, a->rx);
	print_u64(&p, "bad_mac", NULL, a->drops[GLM_PE_MAC]);
	if (a->conf.relay_role)
		relay_server_status(a, &p);
	else
		relay_client_status(a, &p);
	print_close_object(&p);
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: relayagent client --listen [A]:P --relay [A]:P --bridge BR --group G [--source S]\n"
		   "                         -k KEYRING -i KEYID [--duration S] [--native]\n"
		   "       relayagent relay --listen [A]:P --ifname IF -k KEYRING -i KEYID\n"
		   "                         [--session-timeout S] [--duration S]\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, 0, 'l' }, { "relay", required_argument, 0, 'r' },
		{ "bridge", required_argument, 0, 'b' }, { "group", required_argument, 0, 'g' },
		{ "source", required_argument, 0, 'S' }, { "keyring", required_argument, 0, 'k' },
		{ "key-id", required_argument, 0, 'i' }, { "ifname", required_argument, 0, 'I' },
		{ "session-timeout", required_argument, 0, 't' }, { "duration", required_argument, 0, 'd' },
		{ "verbose", no_argument, 0, 'v' }, { "native", no_argument, 0, 'N' }, { "help", no_argument, 0, 'h' }, { 0 },
	};
	static struct agentd a;
	static struct agent_bridge one_bridge;
	static struct ev_timer end;
	struct in6_addr group = IN6ADDR_ANY_INIT, source = IN6ADDR_ANY_INIT;
	const char *keyring = NULL, *bridge = NULL;
	double duration = 0;
	bool client, have_group = false, native = false;
	int c, verbose = 0, ret = EX_OK, r;

	if (argc < 2 || (strcmp(argv[1], "client") && strcmp(argv[1], "relay"))) {
		usage(stderr);
		return EX_USAGE;
	}
	client = !strcmp(argv[1], "client");
	a.conf.relay_role = !client;
	a.conf.session_timeout_s = 10;
	a.conf.listen.sin6_family = AF_INET6;
	a.conf.listen.sin6_port = htons(AGENT_PORT);
	optind = 2;
	while ((c = getopt_long(argc, argv, "l:r:b:g:S:k:i:I:t:d:vNh", lo, NULL)) != -1) {
		uint32_t v;

		switch (c) {
		case 'l': if (parse_sockaddr6(optarg, AGENT_PORT, &a.conf.listen)) return EX_USAGE; break;
		case 'r':
			if (parse_sockaddr6(optarg, AGENT_PORT, &a.conf.relay))
				return EX_USAGE;
			a.conf.has_relay = true;
			break;
		case 'b': bridge = optarg; break;
		case 'g': if (parse_in6(optarg, &group)) return EX_USAGE; have_group = true; break;
		case 'S': if (parse_in6(optarg, &source)) return EX_USAGE; break;
		case 'k': keyring = optarg; break;
		case 'i': if (parse_u32(optarg, 1, UINT32_MAX, &a.conf.key_id)) return EX_USAGE; break;
		case 'I': snprintf(a.conf.relay_ifname, sizeof(a.conf.relay_ifname), "%s", optarg); break;
		case 't': if (parse_u32(optarg, 3, 3600, &v)) return EX_USAGE; a.conf.session_timeout_s = v; break;
		case 'd': duration = atof(optarg); break;
		case 'v': verbose++; break;
		case 'N': native = true; break;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (!keyring || !a.conf.key_id || (client && (!bridge || !have_group || !a.conf.has_relay)) ||
	    (!client && !a.conf.relay_ifname[0])) {
		usage(stderr);
		return EX_USAGE;
	}
	log_init("relayagent", true, verbose);
	if (keyring_load(keyring, &a.keys) < 0)
		return EX_CONFIG;
	a.key = keyring_self(&a.keys);
	if (a.keys.self_id != a.conf.key_id) {
		fprintf(stderr, "relayagent: %s holds the private key of %u, not %u\n", keyring, a.keys.self_id,
			a.conf.key_id);
		return EX_CONFIG;
	}
	if ((r = evloop_new(&a.loop)) < 0 || (r = ev_signal(a.loop, SIGTERM, on_signal, &a)) < 0 ||
	    (r = ev_signal(a.loop, SIGINT, on_signal, &a)) < 0 || (r = ev_signal(a.loop, SIGUSR1, on_signal, &a)) < 0) {
		fprintf(stderr, "relayagent: event loop: %s\n", strerror(-r));
		return EX_OSERR;
	}
	ev_timer_init(&end, "duration", duration_over, &a);
	a.udp = udp6_socket(&a.conf.listen);
	if (a.udp < 0) {
		fprintf(stderr, "relayagent: listen %s: %s\n", sa6(&a.conf.listen), strerror(-a.udp));
		return EX_OSERR;
	}
	{
		int sz = 16 << 20;
		if (setsockopt(a.udp, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
			setsockopt(a.udp, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	agentd_watch(&a, a.udp, udp_input, NULL);
	if (client) {
		a.br = &one_bridge;
		snprintf(a.br[0].name, sizeof(a.br[0].name), "%s", bridge);
		a.br[0].ifindex = (int)if_nametoindex(bridge);
		if (!a.br[0].ifindex) {
			fprintf(stderr, "relayagent: bridge %s: %s\n", bridge, strerror(errno));
			return EX_OSERR;
		}
		a.nbr = 1;
		a.br[0].pkt_fd = a.br[0].join_fd = -1;
		if (native && (r = native_init(&a, &group)) < 0) {
			fprintf(stderr, "relayagent: native watch on %s: %s\n", bridge, strerror(-r));
			return EX_OSERR;
		}
		if ((r = relay_client_init(&a)) < 0 || (r = relay_client_want(&a, 0, &group, &source, NULL)) < 0) {
			fprintf(stderr, "relayagent: relay client: %s\n", strerror(-r));
			return EX_OSERR;
		}
	} else if ((r = relay_server_init(&a)) < 0) {
		fprintf(stderr, "relayagent: relay: %s\n", strerror(-r));
		return EX_OSERR;
	}
	if (duration > 0)
		ev_timer_at(a.loop, &end, now_ns() + (uint64_t)(duration * 1e9));
	if (evloop_run(a.loop) < 0)
		ret = EX_SOFTWARE;
	status(&a);
	if (client) {
		relay_client_release(&a, 0, &group, &source);
		relay_client_free(&a);
		if (a.br[0].pkt_fd >= 0)
			close(a.br[0].pkt_fd);
		if (a.br[0].join_fd >= 0)
			close(a.br[0].join_fd);
	} else {
		relay_server_free(&a);
	}
	close(a.udp);
	ev_timer_stop(&end);
	agentd_unwatch_all(&a);
	evloop_free(a.loop);
	keyring_free(&a.keys);
	return ret;
}
