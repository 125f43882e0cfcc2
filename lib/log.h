/* Logging for every glm program: syslog, mirrored to stderr while in the
 * foreground (-d) or before daemonizing, so set-up failures reach the
 * operator's terminal. Under systemd (-d, $JOURNAL_STREAM naming stderr)
 * stderr alone, each line with its "<N>" priority. Modelled on OpenBSD's
 * log.h. */
#ifndef GLM_LOG_H
#define GLM_LOG_H
#include <stdbool.h>

void log_init(const char *ident, bool foreground, int verbose);
void log_set_foreground(bool foreground);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
extern int log_verbose;
#endif
