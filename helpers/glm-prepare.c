/* glm-prepare: what the libvirt hook runs to tell this host's glm-agentd
 * about a domain. Reads the domain XML on stdin once, parses it (the one
 * domain XML parser, lib/domxml.c) and sends one request:
 *   incoming  a domain is about to arrive (hook: migrate begin, prepare
 *             begin): proxy joins, reception check, relay; with --prepare
 *             also PREPARE to the guest's matd
 *   started   its taps exist (hook: start begin, started begin, reconnect
 *             begin): hold flooding to an arriving VM's taps, pin the
 *             ports into the groups
 *   release   it is gone (hook: stopped end, release end)
 * The request is lib/hookreq.h's, written by its encoder into a buffer
 * that holds the longest one. Prints nothing on stdout (a migrate hook's
 * stdout would replace the XML). libvirt waits for its hooks: the XML
 * read, the request sent and its answer taken all within --timeout (an
 * agent that does not accept, take the request or answer is given up at
 * it), the run ended within PREPARE_GRACE_MS more whatever blocks it.
 * Every failure is logged to syslog with its reason and the exit code
 * says which (0 done or nothing to do, 65 bad XML or refused, 69 agent
 * not reachable, 75 agent too slow or the run out of time). */
#include "conf.h"
#include "ctl.h"
#include "domxml.h"
#include "hookreq.h"
#include "log.h"
#include "strbuf.h"
#include "util.h"
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

/* What the run may take beyond --timeout: the log line of the result. */
#define PREPARE_GRACE_MS 250

/* The run's bound, whatever it is blocked in. ctl_request keeps the
 * request within --timeout, but a log line goes to syslog through glibc's
 * blocking send(), and a syslog daemon that has stopped reading holds
 * every process that logs once its queue is full (10 lines, or 512 where
 * systemd sets net.unix.max_dgram_qlen). So an interval timer ends the
 * run, exit 75, from wherever it is: _exit() in the handler, as a flag
 * would never be looked at. Nothing is logged then: the log is what may
 * be stuck. */
static void out_of_time(int sig)
{
	(void)sig;
	_exit(EX_TEMPFAIL);
}

static int set_bound(uint32_t ms)
{
	struct sigaction sa = { .sa_handler = out_of_time };
	struct itimerval it = { .it_value = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 } };

	sigemptyset(&sa.sa_mask);
	if (ms && sigaction(SIGALRM, &sa, NULL) < 0)
		return -errno;
	return setitimer(ITIMER_REAL, &it, NULL) < 0 ? -errno : 0;
}

static char *read_stdin(size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);

	while (buf) {
		ssize_t r = read(0, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			if (cap >= DOMXML_MAX_BYTES + 1) /* keep reading would be unbounded: let the parser refuse */
				break;
			cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: glm-prepare [-s SOCKET] [-t MS] [--prepare] [-d] incoming|started|release < DOMAIN.xml\n"
		   "  -s, --socket PATH   glm-agentd's control socket (default /run/glm/agentd.sock)\n"
		   "  -t, --timeout MS    give up after this long (default 500)\n"
		   "  -p, --prepare       incoming: also send PREPARE to the guest's matd\n"
		   "  -d, --stderr        log to stderr as well as syslog\n");
}

/* Everything after the options, within the run's bound (deadline, a
 * now_ns() time, for the request; the timer for the rest). */
static int prepare(struct hookreq *hr, const char *ev, const char *sock, uint64_t deadline, uint32_t timeout)
{
	struct domxml *d = &hr->dom;
	char err[256], req[HOOKREQ_MAX + 1], *xml, *reply = NULL;
	uint64_t now;
	struct strbuf sb;
	size_t len;
	int r;

	xml = read_stdin(&len);
	if (!xml) {
		log_warn("reading the domain XML");
		return EX_NOINPUT;
	}
	r = domxml_parse(xml, len, d, err, sizeof(err));
	free(xml);
	if (r < 0) {
		log_warnx("%s: %s", ev, err);
		return EX_DATAERR;
	}
	if (!d->has_mobility && hr->event != HOOKREQ_RELEASE) {
		log_debug("domain %s has no glm metadata: nothing to do", d->name);
		return EX_OK;
	}
	/* which instance: a late release of one that left must not end the
	 * one arriving under the same name */
	if (hr->event == HOOKREQ_INCOMING)
		d->id = -1;
	sb_init(&sb, req, sizeof(req));
	if (hookreq_encode(hr, &sb) < 0) {
		/* HOOKREQ_MAX is every field at its widest: a bug if reached */
		log_warnx("%s %s: request longer than %zu bytes", ev, d->name, HOOKREQ_MAX);
		return EX_SOFTWARE;
	}
	/* what is left of --timeout after the XML, for the whole request */
	now = now_ns();
	r = ctl_request(sock, req, &reply, now < deadline ? (int)((deadline - now) / 1000000) : 0);
	if (r == -ETIMEDOUT) {
		log_warnx("%s %s: glm-agentd at %s: no answer within %u ms; the domain migrates without mobility support",
			  ev, d->name, sock, timeout);
		return EX_TEMPFAIL;
	}
	if (r < 0) {
		log_warnx("%s %s: glm-agentd at %s: %s; the domain migrates without mobility support", ev, d->name, sock,
			  strerror(-r));
		return EX_UNAVAILABLE;
	}
	reply[strcspn(reply, "\n")] = '\0';
	if (r == 1)
		log_warnx("%s %s: glm-agentd refused: %s", ev, d->name, reply);
	else
		log_info("%s %s: %s", ev, d->name, reply);
	free(reply);
	return r == 1 ? EX_DATAERR : EX_OK;
}

int main(int argc, char **argv)
{
	static const struct option o[] = { { "socket", required_argument, 0, 's' }, { "timeout", required_argument, 0, 't' },
					   { "prepare", no_argument, 0, 'p' }, { "stderr", no_argument, 0, 'd' },
					   { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0 } };
	const char *sock = "/run/glm/agentd.sock";
	uint32_t timeout = 500;
	bool prepare_guest = false, fg = false;
	static struct hookreq hr;
	uint64_t start = now_ns();
	int c, r;

	while ((c = getopt_long(argc, argv, "s:t:pdhV", o, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 't': if (parse_u32(optarg, 1, 60000, &timeout)) return EX_USAGE; break;
		case 'p': prepare_guest = true; break;
		case 'd': fg = true; break;
		case 'h': usage(stdout); return EX_OK;
		case 'V': printf("glm-prepare %s\n", GLM_VERSION); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind + 1 != argc || hookreq_event_parse(argv[optind], &hr.event)) {
		usage(stderr);
		return EX_USAGE;
	}
	hr.prepare = prepare_guest && hr.event == HOOKREQ_INCOMING;
	log_init("glm-prepare", fg, 0);
	r = set_bound(timeout + PREPARE_GRACE_MS);
	if (r < 0) {
		log_warnx("setting the run's bound: %s", strerror(-r));
		return EX_OSERR;
	}
	r = prepare(&hr, argv[optind], sock, start + timeout * 1000000ull, timeout);
	/* done within the bound: exiting is not glm's work (and ASan's leak
	 * check at exit takes its time) */
	set_bound(0);
	return r;
}
