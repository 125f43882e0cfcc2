/* glm-gatewayctl: the operator's CLI for glm-gatewayd, over its control
 * socket. Exit codes (sysexits.h): 0 done, 64 usage, 65 refused, 69 the
 * daemon not reachable. */
#include "cli.h"
#include "util.h"

static int cmd_dump(int argc, char **argv)
{
	(void)argv;
	return argc != 1 ? -1 : cli_send(cli_json() ? "dump format=json" : "dump");
}

static const struct cli_cmd cmds[] = {
	{ "status", cli_status, "", "IMS, subscription, prefixes, how many home addresses are mapped" },
	{ "stats", cli_stats, "", "counters: pushes, mappings added, moved, expired, refused; drops by reason" },
	{ "dump", cmd_dump, "", "the status and every mapping HA -> MA the kernel holds" },
};

int main(int argc, char **argv)
{
	struct cli cli = { "glm-gatewayctl", "glm-gatewayd", "/run/glm/gatewayd.sock", false, cmds,
			       ARRAY_SIZE(cmds) };

	return cli_main(&cli, argc, argv);
}
