/* glm-agentd main: configuration, the one epoll loop with its registry of
 * sockets, and the UDP dispatcher. See agentd.h for the modules. */
#include "agentd.h"
#include "agent_int.h"
#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

static int conf_line(void *ctx, const struct conf_pos *pos, int argc, char **argv)
{
	struct agent_conf *c = ctx;
	const char *k = argv[0];
	uint32_t v;

	if (!strcmp(k, "role")) {
		if (argc != 2 || (strcmp(argv[1], "agent") && strcmp(argv[1], "relay")))
			return conf_err(pos, "usage: role agent|relay");
		c->relay_role = !strcmp(argv[1], "relay");
	} else if (!strcmp(k, "bridge")) {
		if (argc != 2 || !argv[1][0] || strlen(argv[1]) >= IF_NAMESIZE)
			return conf_err(pos, "usage: bridge IFNAME");
		if (c->nbridges == AGENT_MAX_BRIDGES)
			return conf_err(pos, "at most %d bridges", AGENT_MAX_BRIDGES);
		strcpy(c->bridges[c->nbridges++], argv[1]);
	} else if (!strcmp(k, "listen")) {
		if (argc != 2 || parse_sockaddr6(argv[1], AGENT_PORT, &c->listen))
			return conf_err(pos, "usage: listen [ADDR]:PORT");
	} else if (!strcmp(k, "relay")) {
		if (argc != 2 || parse_sockaddr6(argv[1], AGENT_PORT, &c->relay))
			return conf_err(pos, "usage: relay [ADDR]:PORT");
		c->has_relay = true;
	} else if (!strcmp(k, "ims")) {
		if (argc != 2 || parse_sockaddr6(argv[1], 5300, &c->ims))
			return conf_err(pos, "usage: ims [ADDR]:PORT");
		c->has_ims = true;
	} else if (!strcmp(k, "key-id")) {
		if (argc != 2 || parse_u32(argv[1], 1, UINT32_MAX, &c->key_id))
			return conf_err(pos, "usage: key-id N");
	} else if (!strcmp(k, "keyring") || !strcmp(k, "control") || !strcmp(k, "libvirt-uri")) {
		char *dst = !strcmp(k, "keyring") ? c->keyring : !strcmp(k, "control") ? c->control : c->libvirt_uri;
		if (argc != 2 || strlen(argv[1]) >= sizeof(c->keyring))
			return conf_err(pos, "usage: %s VALUE (at most %zu bytes)", k, sizeof(c->keyring) - 1);
		strcpy(dst, argv[1]);
		if (!strcmp(k, "libvirt-uri"))
			c->use_libvirt = true;
	} else if (!strcmp(k, "reception-timeout")) {
		if (argc != 2 || parse_u32(argv[1], 1, 60000, &c->reception_timeout_ms))
			return conf_err(pos, "usage: reception-timeout MILLISECONDS (1..60000)");
	} else if (!strcmp(k, "session-timeout")) {
		if (argc != 2 || parse_u32(argv[1], 3, 3600, &c->session_timeout_s))
			return conf_err(pos, "usage: session-timeout SECONDS (3..3600)");
	} else if (!strcmp(k, "relay-interface")) {
		if (argc != 2 || !argv[1][0] || strlen(argv[1]) >= IF_NAMESIZE)
			return conf_err(pos, "usage: relay-interface IFNAME");
		strcpy(c->relay_ifname, argv[1]);
	} else if (!strcmp(k, "guest-port")) {
		if (argc != 2 || parse_u32(argv[1], 1, 65535, &v))
			return conf_err(pos, "usage: guest-port PORT");
		c->guest_port = (uint16_t)v;
	} else {
		return conf_err(pos, "unknown keyword '%s'", k);
	}
	return 0;
}

int agent_conf_load(const char *path, struct agent_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->listen.sin6_family = AF_INET6;
	c->listen.sin6_port = htons(AGENT_PORT);
	c->reception_timeout_ms = 100;
	c->session_timeout_s = 10;
	c->guest_port = 5301;
	strcpy(c->control, "/run/glm/agentd.sock");
	if (conf_parse_file(path, conf_line, c) < 0)
		return -EINVAL;
	if (!c->key_id || !c->keyring[0])
		return log_warnx("%s: 'key-id' and 'keyring' are required", path), -EINVAL;
	if (c->relay_role && !c->relay_ifname[0])
		return log_warnx("%s: role relay needs 'relay-interface'", path), -EINVAL;
	if (!c->relay_role && !c->nbridges)
		return log_warnx("%s: an agent needs at least one 'bridge'", path), -EINVAL;
	return 0;
}

int agentd_watch(struct agentd *a, int fd, agentd_fd_fn fn, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };

	for (int i = 0; i < AGENT_MAX_WATCH; i++) {
		if (a->watch[i].fn)
			continue;
		ev.data.u32 = (uint32_t)i;
		if (epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		a->watch[i].fd = fd;
		a->watch[i].fn = fn;
		a->watch[i].arg = arg;
		return 0;
	}
	return -ENOSPC;
}

void agentd_unwatch(struct agentd *a, int fd)
{
	for (int i = 0; i < AGENT_MAX_WATCH; i++)
		if (a->watch[i].fn && a->watch[i].fd == fd) {
			epoll_ctl(a->epfd, EPOLL_CTL_DEL, fd, NULL);
			a->watch[i].fn = NULL;
		}
}

int agentd_send(struct agentd *a, const struct sockaddr_in6 *to, struct glm_msg *m, const struct glm_key *key)
{
	uint8_t buf[GLM_MSG_MAX];
	ssize_t n;

	if (!key)
		key = a->key;
	m->key_id = key->id;
	n = glm_msg_encode(m, key->secret, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	if (sendto(a->udp, buf, (size_t)n, 0, (const struct sockaddr *)to, sizeof(*to)) < 0) {
		int e = -errno;
		log_debug("send %s to %s: %s", glm_msg_type_name(m->type), sa6(to), strerror(-e));
		return e;
	}
	return 0;
}

int agentd_bridge_by_ifindex(const struct agentd *a, int ifindex)
{
	for (unsigned i = 0; i < a->nbr; i++)
		if (a->br[i].ifindex == ifindex)
			return (int)i;
	return -1;
}

static void udp_input(struct agentd *a, void *arg)
{
	(void)arg;
	for (int budget = 0; budget < 256; budget++) {
		uint8_t buf[GLM_MSG_MAX];
		struct sockaddr_in6 from;
		const struct glm_key *key;
		struct glm_msg m;
		int r = glm_recv_msg(a->udp, &a->keys, buf, sizeof(buf), &m, &key, &from, &a->rx, a->drops);

		if (r < 0)
			return;
		if (r == 0)
			continue;
		switch (m.type) {
		case GLM_RELAY_REQUEST:
		case GLM_RELAY_STOP:
			if (a->conf.relay_role)
				relay_server_msg(a, &m, key, &from);
			else
				a->refused++;
			break;
		case GLM_RELAY_RESPONSE:
		case GLM_RELAYED_PACKET:
			if (!a->conf.relay_role)
				relay_client_msg(a, &m, key, &from);
			else
				a->refused++;
			break;
		case GLM_PREPARE_ACK:
		case GLM_REPLY:
			if (!a->conf.relay_role && key == a->key)
				prepare_msg(a, &m, &from);
			else
				a->refused++;
			break;
		default:
			a->drops[GLM_PE_TYPE]++;
			log_debug("unexpected %s from %s", glm_msg_type_name(m.type), sa6(&from));
		}
	}
}

static void ctl_input(struct agentd *a, void *arg)
{
	(void)arg;
	ctl_serve(a->ctl, agent_ctl_handler, a);
}

static int run(struct agentd *a)
{
	while (!got_signal) {
		struct epoll_event evs[32];
		uint64_t now = now_ns(), next = UINT64_MAX, t;
		int timeout, n;

		if (a->conf.relay_role) {
			next = relay_server_next_deadline(a);
		} else {
			t = relay_client_next_deadline(a);
			next = t < next ? t : next;
			t = vm_next_deadline(a);
			next = t < next ? t : next;
		}
		timeout = next == UINT64_MAX ? 1000 : next <= now ? 0 : (int)((next - now + 999999) / 1000000);
		if (timeout > 1000)
			timeout = 1000;
		n = epoll_wait(a->epfd, evs, 32, timeout);
		if (n < 0 && errno != EINTR)
			return log_warn("epoll_wait"), -errno;
		for (int i = 0; i < n; i++) {
			unsigned w = evs[i].data.u32;
			if (w < AGENT_MAX_WATCH && a->watch[w].fn)
				a->watch[w].fn(a, a->watch[w].arg);
		}
		now = now_ns();
		if (a->conf.relay_role) {
			relay_server_timer(a, now);
		} else {
			relay_client_timer(a, now);
			vm_timer(a, now);
		}
	}
	log_info("signal %d: shutting down", (int)got_signal);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: glm-agentd [-d] [-v] [-n] [-f CONFIG] [-s SOCKET] [-p PIDFILE]\n"
		"glm's per-host agent (or, with 'role relay', the multicast relay).\n"
		"  -f, --config FILE   configuration (default /etc/glm/agentd.conf)\n"
		"  -s, --socket PATH   control socket (overrides 'control')\n"
		"  -p, --pidfile PATH  write the pid here\n"
		"  -d, --foreground    stay in the foreground, log to stderr too\n"
		"  -v, --verbose       debug logging\n"
		"  -n, --check         check configuration and keyring, then exit\n"
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
	const char *config = "/etc/glm/agentd.conf", *sock = NULL, *pidfile = NULL;
	bool fg = false, check = false;
	int verbose = 0, c, r, ret = EX_OK;
	static struct agentd a;

	while ((c = getopt_long(argc, argv, "f:s:p:dvnhV", opts, NULL)) != -1) {
		switch (c) {
		case 'f': config = optarg; break;
		case 's': sock = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'd': fg = true; break;
		case 'v': verbose++; break;
		case 'n': check = true; break;
		case 'h': usage(stdout); return EX_OK;
		case 'V': printf("glm-agentd %s\n", GLM_VERSION); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	log_init("glm-agentd", true, verbose);
	if (agent_conf_load(config, &a.conf) < 0)
		return EX_CONFIG;
	if (sock) {
		if (strlen(sock) >= sizeof(a.conf.control))
			return log_warnx("socket path too long"), EX_USAGE;
		strcpy(a.conf.control, sock);
	}
	if (keyring_load(a.conf.keyring, &a.keys) < 0)
		return EX_CONFIG;
	a.key = keyring_find(&a.keys, a.conf.key_id);
	if (!a.key) {
		log_warnx("%s: key-id %u is not in keyring %s", config, a.conf.key_id, a.conf.keyring);
		keyring_free(&a.keys);
		return EX_CONFIG;
	}
	if (check) {
		printf("configuration OK\n");
		keyring_free(&a.keys);
		return EX_OK;
	}

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	a.udp = a.ctl = -1;
	a.epfd = epoll_create1(EPOLL_CLOEXEC);
	a.udp = udp6_socket(&a.conf.listen);
	if (a.udp < 0) {
		log_warnx("listen %s: %s", sa6(&a.conf.listen), strerror(-a.udp));
		ret = EX_OSERR;
		goto cleanup;
	}
	{
		int sz = 4 << 20;
		setsockopt(a.udp, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	a.ctl = ctl_listen(a.conf.control);
	if (a.ctl < 0) {
		log_warnx("control socket %s: %s", a.conf.control, strerror(-a.ctl));
		ret = EX_OSERR;
		goto cleanup;
	}
	agentd_watch(&a, a.udp, udp_input, NULL);
	agentd_watch(&a, a.ctl, ctl_input, NULL);
	if (a.conf.relay_role) {
		r = relay_server_init(&a);
	} else {
		r = bridges_init(&a);
		if (r == 0)
			r = relay_client_init(&a);
		if (r == 0)
			r = mdbwatch_init(&a);
		if (r == 0)
			libvirt_init(&a);
	}
	if (r < 0) {
		ret = EX_OSERR;
		goto cleanup;
	}
	if (pidfile && write_pidfile(pidfile) < 0)
		log_warn("pidfile %s", pidfile);
	if (!fg) {
		if (daemon(0, 0) < 0)
			fatal("daemon");
		log_set_foreground(false);
		if (pidfile)
			write_pidfile(pidfile);
	}
	log_info("started as %s (%u bridges), listening on %s", a.conf.relay_role ? "relay" : "agent",
		 a.nbr, sa6(&a.conf.listen));
	if (run(&a) < 0)
		ret = EX_SOFTWARE;
cleanup:
	if (a.conf.relay_role) {
		relay_server_free(&a);
	} else {
		vm_release_all(&a);
		relay_client_free(&a);
		mdbwatch_free(&a);
		bridges_free(&a);
		libvirt_free(&a);
	}
	if (a.ctl >= 0) {
		close(a.ctl);
		unlink(a.conf.control);
	}
	if (a.udp >= 0)
		close(a.udp);
	if (a.epfd >= 0)
		close(a.epfd);
	if (pidfile)
		unlink(pidfile);
	keyring_free(&a.keys);
	return ret;
}
