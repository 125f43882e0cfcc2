/* What every glm daemon does around its work, the same way: options from
 * one table that also generates the usage text (--help and --version
 * always answered), one instance per control socket (a lock taken before
 * anything is touched, so a second instance refuses to start and changes
 * nothing of the first), detaching only after set-up with the set-up's
 * result as the exit code of the command the operator typed, and the pid
 * file written by the process that runs. */
#ifndef GLM_DAEMON_H
#define GLM_DAEMON_H
#include "evloop.h"
#include "keys.h"
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct daemon_opt {
	char c;                  /* short option */
	const char *name;        /* long option */
	const char *arg;         /* its argument's name, NULL for a flag */
	const char *help;
};

/* The rows every daemon's table has, worded the same way. */
#define DAEMON_OPT_CONFIG(dflt) { 'f', "config", "FILE", "configuration (default " dflt ")" }
#define DAEMON_OPT_SOCKET(help) { 's', "socket", "PATH", help }
#define DAEMON_OPT_PIDFILE { 'p', "pidfile", "FILE", "write the daemon's pid here" }
#define DAEMON_OPT_FOREGROUND { 'd', "foreground", NULL, "stay in the foreground, log to stderr too" }
#define DAEMON_OPT_VERBOSE { 'v', "verbose", NULL, "debug logging (repeat for more)" }
#define DAEMON_OPT_CHECK { 'n', "check", NULL, "check the configuration and keyring, then exit" }

struct daemon_opts {
	const char *prog;        /* "imsd" */
	const char *synopsis;    /* one line after "usage: prog [options]" */
	const char *what;        /* one sentence on what the program is */
	const struct daemon_opt *opt;
	size_t n;                /* -h/--help and -V/--version are added */
};

void daemon_usage(const struct daemon_opts *d, FILE *f);
/* getopt_long over the table. Returns the option character, -1 at the end;
 * --help and --version are handled here (print, then exit 0); an unknown
 * option or a missing argument prints the usage to stderr and exits 64. */
int daemon_getopt(const struct daemon_opts *d, int argc, char **argv);

/* The options every daemon has (-f -s -p -d -v -n), parsed once for all:
 * the caller sets the defaults, daemon_parse overwrites what was given. */
struct daemon_args {
	const char *config, *socket, *pidfile;
	bool config_given, foreground, check;
	int verbose;
};
/* Parse argv with d's table: the options above into a, any other of the
 * table to other(ctx, c, optarg) (other may be NULL when there is none); a
 * positional argument is a usage error (exit 64). Then logging starts
 * (log_init: to stderr too until detached, debug with -v). */
void daemon_parse(const struct daemon_opts *d, int argc, char **argv, struct daemon_args *a,
		  void (*other)(void *ctx, int c, const char *arg), void *ctx);

/* The instance lock: lock_path is flock()ed for the life of the process
 * (an fd kept open across daemon_detach). Returns the fd, or -EEXIST
 * having logged "already running as pid N", or another -errno. */
int daemon_lock(const char *lock_path);
/* After daemon_detach(): the lock file names the pid that runs. */
void daemon_lock_owner(int fd);
/* Release: the lock file is removed by the instance that holds it. */
void daemon_unlock(int fd, const char *lock_path);
/* "<path>.lock" into out; -ENAMETOOLONG if it does not fit. */
int daemon_lock_path(const char *path, char *out, size_t cap);

/* Fork; the parent waits until the child reports its set-up result with
 * daemon_ready() and exits with it (EX_SOFTWARE if the child died first).
 * Returns, in the child, the fd to report on. */
int daemon_detach(void);
/* code 0: stdio to /dev/null, logging to syslog only; then tell the parent. */
void daemon_ready(int fd, int code);

/* Through the loop: SIGTERM and SIGINT stop it (logged), SIGHUP calls
 * reload(ctx). One set per process. */
int daemon_signals(struct evloop *l, void (*reload)(void *ctx), void *ctx);

/* What one running daemon holds of this file's services. */
struct daemon_run {
	struct evloop *loop;
	int lock;                /* the instance lock's fd, -1 */
	int ready;               /* the waiting parent's pipe, -1 */
	char lock_path[300];
};

/* The start every daemon makes before it touches anything, in this order:
 * the instance lock ("<socket>.lock"), the event loop with the signals
 * (daemon_signals), SIGPIPE ignored, and unless foreground the fork whose
 * parent waits for daemon_started(). Returns 0, or the exit code to
 * return with (having logged why): 64 path too long, 69 already running,
 * 73 lock not creatable, 71 loop or signals. */
int daemon_start(struct daemon_run *r, const char *socket_path, bool foreground, void (*reload)(void *ctx),
		 void *ctx);
/* Set-up over, with this result: the waiting parent exits with it. */
void daemon_started(struct daemon_run *r, int code);
/* The end: a parent still waiting is told code, the loop freed, the lock
 * released (r may be one daemon_start failed on). */
void daemon_finish(struct daemon_run *r, int code);

/* A daemon's parts, for daemon_main. ctx is the daemon's state. */
struct daemon_ops {
	const struct daemon_opts *cli;
	/* its own options, beyond -f -s -p -d -v -n (NULL: none) */
	void (*option)(void *ctx, int c, const char *arg);
	/* configuration and keyring, checked: 0 or the exit code (logged) */
	int (*load)(void *ctx, const struct daemon_args *args);
	/* the control socket, whose "<socket>.lock" is the instance lock */
	const char *(*socket)(void *ctx);
	/* sockets and modules, in the started loop: 0 or the exit code (logged) */
	int (*setup)(void *ctx, struct evloop *loop);
	/* after the loop, or after a setup that failed part way */
	void (*cleanup)(void *ctx);
	/* SIGHUP */
	void (*reload)(void *ctx);
	/* the end, whatever happened (keyring, configuration) */
	void (*free)(void *ctx);
};
/* The one main of every daemon: options, load (-n: "configuration OK"),
 * start (lock, loop, detach), setup, pid file, READY=1 to systemd (when
 * $NOTIFY_SOCKET is set; RELOADING=1 and READY=1 around a SIGHUP,
 * STOPPING=1 on SIGTERM), run until SIGTERM, cleanup, finish. args holds the defaults. Returns the exit code. */
int daemon_main(const struct daemon_ops *ops, void *ctx, struct daemon_args *args, int argc, char **argv);

/* SIGHUP's usual work: the keyring at path again, taken only if it loads,
 * its private key is key_id's (when not 0) with the given role (enum
 * glm_role) and owns home (when not NULL); otherwise the keys in use stay,
 * and the log says why. On success *keys is replaced and *key (when not
 * NULL) points to our own key in it. */
int daemon_reload_keyring(const char *path, uint32_t key_id, unsigned role, const struct in6_addr *home,
			  struct glm_keyring *keys, const struct glm_key **key);
#endif
