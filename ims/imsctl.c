/* imsctl: the operator's CLI for imsd, over its control socket (what
 * socat did before): its status, counters, every mapping, and one home
 * address's mapping as a QUERY would be answered. Exit codes (sysexits.h):
 * 0 done, 64 usage, 65 imsd refused (an HA without a mapping too),
 * 69 imsd not reachable. */
#include "cli.h"
#include "conf.h"
#include "util.h"
#include <stdio.h>
#include <sysexits.h>

static int cmd_dump(int argc, char **argv)
{
	(void)argv;
	return argc != 1 ? -1 : cli_send(cli_json() ? "dump format=json" : "dump");
}

static int cmd_query(int argc, char **argv)
{
	struct in6_addr ha;
	char req[128];

	if (argc != 2)
		return -1;
	if (parse_in6(argv[1], &ha)) {
		fprintf(stderr, "imsctl: query: '%s' is not an IPv6 address\n", argv[1]);
		return EX_USAGE;
	}
	snprintf(req, sizeof(req), "query %s%s", a6(&ha), cli_json() ? " format=json" : "");
	return cli_send(req);
}

static const struct cli_cmd cmds[] = {
	{ "status", cli_status, "", "the store: sqlite and its database, or etcd, its endpoint and whether in sync" },
	{ "stats", cli_stats, "", "counters: updates by outcome, queries, subscriptions, drops by reason" },
	{ "dump", cmd_dump, "", "every live mapping: HA MA SEQ EXPIRES_IN (seconds)" },
	{ "query", cmd_query, "HA", "HA's mapping as a QUERY is answered: HA MA SEQ EXPIRES_IN" },
};

int main(int argc, char **argv)
{
	struct cli cli = { "imsctl", "imsd", "/run/glm/imsd.sock", false, cmds, ARRAY_SIZE(cmds) };

	return cli_main(&cli, argc, argv);
}
