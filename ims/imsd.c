/* imsd: the IP address Mapping Server. This file is the process: options,
 * configuration, set-up, detaching (lib's daemon.c) and the event loop
 * (lib's evloop.c) that drives the UDP socket, the control socket, the
 * expiry timer and the signals.
 *
 * Everything that can fail is set up before imsd detaches, and the parent
 * waits for the child to say so, so a bad database path or a taken port is
 * the exit code of the command the operator typed. A second imsd on the
 * same control socket refuses to start and touches nothing of the first. */
#include "conf.h"
#include "ctl.h"
#include "daemon.h"
#include "imsd.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static const struct daemon_opt opts[] = {
	DAEMON_OPT_CONFIG(IMSD_DEFAULT_CONF),
	{ 'k', "keyring", "FILE", "keyring, overrides the configuration's 'keyring'" },
	{ 'D', "database", "FILE", "SQLite database, overrides 'database'" },
	DAEMON_OPT_SOCKET("control socket, overrides 'control'"),
	{ 'l', "listen", "[ADDR]:PORT", "UDP address to serve, overrides 'listen'" },
	DAEMON_OPT_PIDFILE, DAEMON_OPT_FOREGROUND, DAEMON_OPT_VERBOSE, DAEMON_OPT_CHECK,
};
static const struct daemon_opts cli = { "imsd", NULL, "The glm IP address Mapping Server.", opts, ARRAY_SIZE(opts) };

static int exit_code_for(int err)
{
	switch (err) {
	case -ENOENT:
	case -EACCES:
		return EX_NOINPUT;
	case -ENOMEM:
		return EX_OSERR;
	default:
		return EX_CONFIG;
	}
}

/* SIGHUP: a broken edit must not take the server down: keep the old keys. */
static void reload_keyring(void *arg)
{
	struct imsd *d = arg;

	daemon_reload_keyring(d->conf.keyring, 0, GLM_ROLE_IMS, NULL, &d->keys, NULL);
}

static void on_udp(void *arg)
{
	struct imsd *d = arg;
	int e = requests_batch(d);

	if (e < 0)
		log_warnx("receive on %s: %s", sa6(&d->conf.listen), strerror(-e));
}

static void on_ctl(void *arg)
{
	struct imsd *d = arg;

	ctl_serve(d->ctl, control_request, d);
}

static void on_expiry(void *arg)
{
	struct imsd *d = arg;

	expiry_tick(d);
	ev_timer_in(d->loop, &d->expiry, 1000);
}

/* Not udp6_socket(): it sets SO_REUSEADDR, with which a second imsd could
 * bind the same UDP port and silently take over part of the traffic. A
 * running server must make the second one fail instead. */
static int serve_socket(const struct sockaddr_in6 *sa)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, r;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* A burst of updates waits here while a commit is on its way to disk. */
	sock_rcvbuf(fd, 4 << 20);
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int set_default(char **p, const char *v)
{
	if (!*p)
		*p = strdup(v);
	return *p ? 0 : -ENOMEM;
}


static void imsd_option(void *ctx, int c, const char *arg)
{
	struct imsd_overrides *o = &((struct imsd *)ctx)->overrides;

	switch (c) {
	case 'k': o->keyring = arg; break;
	case 'D': o->db = arg; break;
	case 'l': o->listen = arg; break;
	}
}

/* Configuration (the options over it) and keyring: 0, or the exit code. */
static int imsd_load(void *ctx, const struct daemon_args *args)
{
	struct imsd *d = ctx;
	const struct imsd_overrides *o = &d->overrides;
	int r = 0;

	conf_defaults(&d->conf);
	/* Without -f, a missing default file means "all defaults". */
	if (args->config_given || access(args->config, F_OK) == 0 || errno != ENOENT)
		r = conf_load(args->config, &d->conf);
	if (r < 0)
		return exit_code_for(r);
	if (o->listen && parse_sockaddr6(o->listen, IMSD_DEFAULT_PORT, &d->conf.listen))
		return log_warnx("bad listen address '%s' (expected [ADDR]:PORT)", o->listen), EX_USAGE;
	if (o->keyring) { free(d->conf.keyring); d->conf.keyring = strdup(o->keyring); r |= !d->conf.keyring; }
	if (o->db) { free(d->conf.database); d->conf.database = strdup(o->db); r |= !d->conf.database; }
	if (args->socket) { free(d->conf.control); d->conf.control = strdup(args->socket); r |= !d->conf.control; }
	if (o->db && d->conf.store == IMSD_STORE_ETCD)
		return log_warnx("-D: the configuration says 'store etcd'"), EX_USAGE;
	if (r || set_default(&d->conf.keyring, IMSD_DEFAULT_KEYRING) ||
	    (d->conf.store == IMSD_STORE_SQLITE && set_default(&d->conf.database, IMSD_DEFAULT_DB)) ||
	    (d->conf.store == IMSD_STORE_ETCD && set_default(&d->conf.etcd.prefix, ETCD_DEFAULT_PREFIX)) ||
	    set_default(&d->conf.control, IMSD_DEFAULT_CTL))
		return EX_OSERR;
	if ((r = keyring_load(d->conf.keyring, &d->keys)) < 0)
		return exit_code_for(r);
	if (keyring_self(&d->keys)->role != GLM_ROLE_IMS) {
		log_warnx("keyring %s: its private key %u is a %s's, not an ims's", d->conf.keyring, d->keys.self_id,
			  glm_role_name(keyring_self(&d->keys)->role));
		return EX_CONFIG;
	}
	if (d->keys.n == 1)
		log_warnx("keyring %s has no keys but our own: every request will be dropped", d->conf.keyring);
	return 0;
}

/* Sockets, then the database (a server whose port is taken creates no
 * database file), in the started loop: 0, or the exit code (logged). */
static int imsd_setup(void *ctx, struct evloop *loop)
{
	struct imsd *d = ctx;
	int r;

	d->loop = loop;
	/* before the socket exists: whatever it receives was sent after this */
	d->since = realtime_ns();
	glm_proof_init(&d->proof);
	d->udp = serve_socket(&d->conf.listen);
	if (d->udp < 0)
		return log_warnx("listen on %s: %s", sa6(&d->conf.listen), strerror(-d->udp)), EX_UNAVAILABLE;
	d->ctl = ctl_listen(d->conf.control);
	if (d->ctl < 0)
		return log_warnx("control socket %s: %s", d->conf.control, strerror(-d->ctl)), EX_CANTCREAT;
	if (d->conf.store == IMSD_STORE_ETCD) {
		/* etcd being away is no reason not to start: it syncs once it answers */
		if ((r = estore_open(d)) < 0)
			return log_warnx("etcd: %s", strerror(-r)), EX_CONFIG;
	} else if (store_open(d->conf.database, &d->store) < 0) {
		return log_warnx("database %s: %s", d->conf.database, store_errmsg(d->store)), EX_CANTCREAT;
	}
	if ((r = ev_watch(d->loop, d->udp, on_udp, d)) < 0 || (r = ev_watch(d->loop, d->ctl, on_ctl, d)) < 0)
		return log_warnx("event loop: %s", strerror(-r)), EX_OSERR;
	ev_timer_in(d->loop, &d->expiry, 1000);
	ev_timer_init(&d->dump_timer, "dump", on_dump_timer, d);
	mx_hist_init(&d->store_write, mx_seconds_le, mx_seconds_n);
	if (d->conf.has_metrics && (r = metrics_http_start(&d->metrics, loop, &d->conf.metrics, imsd_metrics, d)) < 0)
		return log_warnx("metrics on %s: %s", sa6(&d->conf.metrics), strerror(-r)), EX_UNAVAILABLE;
	if (d->es)
		log_info("serving %s, store etcd (%u endpoints, prefix %s), %u keys, control %s", sa6(&d->conf.listen),
			 d->conf.etcd.nendpoints, d->conf.etcd.prefix, d->keys.n, d->conf.control);
	else
		log_info("serving %s, database %s, %u keys, control %s", sa6(&d->conf.listen), d->conf.database,
			 d->keys.n, d->conf.control);
	return 0;
}

static const char *imsd_socket(void *ctx) { return ((struct imsd *)ctx)->conf.control; }

static void imsd_cleanup(void *ctx)
{
	struct imsd *d = ctx;

	ev_timer_stop(&d->expiry);
	ev_timer_stop(&d->dump_timer);
	metrics_http_free(d->metrics);
	d->metrics = NULL;
	/* its watch's socket and timers are the loop's: before the loop goes */
	estore_close(d);
	if (d->ctl >= 0) {
		close(d->ctl);
		unlink(d->conf.control);
	}
	if (d->udp >= 0)
		close(d->udp);
	d->ctl = d->udp = -1;
}

static void imsd_free(void *ctx)
{
	struct imsd *d = ctx;

	store_close(d->store);
	estore_close(d);
	keyring_free(&d->keys);
	glm_cookie_wipe(&d->cookies);
	sendq_free(&d->out);
	subs_free(d);
	conf_free(&d->conf);
}

int main(int argc, char **argv)
{
	static const struct daemon_ops ops = {
		.cli = &cli, .option = imsd_option, .load = imsd_load, .socket = imsd_socket, .setup = imsd_setup,
		.cleanup = imsd_cleanup, .reload = reload_keyring, .free = imsd_free,
	};
	struct daemon_args args = { .config = IMSD_DEFAULT_CONF };
	static struct imsd d = { .udp = -1, .ctl = -1 }; /* large: off the stack */

	/* Until detached, every message also reaches the terminal. */
	ev_timer_init(&d.expiry, "expiry", on_expiry, &d);
	return daemon_main(&ops, &d, &args, argc, argv);
}
