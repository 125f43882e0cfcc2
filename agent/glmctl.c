/* glmctl: the operator's CLI for glm-agentd: VMs, groups, proxy joins,
 * relays with packet counts. Exit codes as matctl(8). */
#include "cli.h"
#include "util.h"

static const struct cli_cmd cmds[] = {
	{ "status", cli_status, "", "VMs, their groups (proxy-joined, pinned, reported, native, relayed), relays" },
	{ "stats", cli_stats, "", "message counters, drops by reason" },
};

int main(int argc, char **argv)
{
	struct cli cli = { "glmctl", "glm-agentd", "/run/glm/agentd.sock", false, cmds, ARRAY_SIZE(cmds) };

	return cli_main(&cli, argc, argv);
}
