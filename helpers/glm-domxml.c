/* glm-domxml: the libvirt hook's view of a domain. Reads the domain XML
 * (stdin, as libvirt passes it to hooks, or -f FILE), parses it with
 * lib/domxml.c and prints what glm needs as shell assignments for `eval`,
 * or as one JSON object. It runs inside the hook, so it does one read and
 * one parse, and a hostile or broken document is exit 65 with the reason
 * on stderr and nothing on stdout. */
#include "domxml.h"
#include "print.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static const char *prog = "glm-domxml";

/* Read all of fd, but never more than max + 1 bytes: one byte over the
 * cap is enough for domxml_parse to say "too large". */
static int read_all(int fd, char **out, size_t *len, size_t max)
{
	size_t size = 65536, n = 0;
	char *buf = malloc(size), *p;
	ssize_t r;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == size) {
			if (size > max) {
				break;
			}
			size = size * 2 > max + 1 ? max + 1 : size * 2;
			if (!(p = realloc(buf, size))) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
		}
		r = read(fd, buf + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			free(buf);
			return (int)r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Single quotes, with ' as '\'': safe for eval whatever the value. */
static void sh_assign(const char *name, const char *v)
{
	printf("%s='", name);
	for (; *v; v++)
		if (*v == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*v);
	fputs("'\n", stdout);
}

static void print_shell(const struct domxml *d)
{
	char name[32], mac[MAC_STRLEN], a[INET6_ADDRSTRLEN], list[DOMXML_MAX_GROUPS * INET6_ADDRSTRLEN];
	size_t n;

	sh_assign("GLM_DOMAIN", d->name);
	sh_assign("GLM_UUID", d->uuid);
	printf("GLM_NICS=%u\n", d->nnics);
	for (unsigned i = 0; i < d->nnics; i++) {
		mac_str(d->nics[i].mac, mac);
		snprintf(name, sizeof(name), "GLM_NIC%u_MAC", i);
		sh_assign(name, mac);
		snprintf(name, sizeof(name), "GLM_NIC%u_BRIDGE", i);
		sh_assign(name, d->nics[i].bridge);
		snprintf(name, sizeof(name), "GLM_NIC%u_TARGET", i);
		sh_assign(name, d->nics[i].target);
	}
	printf("GLM_MANAGED=%d\n", d->has_mobility);
	sh_assign("GLM_HA", d->has_home ? inet_ntop(AF_INET6, &d->home, a, sizeof(a)) : "");
	if (d->has_home)
		printf("GLM_KEY_ID=%u\n", d->key_id);
	else
		sh_assign("GLM_KEY_ID", "");
	sh_assign("GLM_RELAY", d->relay);
	for (int src = 0; src < 2; src++) {
		n = 0;
		list[0] = '\0';
		for (unsigned i = 0; i < d->ngroups; i++) {
			inet_ntop(AF_INET6, src ? &d->groups[i].source : &d->groups[i].group, a, sizeof(a));
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? " " : "", a);
		}
		sh_assign(src ? "GLM_GROUP_SOURCES" : "GLM_GROUPS", list);
	}
}

static void print_json(const struct domxml *d)
{
	char mac[MAC_STRLEN];
	struct printer p;

	print_init(&p, stdout, true);
	print_open_object(&p, NULL);
	print_str(&p, "domain", NULL, d->name);
	print_str(&p, "uuid", NULL, d->uuid);
	print_open_array(&p, "nics");
	for (unsigned i = 0; i < d->nnics; i++) {
		print_open_object(&p, NULL);
		print_str(&p, "mac", NULL, mac_str(d->nics[i].mac, mac));
		print_str(&p, "bridge", NULL, d->nics[i].bridge);
		print_str(&p, "target", NULL, d->nics[i].target);
		print_close_object(&p);
	}
	print_close_array(&p);
	print_bool(&p, "managed", NULL, d->has_mobility);
	print_addr(&p, "home", NULL, d->has_home ? &d->home : NULL);
	if (d->has_home)
		print_uint(&p, "key_id", NULL, d->key_id);
	else
		print_null(&p, "key_id");
	print_str(&p, "relay", NULL, d->has_relay ? d->relay : NULL);
	print_open_array(&p, "groups");
	for (unsigned i = 0; i < d->ngroups; i++) {
		print_open_object(&p, NULL);
		print_addr(&p, "group", NULL, &d->groups[i].group);
		print_addr(&p, "source", NULL, &d->groups[i].source);
		print_close_object(&p);
	}
	print_close_array(&p);
	print_close_object(&p);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s [-f FILE] [--json]\n\n"
		   "Parse a libvirt domain XML (stdin by default) and print its name, NICs\n"
		   "and glm metadata as shell assignments for eval, or as JSON.\n\n"
		   "Options:\n"
		   "  -f, --file FILE  read the domain XML from FILE instead of stdin\n"
		   "  -j, --json       one JSON object instead of shell assignments\n"
		   "  -h, --help\n  -V, --version\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option o[] = { { "file", required_argument, 0, 'f' }, { "json", no_argument, 0, 'j' },
					   { "help", no_argument, 0, 'h' }, { "version", no_argument, 0, 'V' }, { 0 } };
	static struct domxml d;
	const char *file = NULL;
	char err[512], *buf = NULL;
	bool json = false;
	size_t len = 0;
	int c, fd = STDIN_FILENO, r;

	while ((c = getopt_long(argc, argv, "f:jhV", o, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return EX_OK;
		case 'V': printf("%s %s\n", prog, GLM_VERSION); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	if (file && (fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, file, strerror(errno));
		return EX_NOINPUT;
	}
	r = read_all(fd, &buf, &len, DOMXML_MAX_BYTES);
	if (file)
		close(fd);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, file ? file : "stdin", strerror(-r));
		return r == -ENOMEM ? EX_OSERR : EX_NOINPUT;
	}
	r = domxml_parse(buf, len, &d, err, sizeof(err));
	free(buf);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return r == -ENOMEM ? EX_OSERR : EX_DATAERR;
	}
	if (json)
		print_json(&d);
	else
		print_shell(&d);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "%s: stdout: %s\n", prog, strerror(errno));
		return EX_IOERR;
	}
	return EX_OK;
}
