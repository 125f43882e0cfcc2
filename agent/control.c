/* glm-agentd's control socket: the hook's helper and glmctl.
 *   incoming|started|release ...   the hook's request, lib/hookreq.h
 *   status [format=json]      stats [format=json]
 *   migrations [format=json]  the recent migrations here (migrations.c)
 * The hook's values are validated again (by its decoder): the socket is
 * the trust boundary. */
#include "agent_int.h"
#include "conf.h"
#include "ctl.h"
#include "hookreq.h"
#include "log.h"
#include "print.h"
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
	uint64_t t0;
	int ret;

	if (hookreq_decode_args(argc, argv, &r, err, sizeof(err)) < 0)
		return fprintf(out, "%s", err), -EINVAL;
	if (a->conf.relay_role)
		return fprintf(out, "this glm-agentd is a relay"), -EINVAL;
	t0 = now_ns();
	ret = vm_request(a, ev[r.event], &r.dom, r.prepare, out);
	if ((unsigned)r.event < AGENT_HOOK_EVENTS) {
		a->mx.hook_calls[r.event][ret < 0]++;
		mx_hist_observe(&a->mx.hook_seconds[r.event], (double)(now_ns() - t0) / 1e9);
	}
	return ret;
}

/* The counters: all of stats, and in JSON the end of status too. */
static void counters(struct agentd *a, struct printer *p)
{
	print_u64(p, "rx", "rx=%llu\n", a->rx);
	print_u64(p, "refused", "refused=%llu\n", a->refused);
	print_uint(p, "proxy_joins", "proxy_joins=%u\n", proxy_joins(a));
	print_u64(p, "ims_failovers", "ims_failovers=%llu\n", a->conf.ims.failovers);
	glm_drops_print(p, a->drops);
}

static void status(struct agentd *a, struct printer *p)
{
	print_str(p, "role", NULL, a->conf.relay_role ? "relay" : "agent");
	if (a->conf.relay_role) {
		relay_server_status(a, p);
	} else {
		ims_set_print(&a->conf.ims, p);
		print_text(p, "\n");
		for (unsigned i = 0; i < a->nbr; i++) {
			const struct agent_bridge *br = &a->br[i];

			print_str(p, NULL, "bridge %s:", br->name);
			print_addr(p, NULL, " %s/64", br->have_prefix ? &br->prefix : NULL);
			print_addr(p, NULL, " via %s", br->have_prefix ? &br->router : NULL);
			print_text(p, "%s\n", br->have_prefix ? "" : " no prefix seen");
		}
		vm_status(a, p);
		relay_client_status(a, p);
	}
	if (print_is_json(p))
		counters(a, p);
}

int agent_ctl_handler(void *ctx, int argc, char **argv, FILE *out)
{
	struct agentd *a = ctx;
	const char *f = conf_arg(argc, argv, "format");
	enum hookreq_event ev;
	struct printer p;

	if (!hookreq_event_parse(argv[0], &ev))
		return vm_cmd(a, argc, argv, out);
	print_init(&p, out, f && !strcmp(f, "json"));
	if (!strcmp(argv[0], "stats") || !strcmp(argv[0], "status")) {
		print_open_object(&p, NULL);
		if (!strcmp(argv[0], "stats"))
			counters(a, &p);
		else
			status(a, &p);
		print_close_object(&p);
		return 0;
	}
	if (!strcmp(argv[0], "migrations")) {
		if (a->conf.relay_role)
			return fprintf(out, "this glm-agentd is a relay: no VM migrates to it"), -EINVAL;
		migrations_print(a, &p);
		return 0;
	}
	fprintf(out, "unknown request '%s'", argv[0]);
	return -EINVAL;
}
