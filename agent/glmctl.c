/* glmctl: the operator's CLI for glm-agentd: VMs, groups, proxy joins,
 * relays with packet counts. Exit codes as matctl(8). */
#include "ctl.h"
#include "util.h"
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static const char *sock = "/run/glm/agentd.sock";
static bool json;

static int request(const char *req)
{
	return ctl_cli_request("glmctl", "glm-agentd", sock, req);
}

static int cmd_status(int argc, char **argv)
{
	(void)argv;
	return argc != 1 ? -1 : request(json ? "status format=json" : "status");
}

static int cmd_stats(int argc, char **argv)
{
	(void)argv;
	return argc != 1 ? -1 : request(json ? "stats format=json" : "stats");
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "status", cmd_status, "VMs, their groups (proxy-joined, pinned, reported, native, relayed), relays" },
	{ "stats", cmd_stats, "message counters, drops by reason" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: glmctl [-s SOCKET] [--json] COMMAND\n\nCommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nOptions:\n  -s, --socket PATH  glm-agentd's control socket (default /run/glm/agentd.sock)\n"
		   "  -j, --json         JSON output\n  -h, --help\n  -V, --version\n");
}

int main(int argc, char **argv)
{
	static const struct option o[] = { { "socket", required_argument, 0, 's' }, { "json", no_argument, 0, 'j' },
					   { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0 } };
	int c;

	while ((c = getopt_long(argc, argv, "+s:jhV", o, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return EX_OK;
		case 'V': printf("glmctl %s\n", GLM_VERSION); return EX_OK;
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
		int n = argc - optind;
		if (n == 2 && !strcmp(argv[optind + 1], "--json")) {
			json = true;
			n = 1;
		}
		int r = cmds[i].fn(n, argv + optind);
		if (r < 0) {
			fprintf(stderr, "Usage: glmctl %s\n", cmds[i].name);
			return EX_USAGE;
		}
		return r;
	}
	fprintf(stderr, "glmctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return EX_USAGE;
}
