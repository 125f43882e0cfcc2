/* glm-agentd's Prometheus metrics (lib/metrics.h serves them): hook calls
 * and their duration, proxy joins, flood holds, relay sessions and the
 * packets and bytes they brought (agent), or what the relay forwarded
 * (relay role), and the counters the "stats" request prints. */
#include "agent_int.h"
#include "hookreq.h"

void agent_metrics(void *ctx, struct strbuf *sb)
{
	struct agentd *a = ctx;

	mx_counter(sb, "glm_agentd_received_total", "Messages received.", a->rx);
	mx_counter(sb, "glm_agentd_refused_total", "Requests refused (a key not allowed to send them).", a->refused);
	mx_counter(sb, "glm_agentd_ims_failovers_total", "Switches to another IMS.", a->conf.ims.failovers);
	mx_drops(sb, "glm_agentd_dropped_total", a->drops);
	if (a->conf.relay_role) {
		relay_server_metrics(a, sb);
		return;
	}
	mx_family(sb, "glm_agentd_hook_calls_total", "counter",
		  "libvirt hook requests (incoming, started, release), answered ok or refused.");
	for (unsigned e = 0; e < AGENT_HOOK_EVENTS; e++) {
		mx_sample2(sb, "glm_agentd_hook_calls_total", "event", hookreq_event_name(e), "result", "ok",
			   a->mx.hook_calls[e][0]);
		mx_sample2(sb, "glm_agentd_hook_calls_total", "event", hookreq_event_name(e), "result", "refused",
			   a->mx.hook_calls[e][1]);
	}
	mx_family(sb, "glm_agentd_hook_duration_seconds", "histogram",
		  "Time the agent took to answer a hook request, by event.");
	for (unsigned e = 0; e < AGENT_HOOK_EVENTS; e++)
		mx_hist_write(sb, "glm_agentd_hook_duration_seconds", "event", hookreq_event_name(e), &a->mx.hook_seconds[e]);
	mx_counter(sb, "glm_agentd_proxy_joins_total", "Multicast groups joined on a bridge for a VM.", a->mx.proxy_joins);
	mx_gauge(sb, "glm_agentd_proxy_joins", "Proxy joins held now.", proxy_joins(a));
	mx_counter(sb, "glm_agentd_flood_holds_total", "VM ports whose flooding was held until the VM resumed.",
		   a->mx.flood_holds);
	mx_gauge(sb, "glm_agentd_vms", "VMs the agent follows.", a->nvms);
	mx_counter(sb, "glm_agentd_relay_requests_total", "Relay sessions asked of a relay.", a->mx.relay_requests);
	mx_gauge(sb, "glm_agentd_relay_sessions", "Relay sessions open now.", relay_client_sessions(a));
	mx_counter(sb, "glm_agentd_relay_packets_total", "Packets a relay brought, re-sent on a bridge.",
		   a->mx.relay_packets);
	mx_counter(sb, "glm_agentd_relay_bytes_total", "Bytes of those packets.", a->mx.relay_bytes);
}
