/* glm-agentd's control socket: the hook's helper and glmctl.
 *   incoming|started|release ...   the hook's request, lib/hookreq.h
 *   status [format=json]      stats [format=json]
 * The hook's values are validated again (by its decoder): the socket is
 * the trust boundary. */
#include "agent_int.h"
#include "conf.h"
#include "ctl.h"
#include "hookreq.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The hook's request (lib/hookreq.h): decoded and checked there. */
static int vm_cmd(struct agentd *a, int argc, char **argv, FILE *out)
{
	static const enum vm_event ev[] = {
		[HOOKREQ_INCOMING] = VM_EV_INCOMING,
		[HOOKREQ_STARTED] = VM_EV_STARTED,
		[HOOKREQ_RELEASE] = VM_EV_RELEASE,
	};
	static struct hookreq r;
	char err[256];

	if (hookreq_decode_args(argc, argv, &r, err, sizeof(err)) < 0)
		return fprintf(out, "%s", err), -EINVAL;
	if (a->conf.relay_role)
		return fprintf(out, "this glm-agentd is a relay"), -EINVAL;
	return vm_request(a, ev[r.event], &r.dom, r.prepare, out);
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
	enum hookreq_event ev;

	if (!hookreq_event_parse(argv[0], &ev))
		return vm_cmd(a, argc, argv, out);
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
