/* imsd.conf: one setting per line, read with the shared tokenizer (conf.h).
 *
 *   listen [ADDR]:PORT            default [::]:5300
 *   database PATH                 the SQLite file
 *   keyring PATH                  see glm-keys(5)
 *   control PATH                  the unix control socket
 *   max-lifetime SECONDS          cap on an update's LIFETIME
 *   subscription-lifetime SECONDS cap on a SUBSCRIBE's LIFETIME
 *   store sqlite|etcd             where the mappings live (default sqlite)
 *   etcd-endpoints URL...         store etcd: the cluster's client URLs
 *   etcd-prefix PREFIX            the keys' prefix (default /glm/)
 *   etcd-cacert|etcd-cert|etcd-key PATH   TLS to etcd
 *   etcd-user NAME, etcd-password-file PATH   etcd authentication
 *   etcd-timeout MS               one round of requests' deadline
 *   metrics [ADDR]:PORT           Prometheus metrics over HTTP (off by default)
 *
 * A setting given twice is an error rather than "last one wins": two
 * listen lines are more likely a merge mistake than an intent. */
#include "conf.h"
#include "imsd.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct conf_ctx {
	struct imsd_conf *c;
	unsigned seen_line[20];
};

enum {
	K_LISTEN, K_DATABASE, K_KEYRING, K_CONTROL, K_MAXLIFE, K_SUBLIFE, K_STORE, K_ETCD_ENDPOINTS,
	K_ETCD_PREFIX, K_ETCD_CACERT, K_ETCD_CERT, K_ETCD_KEY, K_ETCD_USER, K_ETCD_PWFILE, K_ETCD_TIMEOUT, K_METRICS, K_DUMP_RATE,
};
static const char *const keywords[] = {
	[K_LISTEN] = "listen", [K_DATABASE] = "database", [K_KEYRING] = "keyring",
	[K_CONTROL] = "control", [K_MAXLIFE] = "max-lifetime",
	[K_SUBLIFE] = "subscription-lifetime", [K_STORE] = "store", [K_ETCD_ENDPOINTS] = "etcd-endpoints",
	[K_ETCD_PREFIX] = "etcd-prefix", [K_ETCD_CACERT] = "etcd-cacert", [K_ETCD_CERT] = "etcd-cert",
	[K_ETCD_KEY] = "etcd-key", [K_ETCD_USER] = "etcd-user", [K_ETCD_PWFILE] = "etcd-password-file",
	[K_ETCD_TIMEOUT] = "etcd-timeout", [K_METRICS] = "metrics", [K_DUMP_RATE] = "dump-rate",
};

void conf_defaults(struct imsd_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->listen.sin6_family = AF_INET6;
	c->listen.sin6_addr = in6addr_any;
	c->listen.sin6_port = htons(IMSD_DEFAULT_PORT);
	c->max_lifetime = IMSD_DEFAULT_MAX_LIFETIME;
	c->sub_lifetime = IMSD_DEFAULT_SUB_LIFETIME;
	c->dump_rate = IMSD_DEFAULT_DUMP_RATE;
	c->store = IMSD_STORE_SQLITE;
	c->etcd.timeout_ms = ETCD_DEFAULT_TIMEOUT_MS;
}

void conf_free(struct imsd_conf *c)
{
	free(c->database);
	free(c->keyring);
	free(c->control);
	c->database = c->keyring = c->control = NULL;
	etcd_conf_free(&c->etcd);
}

/* http://HOST:PORT or https://..., HOST a name or [IPv6]; no path. */
static bool endpoint_ok(const char *u)
{
	const char *h = !strncmp(u, "http://", 7) ? u + 7 : !strncmp(u, "https://", 8) ? u + 8 : NULL;

	if (!h || !*h || strlen(u) > 200 || strchr(h, '/') || strpbrk(u, " \t\"\\?#@"))
		return false;
	return true;
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
	if (k == K_ETCD_ENDPOINTS) {
		if (argc < 2 || argc - 1 > ETCD_MAX_ENDPOINTS)
			return conf_err(pos, "'%s' takes 1 to %u URLs", argv[0], ETCD_MAX_ENDPOINTS);
	} else if (argc != 2) {
		return conf_err(pos, "'%s' takes exactly one value", argv[0]);
	}
	if (cc->seen_line[k])
		return conf_err(pos, "'%s' already set on line %u", argv[0], cc->seen_line[k]);
	cc->seen_line[k] = pos->line;

	switch (k) {
	case K_LISTEN:
		return conf_sockaddr6(pos, argc, argv, IMSD_DEFAULT_PORT, &c->listen);
	case K_METRICS:
		c->has_metrics = true;
		return metrics_conf(pos, argc, argv, &c->metrics);
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
	case K_DUMP_RATE:
		if (parse_u32(argv[1], 200, 10000000, &c->dump_rate))
			return conf_err(pos, "bad dump-rate '%s' (mappings a second to one subscriber, 200 to 10000000)",
					argv[1]);
		return 0;
	case K_STORE:
		if (!strcmp(argv[1], "sqlite"))
			c->store = IMSD_STORE_SQLITE;
		else if (!strcmp(argv[1], "etcd"))
			c->store = IMSD_STORE_ETCD;
		else
			return conf_err(pos, "unknown store '%s' (sqlite or etcd)", argv[1]);
		return 0;
	case K_ETCD_ENDPOINTS:
		for (int i = 1; i < argc; i++) {
			if (!endpoint_ok(argv[i]))
				return conf_err(pos, "bad etcd endpoint '%s' (http://HOST:PORT or https://HOST:PORT)",
						argv[i]);
			for (int j = 1; j < i; j++)
				if (!strcmp(argv[i], argv[j]))
					return conf_err(pos, "etcd endpoint '%s' given twice", argv[i]);
		}
		for (int i = 1; i < argc; i++) {
			c->etcd.endpoint[i - 1] = strdup(argv[i]);
			if (!c->etcd.endpoint[i - 1])
				return -ENOMEM;
			c->etcd.nendpoints = (unsigned)i;
		}
		return 0;
	case K_ETCD_PREFIX:
		if (argv[1][0] != '/' || strlen(argv[1]) > 100)
			return conf_err(pos, "bad etcd-prefix '%s' (starts with '/', at most 100 bytes)", argv[1]);
		return set_path(pos, &c->etcd.prefix, argv[1]);
	case K_ETCD_CACERT:
		return set_path(pos, &c->etcd.cacert, argv[1]);
	case K_ETCD_CERT:
		return set_path(pos, &c->etcd.cert, argv[1]);
	case K_ETCD_KEY:
		return set_path(pos, &c->etcd.key, argv[1]);
	case K_ETCD_USER:
		return set_path(pos, &c->etcd.user, argv[1]);
	case K_ETCD_PWFILE:
		return set_path(pos, &c->etcd.password_file, argv[1]);
	case K_ETCD_TIMEOUT:
		if (parse_u32(argv[1], 100, 60000, &c->etcd.timeout_ms))
			return conf_err(pos, "bad etcd-timeout '%s' (milliseconds, 100 to 60000)", argv[1]);
		return 0;
	}
	return 0;
}

/* What only the whole file can say. */
static int conf_check(const char *name, int r, const struct conf_ctx *cc)
{
	const struct imsd_conf *c = cc->c;

	if (r < 0)
		return r;
	if (c->store == IMSD_STORE_ETCD && !c->etcd.nendpoints) {
		log_warnx("%s: 'store etcd' needs 'etcd-endpoints'", name);
		return -EINVAL;
	}
	if (c->store != IMSD_STORE_ETCD && cc->seen_line[K_ETCD_ENDPOINTS]) {
		log_warnx("%s:%u: 'etcd-endpoints' without 'store etcd'", name, cc->seen_line[K_ETCD_ENDPOINTS]);
		return -EINVAL;
	}
	if (c->store == IMSD_STORE_ETCD && cc->seen_line[K_DATABASE]) {
		log_warnx("%s:%u: 'database' with 'store etcd': the mappings are in etcd", name,
			  cc->seen_line[K_DATABASE]);
		return -EINVAL;
	}
	if (!c->etcd.user != !c->etcd.password_file) {
		log_warnx("%s: 'etcd-user' and 'etcd-password-file' go together", name);
		return -EINVAL;
	}
	if (!c->etcd.cert != !c->etcd.key) {
		log_warnx("%s: 'etcd-cert' and 'etcd-key' go together", name);
		return -EINVAL;
	}
	return 0;
}

int conf_load(const char *path, struct imsd_conf *c)
{
	struct conf_ctx cc = { .c = c };

	return conf_check(path, conf_parse_file(path, conf_line, &cc), &cc);
}

int conf_load_buf(const char *name, const char *buf, size_t len, struct imsd_conf *c)
{
	struct conf_ctx cc = { .c = c };

	return conf_check(name, conf_parse_buf(name, buf, len, conf_line, &cc), &cc);
}
