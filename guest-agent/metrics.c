/* matd's Prometheus metrics (lib/metrics.h serves them): each handover's
 * phases as histograms (the numbers of its "handover #N" log line), and
 * the counters the "stats" request prints, under Prometheus names. */
#include "matd.h"
#include "util.h"

static const char *const phase_names[HO_PHASES] = {
	[HO_DETECT_TO_USABLE] = "detect_to_usable", [HO_USABLE_TO_IMS] = "usable_to_ims",
	[HO_IMS_RTT] = "ims_rtt", [HO_CN_RTT] = "cn_rtt", [HO_TOTAL] = "total",
};

void matd_metrics(void *ctx, struct strbuf *sb)
{
	struct matd *d = ctx;
	mx_family(sb, "glm_matd_handovers_total", "counter",
		  "Handovers finished: complete, or incomplete (the IMS or a correspondent did not ack in time).");
	mx_sample(sb, "glm_matd_handovers_total", "result", "complete", d->handovers - d->handovers_incomplete);
	mx_sample(sb, "glm_matd_handovers_total", "result", "incomplete", d->handovers_incomplete);
	mx_family(sb, "glm_matd_handover_phase_seconds", "histogram",
		  "Handover phases: detect_to_usable (move noticed to new MA usable), usable_to_ims (to the IMS "
		  "update sent), ims_rtt (update to ack), cn_rtt (slowest correspondent's binding ack), total.");
	for (unsigned i = 0; i < HO_PHASES; i++)
		mx_hist_write(sb, "glm_matd_handover_phase_seconds", "phase", phase_names[i], &d->ho_phase[i]);
	mx_counter(sb, "glm_matd_received_total", "Messages received.", d->rx);
	mx_counter(sb, "glm_matd_stale_total", "Messages with a sequence older than one already taken.", d->stale);
	mx_counter(sb, "glm_matd_refused_total", "Requests refused (a key not allowed to send them).", d->refused);
	mx_counter(sb, "glm_matd_binding_updates_total", "BINDING_UPDATEs received from mobile peers.", d->bu_rx);
	mx_counter(sb, "glm_matd_binding_prove_total", "BINDING_UPDATEs answered with a return-routability check.",
		   d->bu_prove);
	mx_counter(sb, "glm_matd_router_advertisements_bad_total", "Router advertisements not taken.", d->ra_bad);
	mx_counter(sb, "glm_matd_ims_failovers_total", "Switches to another IMS.", d->conf.ims.failovers);
	mx_gauge(sb, "glm_matd_peers", "Mobile peers translated (correspondent role).", d->npeers);
	mx_drops(sb, "glm_matd_dropped_total", d->drops);
}
