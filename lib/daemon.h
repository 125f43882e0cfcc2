/* What every glm daemon does around its work, the same way: options from
 * one table that also generates the usage text (--help and --version
 * always answered), one instance per control socket (a lock taken before
 * anything is touched, so a second instance refuses to start and changes
 * nothing of the first), detaching only after set-up with the set-up's
 * result as the exit code of the command the operator typed, and the pid
 * file written by the process that runs. */
#ifndef GLM_DAEMON_H
#define GLM_DAEMON_H
#include <stddef.h>
#include <stdio.h>

struct daemon_opt {
	char c;                  /* short option */
	const char *name;        /* long option */
	const char *arg;         /* its argument's name, NULL for a flag */
	const char *help;
};

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

/* Write our pid to path (after detaching: the pid that runs). */
int daemon_write_pid(const char *path);

/* Fork; the parent waits until the child reports its set-up result with
 * daemon_ready() and exits with it (EX_SOFTWARE if the child died first).
 * Returns, in the child, the fd to report on. */
int daemon_detach(void);
/* code 0: stdio to /dev/null, logging to syslog only; then tell the parent. */
void daemon_ready(int fd, int code);
#endif
