/* imsd's Prometheus metrics (lib/metrics.h serves them): the counters the
 * "stats" request prints, under Prometheus names, and the store's write
 * latency. Nothing is counted here: this file only reads. */
#include "imsd.h"
#include "util.h"
#include <string.h>

/* estore's counters (etcd_calls, etcd_round_us_total...) as glm_imsd_
 * names: the two levels are gauges, microsecond sums become seconds. */
static void etcd_metrics(struct imsd *d, struct strbuf *sb)
{
	const char *names[32];
	unsigned long long v[32];
	unsigned n = estore_counters(d, names, v, ARRAY_SIZE(names));

	for (unsigned i = 0; i < n; i++) {
		char name[96], help[160];
		size_t l = strlen(names[i]);

		if (!strcmp(names[i], "etcd_synced") || !strcmp(names[i], "etcd_revision")) {
			snprintf(name, sizeof(name), "glm_imsd_%s", names[i]);
			snprintf(help, sizeof(help), "etcd store: %s (imsctl stats: %s)",
				 !strcmp(names[i], "etcd_synced") ? "1 while the cache is synchronised" : "the revision the cache holds",
				 names[i]);
			mx_gauge(sb, name, help, v[i]);
		} else if (l > 9 && !strcmp(names[i] + l - 9, "_us_total")) {
			snprintf(name, sizeof(name), "glm_imsd_%.*s_seconds_total", (int)(l - 9), names[i]);
			snprintf(help, sizeof(help), "etcd store: time spent, imsctl stats %s", names[i]);
			mx_family(sb, name, "counter", help);
			mx_sample_f(sb, name, NULL, NULL, (double)v[i] / 1e6);
		} else {
			snprintf(name, sizeof(name), "glm_imsd_%s_total", names[i]);
			snprintf(help, sizeof(help), "etcd store: imsctl stats %s", names[i]);
			mx_counter(sb, name, help, v[i]);
		}
	}
}

void imsd_metrics(void *ctx, struct strbuf *sb)
{
	struct imsd *d = ctx;
	long mappings = d->es ? estore_count(d, wall_now()) : store_count(d->store, wall_now());
	const struct { const char *result; uint64_t v; } upd[] = {
		{ "ok", d->st.updates_ok },
		{ "stale", d->st.updates_stale },
		{ "denied", d->st.updates_denied },
		{ "badreq", d->st.updates_badreq },
		{ "failed", d->st.updates_failed },
		{ "prove", d->st.updates_prove },
		{ "unavailable", d->st.updates_unavailable },
	};
	mx_counter(sb, "glm_imsd_received_total", "Messages received on the IMS socket.", d->st.rx);
	mx_family(sb, "glm_imsd_updates_total", "counter",
		  "UPDATEs by result: ok, stale (sequence not newer), denied (key not owner), badreq, failed "
		  "(store error), prove (return routability asked), unavailable (etcd did not store it).");
	for (unsigned i = 0; i < ARRAY_SIZE(upd); i++)
		mx_sample(sb, "glm_imsd_updates_total", "result", upd[i].result, upd[i].v);
	mx_counter(sb, "glm_imsd_queries_total", "QUERYs answered.", d->st.queries);
	mx_counter(sb, "glm_imsd_subscribes_total", "SUBSCRIBEs accepted.", d->st.subscribes);
	mx_family(sb, "glm_imsd_refused_total", "counter",
		  "Requests refused, by reason: update_denied, update_badreq, subscribe_limit (the key holds "
		  "its limit of subscriptions).");
	mx_sample(sb, "glm_imsd_refused_total", "reason", "update_denied", d->st.updates_denied);
	mx_sample(sb, "glm_imsd_refused_total", "reason", "update_badreq", d->st.updates_badreq);
	mx_sample(sb, "glm_imsd_refused_total", "reason", "subscribe_limit", d->st.subscribes_limited);
	mx_counter(sb, "glm_imsd_cookies_sent_total", "QUERYs and SUBSCRIBEs answered with a cookie first.",
		   d->st.cookies_sent);
	mx_counter(sb, "glm_imsd_pushes_total", "NOTIFYs pushed to subscribers.", d->st.notifies_sent);
	mx_counter(sb, "glm_imsd_send_errors_total", "Messages the socket refused to send.", d->st.send_errors);
	mx_drops(sb, "glm_imsd_dropped_total", d->st.drop);
	mx_sample(sb, "glm_imsd_dropped_total", "reason", "unexpected_type", d->st.drop_unexpected);
	mx_gauge(sb, "glm_imsd_subscribers", "Live subscriptions.", d->nsubs);
	mx_gauge(sb, "glm_imsd_mappings", "Live mappings in the store.", mappings < 0 ? 0 : (uint64_t)mappings);
	mx_family(sb, "glm_imsd_store_write_seconds", "histogram",
		  "Time of one store write: a SQLite put, or one etcd transaction round for a batch.");
	mx_hist_write(sb, "glm_imsd_store_write_seconds", NULL, NULL, &d->store_write);
	if (d->es)
		etcd_metrics(d, sb);
}
