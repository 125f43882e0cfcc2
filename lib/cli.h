/* A control CLI (glmctl, matctl, imsctl, glm-gatewayctl): a table of
 * subcommands, {name, fn, args, help}, that the dispatch and the usage
 * text are both generated from, after wireguard-tools' wg.c. Options
 * -s/--socket PATH, -j/--json (also "CMD ... --json" at the end), -h,
 * -V; "help" is a command of every CLI. Exit codes from sysexits.h:
 * 0 done, 64 usage, 65 the daemon refused the request, 69 the daemon not
 * reachable (no socket, nobody listening, too slow). */
#ifndef GLM_CLI_H
#define GLM_CLI_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* fn returns a sysexits code, or -1 for "usage" (the command's usage line
 * is printed and the CLI exits 64). argv[0] is the command's name. */
struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args, *help;
};

struct cli {
	const char *prog, *daemon, *sock;
	bool json;
	const struct cli_cmd *cmds;
	size_t ncmds;
};

int cli_main(struct cli *cli, int argc, char **argv);
void cli_usage(const struct cli *cli, FILE *f);
/* A whole request to path: the body on stdout, or "PROG: message" on
 * stderr; returns 0, EX_DATAERR (refused) or EX_UNAVAILABLE, the reason
 * in words (no socket there, nobody listening, permission). */
int cli_request(const char *prog, const char *daemon, const char *path, const char *req);

/* For commands, while cli_main runs: */
int cli_send(const char *req);        /* cli_request to the CLI's daemon */
bool cli_json(void);                   /* was --json given? */
const char *cli_prog(void);
/* The "status" and "stats" commands every CLI has: "status" or
 * "status format=json". */
int cli_status(int argc, char **argv);
int cli_stats(int argc, char **argv);
#endif
