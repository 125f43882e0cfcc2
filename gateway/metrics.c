/* glm-gatewayd's Prometheus metrics (lib/metrics.h serves them): the
 * counters the "stats" request prints, under Prometheus names, and the
 * packets the table translated, from its rules' nftables counters. */
#include "gatewayd.h"
#include "util.h"

void gw_metrics(void *ctx, struct strbuf *sb)
{
	struct gw *g = ctx;
	const struct { const char *result; uint64_t v; } maps[] = {
		{ "added", g->st.added },
		{ "moved", g->st.moved },
		{ "withdrawn", g->st.withdrawn },
		{ "expired", g->st.expired },
		{ "stale", g->st.stale },
		{ "refused_site", g->st.refused_site },
		{ "refused_home", g->st.refused_home },
		{ "full", g->st.full },
	};
	struct gw_nft_counters nc;

	mx_counter(sb, "glm_gatewayd_received_total", "Messages received.", g->st.rx);
	mx_counter(sb, "glm_gatewayd_not_ims_total", "Authentic messages not from one of our IMSes.", g->st.not_ims);
	mx_counter(sb, "glm_gatewayd_pushes_total", "Mappings pushed or dumped by the IMS.", g->st.pushes);
	mx_family(sb, "glm_gatewayd_mapping_changes_total", "counter",
		  "Mapping changes by result: added, moved (new MA), withdrawn, expired, stale (older sequence), "
		  "refused_site (MA outside every site-prefix), refused_home (HA outside every home-prefix), "
		  "full (max-mappings reached).");
	for (unsigned i = 0; i < ARRAY_SIZE(maps); i++)
		mx_sample(sb, "glm_gatewayd_mapping_changes_total", "result", maps[i].result, maps[i].v);
	mx_gauge(sb, "glm_gatewayd_mappings", "Home addresses mapped in the kernel's table.", htab_count(&g->maps));
	mx_counter(sb, "glm_gatewayd_nft_errors_total", "nftables batches the kernel refused.", g->st.nft_errors);
	mx_counter(sb, "glm_gatewayd_binding_updates_total", "BINDING_UPDATEs received (site gateway).", g->st.bu_rx);
	mx_counter(sb, "glm_gatewayd_binding_prove_total", "BINDING_UPDATEs answered with a PROVE token.", g->st.bu_prove);
	mx_counter(sb, "glm_gatewayd_binding_refused_total", "BINDING_UPDATEs refused.", g->st.bu_refused);
	mx_counter(sb, "glm_gatewayd_rx_lost_total", "Datagrams the kernel dropped: the receive buffer was full.",
		   g->st.rx_lost);
	mx_counter(sb, "glm_gatewayd_resubscribes_total",
		   "Subscription rounds for the whole state again, after datagrams were lost.", g->st.resubscribes);
	mx_counter(sb, "glm_gatewayd_subscribe_rounds_total", "SUBSCRIBE rounds sent to the IMS.", g->sub.rounds);
	mx_counter(sb, "glm_gatewayd_subscribe_acks_total", "SUBSCRIBEs the IMS acknowledged.", g->sub.acks);
	mx_counter(sb, "glm_gatewayd_subscribe_refused_total", "SUBSCRIBEs the IMS refused.", g->sub.refusals);
	mx_counter(sb, "glm_gatewayd_ims_failovers_total", "Switches to another IMS.", g->conf.ims.failovers);
	mx_drops(sb, "glm_gatewayd_dropped_total", g->st.drops);
	if (g->nft && gw_nft_counters(g->nft, &nc) == 0) {
		mx_family(sb, "glm_gatewayd_translated_packets_total", "counter",
			  "Packets translated by the table: to_ma (a home address's packet sent to its MA), "
			  "icmp_error (an ICMPv6 error's inner header turned back), rejected (to a home address "
			  "with no mapping).");
		mx_sample(sb, "glm_gatewayd_translated_packets_total", "direction", "to_ma", nc.to_ma.packets);
		mx_sample(sb, "glm_gatewayd_translated_packets_total", "direction", "icmp_error", nc.icmp.packets);
		mx_sample(sb, "glm_gatewayd_translated_packets_total", "direction", "rejected", nc.rejected.packets);
		mx_family(sb, "glm_gatewayd_translated_bytes_total", "counter",
			  "Bytes of the packets in glm_gatewayd_translated_packets_total.");
		mx_sample(sb, "glm_gatewayd_translated_bytes_total", "direction", "to_ma", nc.to_ma.bytes);
		mx_sample(sb, "glm_gatewayd_translated_bytes_total", "direction", "icmp_error", nc.icmp.bytes);
		mx_sample(sb, "glm_gatewayd_translated_bytes_total", "direction", "rejected", nc.rejected.bytes);
	}
}
