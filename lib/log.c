/* One logging wrapper: syslog always, stderr as well in the foreground. */
#include "log.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <unistd.h>

int log_verbose;
static bool log_fg = true;
static const char *log_ident = "glm";
static bool log_syslog = true;
static bool log_journal;  /* stderr is systemd's journal */

/* Under systemd, stderr is a stream into the journal ($JOURNAL_STREAM
 * names it, "DEV:INODE"): syslog would file every line a second time, so
 * stderr alone carries them, each with its priority as sd-daemon(3)'s
 * "<N>" prefix. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *ident, bool foreground, int verbose)
{
	log_ident = ident;
	log_fg = foreground;
	log_verbose = verbose;
	/* Without a syslog daemon (a bare namespace, an initramfs) glibc would
	 * try to connect again on every message: a system call storm in the
	 * middle of a handover. Then stderr is all there is. */
	log_syslog = access("/dev/log", W_OK) == 0 || !foreground;
	log_journal = foreground && stderr_is_journal();
	if (log_journal)
		log_syslog = false;
	if (log_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_foreground(bool foreground) { log_fg = foreground; }

static void vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_fg && log_journal) {
		if (suffix)
			fprintf(stderr, "<%d>%s: %s\n", pri, msg, suffix);
		else
			fprintf(stderr, "<%d>%s\n", pri, msg);
		fflush(stderr);
	} else if (log_fg) {
		if (suffix)
			fprintf(stderr, "%s: %s: %s\n", log_ident, msg, suffix);
		else
			fprintf(stderr, "%s: %s\n", log_ident, msg);
		fflush(stderr);
	}
	if (!log_syslog)
		return;
	if (suffix)
		syslog(pri, "%s: %s", msg, suffix);
	else
		syslog(pri, "%s", msg);
}

#define LOGFN(name, pri, witherr, cond)                                       \
	void name(const char *fmt, ...)                                       \
	{                                                                     \
		int saved = errno;                                            \
		va_list ap;                                                   \
		if (!(cond))                                                  \
			return;                                               \
		va_start(ap, fmt);                                            \
		vlog(pri, fmt, ap, witherr ? strerror(saved) : NULL);         \
		va_end(ap);                                                   \
		errno = saved;                                                \
	}
LOGFN(log_info, LOG_INFO, 0, 1)
LOGFN(log_debug, LOG_DEBUG, 0, log_verbose > 0)
LOGFN(log_warn, LOG_WARNING, 1, 1)
LOGFN(log_warnx, LOG_WARNING, 0, 1)

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
