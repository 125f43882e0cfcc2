/* matd's configuration file (matd.conf(5)): one keyword a line, errors as
 * FILE:LINE. Kept apart from the daemon so the fuzzer can drive it. */
#include "matd.h"
#include "conf.h"
#include "log.h"
#include <errno.h>
#include <string.h>

static int conf_line(void *ctx, const struct conf_pos *pos, int argc, char **argv)
{
	struct matd_conf *c = ctx;
	const char *k = argv[0];
	uint32_t v;
	int r;

	if (!strcmp(k, "home-address")) {
		if (argc != 2 || parse_in6(argv[1], &c->ha))
			return conf_err(pos, "usage: home-address ADDR");
		c->mobile = true;
	} else if (!strcmp(k, "interface")) {
		if (argc != 2 || strlen(argv[1]) >= IF_NAMESIZE)
			return conf_err(pos, "usage: interface IFNAME");
		if (c->nnics == MATD_MAX_NICS)
			return conf_err(pos, "at most %d interfaces", MATD_MAX_NICS);
		strcpy(c->nics[c->nnics++], argv[1]);
	} else if (!strcmp(k, "ims")) {
		return conf_ims_set(pos, argc, argv, MATD_IMS_PORT, &c->ims);
	} else if (!strcmp(k, "key-id")) {
		if (argc != 2 || parse_u32(argv[1], 1, UINT32_MAX, &c->key_id))
			return conf_err(pos, "usage: key-id N (1..4294967295)");
	} else if (!strcmp(k, "keyring")) {
		if (argc != 2 || strlen(argv[1]) >= sizeof(c->keyring))
			return conf_err(pos, "usage: keyring PATH");
		strcpy(c->keyring, argv[1]);
	} else if (!strcmp(k, "listen")) {
		return conf_sockaddr6(pos, argc, argv, MATD_DEFAULT_PORT, &c->listen);
	} else if (!strcmp(k, "correspondent")) {
		if ((r = conf_sockaddr6(pos, argc, argv, MATD_DEFAULT_PORT, &c->cns[c->ncns])) < 0)
			return r;
		if (++c->ncns == MATD_MAX_CNS)
			return conf_err(pos, "at most %d correspondents", MATD_MAX_CNS - 1);
	} else if (!strcmp(k, "home-prefix")) {
		if (c->nhome == MATD_MAX_HOME_PREFIXES)
			return conf_err(pos, "at most %d home prefixes", MATD_MAX_HOME_PREFIXES);
		if (argc != 2 || parse_prefix6(argv[1], &c->home[c->nhome], &c->home_len[c->nhome]))
			return conf_err(pos, "usage: home-prefix PREFIX/LEN (host bits zero)");
		c->nhome++;
	} else if (!strcmp(k, "lifetime")) {
		if (argc != 2 || parse_u32(argv[1], 10, 86400, &c->lifetime))
			return conf_err(pos, "usage: lifetime SECONDS (10..86400)");
	} else if (!strcmp(k, "nft-table")) {
		if (argc != 2 || strlen(argv[1]) >= sizeof(c->table))
			return conf_err(pos, "usage: nft-table NAME");
		strcpy(c->table, argv[1]);
	} else if (!strcmp(k, "home-gateway")) {
		if (argc != 2 || (strcmp(argv[1], "yes") && strcmp(argv[1], "no")))
			return conf_err(pos, "usage: home-gateway yes|no");
		c->home_gateway = argv[1][0] == 'y';
	} else if (!strcmp(k, "metrics")) {
		if ((r = metrics_conf(pos, argc, argv, &c->metrics)) < 0)
			return r;
		c->has_metrics = true;
	} else if (!strcmp(k, "debounce")) {
		if (argc != 2 || parse_u32(argv[1], 0, 60000, &v))
			return conf_err(pos, "usage: debounce MILLISECONDS");
		c->debounce_ms = v;
	} else {
		return conf_err(pos, "unknown keyword '%s'", k);
	}
	return 0;
}

static int conf_check(const struct matd_conf *c, const char *path)
{
	if (c->mobile && c->nnics == 0)
		return log_warnx("%s: home-address needs at least one 'interface'", path), -EINVAL;
	if (c->mobile && !c->ims.n)
		return log_warnx("%s: home-address needs 'ims'", path), -EINVAL;
	if (c->nhome && !c->ims.n)
		return log_warnx("%s: home-prefix needs 'ims'", path), -EINVAL;
	if (!c->key_id)
		return log_warnx("%s: missing 'key-id'", path), -EINVAL;
	if (!c->keyring[0])
		return log_warnx("%s: missing 'keyring'", path), -EINVAL;
	return 0;
}

static void conf_defaults(struct matd_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->lifetime = 600;
	c->debounce_ms = 1000;
	strcpy(c->table, "mat");
	c->listen.sin6_family = AF_INET6;
	c->listen.sin6_port = htons(MATD_DEFAULT_PORT);
}

int matd_conf_load(const char *path, struct matd_conf *c)
{
	conf_defaults(c);
	if (conf_parse_file(path, conf_line, c) < 0)
		return -EINVAL;
	return conf_check(c, path);
}

int matd_conf_load_buf(const char *name, const char *buf, size_t len, struct matd_conf *c)
{
	conf_defaults(c);
	if (conf_parse_buf(name, buf, len, conf_line, c) < 0)
		return -EINVAL;
	return conf_check(c, name);
}
