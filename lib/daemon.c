/* The daemons' common scaffolding: options table and usage, the instance
 * lock, detaching with the set-up result, the pid file. See daemon.h. */
#include "daemon.h"
#include "log.h"
#include "sdnotify.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sysexits.h>
#include <unistd.h>

#define DAEMON_MAX_OPTS 32

static const struct daemon_opt builtin[] = {
	{ 'h', "help", NULL, "show this help" },
	{ 'V', "version", NULL, "show the version" },
};

void daemon_usage(const struct daemon_opts *d, FILE *f)
{
	fprintf(f, "usage: %s [options]%s%s\n\n%s\n\n", d->prog, d->synopsis ? " " : "", d->synopsis ? d->synopsis : "",
		d->what);
	for (size_t i = 0; i < d->n + 2; i++) {
		const struct daemon_opt *o = i < d->n ? &d->opt[i] : &builtin[i - d->n];
		char lhs[64];

		snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", o->c, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
		fprintf(f, "  %-30s %s\n", lhs, o->help);
	}
}

int daemon_getopt(const struct daemon_opts *d, int argc, char **argv)
{
	static struct option lo[DAEMON_MAX_OPTS + 3];
	static char so[DAEMON_MAX_OPTS * 2 + 8];
	static const struct daemon_opts *built;
	int c;

	if (built != d) {
		size_t k = 0, n = d->n < DAEMON_MAX_OPTS ? d->n : DAEMON_MAX_OPTS;

		so[k++] = ':'; /* a missing argument is ':', not '?' */
		for (size_t i = 0; i < n + 2; i++) {
			const struct daemon_opt *o = i < n ? &d->opt[i] : &builtin[i - n];

			lo[i] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL, o->c };
			so[k++] = o->c;
			if (o->arg)
				so[k++] = ':';
		}
		lo[n + 2] = (struct option){ 0 };
		so[k] = '\0';
		built = d;
	}
	c = getopt_long(argc, argv, so, lo, NULL);
	switch (c) {
	case 'h':
		daemon_usage(d, stdout);
		exit(EX_OK);
	case 'V':
		printf("%s %s\n", d->prog, GLM_VERSION);
		exit(EX_OK);
	case ':':
		fprintf(stderr, "%s: option %s needs an argument\n", d->prog, argv[optind - 1]);
		daemon_usage(d, stderr);
		exit(EX_USAGE);
	case '?':
		fprintf(stderr, "%s: unknown option %s\n", d->prog, argv[optind - 1]);
		daemon_usage(d, stderr);
		exit(EX_USAGE);
	}
	return c;
}

void daemon_parse(const struct daemon_opts *d, int argc, char **argv, struct daemon_args *a,
		  void (*other)(void *ctx, int c, const char *arg), void *ctx)
{
	int c;

	while ((c = daemon_getopt(d, argc, argv)) != -1) {
		switch (c) {
		case 'f': a->config = optarg; a->config_given = true; break;
		case 's': a->socket = optarg; break;
		case 'p': a->pidfile = optarg; break;
		case 'd': a->foreground = true; break;
		case 'v': a->verbose++; break;
		case 'n': a->check = true; break;
		default:
			if (other)
				other(ctx, c, optarg);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", d->prog, argv[optind]);
		daemon_usage(d, stderr);
		exit(EX_USAGE);
	}
	log_init(d->prog, true, a->verbose);
}

int daemon_lock_path(const char *path, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.lock", path);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

void daemon_lock_owner(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (fd < 0 || ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return;
}

int daemon_lock(const char *lock_path)
{
	int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644), e;
	char buf[32] = "";

	if (fd < 0) {
		e = -errno;
		log_warn("lock %s", lock_path);
		return e;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		/* ours: the pid of whoever holds it, for the next one to name */
		daemon_lock_owner(fd);
		return fd;
	}
	e = errno;
	if (e == EWOULDBLOCK) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		log_warnx("already running as pid %s (%s is locked): this one changes nothing and exits",
			  buf[0] ? buf : "?", lock_path);
		close(fd);
		return -EEXIST;
	}
	close(fd);
	errno = e;
	log_warn("lock %s", lock_path);
	return -e;
}

void daemon_unlock(int fd, const char *lock_path)
{
	if (fd < 0)
		return;
	unlink(lock_path);
	close(fd);
}

int daemon_detach(void)
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

void daemon_ready(int fd, int code)
{
	unsigned char c = (unsigned char)code;

	if (fd < 0)
		return;
	if (code == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			close(null);
		}
		log_set_foreground(false);
	}
	if (write(fd, &c, 1) != 1) {
		/* the parent is gone: nothing to tell */
	}
	close(fd);
}

static struct {
	struct evloop *loop;
	void (*reload)(void *ctx);
	void *ctx;
} sig;

static void on_signal(int s, void *arg)
{
	(void)arg;
	if (s == SIGHUP) {
		/* systemctl reload waits from RELOADING=1 to READY=1 */
		sd_notifyf_state("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)(now_ns() / 1000));
		if (sig.reload)
			sig.reload(sig.ctx);
		sd_notify_state("READY=1");
		return;
	}
	log_info("signal %d: shutting down", s);
	sd_notify_state("STOPPING=1");
	evloop_stop(sig.loop, 0);
}

int daemon_signals(struct evloop *l, void (*reload)(void *ctx), void *ctx)
{
	int r;

	sig.loop = l;
	sig.reload = reload;
	sig.ctx = ctx;
	if ((r = ev_signal(l, SIGTERM, on_signal, NULL)) < 0 || (r = ev_signal(l, SIGINT, on_signal, NULL)) < 0 ||
	    (r = ev_signal(l, SIGHUP, on_signal, NULL)) < 0)
		return r;
	return 0;
}

int daemon_reload_keyring(const char *path, uint32_t key_id, unsigned role, const struct in6_addr *home,
			  struct glm_keyring *keys, const struct glm_key **key)
{
	struct glm_keyring kr;
	const struct glm_key *k;
	int r = keyring_load(path, &kr);

	if (r < 0) {
		log_warnx("SIGHUP: reload of keyring %s failed, keeping the %u keys in use", path, keys->n);
		return r;
	}
	k = keyring_self(&kr);
	if ((key_id && kr.self_id != key_id) || k->role != role) {
		log_warnx("SIGHUP: keyring %s holds the private key of %s %u, not of %s %u; keeping the %u keys in use",
			  path, glm_role_name(k->role), kr.self_id, glm_role_name(role), key_id ? key_id : kr.self_id,
			  keys->n);
		keyring_free(&kr);
		return -ENOKEY;
	}
	if (home && !key_owns_home(k, home)) {
		log_warnx("SIGHUP: keyring %s: key-id %u does not own %s, keeping the %u keys in use", path, key_id,
			  a6(home), keys->n);
		keyring_free(&kr);
		return -EPERM;
	}
	keyring_free(keys);
	*keys = kr;
	if (key)
		*key = keyring_self(keys);
	log_info("SIGHUP: keyring %s reloaded: %u keys", path, keys->n);
	return 0;
}

int daemon_start(struct daemon_run *r, const char *socket_path, bool foreground, void (*reload)(void *ctx),
		 void *ctx)
{
	int e;

	r->loop = NULL;
	r->lock = r->ready = -1;
	if (daemon_lock_path(socket_path, r->lock_path, sizeof(r->lock_path)) < 0) {
		log_warnx("control socket path %s too long", socket_path);
		return EX_USAGE;
	}
	r->lock = daemon_lock(r->lock_path);
	if (r->lock < 0)
		return r->lock == -EEXIST ? EX_UNAVAILABLE : EX_CANTCREAT;
	/* Fork first: a signalfd in an epoll set wakes it for the process
	 * that added it, so the loop is made by the one that runs it. */
	if (!foreground) {
		r->ready = daemon_detach();
		daemon_lock_owner(r->lock);
	}
	if ((e = evloop_new(&r->loop)) < 0 || (e = daemon_signals(r->loop, reload, ctx)) < 0) {
		log_warnx("event loop: %s", strerror(-e));
		return EX_OSERR;
	}
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void daemon_started(struct daemon_run *r, int code)
{
	daemon_ready(r->ready, code);
	r->ready = -1;
}

void daemon_finish(struct daemon_run *r, int code)
{
	daemon_started(r, code);
	evloop_free(r->loop);
	r->loop = NULL;
	if (r->lock >= 0)
		daemon_unlock(r->lock, r->lock_path);
	r->lock = -1;
}

int daemon_main(const struct daemon_ops *ops, void *ctx, struct daemon_args *args, int argc, char **argv)
{
	struct daemon_run run = { .lock = -1, .ready = -1 };
	int ret, r;

	daemon_parse(ops->cli, argc, argv, args, ops->option, ctx);
	if ((ret = ops->load(ctx, args)) != 0 || args->check) {
		if (!ret)
			printf("configuration OK\n");
		goto out;
	}
	/* One instance per control socket, before anything is touched: a
	 * second one must not take over the socket or, when it exits, remove
	 * the first one's pid file, nftables table or addresses. */
	if ((ret = daemon_start(&run, ops->socket(ctx), args->foreground, ops->reload, ctx)) != 0)
		goto out;
	if ((ret = ops->setup(ctx, run.loop)) == 0 && args->pidfile && (r = write_pidfile(args->pidfile)) < 0) {
		log_warnx("pid file %s: %s", args->pidfile, strerror(-r));
		ret = EX_CANTCREAT;
	}
	if (ret == 0) {
		daemon_started(&run, EX_OK);
		/* Type=notify: set-up is over, the sockets are there */
		if ((r = sd_notify_state("READY=1")) < 0)
			log_warnx("NOTIFY_SOCKET %s: %s", getenv("NOTIFY_SOCKET"), strerror(-r));
		if ((r = evloop_run(run.loop)) < 0) {
			log_warnx("event loop: %s", strerror(-r));
			ret = EX_SOFTWARE;
		} else {
			log_info("exiting");
		}
	}
	daemon_started(&run, ret);
	ops->cleanup(ctx);
	if (args->pidfile && ret == EX_OK)
		unlink(args->pidfile);
out:
	daemon_finish(&run, ret);
	ops->free(ctx);
	return ret;
}
