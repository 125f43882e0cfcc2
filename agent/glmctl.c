/* glmctl: the operator's CLI for glm-agentd: VMs, groups, proxy joins,
 * relays with packet counts. Exit codes as matctl(8). */
#include "ctl.h"
#include "util.h"

static const struct ctl_cmd cmds[] = {
	{ "status", ctl_cli_status, "", "VMs, their groups (proxy-joined, pinned, reported, native, relayed), relays" },
	{ "stats", ctl_cli_stats, "", "message counters, drops by reason" },
};

int main(int argc, char **argv)
{
	struct ctl_cli cli = { "glmctl", "glm-agentd", "/run/glm/agentd.sock", false, cmds, ARRAY_SIZE(cmds) };

	return ctl_cli_main(&cli, argc, argv);
}
