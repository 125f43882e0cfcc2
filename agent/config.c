/* glm-agentd's configuration file (glm-agentd.conf(5)): one keyword a
 * line, errors as FILE:LINE. Kept apart from the daemon so that a unit test
 * and the fuzzer can drive it. What needs the system (the bridges exist,
 * an uplink is a port of its bridge) is checked by agent_check_bridges. */
#include "agent_int.h"
#include "conf.h"
#include "log.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BRIDGE_USAGE "usage: bridge IFNAME [uplink PORT]..."

/* An interface name as the kernel takes one (dev_valid_name): not empty,
 * shorter than IF_NAMESIZE, not "." or "..", no '/' (it goes into /sys
 * paths) and, the tokenizer saw to it, no blank. */
static bool ifname_ok(const char *s)
{
	return s[0] && strlen(s) < IF_NAMESIZE && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') &&
	       !strchr(s, ':');
}

/* bridge IFNAME [uplink PORT]...: a bridge to serve, and the ports of it
 * that lead to the routers (RA guard: router advertisements are believed
 * from those only). */
static int conf_bridge(struct agent_conf *c, const struct conf_pos *pos, int argc, char **argv)
{
	struct agent_conf_bridge nb = { 0 }, *b;

	if (argc < 2 || argc % 2 || !ifname_ok(argv[1]))
		return conf_err(pos, BRIDGE_USAGE);
	strcpy(nb.name, argv[1]);
	for (int i = 2; i < argc; i += 2) {
		const char *port = argv[i + 1];

		if (strcmp(argv[i], "uplink") || !ifname_ok(port))
			return conf_err(pos, BRIDGE_USAGE);
		if (!strcmp(port, nb.name))
			return conf_err(pos, "bridge %s: the uplink is a port of the bridge, not the bridge", nb.name);
		for (unsigned k = 0; k < nb.nuplinks; k++)
			if (!strcmp(nb.uplinks[k], port))
				return conf_err(pos, "bridge %s: uplink %s given twice", nb.name, port);
		if (nb.nuplinks == AGENT_MAX_UPLINKS)
			return conf_err(pos, "bridge %s: at most %d uplinks", nb.name, AGENT_MAX_UPLINKS);
		strcpy(nb.uplinks[nb.nuplinks++], port);
	}
	for (unsigned i = 0; i < c->nbridges; i++) {
		if (!strcmp(c->bridges[i].name, nb.name))
			return conf_err(pos, "bridge %s given twice", nb.name);
		for (unsigned k = 0; k < c->bridges[i].nuplinks; k++)
			for (unsigned u = 0; u < nb.nuplinks; u++)
				if (!strcmp(c->bridges[i].uplinks[k], nb.uplinks[u]))
					return conf_err(pos, "bridge %s: uplink %s is bridge %s's already", nb.name,
							nb.uplinks[u], c->bridges[i].name);
	}
	b = realloc(c->bridges, (c->nbridges + 1) * sizeof(*b));
	if (!b)
		return conf_err(pos, "out of memory");
	c->bridges = b;
	c->bridges[c->nbridges++] = nb;
	return 0;
}

static int conf_line(void *ctx, const struct conf_pos *pos, int argc, char **argv)
{
	struct agent_conf *c = ctx;
	const char *k = argv[0];
	uint32_t v;
	int r;

	if (!strcmp(k, "role")) {
		if (argc != 2 || (strcmp(argv[1], "agent") && strcmp(argv[1], "relay")))
			return conf_err(pos, "usage: role agent|relay");
		c->relay_role = !strcmp(argv[1], "relay");
	} else if (!strcmp(k, "bridge")) {
		return conf_bridge(c, pos, argc, argv);
	} else if (!strcmp(k, "listen")) {
		return conf_sockaddr6(pos, argc, argv, AGENT_PORT, &c->listen);
	} else if (!strcmp(k, "relay")) {
		if ((r = conf_sockaddr6(pos, argc, argv, AGENT_PORT, &c->relay)) < 0)
			return r;
		c->has_relay = true;
	} else if (!strcmp(k, "ims")) {
		return conf_ims_set(pos, argc, argv, 5300, &c->ims);
	} else if (!strcmp(k, "key-id")) {
		if (argc != 2 || parse_u32(argv[1], 1, UINT32_MAX, &c->key_id))
			return conf_err(pos, "usage: key-id N");
	} else if (!strcmp(k, "keyring") || !strcmp(k, "control") || !strcmp(k, "libvirt-uri")) {
		char *dst = !strcmp(k, "keyring") ? c->keyring : !strcmp(k, "control") ? c->control : c->libvirt_uri;
		if (argc != 2 || strlen(argv[1]) >= sizeof(c->keyring))
			return conf_err(pos, "usage: %s VALUE (at most %zu bytes)", k, sizeof(c->keyring) - 1);
		strcpy(dst, argv[1]);
		if (!strcmp(k, "libvirt-uri"))
			c->use_libvirt = true;
	} else if (!strcmp(k, "reception-timeout")) {
		if (argc != 2 || parse_u32(argv[1], 1, 60000, &c->reception_timeout_ms))
			return conf_err(pos, "usage: reception-timeout MILLISECONDS (1..60000)");
	} else if (!strcmp(k, "session-timeout")) {
		if (argc != 2 || parse_u32(argv[1], 3, 3600, &c->session_timeout_s))
			return conf_err(pos, "usage: session-timeout SECONDS (3..3600)");
	} else if (!strcmp(k, "relay-interface")) {
		if (argc != 2 || !argv[1][0] || strlen(argv[1]) >= IF_NAMESIZE)
			return conf_err(pos, "usage: relay-interface IFNAME");
		strcpy(c->relay_ifname, argv[1]);
	} else if (!strcmp(k, "metrics")) {
		if ((r = metrics_conf(pos, argc, argv, &c->metrics)) < 0)
			return r;
		c->has_metrics = true;
	} else if (!strcmp(k, "guest-port")) {
		if (argc != 2 || parse_u32(argv[1], 1, 65535, &v))
			return conf_err(pos, "usage: guest-port PORT");
		c->guest_port = (uint16_t)v;
	} else {
		return conf_err(pos, "unknown keyword '%s'", k);
	}
	return 0;
}

void agent_conf_free(struct agent_conf *c)
{
	free(c->bridges);
	c->bridges = NULL;
	c->nbridges = 0;
}

static void conf_defaults(struct agent_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->listen.sin6_family = AF_INET6;
	c->listen.sin6_port = htons(AGENT_PORT);
	c->reception_timeout_ms = 100;
	c->session_timeout_s = 10;
	c->guest_port = 5301;
	strcpy(c->control, "/run/glm/agentd.sock");
}

static int conf_check(struct agent_conf *c, const char *path)
{
	if (!c->key_id || !c->keyring[0]) {
		log_warnx("%s: 'key-id' and 'keyring' are required", path);
		goto bad;
	}
	if (c->relay_role && !c->relay_ifname[0]) {
		log_warnx("%s: role relay needs 'relay-interface'", path);
		goto bad;
	}
	if (!c->relay_role && !c->nbridges) {
		log_warnx("%s: an agent needs at least one 'bridge'", path);
		goto bad;
	}
	return 0;
bad:
	agent_conf_free(c);
	return -EINVAL;
}

int agent_conf_load(const char *path, struct agent_conf *c)
{
	conf_defaults(c);
	if (conf_parse_file(path, conf_line, c) < 0) {
		agent_conf_free(c);
		return -EINVAL;
	}
	return conf_check(c, path);
}

int agent_conf_load_buf(const char *name, const char *buf, size_t len, struct agent_conf *c)
{
	conf_defaults(c);
	if (conf_parse_buf(name, buf, len, conf_line, c) < 0) {
		agent_conf_free(c);
		return -EINVAL;
	}
	return conf_check(c, name);
}

