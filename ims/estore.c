/* imsd's mappings in etcd (`store etcd`, imsd.conf(5)): any number of
 * frontends serve the same mappings, and none keeps state of its own that
 * matters.
 *
 * Two keys per home address, under the configured prefix P:
 *   P s/HA   "SEQ NONCE"            no lease: the last sequence number taken,
 *                                   which refuses replays after the mapping
 *                                   is gone (the tombstone of store.h)
 *   P m/HA   "SEQ MA EXPIRES KEYID"  with a lease: the live mapping
 * SEQ is 16 hex digits, so etcd's byte-wise comparison of values orders
 * them as numbers. An UPDATE with sequence number N is one transaction:
 *   if value(s/HA) < "N"      -> write both keys (delete m/HA to withdraw)
 *   else if s/HA is absent    -> the same
 *   else                      -> read s/HA (it says why: stale)
 * so of two frontends given the same update, or an older one, at most one
 * writes it. NONCE is this frontend's and this attempt's: an attempt
 * retried on another member after a timeout that finds its own NONCE
 * knows its first attempt was committed.
 *
 * The lifetime is the lease's: etcd deletes m/HA when it ends, and every
 * frontend's watch sees the delete. Leases are shared by the updates that
 * end within the same two seconds, so a steady stream of refreshes
 * grants about one lease a second, not one an update.
 *
 * Every frontend watches P m/ and keeps the live mappings in a cache:
 * QUERY and SUBSCRIBE's dump read it once it is synchronised (a range
 * read, then the watch from the next revision), and the watch's events
 * are what every frontend pushes to its subscribers, for updates made
 * through any frontend. */
#include "imsd.h"
#include "print.h"
#include "htab.h"
#include "strbuf.h"
#include "log.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define LEASES 64
#define BODY_MAX 8192
#define KEY_MAX 300

struct lease {
	int64_t id;
	int64_t expires;   /* wall clock seconds */
};

struct estore {
	struct imsd *d;
	struct etcd *etcd;
	struct htab cache;         /* struct mapping, keyed by ha: the live mappings */
	bool synced;               /* cache read and watch running */
	bool ever_synced;          /* the cache was whole once: better than nothing when etcd is away */
	int64_t rev;               /* the last revision the cache holds */
	uint64_t nonce_base, nonce_n;
	struct lease leases[LEASES];
	uint64_t down_until_ns;    /* no member answered: updates refused until then */
	struct ev_timer resync;
	uint64_t st_txn, st_stale, st_unavailable, st_leases, st_events, st_resyncs;
	uint64_t st_together, st_apart;  /* updates stored in a shared transaction; shared ones that failed */
	uint64_t txn_ns_total;
};

static void key_of(const struct estore *es, char kind, const struct in6_addr *ha, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, ha, a, sizeof(a));
	snprintf(out, cap, "%s%c/%s", es->d->conf.etcd.prefix, kind, a);
}

static char *b64s(const char *s, char *out, size_t cap)
{
	return etcd_b64(s, strlen(s), out, cap);
}

/* "P m/" and its range end "P m0" ('/' + 1 = '0'). */
static void range_of(const struct estore *es, char *k, char *end, size_t cap)
{
	snprintf(k, cap, "%sm/", es->d->conf.etcd.prefix);
	snprintf(end, cap, "%sm0", es->d->conf.etcd.prefix);
}

/* A kv of P m/: 0 and m, or -1 (not ours, or malformed: logged). */
static int parse_kv(const struct estore *es, json_object *kv, bool want_value, struct mapping *m)
{
	char key[KEY_MAX], val[256], ma[INET6_ADDRSTRLEN];
	const char *kb = json_object_get_string(etcd_get(kv, "key"));
	const char *vb = json_object_get_string(etcd_get(kv, "value"));
	size_t pl = strlen(es->d->conf.etcd.prefix);
	unsigned long long seq, keyid;
	long long expires;
	long n;

	memset(m, 0, sizeof(*m));
	if (!kb || (n = etcd_unb64(kb, key, sizeof(key) - 1)) < 0)
		return -1;
	key[n] = 0;
	if ((size_t)n < pl + 2 || memcmp(key, es->d->conf.etcd.prefix, pl) || key[pl] != 'm' || key[pl + 1] != '/' ||
	    inet_pton(AF_INET6, key + pl + 2, &m->ha) != 1) {
		log_warnx("etcd: key '%.80s' under our prefix is not a mapping: ignored", key);
		return -1;
	}
	if (!want_value)
		return 0;
	if (!vb || (n = etcd_unb64(vb, val, sizeof(val) - 1)) < 0)
		goto bad;
	val[n] = 0;
	if (sscanf(val, "%16llx %45s %lld %llu", &seq, ma, &expires, &keyid) != 4 ||
	    inet_pton(AF_INET6, ma, &m->ma) != 1 || keyid > UINT32_MAX)
		goto bad;
	m->seq = seq;
	m->expires = expires;
	m->key_id = (uint32_t)keyid;
	return 0;
bad:
	log_warnx("etcd: the value of %s is not a mapping: ignored", key);
	return -1;
}

static void notify_put(struct estore *es, const struct mapping *m)
{
	int64_t now = wall_now();

	if (m->expires > now)
		subs_notify(es->d, m, (uint32_t)(m->expires - now));
}

static void cache_put(struct estore *es, const struct mapping *m, bool notify)
{
	struct mapping *c = htab_insert(&es->cache, &m->ha, NULL);

	if (!c) {
		log_warnx("etcd cache: out of memory: %s not cached", a6(&m->ha));
		es->synced = false; /* queries go to etcd until a resync */
		return;
	}
	*c = *m;
	if (notify)
		notify_put(es, m);
}

static void cache_del(struct estore *es, const struct in6_addr *ha, bool notify)
{
	struct mapping *c = htab_find(&es->cache, ha);
	struct mapping old;

	if (!c)
		return;
	old = *c;
	htab_remove(&es->cache, c);
	if (!old.expires)
		return; /* its expiry was told at the time (estore_tick) */
	log_info("mapping %s -> %s %s", a6(&old.ha), a6(&old.ma),
		 old.expires <= wall_now() ? "expired" : "withdrawn");
	if (notify)
		subs_notify(es->d, &old, 0);
}

static void watch_start(struct estore *es);

static void schedule_resync(struct estore *es, uint64_t ms)
{
	if (!ev_timer_armed(&es->resync) || ms == 0)
		ev_timer_in(es->d->loop, &es->resync, ms);
}

static void on_watch(void *ctx, json_object *msg)
{
	struct estore *es = ctx;
	json_object *r = etcd_get(msg, "result"), *ev;
	size_t n;

	if (!r) {
		/* {"error":{"grpc_code":14,"message":"etcdserver: no leader",...}}:
		 * the member lost its leader; the stream ends, a watch elsewhere */
		log_warnx("etcd watch: %s: restarting it", json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN));
		es->synced = false;
		schedule_resync(es, 0);
		return;
	}
	if (etcd_get_i64(r, "compact_revision") || (etcd_get(r, "canceled") &&
						     json_object_get_boolean(etcd_get(r, "canceled")))) {
		log_warnx("etcd watch canceled at revision %lld (compacted to %lld): reading all mappings again",
			  (long long)es->rev, (long long)etcd_get_i64(r, "compact_revision"));
		es->synced = false;
		es->rev = 0;
		schedule_resync(es, 0);
		return;
	}
	ev = etcd_get_array(r, "events", &n);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(ev, i), *kv = etcd_get(e, "kv");
		const char *type = json_object_get_string(etcd_get(e, "type"));
		bool del = type && !strcmp(type, "DELETE");
		int64_t rev = etcd_get_i64(kv, "mod_revision");
		struct mapping m;

		es->st_events++;
		if (rev > es->rev)
			es->rev = rev;
		if (parse_kv(es, kv, !del, &m))
			continue;
		if (del)
			cache_del(es, &m.ha, true);
		else
			cache_put(es, &m, true);
	}
	if (n)
		sendq_flush(es->d);
}

static void on_watch_end(void *ctx, const char *why)
{
	struct estore *es = ctx;

	log_warnx("etcd watch ended (%s) at revision %lld: reading the mappings again and watching from there", why,
		  (long long)es->rev);
	es->synced = false;
	schedule_resync(es, 0);
}

/* Read every mapping (the cache starts over from it), then watch from
 * the next revision. Subscribers hear of what changed meanwhile. */
static int full_sync(struct estore *es)
{
	char k[KEY_MAX], end[KEY_MAX], kb[KEY_MAX * 2], eb[KEY_MAX * 2], body[BODY_MAX];
	struct etcd_call c = { .path = "/v3/kv/range", .body = body };
	struct htab fresh;
	json_object *kvs;
	size_t n, it = 0;
	struct mapping *m;

	range_of(es, k, end, sizeof(k));
	snprintf(body, sizeof(body), "{\"key\":\"%s\",\"range_end\":\"%s\"}", b64s(k, kb, sizeof(kb)),
		 b64s(end, eb, sizeof(eb)));
	if (etcd_run(es->etcd, &c, 1)) {
		log_warnx("etcd: reading the mappings: %s", c.why);
		etcd_call_done(&c);
		return -EIO;
	}
	htab_init(&fresh, sizeof(struct mapping), sizeof(struct in6_addr));
	kvs = etcd_get_array(c.resp, "kvs", &n);
	for (size_t i = 0; i < n; i++) {
		struct mapping mm, *f;

		if (parse_kv(es, json_object_array_get_idx(kvs, i), true, &mm))
			continue;
		if (!(f = htab_insert(&fresh, &mm.ha, NULL))) {
			htab_free(&fresh);
			etcd_call_done(&c);
			return -ENOMEM;
		}
		*f = mm;
	}
	/* what changed while we were not watching */
	while ((m = htab_next(&fresh, &it))) {
		struct mapping *old = htab_find(&es->cache, &m->ha);

		if (!old || old->seq != m->seq)
			notify_put(es, m);
	}
	it = 0;
	while ((m = htab_next(&es->cache, &it)))
		if (m->expires && !htab_find(&fresh, &m->ha)) {
			log_info("mapping %s -> %s gone while the watch was down", a6(&m->ha), a6(&m->ma));
			subs_notify(es->d, m, 0);
		}
	htab_free(&es->cache);
	es->cache = fresh;
	es->rev = etcd_get_i64(etcd_get(c.resp, "header"), "revision");
	etcd_call_done(&c);
	es->st_resyncs++;
	log_info("etcd: %zu mappings read at revision %lld from %s", htab_count(&es->cache), (long long)es->rev,
		 etcd_endpoint(es->etcd));
	return 0;
}

static void watch_start(struct estore *es)
{
	char k[KEY_MAX], end[KEY_MAX], kb[KEY_MAX * 2], eb[KEY_MAX * 2], body[BODY_MAX];
	int r;

	/* Every (re)start reads the mappings first, then watches from the
	 * revision of that read: the cache is whole when synced is set. A
	 * watch restarted from the last revision seen would replay what it
	 * missed only after it is created, and a query in between would be
	 * answered from a stale cache. */
	if (full_sync(es) < 0) {
		schedule_resync(es, 1000);
		return;
	}
	range_of(es, k, end, sizeof(k));
	snprintf(body, sizeof(body),
		 "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\",\"start_revision\":\"%lld\"}}",
		 b64s(k, kb, sizeof(kb)), b64s(end, eb, sizeof(eb)), (long long)es->rev + 1);
	r = etcd_watch_start(es->etcd, body, on_watch, on_watch_end, es);
	if (r < 0) {
		log_warnx("etcd: cannot watch %s (%s): queries go to etcd, retrying in 1 s", k,
			  etcd_last_error(es->etcd));
		schedule_resync(es, 1000);
		return;
	}
	es->synced = es->ever_synced = true;
	sendq_flush(es->d);
	log_info("etcd: watching %s from revision %lld on %s", k, (long long)es->rev + 1, etcd_endpoint(es->etcd));
}

static void on_resync(void *arg)
{
	struct estore *es = arg;

	if (!es->synced)
		watch_start(es);
}

int estore_open(struct imsd *d)
{
	struct estore *es = calloc(1, sizeof(*es));
	int r;

	if (!es)
		return -ENOMEM;
	es->d = d;
	htab_init(&es->cache, sizeof(struct mapping), sizeof(struct in6_addr));
	ev_timer_init(&es->resync, "etcd resync", on_resync, es);
	randombytes_buf(&es->nonce_base, sizeof(es->nonce_base));
	d->es = es;
	if ((r = etcd_new(&d->conf.etcd, d->loop, &es->etcd)) < 0)
		return r;
	watch_start(es);
	return 0;
}

void estore_close(struct imsd *d)
{
	struct estore *es = d->es;

	if (!es)
		return;
	ev_timer_stop(&es->resync);
	etcd_free(es->etcd);
	htab_free(&es->cache);
	free(es);
	d->es = NULL;
}

int estore_get(struct imsd *d, const struct in6_addr *ha, struct mapping *m)
{
	struct in6_addr k = *ha;
	const struct mapping *c = htab_find(&d->es->cache, &k);

	if (!c)
		return -ENOENT;
	*m = *c;
	return 0;
}

int estore_query(struct imsd *d, const struct in6_addr *ha, struct mapping *m)
{
	struct estore *es = d->es;
	char k[KEY_MAX], kb[KEY_MAX * 2], body[BODY_MAX];
	struct etcd_call c = { .path = "/v3/kv/range", .body = body };
	json_object *kvs;
	int r;

	if (es->synced)
		return estore_get(d, ha, m);
	key_of(es, 'm', ha, k, sizeof(k));
	snprintf(body, sizeof(body), "{\"key\":\"%s\"}", b64s(k, kb, sizeof(kb)));
	if (etcd_run(es->etcd, &c, 1)) {
		etcd_call_done(&c);
		/* etcd away: the cache as the watch left it, if it was ever whole */
		return es->ever_synced ? estore_get(d, ha, m) : -EIO;
	}
	kvs = etcd_first(c.resp, "kvs");
	r = kvs ? parse_kv(es, kvs, true, m) : -ENOENT;
	etcd_call_done(&c);
	return r == -1 ? -EIO : r;
}

/* A lease that ends within two seconds after now + lifetime: one we hold,
 * or 0 (the caller grants one for lifetime + 1). */
static struct lease *lease_find(struct estore *es, int64_t now, uint32_t lifetime)
{
	for (unsigned i = 0; i < LEASES; i++)
		if (es->leases[i].id && es->leases[i].expires >= now + lifetime &&
		    es->leases[i].expires <= now + lifetime + 2)
			return &es->leases[i];
	return NULL;
}

static void lease_keep(struct estore *es, int64_t id, int64_t expires, int64_t now)
{
	unsigned at = 0;

	for (unsigned i = 0; i < LEASES; i++) {
		if (!es->leases[i].id || es->leases[i].expires <= now) {
			at = i;
			break;
		}
		if (es->leases[i].expires < es->leases[at].expires)
			at = i;
	}
	es->leases[at] = (struct lease){ id, expires };
}

static void lease_forget(struct estore *es, int64_t id)
{
	for (unsigned i = 0; i < LEASES; i++)
		if (es->leases[i].id == id)
			es->leases[i].id = 0;
}

/* Grant the leases this batch lacks, in one round. */
static void leases_grant(struct estore *es, struct update *u, unsigned n, int64_t now, int64_t *lease)
{
	struct etcd_call c[IMSD_BATCH];
	char bodies[IMSD_BATCH][64];
	uint32_t ttl[IMSD_BATCH];
	unsigned nc = 0;

	for (unsigned i = 0; i < n; i++) {
		struct lease *l;
		unsigned j;

		lease[i] = 0;
		if (u[i].status != GLM_ST_OK || !u[i].lifetime)
			continue;
		if ((l = lease_find(es, now, u[i].lifetime))) {
			lease[i] = l->id;
			continue;
		}
		for (j = 0; j < nc && ttl[j] != u[i].lifetime; j++)
			;
		if (j == nc && nc < IMSD_BATCH) {
			ttl[nc] = u[i].lifetime;
			snprintf(bodies[nc], sizeof(bodies[nc]), "{\"TTL\":\"%u\"}", u[i].lifetime + 1);
			c[nc] = (struct etcd_call){ .path = "/v3/lease/grant", .body = bodies[nc] };
			nc++;
		}
	}
	if (!nc)
		return;
	etcd_run(es->etcd, c, nc);
	for (unsigned j = 0; j < nc; j++) {
		int64_t id = etcd_get_i64(c[j].resp, "ID"), granted = etcd_get_i64(c[j].resp, "TTL");

		if (!c[j].err && id && granted > 0) {
			es->st_leases++;
			lease_keep(es, id, now + granted, now);
			for (unsigned i = 0; i < n; i++)
				if (!lease[i] && u[i].status == GLM_ST_OK && u[i].lifetime == ttl[j])
					lease[i] = id;
		} else {
			log_warnx("etcd: lease of %us not granted: %s", ttl[j] + 1, c[j].err ? c[j].why : "no ID");
		}
		etcd_call_done(&c[j]);
	}
}

/* What one update's transaction is made of: s/HA in base64 (skb), its
 * new seq as compared (nb), and the writes (puts). */
struct txn_parts {
	char skb[KEY_MAX * 2], nb[64], puts[2048];
};

static void txn_parts(struct estore *es, const struct update *u, int64_t lease, uint64_t nonce, struct txn_parts *p)
{
	char sk[KEY_MAX], mk[KEY_MAX], skb[KEY_MAX * 2], mkb[KEY_MAX * 2], sv[64], svb[128], n[24];
	char mv[160], mvb[256], ma[INET6_ADDRSTRLEN];
	struct strbuf sb;

	key_of(es, 's', &u->m.ha, sk, sizeof(sk));
	key_of(es, 'm', &u->m.ha, mk, sizeof(mk));
	b64s(sk, skb, sizeof(skb));
	memcpy(p->skb, skb, sizeof(skb));
	b64s(mk, mkb, sizeof(mkb));
	snprintf(n, sizeof(n), "%016" PRIx64, u->m.seq);
	b64s(n, p->nb, sizeof(p->nb));
	snprintf(sv, sizeof(sv), "%s %016" PRIx64, n, nonce);
	b64s(sv, svb, sizeof(svb));
	if (u->lifetime) {
		inet_ntop(AF_INET6, &u->m.ma, ma, sizeof(ma));
		snprintf(mv, sizeof(mv), "%s %s %lld %u", n, ma, (long long)u->m.expires, u->m.key_id);
		sb_init(&sb, p->puts, sizeof(p->puts));
		sb_printf(&sb,
			  "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\"}},"
			  "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%lld\"}}",
			  skb, svb, mkb, b64s(mv, mvb, sizeof(mvb)), (long long)lease);
	} else {
		sb_init(&sb, p->puts, sizeof(p->puts));
		sb_printf(&sb,
			  "{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\"}},"
			  "{\"request_delete_range\":{\"key\":\"%s\"}}", skb, svb, mkb);
	}
}

/* The transaction of one update (see the top of this file); cmp_equal:
 * the replacement of a stored seq that is ahead of the clock, compared
 * for equality with what was read. */
static void txn_body(const struct txn_parts *p, const char *cmp_equal, char *body, size_t cap)
{
	struct strbuf sb;

	sb_init(&sb, body, cap);
	if (cmp_equal) {
		sb_printf(&sb,
			 "{\"compare\":[{\"key\":\"%s\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"%s\"}],"
			 "\"success\":[%s],\"failure\":[{\"request_range\":{\"key\":\"%s\"}}]}",
			 p->skb, cmp_equal, p->puts, p->skb);
		return;
	}
	sb_printf(&sb,
		 "{\"compare\":[{\"key\":\"%s\",\"target\":\"VALUE\",\"result\":\"LESS\",\"value\":\"%s\"}],"
		 "\"success\":[%s],"
		 "\"failure\":[{\"request_txn\":{"
		 "\"compare\":[{\"key\":\"%s\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],"
		 "\"success\":[%s],\"failure\":[{\"request_range\":{\"key\":\"%s\"}}]}}]}",
		 p->skb, p->nb, p->puts, p->skb, p->puts, p->skb);
}

static bool succeeded(json_object *o)
{
	json_object *s = etcd_get(o, "succeeded");

	return s && json_object_get_boolean(s);
}

/* The s/HA value a refused transaction read (the one that refused it):
 * its seq and nonce, and the base64 text as stored (for a compare on
 * equality). -1: none. */
static int first_read(json_object *resp, uint64_t *seq, uint64_t *nonce, char *raw, size_t rawcap)
{
	json_object *r0, *txn, *kv;
	char v[80];
	const char *vb;
	unsigned long long s, nn;
	long n;

	r0 = etcd_first(resp, "responses");
	/* the outer failure ran the nested txn; its failure, the range */
	if ((txn = etcd_get(r0, "response_txn")))
		r0 = etcd_first(txn, "responses");
	kv = etcd_first(etcd_get(r0, "response_range"), "kvs");
	if (!kv)
		return -1;
	vb = json_object_get_string(etcd_get(kv, "value"));
	if (!vb || (n = etcd_unb64(vb, v, sizeof(v) - 1)) < 0)
		return -1;
	v[n] = 0;
	if (sscanf(v, "%16llx %16llx", &s, &nn) != 2)
		return -1;
	*seq = s;
	*nonce = nn;
	snprintf(raw, rawcap, "%s", vb);
	return 0;
}

/* No member took a round: refuse updates at once for a moment, not a
 * round's wait each. */
static void etcd_down(struct estore *es)
{
	es->down_until_ns = now_ns() + 500000000ull;
	es->st_unavailable++;
	log_warnx("etcd: no member stored the batch (%s): updates refused for 0.5 s", etcd_last_error(es->etcd));
}

/* A round's updates in ONE transaction, when every s/HA holds a smaller
 * seq (the usual case: a home address updated before): one Raft proposal
 * and one request for the batch instead of one each. If any compare fails
 * (a new home address, a stale update), nothing is written and each goes
 * in a transaction of its own. 1: all stored; 0: a compare failed; -1: no
 * member answered. */
static int commit_together(struct estore *es, const struct txn_parts *parts, const unsigned *idx, unsigned nc)
{
	size_t cap = (size_t)nc * (sizeof(parts->skb) + sizeof(parts->nb) + sizeof(parts->puts) + 80) + 64;
	char *body = malloc(cap);
	struct etcd_call c = { .path = "/v3/kv/txn", .body = body };
	struct strbuf sb;
	uint64_t t0;
	int r;

	if (!body)
		return 0;
	sb_init(&sb, body, cap);
	sb_printf(&sb, "{\"compare\":[");
	for (unsigned j = 0; j < nc; j++)
		sb_printf(&sb, "%s{\"key\":\"%s\",\"target\":\"VALUE\",\"result\":\"LESS\",\"value\":\"%s\"}",
			  j ? "," : "", parts[idx[j]].skb, parts[idx[j]].nb);
	sb_printf(&sb, "],\"success\":[");
	for (unsigned j = 0; j < nc; j++)
		sb_printf(&sb, "%s%s", j ? "," : "", parts[idx[j]].puts);
	sb_printf(&sb, "]}");
	if (!sb_ok(&sb)) {
		free(body);
		return 0;
	}
	t0 = now_ns();
	etcd_run(es->etcd, &c, 1);
	es->txn_ns_total += now_ns() - t0;
	mx_hist_observe(&es->d->store_write, (double)(now_ns() - t0) / 1e9);
	es->st_txn++;
	r = c.err ? -1 : succeeded(c.resp) ? 1 : 0;
	if (r > 0)
		es->st_together += nc;
	else if (!r)
		es->st_apart++;
	etcd_call_done(&c);
	free(body);
	return r;
}

/* One round: the updates of the batch listed in sel (at most one per HA),
 * each its own transaction, all sent at once. */
static void commit_round(struct estore *es, struct update *u, const unsigned *sel, unsigned n, int64_t now)
{
	struct etcd_call c[IMSD_BATCH];
	static char bodies[IMSD_BATCH][BODY_MAX];
	static struct txn_parts parts[IMSD_BATCH];
	struct update *w[IMSD_BATCH];
	char raw[IMSD_BATCH][128];
	int64_t lease[IMSD_BATCH];
	uint64_t nonce[IMSD_BATCH], t0;
	unsigned idx[IMSD_BATCH], nc = 0, again[IMSD_BATCH], na = 0, failed = 0;
	struct update tmp[IMSD_BATCH];

	if (now_ns() < es->down_until_ns) {
		for (unsigned k = 0; k < n; k++)
			u[sel[k]].unavailable = true;
		es->st_unavailable++;
		return;
	}
	for (unsigned k = 0; k < n; k++) {
		w[k] = &u[sel[k]];
		tmp[k] = *w[k];
	}
	leases_grant(es, tmp, n, now, lease);
	for (unsigned i = 0; i < n; i++) {
		if (w[i]->lifetime && !lease[i]) {
			w[i]->unavailable = true;
			continue;
		}
		nonce[i] = es->nonce_base + es->nonce_n++;
		txn_parts(es, w[i], lease[i], nonce[i], &parts[i]);
		txn_body(&parts[i], NULL, bodies[nc], sizeof(bodies[nc]));
		c[nc] = (struct etcd_call){ .path = "/v3/kv/txn", .body = bodies[nc] };
		idx[nc++] = i;
	}
	if (nc >= 2) {
		int r = commit_together(es, parts, idx, nc);

		if (r > 0)
			return; /* all stored at once */
		if (r < 0) {
			for (unsigned j = 0; j < nc; j++)
				w[idx[j]]->unavailable = true;
			etcd_down(es);
			return;
		}
		/* a compare failed (a new home address, a stale update): each alone */
	}
	t0 = now_ns();
	if (nc) {
		etcd_run(es->etcd, c, nc);
		mx_hist_observe(&es->d->store_write, (double)(now_ns() - t0) / 1e9);
	}
	es->txn_ns_total += now_ns() - t0;
	es->st_txn += nc;
	for (unsigned j = 0; j < nc; j++) {
		struct update *x = w[idx[j]];
		uint64_t seq = 0, nn = 0;
		bool read = !c[j].err && first_read(c[j].resp, &seq, &nn, raw[idx[j]], sizeof(raw[idx[j]])) == 0;

		if (c[j].err) {
			x->unavailable = true;
			failed++;
			if (strstr(c[j].why, "lease not found")) {
				lease_forget(es, lease[idx[j]]);
				log_warnx("etcd: lease %lld gone: granting a new one next time", (long long)lease[idx[j]]);
			}
			log_warnx("etcd: update %s seq %llu not stored: %s", a6(&x->m.ha), (unsigned long long)x->m.seq,
				  c[j].why);
		} else if (succeeded(c[j].resp) || succeeded(etcd_get(etcd_first(c[j].resp, "responses"),
									   "response_txn"))) {
			/* stored: the cache learns it from the watch */
		} else if (!read) {
			x->unavailable = true;
			log_warnx("etcd: update %s: refused with an answer we cannot read", a6(&x->m.ha));
		} else if (seq == x->m.seq && nn == nonce[idx[j]]) {
			/* our own first attempt, committed before its answer was lost */
		} else if (x->m.seq <= seq && seq > realtime_ns() + GLM_SEQ_FUTURE_NS) {
			log_warnx("update %s from key %u: stored seq %llu is ahead of our clock beyond the window; "
				  "replaced", a6(&x->m.ha), x->m.key_id, (unsigned long long)seq);
			again[na++] = idx[j];
		} else {
			x->status = GLM_ST_STALE;
			x->stored_seq = seq;
			es->st_stale++;
			log_warnx("update %s from key %u refused: stale seq %llu <= %llu (in etcd)", a6(&x->m.ha),
				  x->m.key_id, (unsigned long long)x->m.seq, (unsigned long long)seq);
		}
		etcd_call_done(&c[j]);
	}
	if (nc && failed == nc) {
		etcd_down(es);
	}
	for (unsigned k = 0; k < na; k++) {
		txn_body(&parts[again[k]], raw[again[k]], bodies[k], sizeof(bodies[k]));
		c[k] = (struct etcd_call){ .path = "/v3/kv/txn", .body = bodies[k] };
	}
	if (na)
		etcd_run(es->etcd, c, na);
	for (unsigned k = 0; k < na; k++) {
		if (c[k].err)
			w[again[k]]->unavailable = true;
		else if (!succeeded(c[k].resp))
			w[again[k]]->status = GLM_ST_STALE;
		etcd_call_done(&c[k]);
	}
}

/* The batch's updates for one HA go in successive rounds, lowest seq
 * first, as one SQLite transaction applies them in order: side by side
 * they would race each other into STALE. Updates of different HAs share
 * each round, so a batch costs as many round trips as the most updates
 * it holds for one HA (one, but for a burst). */
void estore_commit(struct imsd *d, struct update *u, unsigned n, int64_t now)
{
	unsigned rank[IMSD_BATCH], sel[IMSD_BATCH], maxrank = 0;
	bool any = false;

	for (unsigned i = 0; i < n; i++) {
		rank[i] = 0;
		if (u[i].status != GLM_ST_OK)
			continue;
		any = true;
		for (unsigned j = 0; j < n; j++)
			if (j != i && u[j].status == GLM_ST_OK && !memcmp(&u[j].m.ha, &u[i].m.ha, 16) &&
			    (u[j].m.seq < u[i].m.seq || (u[j].m.seq == u[i].m.seq && j < i)))
				rank[i]++;
		if (rank[i] > maxrank)
			maxrank = rank[i];
	}
	for (unsigned r = 0; any && r <= maxrank; r++) {
		unsigned ns = 0;

		for (unsigned i = 0; i < n; i++)
			if (u[i].status == GLM_ST_OK && rank[i] == r)
				sel[ns++] = i;
		if (ns)
			commit_round(d->es, u, sel, ns, now);
	}
}

int estore_each_in_prefix(struct imsd *d, const struct in6_addr *prefix, unsigned len, int64_t now,
			  store_row_fn fn, void *ctx)
{
	struct estore *es = d->es;
	const struct mapping *m;
	size_t it = 0;
	int r;

	if (!es->ever_synced)
		return -EIO;
	while ((m = htab_next(&es->cache, &it)))
		if (m->expires > now && in6_prefix_match(&m->ha, prefix, len) && (r = fn(ctx, m)) < 0)
			return r;
	return 0;
}

long estore_count(struct imsd *d, int64_t now)
{
	const struct mapping *m;
	size_t it = 0;
	long n = 0;

	while ((m = htab_next(&d->es->cache, &it)))
		n += m->expires > now;
	return n;
}

/* The once-a-second sweep. A lease ends about when its mappings do, and
 * etcd's delete reaches every watch; but etcd renews every lease when a
 * new leader is elected, so a mapping can outlive its lifetime there by up
 * to a lifetime. Its subscribers hear of the end on time from here; the
 * entry stays (expires = 0: dead) until etcd's delete or a new update. */
void estore_tick(struct imsd *d)
{
	struct estore *es = d->es;
	int64_t now = wall_now();
	struct mapping *m;
	size_t it = 0;
	bool any = false;

	while ((m = htab_next(&es->cache, &it)))
		if (m->expires && m->expires <= now) {
			log_info("mapping %s -> %s expired", a6(&m->ha), a6(&m->ma));
			subs_notify(d, m, 0);
			m->expires = 0;
			any = true;
		}
	if (any)
		sendq_flush(d);
}

void estore_status(struct imsd *d, struct printer *p)
{
	struct estore *es = d->es;

	print_str(p, "store", "store=%s\n", "etcd");
	print_str(p, "etcd_endpoint", "etcd_endpoint=%s\n", etcd_endpoint(es->etcd));
	print_bool(p, "etcd_synced", "etcd_synced=yes\n", es->synced);
	if (!print_is_json(p) && !es->synced)
		print_text(p, "etcd_synced=no\n");
	print_u64(p, "etcd_revision", "etcd_revision=%llu\n", (uint64_t)es->rev);
	print_u64(p, "etcd_cached", "etcd_cached=%llu\n", htab_count(&es->cache));
	print_str(p, "etcd_last_error", "etcd_last_error=%s\n", etcd_last_error(es->etcd));
}

unsigned estore_counters(struct imsd *d, const char **names, unsigned long long *v, unsigned cap)
{
	struct estore *es = d->es;
	const struct etcd_stats *s = etcd_stats(es->etcd);
	const struct { const char *n; unsigned long long v; } c[] = {
		{ "etcd_synced", es->synced },
		{ "etcd_revision", (unsigned long long)es->rev },
		{ "etcd_calls", s->calls },
		{ "etcd_errors", s->errors },
		{ "etcd_failovers", s->failovers },
		{ "etcd_rounds", s->rounds },
		{ "etcd_round_us_total", s->round_ns_total / 1000 },
		{ "etcd_txns", es->st_txn },
		{ "etcd_txn_shared_updates", es->st_together },
		{ "etcd_txn_shared_failed", es->st_apart },
		{ "etcd_txn_us_total", es->txn_ns_total / 1000 },
		{ "etcd_stale", es->st_stale },
		{ "etcd_unavailable", es->st_unavailable },
		{ "etcd_leases_granted", es->st_leases },
		{ "etcd_watch_events", es->st_events },
		{ "etcd_resyncs", es->st_resyncs },
	};
	unsigned n = 0;

	for (; n < ARRAY_SIZE(c) && n < cap; n++) {
		names[n] = c[n].n;
		v[n] = c[n].v;
	}
	return n;
}

/* For the fuzzer and tests: an estore with no etcd behind it, fed by
 * estore_feed. */
int estore_open_detached(struct imsd *d)
{
	struct estore *es = calloc(1, sizeof(*es));

	if (!es)
		return -ENOMEM;
	es->d = d;
	htab_init(&es->cache, sizeof(struct mapping), sizeof(struct in6_addr));
	ev_timer_init(&es->resync, "etcd resync", on_resync, es);
	d->es = es;
	es->synced = true;
	return 0;
}

/* One answer from etcd, as text: taken as a watch message, and read as a
 * transaction's answer and a range's. */
void estore_feed(struct imsd *d, const char *json)
{
	json_object *o = json_tokener_parse(json), *kvs;
	uint64_t seq, nonce;
	char raw[128];
	struct mapping m;
	size_t n;

	if (!o)
		return;
	on_watch(d->es, o);
	(void)first_read(o, &seq, &nonce, raw, sizeof(raw));
	(void)succeeded(o);
	kvs = etcd_get_array(o, "kvs", &n);
	for (size_t i = 0; i < n; i++)
		(void)parse_kv(d->es, json_object_array_get_idx(kvs, i), true, &m);
	json_object_put(o);
}
