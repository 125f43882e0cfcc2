/* matctl: the operator's CLI for matd, over its control socket. Also run
 * from the host through qemu-guest-agent's guest-exec, so it never needs a
 * tty, prints JSON on stdout with --json, and its exit codes (sysexits.h)
 * say what happened: 0 done, 64 usage, 65 matd refused the request,
 * 69 matd not reachable. */
#include "conf.h"
#include "ctl.h"
#include "util.h"
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static const char *sock = "/run/glm/matd.sock";
static bool json;

static int request(const char *req)
{
	return ctl_cli_request("matctl", "matd", sock, req);
}

static int cmd_status(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return -1;
	return request(json ? "status format=json" : "status");
}

static int cmd_stats(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return -1;
	return request(json ? "stats format=json" : "stats");
}

static int cmd_prepare(int argc, char **argv)
{
	static const struct option o[] = { { "prefix", required_argument, 0, 'p' }, { "router", required_argument, 0, 'r' },
					   { "ifname", required_argument, 0, 'i' }, { "address", required_argument, 0, 'a' },
					   { 0 } };
	const char *prefix = NULL, *router = NULL, *ifname = NULL, *addr = NULL;
	struct in6_addr a;
	uint8_t plen;
	char req[GLM_CTL_MAXREQ];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:r:i:a:", o, NULL)) != -1) {
		switch (c) {
		case 'p': prefix = optarg; break;
		case 'r': router = optarg; break;
		case 'i': ifname = optarg; break;
		case 'a': addr = optarg; break;
		default: return -1;
		}
	}
	if (optind != argc || !prefix || !router)
		return -1;
	if (parse_prefix6(prefix, &a, &plen) || plen != 64) {
		fprintf(stderr, "matctl: prepare: '%s' is not an IPv6 /64 prefix with zero host bits\n", prefix);
		return EX_USAGE;
	}
	if (parse_in6(router, &a) || !IN6_IS_ADDR_LINKLOCAL(&a)) {
		fprintf(stderr, "matctl: prepare: router '%s' must be a link-local address\n", router);
		return EX_USAGE;
	}
	if (addr && parse_in6(addr, &a)) {
		fprintf(stderr, "matctl: prepare: '%s' is not an IPv6 address\n", addr);
		return EX_USAGE;
	}
	if (ifname && (strlen(ifname) >= 16 || strpbrk(ifname, " \t=#"))) {
		fprintf(stderr, "matctl: prepare: bad interface name '%s'\n", ifname);
		return EX_USAGE;
	}
	snprintf(req, sizeof(req), "prepare prefix=%s router=%s%s%s%s%s", prefix, router, ifname ? " ifname=" : "",
		 ifname ? ifname : "", addr ? " address=" : "", addr ? addr : "");
	return request(req);
}

static int cmd_simple(int argc, char **argv)
{
	if (argc != 1)
		return -1;
	return request(argv[0]);
}

static int cmd_query(int argc, char **argv)
{
	struct in6_addr a;
	char req[128];

	if (argc != 2)
		return -1;
	if (parse_in6(argv[1], &a)) {
		fprintf(stderr, "matctl: query: '%s' is not an IPv6 address\n", argv[1]);
		return EX_USAGE;
	}
	snprintf(req, sizeof(req), "query ha=%s", argv[1]);
	return request(req);
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args, *help;
} cmds[] = {
	{ "status", cmd_status, "", "home address, current MA, interface, peers, last handover and its phases" },
	{ "stats", cmd_stats, "", "message counters, drops by reason" },
	{ "prepare", cmd_prepare, "--prefix P/64 --router LLADDR [--ifname IF] [--address MA]",
	  "install an MA for the next network now, so a move only switches" },
	{ "unprepare", cmd_simple, "", "drop a preparation" },
	{ "handover", cmd_simple, "", "check the link now, as after a migration, and move if it changed" },
	{ "query", cmd_query, "HA", "ask the IMS for HA's mapping and install it (correspondent)" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: matctl [-s SOCKET] [--json] COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-10s %s\n  %-10s   %s\n", cmds[i].name, cmds[i].args, "", cmds[i].help);
	fprintf(f, "\nOptions:\n  -s, --socket PATH  matd's control socket (default /run/glm/matd.sock)\n"
		   "  -j, --json         JSON output (status, stats)\n  -h, --help\n  -V, --version\n");
}

int main(int argc, char **argv)
{
	static const struct option o[] = { { "socket", required_argument, 0, 's' }, { "json", no_argument, 0, 'j' },
					   { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0 } };
	int c;

	/* '+': stop at the command, its options are its own. */
	while ((c = getopt_long(argc, argv, "+s:jhV", o, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return EX_OK;
		case 'V': printf("matctl %s\n", GLM_VERSION); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[optind], cmds[i].name))
			continue;
		/* "status --json" reads naturally too */
		int n = argc - optind;
		char **v = argv + optind;
		if (n == 2 && !strcmp(v[1], "--json")) {
			json = true;
			n = 1;
		}
		int r = cmds[i].fn(n, v);
		if (r < 0) {
			fprintf(stderr, "Usage: matctl %s %s\n", cmds[i].name, cmds[i].args);
			return EX_USAGE;
		}
		return r;
	}
	fprintf(stderr, "matctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return EX_USAGE;
}
