/* imsd's control socket requests (lib/ctl.h carries them):
 *
 *   stats        key=value lines, one counter each
 *   stats json   the same counters as one JSON object
 *   dump         one line per live mapping: HA MA SEQ EXPIRES_IN
 *   status       key=value lines: the store, and for etcd the endpoint in
 *                use, whether the cache is synchronised, the last error
 *
 * Drop counters are named drop_<reason>, the reason being
 * glm_parse_err_name() with blanks turned into '_', so a new parse error
 * gets a counter without touching this file. */
#include "imsd.h"
#include "print.h"
#include "util.h"
#include <string.h>

struct counter {
	char name[48];
	unsigned long long v;
};

static unsigned counters(struct imsd *d, struct counter *c, unsigned cap)
{
	long mappings = d->es ? estore_count(d, wall_now()) : store_count(d->store, wall_now());
	unsigned n = 0;
	const struct { const char *name; unsigned long long v; } fixed[] = {
		{ "rx", d->st.rx },
		{ "updates_ok", d->st.updates_ok },
		{ "updates_stale", d->st.updates_stale },
		{ "updates_denied", d->st.updates_denied },
		{ "updates_badreq", d->st.updates_badreq },
		{ "updates_failed", d->st.updates_failed },
		{ "updates_prove", d->st.updates_prove },
		{ "updates_unavailable", d->st.updates_unavailable },
		{ "queries", d->st.queries },
		{ "subscribes", d->st.subscribes },
		{ "subscribes_limited", d->st.subscribes_limited },
		{ "cookies_sent", d->st.cookies_sent },
		{ "notifies_sent", d->st.notifies_sent },
		{ "send_errors", d->st.send_errors },
		{ "subscribers", d->nsubs },
		{ "mappings", mappings < 0 ? 0 : (unsigned long long)mappings },
		{ "drop_unexpected_type", d->st.drop_unexpected },
	};

	for (unsigned i = 0; i < ARRAY_SIZE(fixed) && n < cap; i++, n++) {
		snprintf(c[n].name, sizeof(c[n].name), "%s", fixed[i].name);
		c[n].v = fixed[i].v;
	}
	if (d->es) {
		const char *names[32];
		unsigned long long v[32];
		unsigned k = estore_counters(d, names, v, ARRAY_SIZE(names));

		for (unsigned i = 0; i < k && n < cap; i++, n++) {
			snprintf(c[n].name, sizeof(c[n].name), "%s", names[i]);
			c[n].v = v[i];
		}
	}
	for (unsigned e = GLM_PE_OK + 1; e < GLM_PE_MAX && n < cap; e++, n++) {
		snprintf(c[n].name, sizeof(c[n].name), "drop_%s", glm_parse_err_name(e));
		for (char *p = c[n].name; *p; p++)
			if (*p == ' ')
				*p = '_';
		c[n].v = d->st.drop[e];
	}
	return n;
}

struct dump_ctx {
	FILE *out;
	int64_t now;
};

static int dump_line(void *ctx, const struct mapping *m)
{
	struct dump_ctx *c = ctx;

	fprintf(c->out, "%s %s %llu %lld\n", a6(&m->ha), a6(&m->ma), (unsigned long long)m->seq,
		(long long)(m->expires - c->now));
	return 0;
}

int control_request(void *ctx, int argc, char **argv, FILE *out)
{
	struct imsd *d = ctx;
	struct counter c[64];
	struct printer p;
	unsigned n;

	if (!strcmp(argv[0], "stats") && argc <= 2) {
		bool json = argc == 2 && !strcmp(argv[1], "json");

		if (argc == 2 && !json) {
			fprintf(out, "usage: stats [json]");
			return -1;
		}
		n = counters(d, c, ARRAY_SIZE(c));
		print_init(&p, out, json);
		print_open_object(&p, NULL);
		for (unsigned i = 0; i < n; i++) {
			char fmt[sizeof(c[i].name) + 8];

			snprintf(fmt, sizeof(fmt), "%.*s=%%llu\n", (int)sizeof(c[i].name) - 1, c[i].name);
			print_u64(&p, c[i].name, fmt, c[i].v);
		}
		print_close_object(&p);
		return 0;
	}
	if (!strcmp(argv[0], "dump") && argc == 1) {
		struct dump_ctx dc = { .out = out, .now = wall_now() };

		if (d->es ? estore_each_in_prefix(d, &in6addr_any, 0, dc.now, dump_line, &dc)
			  : store_each_in_prefix(d->store, &in6addr_any, 0, dc.now, dump_line, &dc)) {
			fprintf(out, "store: %s", d->es ? "the etcd cache is not synchronised" : store_errmsg(d->store));
			return -1;
		}
		return 0;
	}
	if (!strcmp(argv[0], "status") && argc == 1) {
		if (d->es)
			estore_status(d, out);
		else
			fprintf(out, "store=sqlite\ndatabase=%s\n", d->conf.database);
		return 0;
	}
	fprintf(out, "unknown request '%s' (known: stats [json], dump, status)", argv[0]);
	return -1;
}
