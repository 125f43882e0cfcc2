/* glm-agentd's control socket: the hook's helpers and glmctl.
 *   incoming|started|release domain=NAME [id=N] [nics=MAC/BRIDGE/TARGET;...]
 *            [ha=ADDR key=ID] [relay=[ADDR]:PORT] [groups=G[/S],...] [prepare=1]
 *   status [format=json]      stats [format=json]
 * Values are validated here again: the socket is the trust boundary. */
#include "agent_int.h"
#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool ifname_ok(const char *s, size_t len)
{
	if (len == 0 || len >= IF_NAMESIZE)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

static int parse_nics(const char *s, struct domxml *d, FILE *out)
{
	char buf[1024], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return fprintf(out, "nics: too long"), -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		struct domxml_nic *n;
		char *br = strchr(tok, '/'), *tgt;
		unsigned m[6];

		if (d->nnics == DOMXML_MAX_NICS)
			return fprintf(out, "nics: more than %d", DOMXML_MAX_NICS), -EINVAL;
		if (!br)
			return fprintf(out, "nics: expected MAC/BRIDGE[/TARGET], got '%s'", tok), -EINVAL;
		*br++ = '\0';
		tgt = strchr(br, '/');
		if (tgt)
			*tgt++ = '\0';
		n = &d->nics[d->nnics];
		if (sscanf(tok, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6 || strlen(tok) != 17)
			return fprintf(out, "nics: bad MAC '%s'", tok), -EINVAL;
		for (int i = 0; i < 6; i++)
			n->mac[i] = (uint8_t)m[i];
		if (!ifname_ok(br, strlen(br)) || (tgt && *tgt && !ifname_ok(tgt, strlen(tgt))))
			return fprintf(out, "nics: bad interface name"), -EINVAL;
		strcpy(n->bridge, br);
		if (tgt)
			strcpy(n->target, tgt);
		d->nnics++;
	}
	return 0;
}

static int parse_groups(const char *s, struct domxml *d, FILE *out)
{
	char buf[GLM_CTL_MAXREQ], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct domxml_group *g = &d->groups[d->ngroups];
		char *src = strchr(tok, '/');

		if (d->ngroups == DOMXML_MAX_GROUPS)
			return fprintf(out, "groups: more than %d", DOMXML_MAX_GROUPS), -EINVAL;
		if (src)
			*src++ = '\0';
		memset(g, 0, sizeof(*g));
		if (parse_in6(tok, &g->group) || g->group.s6_addr[0] != 0xff || (g->group.s6_addr[1] & 0x0f) < 3)
			return fprintf(out, "groups: '%s' is not a multicast group of scope 3 or wider", tok), -EINVAL;
		if (src && parse_in6(src, &g->source))
			return fprintf(out, "groups: bad source '%s'", src), -EINVAL;
		d->ngroups++;
	}
	return 0;
}

static int vm_cmd(struct agentd *a, enum vm_event ev, int argc, char **argv, FILE *out)
{
	static struct domxml d;
	const char *v;
	int r;

	memset(&d, 0, sizeof(d));
	v = conf_arg(argc, argv, "domain");
	if (!v || !*v || strlen(v) >= sizeof(d.name))
		return fprintf(out, "need domain=NAME"), -EINVAL;
	strcpy(d.name, v);
	if (a->conf.relay_role)
		return fprintf(out, "this glm-agentd is a relay"), -EINVAL;
	if (ev != VM_EV_RELEASE) {
		if (!(v = conf_arg(argc, argv, "nics")))
			return fprintf(out, "need nics=MAC/BRIDGE[/TARGET];..."), -EINVAL;
		if ((r = parse_nics(v, &d, out)) < 0)
			return r;
		if ((v = conf_arg(argc, argv, "groups")) && *v && (r = parse_groups(v, &d, out)) < 0)
			return r;
		if ((v = conf_arg(argc, argv, "ha"))) {
			const char *k = conf_arg(argc, argv, "key");
			if (parse_in6(v, &d.home) || !k || parse_u32(k, 1, UINT32_MAX, &d.key_id))
				return fprintf(out, "need ha=ADDR and key=ID together"), -EINVAL;
			d.has_home = d.has_mobility = true;
		}
		if ((v = conf_arg(argc, argv, "relay"))) {
			struct sockaddr_in6 sa;
			if (strlen(v) >= sizeof(d.relay) || parse_sockaddr6(v, AGENT_PORT, &sa))
				return fprintf(out, "bad relay '%s'", v), -EINVAL;
			strcpy(d.relay, v);
			d.has_relay = true;
		}
	}
	d.id = -1;
	if ((v = conf_arg(argc, argv, "id"))) {
		uint32_t id;
		if (parse_u32(v, 0, INT32_MAX, &id))
			return fprintf(out, "bad id '%s'", v), -EINVAL;
		d.id = (int)id;
	}
	v = conf_arg(argc, argv, "prepare");
	return vm_request(a, ev, &d, v && !strcmp(v, "1"), out);
}

static void counters(struct agentd *a, FILE *out, bool json)
{
	fprintf(out, json ? "\"rx\":%llu,\"refused\":%llu,\"proxy_joins\":%u," :
			    "rx=%llu\nrefused=%llu\nproxy_joins=%u\n",
		(unsigned long long)a->rx, (unsigned long long)a->refused, proxy_joins(a));
	glm_drops_print(out, a->drops, json);
}

int agent_ctl_handler(void *ctx, int argc, char **argv, FILE *out)
{
	struct agentd *a = ctx;
	const char *f = conf_arg(argc, argv, "format");
	bool json = f && !strcmp(f, "json");

	if (!strcmp(argv[0], "incoming"))
		return vm_cmd(a, VM_EV_INCOMING, argc, argv, out);
	if (!strcmp(argv[0], "started"))
		return vm_cmd(a, VM_EV_STARTED, argc, argv, out);
	if (!strcmp(argv[0], "release"))
		return vm_cmd(a, VM_EV_RELEASE, argc, argv, out);
	if (!strcmp(argv[0], "stats")) {
		if (json)
			fputc('{', out);
		counters(a, out, json);
		if (json)
			fputs("}\n", out);
		return 0;
	}
	if (!strcmp(argv[0], "status")) {
		if (json) {
			fprintf(out, "{\"role\":\"%s\",", a->conf.relay_role ? "relay" : "agent");
			if (a->conf.relay_role) {
				relay_server_status(a, out, true);
			} else {
				vm_status(a, out, true);
				fputc(',', out);
				relay_client_status(a, out, true);
			}
			fputc(',', out);
			counters(a, out, true);
			fputs("}\n", out);
		} else if (a->conf.relay_role) {
			relay_server_status(a, out, false);
		} else {
			for (unsigned i = 0; i < a->nbr; i++)
				fprintf(out, "bridge %s: %s%s%s\n", a->br[i].name,
					a->br[i].have_prefix ? a6(&a->br[i].prefix) : "no prefix seen",
					a->br[i].have_prefix ? "/64 via " : "",
					a->br[i].have_prefix ? a6(&a->br[i].router) : "");
			vm_status(a, out, false);
			relay_client_status(a, out, false);
		}
		return 0;
	}
	fprintf(out, "unknown request '%s'", argv[0]);
	return -EINVAL;
}
