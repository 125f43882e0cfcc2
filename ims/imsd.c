/* imsd: the IP address Mapping Server. This file is the process: options,
 * configuration, set-up, detaching, signals and the one epoll loop that
 * drives the UDP socket, the control socket and the expiry timer.
 *
 * Everything that can fail is set up before imsd detaches, and the parent
 * waits for the child to say so, so a bad database path or a taken port is
 * the exit code of the command the operator typed. Signal handlers only set
 * flags; the signals are blocked except inside epoll_pwait(), so a flag set
 * is never missed between the check and the wait. */
#include "conf.h"
#include "ctl.h"
#include "imsd.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sysexits.h>
#include <unistd.h>

static const struct opt {
	char c;
	const char *name, *arg, *help;
} opts[] = {
	{ 'f', "config", "FILE", "configuration file (default " IMSD_DEFAULT_CONF ")" },
	{ 'k', "keyring", "FILE", "keyring, overrides the configuration's 'keyring'" },
	{ 'D', "database", "FILE", "SQLite database, overrides 'database'" },
	{ 's', "socket", "PATH", "control socket, overrides 'control'" },
	{ 'p', "pidfile", "FILE", "write the daemon's pid here" },
	{ 'l', "listen", "[ADDR]:PORT", "UDP address to serve, overrides 'listen'" },
	{ 'd', "foreground", NULL, "stay in the foreground and log to stderr" },
	{ 'v', "verbose", NULL, "log each request (repeat for more)" },
	{ 'n', "check", NULL, "check configuration and keyring, then exit" },
	{ 'h', "help", NULL, "show this help" },
	{ 'V', "version", NULL, "show the version" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: imsd [options]\n\nThe glm IP address Mapping Server.\n\n");
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		char lhs[64];

		bool long_only = opts[i].c == 'h' || opts[i].c == 'V';

		snprintf(lhs, sizeof(lhs), "%s%c%s--%s%s%s", long_only ? "" : "-", long_only ? ' ' : opts[i].c,
			 long_only ? "   " : ", ", opts[i].name, opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-30s %s\n", lhs, opts[i].help);
	}
}

static volatile sig_atomic_t got_quit, got_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_quit = 1;
}

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

static void reload_keyring(struct imsd *d)
{
	struct glm_keyring kr;
	int r = keyring_load(d->conf.keyring, &kr);

	/* A broken edit must not take the server down: keep the old keys. */
	if (r < 0) {
		log_warnx("reload of keyring %s failed, keeping the %u keys in use", d->conf.keyring,
			  d->keys.n);
		return;
	}
	keyring_free(&d->keys);
	d->keys = kr;
	log_info("keyring %s reloaded: %u keys", d->conf.keyring, d->keys.n);
}

/* Fork; the parent waits until the child reports its set-up result on a
 * pipe and exits with it. Returns the write end in the child. */
static int detach(void)
{
	int p[2];
	pid_t pid;
	unsigned char code = EX_OSERR;

	if (pipe2(p, O_CLOEXEC) < 0)
		fatal("pipe");
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &code, 1) != 1)
			code = EX_SOFTWARE; /* the child died before saying */
		_exit(code);
	}
	close(p[0]);
	setsid();
	return p[1];
}

static void detach_done(int fd, unsigned char code)
{
	int null;

	if (fd < 0)
		return;
	if (code == 0) {
		null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			close(null);
		}
		log_set_foreground(false);
	}
	if (write(fd, &code, 1) != 1) {
		/* The parent is gone; nothing to tell. */
	}
	close(fd);
}

static int loop(struct imsd *d, int ctl, int tfd, const sigset_t *waitmask)
{
	struct epoll_event ev[8];
	int ep = epoll_create1(EPOLL_CLOEXEC), r = 0;

	if (ep < 0)
		return -errno;
	int fds[] = { d->udp, ctl, tfd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.fd = fds[i] };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e) < 0) {
			r = -errno;
			goto cleanup;
		}
	}
	while (!got_quit) {
		int n = epoll_pwait(ep, ev, ARRAY_SIZE(ev), -1, waitmask);

		if (n < 0 && errno != EINTR) {
			r = -errno;
			goto cleanup;
		}
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd;

			if (fd == d->udp) {
				int e = requests_batch(d);
				if (e < 0)
					log_warnx("receive on %s: %s", sa6(&d->conf.listen), strerror(-e));
			} else if (fd == ctl) {
				ctl_serve(ctl, control_request, d);
			} else if (fd == tfd) {
				uint64_t ticks;
				if (read(tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					log_warn("timerfd");
				expiry_tick(d);
			}
		}
		if (got_hup) {
			got_hup = 0;
			reload_keyring(d);
		}
	}
cleanup:
	close(ep);
	return r;
}

/* Not udp6_socket(): it sets SO_REUSEADDR, with which a second imsd could
 * bind the same UDP port and silently take over part of the traffic. A
 * running server must make the second one fail instead. */
static int serve_socket(const struct sockaddr_in6 *sa)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, r;
	int rcvbuf = 4 << 20;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* A burst of updates waits here while a commit is on its way to disk. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
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

int main(int argc, char **argv)
{
	const char *conf_path = IMSD_DEFAULT_CONF, *pidfile = NULL;
	const char *o_keyring = NULL, *o_db = NULL, *o_ctl = NULL, *o_listen = NULL;
	bool foreground = false, check = false, conf_given = false;
	int verbose = 0, ctl = -1, tfd = -1, ready = -1, code = EX_OK, r;
	struct option lopts[ARRAY_SIZE(opts) + 1];
	char shortopts[2 * ARRAY_SIZE(opts) + 1], *sp = shortopts;
	struct imsd d = { .udp = -1 };
	sigset_t block, orig;

	memset(lopts, 0, sizeof(lopts));
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		lopts[i] = (struct option){ opts[i].name, opts[i].arg ? required_argument : no_argument,
					    NULL, opts[i].c };
		if (opts[i].c != 'h' && opts[i].c != 'V') {
			*sp++ = opts[i].c;
			if (opts[i].arg)
				*sp++ = ':';
		}
	}
	*sp = '\0';
	for (int c; (c = getopt_long(argc, argv, shortopts, lopts, NULL)) != -1;) {
		switch (c) {
		case 'f': conf_path = optarg; conf_given = true; break;
		case 'k': o_keyring = optarg; break;
		case 'D': o_db = optarg; break;
		case 's': o_ctl = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'l': o_listen = optarg; break;
		case 'd': foreground = true; break;
		case 'v': verbose++; break;
		case 'n': check = true; break;
		case 'h': usage(stdout); return EX_OK;
		case 'V': printf("imsd %s\n", GLM_VERSION); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "imsd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EX_USAGE;
	}
	/* Until detached, every message also reaches the terminal. */
	log_init("imsd", true, verbose);

	conf_defaults(&d.conf);
	/* Without -f, a missing default file means "all defaults". */
	if (!conf_given && access(conf_path, F_OK) < 0 && errno == ENOENT)
		r = 0;
	else
		r = conf_load(conf_path, &d.conf);
	if (r < 0) {
		code = exit_code_for(r);
		goto cleanup;
	}
	if (o_listen && parse_sockaddr6(o_listen, IMSD_DEFAULT_PORT, &d.conf.listen)) {
		log_warnx("bad listen address '%s' (expected [ADDR]:PORT)", o_listen);
		code = EX_USAGE;
		goto cleanup;
	}
	r = 0;
	if (o_keyring) { free(d.conf.keyring); d.conf.keyring = strdup(o_keyring); r |= !d.conf.keyring; }
	if (o_db) { free(d.conf.database); d.conf.database = strdup(o_db); r |= !d.conf.database; }
	if (o_ctl) { free(d.conf.control); d.conf.control = strdup(o_ctl); r |= !d.conf.control; }
	if (r || set_default(&d.conf.keyring, IMSD_DEFAULT_KEYRING) ||
	    set_default(&d.conf.database, IMSD_DEFAULT_DB) || set_default(&d.conf.control, IMSD_DEFAULT_CTL)) {
		code = EX_OSERR;
		goto cleanup;
	}
	r = keyring_load(d.conf.keyring, &d.keys);
	if (r < 0) {
		code = exit_code_for(r);
		goto cleanup;
	}
	if (d.keys.n == 0)
		log_warnx("keyring %s has no keys: every request will be dropped", d.conf.keyring);
	if (check) {
		printf("configuration OK\n");
		goto cleanup;
	}

	if (!foreground)
		ready = detach();

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	r = store_open(d.conf.database, &d.store);
	if (r < 0) {
		log_warnx("database %s: %s", d.conf.database, store_errmsg(d.store));
		code = EX_CANTCREAT;
		goto cleanup;
	}
	d.udp = serve_socket(&d.conf.listen);
	if (d.udp < 0) {
		log_warnx("listen on %s: %s", sa6(&d.conf.listen), strerror(-d.udp));
		code = EX_UNAVAILABLE;
		goto cleanup;
	}
	ctl = ctl_listen(d.conf.control);
	if (ctl < 0) {
		log_warnx("control socket %s: %s", d.conf.control, strerror(-ctl));
		code = EX_CANTCREAT;
		goto cleanup;
	}
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
	if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0) {
		log_warn("timerfd");
		code = EX_OSERR;
		goto cleanup;
	}
	if (pidfile && (r = write_pidfile(pidfile)) < 0) {
		log_warnx("pid file %s: %s", pidfile, strerror(-r));
		code = EX_CANTCREAT;
		goto cleanup;
	}
	log_info("serving %s, database %s, %u keys, control %s", sa6(&d.conf.listen),
		 d.conf.database, d.keys.n, d.conf.control);
	detach_done(ready, EX_OK);
	ready = -1;

	r = loop(&d, ctl, tfd, &orig);
	if (r < 0) {
		log_warnx("event loop: %s", strerror(-r));
		code = EX_OSERR;
	} else {
		log_info("exiting");
	}
cleanup:
	detach_done(ready, (unsigned char)code);
	if (ctl >= 0) {
		close(ctl);
		unlink(d.conf.control);
	}
	if (pidfile && code == EX_OK && !check)
		unlink(pidfile);
	if (tfd >= 0)
		close(tfd);
	if (d.udp >= 0)
		close(d.udp);
	store_close(d.store);
	keyring_free(&d.keys);
	sendq_free(&d.out);
	free(d.subs);
	free(d.kseq);
	conf_free(&d.conf);
	return code;
}
