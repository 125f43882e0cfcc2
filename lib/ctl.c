/* Unix-socket control channel shared by the daemons and their CLIs. */
#include "ctl.h"
#include "conf.h"
#include "log.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <getopt.h>
#include <sysexits.h>
#include <unistd.h>

static int ctl_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

int ctl_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd, r = ctl_addr(path, &sun);

	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Read until newline or EOF, with a deadline: a stuck client cannot hang
 * the daemon for more than timeout_ms. */
static ssize_t read_all(int fd, char *buf, size_t cap, int timeout_ms, int stop_at_nl)
{
	size_t len = 0;

	while (len + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int pr = poll(&p, 1, timeout_ms);
		ssize_t n;

		if (pr == 0)
			return -ETIMEDOUT;
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (stop_at_nl && memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

int ctl_serve(int lfd, ctl_fn fn, void *ctx)
{
	char req[GLM_CTL_MAXREQ], *argv[GLM_CONF_MAXARGS], *body = NULL;
	size_t blen = 0;
	int cfd, argc, r;
	FILE *out;

	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (read_all(cfd, req, sizeof(req), 1000, 1) < 0) {
		close(cfd);
		return 0;
	}
	req[strcspn(req, "\n")] = '\0';
	out = open_memstream(&body, &blen);
	if (!out) {
		close(cfd);
		return -ENOMEM;
	}
	argc = conf_split(req, argv, GLM_CONF_MAXARGS);
	if (argc <= 0) {
		fprintf(out, "empty or overlong request");
		r = -EINVAL;
	} else {
		r = fn(ctx, argc, argv, out);
	}
	fclose(out);
	if (r == 0) {
		write_all(cfd, "ok\n", 3);
		write_all(cfd, body, blen);
	} else {
		write_all(cfd, "error: ", 7);
		write_all(cfd, body, blen);
		if (!blen || body[blen - 1] != '\n')
			write_all(cfd, "\n", 1);
	}
	free(body);
	close(cfd);
	return 0;
}

int ctl_request(const char *path, const char *req, char **reply, int timeout_ms)
{
	struct sockaddr_un sun;
	size_t cap = 1 << 20;
	char *buf;
	ssize_t n;
	int fd, r = ctl_addr(path, &sun);

	*reply = NULL;
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	write_all(fd, req, strlen(req));
	write_all(fd, "\n", 1);
	shutdown(fd, SHUT_WR);
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read_all(fd, buf, cap, timeout_ms, 0);
	close(fd);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	if (!strncmp(buf, "ok\n", 3)) {
		memmove(buf, buf + 3, (size_t)n - 2);
		r = 0;
	} else if (!strncmp(buf, "error: ", 7)) {
		memmove(buf, buf + 7, (size_t)n - 6);
		r = 1;
	} else {
		free(buf);
		return -EPROTO;
	}
	*reply = buf;
	return r;
}

int ctl_cli_request(const char *prog, const char *daemon, const char *path, const char *req)
{
	char *reply = NULL;
	int r = ctl_request(path, req, &reply, 3000);

	if (r < 0) {
		fprintf(stderr, "%s: cannot reach %s at %s: %s\n", prog, daemon, path, strerror(-r));
		return EX_UNAVAILABLE;
	}
	if (r == 1) {
		fprintf(stderr, "%s: %s", prog, reply);
		free(reply);
		return EX_DATAERR;
	}
	fputs(reply, stdout);
	free(reply);
	return EX_OK;
}

static struct ctl_cli *cli_now;

int ctl_cli_send(const char *req)
{
	return ctl_cli_request(cli_now->prog, cli_now->daemon, cli_now->sock, req);
}

int ctl_cli_status(int argc, char **argv)
{
	(void)argv;
	return argc != 1 ? -1 : ctl_cli_send(cli_now->json ? "status format=json" : "status");
}

int ctl_cli_stats(int argc, char **argv)
{
	(void)argv;
	return argc != 1 ? -1 : ctl_cli_send(cli_now->json ? "stats format=json" : "stats");
}

static void cli_usage(const struct ctl_cli *cli, FILE *f)
{
	fprintf(f, "Usage: %s [-s SOCKET] [--json] COMMAND [ARGS]\n\nCommands:\n", cli->prog);
	for (size_t i = 0; i < cli->ncmds; i++)
		fprintf(f, "  %-10s %s\n  %-10s   %s\n", cli->cmds[i].name, cli->cmds[i].args, "", cli->cmds[i].help);
	fprintf(f, "\nOptions:\n  -s, --socket PATH  %s's control socket (default %s)\n"
		   "  -j, --json         JSON output (status, stats)\n  -h, --help\n  -V, --version\n",
		cli->daemon, cli->sock);
}

int ctl_cli_main(struct ctl_cli *cli, int argc, char **argv)
{
	static const struct option o[] = { { "socket", required_argument, 0, 's' }, { "json", no_argument, 0, 'j' },
					   { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0 } };
	int c;

	cli_now = cli;
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
		cli_usage(cli, stderr);
		return EX_USAGE;
	}
	for (size_t i = 0; i < cli->ncmds; i++) {
		const struct ctl_cmd *cmd = &cli->cmds[i];
		int n = argc - optind, r;
		char **v = argv + optind;

		if (strcmp(v[0], cmd->name))
			continue;
		/* "status --json" reads naturally too */
		if (n == 2 && !strcmp(v[1], "--json")) {
			cli->json = true;
			n = 1;
		}
		r = cmd->fn(n, v);
		if (r < 0) {
			fprintf(stderr, "Usage: %s %s %s\n", cli->prog, cmd->name, cmd->args);
			return EX_USAGE;
		}
		return r;
	}
	fprintf(stderr, "%s: unknown command '%s'\n", cli->prog, argv[optind]);
	cli_usage(cli, stderr);
	return EX_USAGE;
}
