/* imsd's control socket requests (lib/ctl.h carries them; imsctl(8)
 * sends them). Each takes format=json for one JSON object instead:
 *
 *   stats        key=value lines, one counter each ("stats json" too)
 *   dump         one line per live mapping: HA MA SEQ EXPIRES_IN
 *   status       key=value lines: the store, and for etcd the endpoint in
 *                use, whether the cache is synchronised, the last error
 *   query HA     HA's mapping as a QUERY would answer it: from the store
 *                (sqlite) or estore_query (etcd); "not found" is an error
 *
 * Drop counters are named drop_<reason>, the reason being
 * glm_parse_err_name() with blanks turned into '_', so a new parse error
 * gets a counter without touching this file. */
#include "conf.h"
#include "imsd.h"
#include "print.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
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
	struct printer *p;
	int64_t now;
};

static void mapping_print(struct printer *p, const struct mapping *m, int64_t now)
{
	print_open_object(p, NULL);
	print_addr(p, "ha", "%s", &m->ha);
	print_addr(p, "ma", " %s", &m->ma);
	print_u64(p, "seq", " %llu", m->seq);
	print_u64(p, "expires_in", " %llu\n", m->expires > now ? (uint64_t)(m->expires - now) : 0);
	print_close_object(p);
}

static int dump_line(void *ctx, const struct mapping *m)
{
	struct dump_ctx *c = ctx;

	mapping_print(c->p, m, c->now);
	return 0;
}

static int query(struct imsd *d, const char *arg, struct printer *p, FILE *out)
{
	struct mapping m;
	struct in6_addr ha;
	int64_t now = wall_now();
	int r;

	if (parse_in6(arg, &ha)) {
		fprintf(out, "query: '%s' is not an IPv6 address", arg);
		return -EINVAL;
	}
	r = d->es ? estore_query(d, &ha, &m) : store_get(d->store, &ha, &m);
	if (r == -ENOENT || (r == 0 && m.expires <= now)) {
		fprintf(out, "query %s: no mapping", a6(&ha));
		return -ENOENT;
	}
	if (r) {
		fprintf(out, "query %s: store: %s", a6(&ha), d->es ? "etcd unavailable" : store_errmsg(d->store));
		return -EIO;
	}
	mapping_print(p, &m, now);
	return 0;
}

static void stats(struct imsd *d, struct printer *p)
{
	struct counter c[64];
	unsigned n = counters(d, c, ARRAY_SIZE(c));

	print_open_object(p, NULL);
	for (unsigned i = 0; i < n; i++) {
		char fmt[sizeof(c[i].name) + 8];

		snprintf(fmt, sizeof(fmt), "%.*s=%%llu\n", (int)sizeof(c[i].name) - 1, c[i].name);
		print_u64(p, c[i].name, fmt, c[i].v);
	}
	print_close_object(p);
}

int control_request(void *ctx, int argc, char **argv, FILE *out)
{
	struct imsd *d = ctx;
	const char *f = conf_arg(argc, argv, "format");
	bool json = f && !strcmp(f, "json");
	struct printer p;

	/* "stats json", the older spelling of "stats format=json" */
	if (!strcmp(argv[0], "stats") && argc == 2 && !strcmp(argv[1], "json"))
		json = true;
	else if (f ? argc != (strcmp(argv[0], "query") ? 2 : 3) || !json
		   : argc != (strcmp(argv[0], "query") ? 1 : 2))
		goto usage;
	print_init(&p, out, json);
	if (!strcmp(argv[0], "stats")) {
		stats(d, &p);
		return 0;
	}
	if (!strcmp(argv[0], "dump")) {
		struct dump_ctx dc = { .p = &p, .now = wall_now() };
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&buf, &len);
		int r;

		/* into a buffer first: a store failing half-way answers with
		 * the error alone, not with a cut list */
		if (!mem) {
			fprintf(out, "dump: out of memory");
			return -1;
		}
		print_init(&p, mem, json);
		print_open_array(&p, NULL);
		r = d->es ? estore_each_in_prefix(d, &in6addr_any, 0, dc.now, dump_line, &dc)
			  : store_each_in_prefix(d->store, &in6addr_any, 0, dc.now, dump_line, &dc);
		print_close_array(&p);
		fclose(mem);
		if (r)
			fprintf(out, "store: %s", d->es ? "the etcd cache is not synchronised" : store_errmsg(d->store));
		else
			fwrite(buf, 1, len, out);
		free(buf);
		return r ? -1 : 0;
	}
	if (!strcmp(argv[0], "status")) {
		print_open_object(&p, NULL);
		if (d->es) {
			estore_status(d, &p);
		} else {
			print_str(&p, "store", "store=%s\n", "sqlite");
			print_str(&p, "database", "database=%s\n", d->conf.database);
		}
		print_close_object(&p);
		return 0;
	}
	if (!strcmp(argv[0], "query"))
		return query(d, argv[1], &p, out);
usage:
	fprintf(out, "request '%s' not understood (known: stats, dump, status, query HA; each may end in format=json)", argv[0]);
	return -1;
}
