/* imsd.conf: one setting per line, read with the shared tokenizer (conf.h).
 *
 *   listen [ADDR]:PORT            default [::]:5300
 *   database PATH                 the SQLite file
 *   keyring PATH                  see glm-keys(5)
 *   control PATH                  the unix control socket
 *   max-lifetime SECONDS          cap on an update's LIFETIME
 *   subscription-lifetime SECONDS cap on a SUBSCRIBE's LIFETIME
 *
 * A setting given twice is an error rather than "last one wins": two
 * listen lines are more likely a merge mistake than an intent. */
#include "conf.h"
#include "imsd.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct conf_ctx {
	struct imsd_conf *c;
	unsigned seen_line[8];
};

enum { K_LISTEN, K_DATABASE, K_KEYRING, K_CONTROL, K_MAXLIFE, K_SUBLIFE };
static const char *const keywords[] = {
	[K_LISTEN] = "listen", [K_DATABASE] = "database", [K_KEYRING] = "keyring",
	[K_CONTROL] = "control", [K_MAXLIFE] = "max-lifetime",
	[K_SUBLIFE] = "subscription-lifetime",
};

void conf_defaults(struct imsd_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->listen.sin6_family = AF_INET6;
	c->listen.sin6_addr = in6addr_any;
	c->listen.sin6_port = htons(IMSD_DEFAULT_PORT);
	c->max_lifetime = IMSD_DEFAULT_MAX_LIFETIME;
	c->sub_lifetime = IMSD_DEFAULT_SUB_LIFETIME;
}

void conf_free(struct imsd_conf *c)
{
	free(c->database);
	free(c->keyring);
	free(c->control);
	c->database = c->keyring = c->control = NULL;
}

static int set_path(const struct conf_pos *pos, char **dst, const char *v)
{
	char *p;

	if (!*v)
		return conf_err(pos, "empty path");
	p = strdup(v);
	if (!p)
		return -ENOMEM;
	free(*dst);
	*dst = p;
	return 0;
}

static int conf_line(void *ctx, const struct conf_pos *pos, int argc, char **argv)
{
	struct conf_ctx *cc = ctx;
	struct imsd_conf *c = cc->c;
	unsigned k;

	for (k = 0; k < ARRAY_SIZE(keywords); k++)
		if (!strcmp(argv[0], keywords[k]))
			break;
	if (k == ARRAY_SIZE(keywords))
		return conf_err(pos, "unknown setting '%s'", argv[0]);
	if (argc != 2)
		return conf_err(pos, "'%s' takes exactly one value", argv[0]);
	if (cc->seen_line[k])
		return conf_err(pos, "'%s' already set on line %u", argv[0], cc->seen_line[k]);
	cc->seen_line[k] = pos->line;

	switch (k) {
	case K_LISTEN:
		return conf_sockaddr6(pos, argc, argv, IMSD_DEFAULT_PORT, &c->listen);
	case K_DATABASE:
		return set_path(pos, &c->database, argv[1]);
	case K_KEYRING:
		return set_path(pos, &c->keyring, argv[1]);
	case K_CONTROL:
		return set_path(pos, &c->control, argv[1]);
	case K_MAXLIFE:
		if (parse_u32(argv[1], 1, UINT32_MAX, &c->max_lifetime))
			return conf_err(pos, "bad max-lifetime '%s' (seconds, at least 1)", argv[1]);
		return 0;
	case K_SUBLIFE:
		if (parse_u32(argv[1], 1, UINT32_MAX, &c->sub_lifetime))
			return conf_err(pos, "bad subscription-lifetime '%s' (seconds, at least 1)", argv[1]);
		return 0;
	}
	return 0;
}

int conf_load(const char *path, struct imsd_conf *c)
{
	struct conf_ctx cc = { .c = c };

	return conf_parse_file(path, conf_line, &cc);
}

int conf_load_buf(const char *name, const char *buf, size_t len, struct imsd_conf *c)
{
	struct conf_ctx cc = { .c = c };

	return conf_parse_buf(name, buf, len, conf_line, &cc);
}
