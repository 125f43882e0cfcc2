/* matctl: the operator's CLI for matd, over its control socket. Also run
 * from the host through qemu-guest-agent's guest-exec, so it never needs a
 * tty, prints JSON on stdout with --json, and its exit codes (sysexits.h)
 * say what happened: 0 done, 64 usage, 65 matd refused the request,
 * 69 matd not reachable. */
#include "conf.h"
#include "cli.h"
#include "ctl.h"
#include "util.h"
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

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
	return cli_send(req);
}

static int cmd_simple(int argc, char **argv)
{
	if (argc != 1)
		return -1;
	return cli_send(argv[0]);
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
	return cli_send(req);
}

static const struct cli_cmd cmds[] = {
	{ "status", cli_status, "", "home address, current MA, interface, peers, last handover and its phases" },
	{ "stats", cli_stats, "", "message counters, drops by reason" },
	{ "prepare", cmd_prepare, "--prefix P/64 --router LLADDR [--ifname IF] [--address MA]",
	  "install an MA for the next network now, so a move only switches" },
	{ "unprepare", cmd_simple, "", "drop a preparation" },
	{ "handover", cmd_simple, "", "check the link now, as after a migration, and move if it changed" },
	{ "query", cmd_query, "HA", "ask the IMS for HA's mapping and install it (correspondent)" },
};

int main(int argc, char **argv)
{
	struct cli cli = { "matctl", "matd", "/run/glm/matd.sock", false, cmds, ARRAY_SIZE(cmds) };

	return cli_main(&cli, argc, argv);
}
