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
 * stdout would replace the XML). Never waits longer than --timeout; every
 * failure is logged to syslog with its reason and the exit code says
 * which (0 done or nothing to do, 65 bad XML or refused, 69 agent not
 * reachable, 75 agent too slow). */
#include "conf.h"
#include "ctl.h"
#include "domxml.h"
#include "hookreq.h"
#include "log.h"
#include "strbuf.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

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

int main(int argc, char **argv)
{
	static const struct option o[] = { { "socket", required_argument, 0, 's' }, { "timeout", required_argument, 0, 't' },
					   { "prepare", no_argument, 0, 'p' }, { "stderr", no_argument, 0, 'd' },
					   { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0 } };
	const char *sock = "/run/glm/agentd.sock", *ev;
	uint32_t timeout = 500;
	bool prepare = false, fg = false;
	static struct hookreq hr;
	struct domxml *d = &hr.dom;
	struct strbuf sb;
	char err[256], req[HOOKREQ_MAX + 1], *xml, *reply = NULL;
	size_t len;
	int c, r;

	while ((c = getopt_long(argc, argv, "s:t:pdhV", o, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 't': if (parse_u32(optarg, 1, 60000, &timeout)) return EX_USAGE; break;
		case 'p': prepare = true; break;
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
	ev = argv[optind];
	log_init("glm-prepare", fg, 0);
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
	if (!d->has_mobility && hr.event != HOOKREQ_RELEASE) {
		log_debug("domain %s has no glm metadata: nothing to do", d->name);
		return EX_OK;
	}
	/* which instance: a late release of one that left must not end the
	 * one arriving under the same name */
	if (hr.event == HOOKREQ_INCOMING)
		d->id = -1;
	hr.prepare = prepare && hr.event == HOOKREQ_INCOMING;
	sb_init(&sb, req, sizeof(req));
	if (hookreq_encode(&hr, &sb) < 0) {
		/* HOOKREQ_MAX is every field at its widest: a bug if reached */
		log_warnx("%s %s: request longer than %zu bytes", ev, d->name, HOOKREQ_MAX);
		return EX_SOFTWARE;
	}
	r = ctl_request(sock, req, &reply, (int)timeout);
	if (r < 0) {
		log_warnx("%s %s: glm-agentd at %s: %s; the domain migrates without mobility support", ev, d->name, sock,
			  strerror(-r));
		return r == -ETIMEDOUT ? EX_TEMPFAIL : EX_UNAVAILABLE;
	}
	if (r == 1) {
		reply[strcspn(reply, "\n")] = '\0';
		log_warnx("%s %s: glm-agentd refused: %s", ev, d->name, reply);
		free(reply);
		return EX_DATAERR;
	}
	reply[strcspn(reply, "\n")] = '\0';
	log_info("%s %s: %s", ev, d->name, reply);
	free(reply);
	return EX_OK;
}
