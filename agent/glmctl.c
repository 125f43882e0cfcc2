/* glmctl: the operator's CLI for glm-agentd: VMs, groups, proxy joins,
 * relays with packet counts, the recent migrations. Exit codes as
 * matctl(8). */
#include "cli.h"
#include "util.h"

static int cmd_migrations(int argc, char **argv)
{
	(void)argv;
	return argc != 1 ? -1 : cli_send(cli_json() ? "migrations format=json" : "migrations");
}

static const struct cli_cmd cmds[] = {
	{ "status", cli_status, "", "VMs, their groups (proxy-joined, pinned, reported, native, relayed), relays" },
	{ "stats", cli_stats, "", "message counters, drops by reason" },
	{ "migrations", cmd_migrations, "",
	  "the recent migrations to this host: hook incoming->started, proxy joins, time to native or relayed "
	  "stream, PREPARE round trip" },
};

int main(int argc, char **argv)
{
	struct cli cli = { "glmctl", "glm-agentd", "/run/glm/agentd.sock", false, cmds, ARRAY_SIZE(cmds) };

	return cli_main(&cli, argc, argv);
}
