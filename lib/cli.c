/* The control CLIs' one main: options, the command table's dispatch and
 * the usage text generated from it (lib/cli.h). */
#include "cli.h"
#include "ctl.h"
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* The running CLI, for its commands (a CLI runs one main, once). */
static struct cli *cli_now;

int cli_request(const char *prog, const char *daemon, const char *path, const char *req)
{
	char *reply = NULL;
	int r = ctl_request(path, req, &reply, 3000);

	switch (r) {
	case 0:
		fputs(reply, stdout);
		free(reply);
		return EX_OK;
	case 1:
		fprintf(stderr, "%s: %s: %s", prog, daemon, reply);
		free(reply);
		return EX_DATAERR;
	case -ENOENT:
		fprintf(stderr, "%s: no control socket at %s: is %s running? (-s names another socket)\n", prog, path,
			daemon);
		break;
	case -ECONNREFUSED:
		fprintf(stderr, "%s: nothing listens on %s: %s is not running\n", prog, path, daemon);
		break;
	case -EACCES:
		fprintf(stderr, "%s: %s: permission denied (%s's socket is for root and its group)\n", prog, path,
			daemon);
		break;
	case -ETIMEDOUT:
		fprintf(stderr, "%s: %s at %s did not answer within 3 s\n", prog, daemon, path);
		break;
	default:
		fprintf(stderr, "%s: cannot reach %s at %s: %s\n", prog, daemon, path, strerror(-r));
		break;
	}
	return EX_UNAVAILABLE;
}

int cli_send(const char *req)
{
	return cli_request(cli_now->prog, cli_now->daemon, cli_now->sock, req);
}

bool cli_json(void)
{
	return cli_now && cli_now->json;
}

const char *cli_prog(void)
{
	return cli_now ? cli_now->prog : "?";
}

int cli_status(int argc, char **argv)
{
	(void)argv;
	return argc != 1 ? -1 : cli_send(cli_json() ? "status format=json" : "status");
}

int cli_stats(int argc, char **argv)
{
	(void)argv;
	return argc != 1 ? -1 : cli_send(cli_json() ? "stats format=json" : "stats");
}

void cli_usage(const struct cli *cli, FILE *f)
{
	fprintf(f, "Usage: %s [-s SOCKET] [-j] COMMAND [ARGS]\n\nCommands:\n", cli->prog);
	for (size_t i = 0; i < cli->ncmds; i++) {
		const struct cli_cmd *c = &cli->cmds[i];

		fprintf(f, "  %s%s%s\n      %s\n", c->name, c->args[0] ? " " : "", c->args, c->help);
	}
	fprintf(f, "  help\n      this text\n\nOptions:\n"
		   "  -s, --socket PATH  %s's control socket (default %s)\n"
		   "  -j, --json         JSON output, one object or array on one line\n"
		   "  -h, --help         this text\n  -V, --version      the version\n"
		   "\nExit status: 0 done, 64 usage, 65 refused by %s, 69 %s not reachable.\n",
		cli->daemon, cli->sock, cli->daemon, cli->daemon);
}

static const struct cli_cmd *cli_find(const struct cli *cli, const char *name)
{
	for (size_t i = 0; i < cli->ncmds; i++)
		if (!strcmp(cli->cmds[i].name, name))
			return &cli->cmds[i];
	return NULL;
}

int cli_main(struct cli *cli, int argc, char **argv)
{
	static const struct option o[] = { { "socket", required_argument, 0, 's' }, { "json", no_argument, 0, 'j' },
					   { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0 } };
	const struct cli_cmd *cmd;
	char **v;
	int c, n, r;

	cli_now = cli;
	optind = 1;
	/* '+': stop at the command, its options are its own. */
	while ((c = getopt_long(argc, argv, "+s:jhV", o, NULL)) != -1) {
		switch (c) {
		case 's': cli->sock = optarg; break;
		case 'j': cli->json = true; break;
		case 'h': cli_usage(cli, stdout); return EX_OK;
		case 'V': printf("%s %s\n", cli->prog, GLM_VERSION); return EX_OK;
		default: cli_usage(cli, stderr); return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "%s: no command given\n", cli->prog);
		cli_usage(cli, stderr);
		return EX_USAGE;
	}
	v = argv + optind;
	n = argc - optind;
	if (!strcmp(v[0], "help") && n == 1) {
		cli_usage(cli, stdout);
		return EX_OK;
	}
	cmd = cli_find(cli, v[0]);
	if (!cmd) {
		fprintf(stderr, "%s: unknown command '%s' (%s help lists them)\n", cli->prog, v[0], cli->prog);
		return EX_USAGE;
	}
	/* "status --json" reads naturally too */
	if (n >= 2 && (!strcmp(v[n - 1], "--json") || !strcmp(v[n - 1], "-j"))) {
		cli->json = true;
		n--;
	}
	r = cmd->fn(n, v);
	if (r < 0) {
		fprintf(stderr, "Usage: %s %s%s%s\n", cli->prog, cmd->name, cmd->args[0] ? " " : "", cmd->args);
		return EX_USAGE;
	}
	return r;
}
