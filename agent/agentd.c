/* glm-agentd main: options, configuration, set-up and detaching (lib's
 * daemon.c), the event loop (lib's evloop.c) with its signals, and the UDP
 * dispatcher. See agentd.h for the modules. */
#include "agentd.h"
#include "agent_int.h"
#include "ctl.h"
#include "daemon.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

static void udp_input(struct agentd *a, void *arg)
{
	(void)arg;
	for (int budget = 0; budget < 256; budget++) {
		uint8_t buf[GLM_MSG_MAX];
		struct sockaddr_in6 from;
		const struct glm_key *key;
		struct glm_msg m;
		int r = glm_recv_msg(a->udp, &a->keys, a->since, buf, sizeof(buf), &m, &key, &from, &a->rx, a->drops);

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
			if (!a->conf.relay_role)
				prepare_msg(a, &m, key, &from);
			else
				a->refused++;
			break;
		case GLM_COOKIE:
			/* for a RELAY_REQUEST or a QUERY of ours: each side
			 * takes the ones whose seq it sent */
			if (!a->conf.relay_role) {
				relay_client_msg(a, &m, key, &from);
				prepare_msg(a, &m, key, &from);
			} else {
				a->refused++;
			}
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

/* SIGHUP: the keyring again; a broken one keeps the keys in use. */
static void reload(void *arg)
{
	struct agentd *a = arg;

	daemon_reload_keyring(a->conf.keyring, a->conf.key_id, GLM_ROLE_AGENT, NULL, &a->keys, &a->key);
}

static const struct daemon_opt agentd_opts[] = {
	DAEMON_OPT_CONFIG("/etc/glm/agentd.conf"),
	DAEMON_OPT_SOCKET("control socket (overrides 'control')"),
	DAEMON_OPT_PIDFILE, DAEMON_OPT_FOREGROUND, DAEMON_OPT_VERBOSE, DAEMON_OPT_CHECK,
};
static const struct daemon_opts agentd_cli = {
	"glm-agentd", NULL, "glm's per-host agent (or, with 'role relay', the multicast relay).", agentd_opts,
	ARRAY_SIZE(agentd_opts),
};

/* Configuration and keyring, checked: 0, or the exit code (logged). */
static int agentd_load(void *ctx, const struct daemon_args *args)
{
	struct agentd *a = ctx;

	if (agent_conf_load(args->config, &a->conf) < 0)
		return EX_CONFIG;
	if (args->socket) {
		if (strlen(args->socket) >= sizeof(a->conf.control))
			return log_warnx("socket path too long"), EX_USAGE;
		strcpy(a->conf.control, args->socket);
	}
	if (keyring_load(a->conf.keyring, &a->keys) < 0)
		return EX_CONFIG;
	a->key = keyring_self(&a->keys);
	if ((a->conf.key_id && a->conf.key_id != a->keys.self_id) || a->key->role != GLM_ROLE_AGENT) {
		log_warnx("%s: key-id %u, but keyring %s holds the private key of %s %u", args->config, a->conf.key_id,
			  a->conf.keyring, glm_role_name(a->key->role), a->keys.self_id);
		return EX_CONFIG;
	}
	if (!a->conf.relay_role && agent_check_bridges(&a->conf, args->config) < 0)
		return EX_CONFIG;
	return 0;
}

/* Sockets and modules, in the started loop: 0, or the exit code (logged). */
static int agentd_setup(void *ctx, struct evloop *loop)
{
	struct agentd *a = ctx;
	int r;

	a->loop = loop;
	/* before the socket exists: whatever it receives was sent after this */
	a->since = realtime_ns();
	a->udp = udp6_socket(&a->conf.listen);
	if (a->udp < 0)
		return log_warnx("listen %s: %s", sa6(&a->conf.listen), strerror(-a->udp)), EX_OSERR;
	sock_rcvbuf(a->udp, 4 << 20);
	a->ctl = ctl_listen(a->conf.control);
	if (a->ctl < 0)
		return log_warnx("control socket %s: %s", a->conf.control, strerror(-a->ctl)), EX_OSERR;
	if ((r = agentd_watch(a, a->udp, udp_input, NULL)) < 0 || (r = agentd_watch(a, a->ctl, ctl_input, NULL)) < 0)
		return log_warnx("event loop: %s", strerror(-r)), EX_OSERR;
	for (unsigned i = 0; i < AGENT_HOOK_EVENTS; i++)
		mx_hist_init(&a->mx.hook_seconds[i], mx_seconds_le, mx_seconds_n);
	if (a->conf.has_metrics && (r = metrics_http_start(&a->metrics, loop, &a->conf.metrics, agent_metrics, a)) < 0)
		return log_warnx("metrics on %s: %s", sa6(&a->conf.metrics), strerror(-r)), EX_UNAVAILABLE;
	if (a->conf.relay_role) {
		if (relay_server_init(a) < 0)
			return EX_OSERR;
		log_info("started as relay, listening on %s", sa6(&a->conf.listen));
		return 0;
	}
	if (bridges_init(a) < 0 || relay_client_init(a) < 0 || mdbwatch_init(a) < 0)
		return EX_OSERR;
	libvirt_init(a);
	log_info("started as agent (%u bridges), listening on %s", a->nbr, sa6(&a->conf.listen));
	return 0;
}

static void agentd_cleanup(void *ctx)
{
	struct agentd *a = ctx;

	metrics_http_free(a->metrics);
	a->metrics = NULL;
	if (a->conf.relay_role) {
		relay_server_free(a);
	} else {
		vm_release_all(a);
		relay_client_free(a);
		mdbwatch_free(a);
		bridges_free(a);
		libvirt_free(a);
	}
	if (a->ctl >= 0) {
		close(a->ctl);
		unlink(a->conf.control);
	}
	if (a->udp >= 0)
		close(a->udp);
	agentd_unwatch_all(a);
}

static const char *agentd_socket(void *ctx) { return ((struct agentd *)ctx)->conf.control; }

static void agentd_free(void *ctx)
{
	struct agentd *a = ctx;

	keyring_free(&a->keys);
	agent_conf_free(&a->conf);
}

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
		.cli = &agentd_cli, .load = agentd_load, .socket = agentd_socket, .setup = agentd_setup,
		.cleanup = agentd_cleanup, .reload = reload, .free = agentd_free,
	};
	struct daemon_args args = { .config = "/etc/glm/agentd.conf" };
	static struct agentd a = { .udp = -1, .ctl = -1 };

	return daemon_main(&ops, &a, &args, argc, argv);
}
