/* gatewayd.conf (glm-gatewayd.conf(5)): one setting a line, errors as
 * FILE:LINE. Kept apart from the daemon so a test and a fuzzer drive it.
 *
 *   keyring PATH                  see glm-keys(5); its private key a gateway's
 *   key-id N                      that key's id
 *   ims [ADDR]:PORT...            the IMS to subscribe at (port 5300); several
 *                                 (1..8, the line again adds): the next when one
 *                                 does not answer
 *   listen [ADDR]:PORT            our UDP socket (default [::]:5302)
 *   home-prefix P/L               a prefix of home addresses we serve (1..8)
 *   site-prefix P/L               where an MA may be (1..16): no other is ever installed
 *   serve P/L                     a site gateway: a network of plain hosts behind us (0..16)
 *   table NAME                    the nftables table, family ip6 (default glm_gw)
 *   control PATH                  the control socket
 *   subscription-lifetime SECONDS asked of the IMS; renewed at half (default 600)
 *   max-mappings N                home addresses held at most (default 1000000)
 *   receive-buffer BYTES          the UDP socket's (default 4194304): a burst of pushes waits there
 *   metrics [ADDR]:PORT           Prometheus metrics over HTTP (off by default) */
#include "gatewayd.h"
#include "conf.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <string.h>

void gw_conf_defaults(struct gw_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->listen.sin6_family = AF_INET6;
	c->listen.sin6_port = htons(GW_DEFAULT_PORT);
	strcpy(c->table, GW_DEFAULT_TABLE);
	strcpy(c->control, GW_DEFAULT_CTL);
	c->sub_lifetime = GW_DEFAULT_SUB_LIFETIME;
	c->max_mappings = GW_DEFAULT_MAX_MAPPINGS;
	c->rcvbuf = GW_DEFAULT_RCVBUF;
}

/* Do a/alen and b/blen share an address? Both cut to the shorter length:
 * in6_prefix_match takes its second argument as a prefix already. */
static bool overlaps(const struct in6_addr *a, uint8_t alen, const struct in6_addr *b, uint8_t blen)
{
	uint8_t len = alen < blen ? alen : blen;
	struct in6_addr x = *b;

	in6_prefix_apply(&x, len);
	return in6_prefix_match(a, &x, len);
}

static int set_str(const struct conf_pos *pos, int argc, char **argv, char *dst, size_t cap)
{
	if (argc != 2 || !*argv[1] || strlen(argv[1]) >= cap)
		return conf_err(pos, "usage: %s %s (at most %zu characters)", argv[0],
				strcmp(argv[0], "table") ? "PATH" : "NAME", cap - 1);
	strcpy(dst, argv[1]);
	return 0;
}

static int conf_line(void *ctx, const struct conf_pos *pos, int argc, char **argv)
{
	struct gw_conf *c = ctx;
	const char *k = argv[0];

	if (!strcmp(k, "keyring"))
		return set_str(pos, argc, argv, c->keyring, sizeof(c->keyring));
	if (!strcmp(k, "control"))
		return set_str(pos, argc, argv, c->control, sizeof(c->control));
	if (!strcmp(k, "table"))
		return set_str(pos, argc, argv, c->table, sizeof(c->table));
	if (!strcmp(k, "key-id")) {
		if (argc != 2 || parse_u32(argv[1], 1, UINT32_MAX, &c->key_id))
			return conf_err(pos, "usage: key-id N (1..4294967295)");
		return 0;
	}
	if (!strcmp(k, "metrics")) {
		c->has_metrics = true;
		return metrics_conf(pos, argc, argv, &c->metrics);
	}
	if (!strcmp(k, "ims"))
		return conf_ims_set(pos, argc, argv, GW_IMS_PORT, &c->ims);
	if (!strcmp(k, "listen"))
		return conf_sockaddr6(pos, argc, argv, GW_DEFAULT_PORT, &c->listen);
	if (!strcmp(k, "home-prefix") || !strcmp(k, "site-prefix") || !strcmp(k, "serve")) {
		unsigned *n = k[0] == 'h' ? &c->nhome : k[1] == 'i' ? &c->nsite : &c->nserve;
		unsigned max = k[0] == 'h' ? GW_MAX_HOME : k[1] == 'i' ? GW_MAX_SITE : GW_MAX_SERVE;
		struct in6_addr *p = k[0] == 'h' ? c->home : k[1] == 'i' ? c->site : c->serve;
		uint8_t *len = k[0] == 'h' ? c->home_len : k[1] == 'i' ? c->site_len : c->serve_len;
		struct in6_addr a;
		uint8_t l;

		if (argc != 2 || parse_prefix6(argv[1], &a, &l))
			return conf_err(pos, "usage: %s PREFIX/LEN (host bits zero)", k);
		if (*n == max)
			return conf_err(pos, "at most %u '%s' lines", max, k);
		p[*n] = a;
		len[*n] = l;
		(*n)++;
		return 0;
	}
	if (!strcmp(k, "subscription-lifetime")) {
		if (argc != 2 || parse_u32(argv[1], 2, 86400, &c->sub_lifetime))
			return conf_err(pos, "usage: subscription-lifetime SECONDS (2..86400)");
		return 0;
	}
	if (!strcmp(k, "max-mappings")) {
		if (argc != 2 || parse_u32(argv[1], 1, 100000000, &c->max_mappings))
			return conf_err(pos, "usage: max-mappings N (1..100000000)");
		return 0;
	}
	if (!strcmp(k, "receive-buffer")) {
		if (argc != 2 || parse_u32(argv[1], 65536, 1073741824, &c->rcvbuf))
			return conf_err(pos, "usage: receive-buffer BYTES (65536..1073741824)");
		return 0;
	}
	return conf_err(pos, "unknown setting '%s'", k);
}

/* What must hold whatever the lines' order: an MA may never be a home
 * address (a packet would come back to us), so no site prefix may
 * overlap a home prefix. */
static int conf_check(const struct gw_conf *c, const char *path)
{
	if (!c->keyring[0])
		return log_warnx("%s: missing 'keyring'", path), -EINVAL;
	if (!c->key_id)
		return log_warnx("%s: missing 'key-id'", path), -EINVAL;
	if (!c->ims.n)
		return log_warnx("%s: missing 'ims'", path), -EINVAL;
	if (!c->nhome)
		return log_warnx("%s: no 'home-prefix': nothing to serve", path), -EINVAL;
	if (!c->nsite)
		return log_warnx("%s: no 'site-prefix': no MA could ever be installed", path), -EINVAL;
	for (unsigned i = 0; i < c->nhome; i++)
		for (unsigned j = 0; j < c->nsite; j++)
			if (overlaps(&c->home[i], c->home_len[i], &c->site[j], c->site_len[j]))
				return log_warnx("%s: site-prefix %s/%u overlaps home-prefix %s/%u: an MA there "
						 "would be routed back to us", path, a6(&c->site[j]), c->site_len[j],
						 a6(&c->home[i]), c->home_len[i]), -EINVAL;
	/* the hosts we serve are plain ones: a home address among them
	 * would be translated twice */
	for (unsigned i = 0; i < c->nhome; i++)
		for (unsigned j = 0; j < c->nserve; j++)
			if (overlaps(&c->home[i], c->home_len[i], &c->serve[j], c->serve_len[j]))
				return log_warnx("%s: serve %s/%u overlaps home-prefix %s/%u: the hosts served must "
						 "not be mobile nodes' home addresses", path, a6(&c->serve[j]),
						 c->serve_len[j], a6(&c->home[i]), c->home_len[i]), -EINVAL;
	return 0;
}

int gw_conf_load(const char *path, struct gw_conf *c)
{
	gw_conf_defaults(c);
	if (conf_parse_file(path, conf_line, c) < 0)
		return -EINVAL;
	return conf_check(c, path);
}

int gw_conf_load_buf(const char *name, const char *buf, size_t len, struct gw_conf *c)
{
	gw_conf_defaults(c);
	if (conf_parse_buf(name, buf, len, conf_line, c) < 0)
		return -EINVAL;
	return conf_check(c, name);
}
