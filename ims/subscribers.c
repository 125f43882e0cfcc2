/* Correspondents that subscribed to a prefix, and the pushes they get.
 *
 * A subscription is (address, port, prefix, key) with a lifetime; the same
 * four again refresh it, LIFETIME 0 ends it. Each push is sealed with the
 * subscriber's own key, looked up at send time so that a key removed by a
 * SIGHUP reload stops receiving at once. Kept in a plain array: there are
 * at most IMSD_MAX_SUBSCRIBERS, and an update touches all of them anyway
 * to match prefixes; one key holds at most IMSD_SUBS_PER_KEY of them.
 *
 * A new subscription gets every mapping in its prefix first. That dump is
 * paced, dump-rate mappings a second (imsd.conf): sent at once, a gateway's
 * hundred thousand overflowed its receive buffer (44,694 of 100,000 lost,
 * and those home addresses unmapped until its next renewal). It is the
 * state when the SUBSCRIBE came; a change since (a push, with a newer
 * update seq) drops the dump's entry for that HA, so the dump never sends
 * older news after newer, nor brings back a mapping withdrawn meanwhile. */
#include "imsd.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DUMP_GAP_MS 5 /* a dump-rate / 200 slice every 5 ms */

static bool same_sub(const struct subscriber *s, const struct sockaddr_in6 *to,
		     const struct glm_msg *req, uint32_t key_id)
{
	return s->key_id == key_id && s->prefix_len == req->prefix_len &&
	       !memcmp(&s->prefix, &req->prefix, sizeof(s->prefix)) &&
	       !memcmp(&s->to.sin6_addr, &to->sin6_addr, sizeof(to->sin6_addr)) &&
	       s->to.sin6_port == to->sin6_port;
}

static bool same_to(const struct dump *u, const struct sockaddr_in6 *to, uint32_t key_id)
{
	return u->key_id == key_id && !memcmp(&u->to.sin6_addr, &to->sin6_addr, sizeof(to->sin6_addr)) &&
	       u->to.sin6_port == to->sin6_port;
}

/* The dump to (to, key_id) in progress, ended (unsubscribed, or a new
 * SUBSCRIBE starts it over). */
static void dump_cancel(struct imsd *d, const struct sockaddr_in6 *to, uint32_t key_id)
{
	for (struct dump **pp = &d->dumps, *u; (u = *pp);) {
		if (same_to(u, to, key_id)) {
			*pp = u->next;
			free(u->m);
			free(u);
		} else {
			pp = &u->next;
		}
	}
}

int subs_add(struct imsd *d, const struct sockaddr_in6 *to, const struct glm_msg *req,
	     const struct glm_key *key, uint32_t lifetime)
{
	struct subscriber *s = NULL;
	int64_t now = wall_now();

	for (unsigned i = 0; i < d->nsubs; i++)
		if (same_sub(&d->subs[i], to, req, key->id)) {
			s = &d->subs[i];
			break;
		}
	if (!lifetime) {
		if (s) {
			dump_cancel(d, &s->to, s->key_id);
			*s = d->subs[--d->nsubs];
		}
		return 0;
	}
	if (!s) {
		unsigned mine = 0;

		subs_expire(d, now);
		for (unsigned i = 0; i < d->nsubs; i++)
			mine += d->subs[i].key_id == key->id;
		if (mine >= IMSD_SUBS_PER_KEY)
			return -EDQUOT;
		if (d->nsubs >= IMSD_MAX_SUBSCRIBERS)
			return -ENOSPC;
		if (d->nsubs == d->subs_cap) {
			unsigned nc = d->subs_cap ? d->subs_cap * 2 : 16;
			struct subscriber *ns = realloc(d->subs, nc * sizeof(*ns));

			if (!ns)
				return -ENOMEM;
			d->subs = ns;
			d->subs_cap = nc;
		}
		s = &d->subs[d->nsubs++];
		memset(s, 0, sizeof(*s));
		s->to = *to;
		s->prefix = req->prefix;
		s->prefix_len = req->prefix_len;
		s->key_id = key->id;
	}
	s->expires = now + lifetime;
	return 0;
}

void subs_expire(struct imsd *d, int64_t now)
{
	for (unsigned i = 0; i < d->nsubs;) {
		if (d->subs[i].expires <= now) {
			log_debug("subscription of %s to %s/%u expired", sa6(&d->subs[i].to),
				  a6(&d->subs[i].prefix), d->subs[i].prefix_len);
			d->subs[i] = d->subs[--d->nsubs];
		} else {
			i++;
		}
	}
}

/* One NOTIFY of m to `to`, sealed for key: lifetime 0 = gone. */
static void notify_one(struct imsd *d, const struct sockaddr_in6 *to, const struct mapping *m, uint32_t lifetime,
		       const struct glm_key *key)
{
	struct glm_msg n = { .type = GLM_NOTIFY, .seq = seq_next() };

	GLM_SET(&n, status, GLM_TLV_STATUS, GLM_ST_OK);
	GLM_SET(&n, ha, GLM_TLV_HA, m->ha);
	GLM_SET(&n, ma, GLM_TLV_MA, m->ma);
	GLM_SET(&n, lifetime, GLM_TLV_LIFETIME, lifetime);
	GLM_SET(&n, update_seq, GLM_TLV_UPDATE_SEQ, m->seq);
	sendq_msg(d, to, &n, key);
	d->st.notifies_sent++;
}

static int cmp_ha(const void *a, const void *b)
{
	return memcmp(&((const struct mapping *)a)->ha, &((const struct mapping *)b)->ha, sizeof(struct in6_addr));
}

void subs_notify(struct imsd *d, const struct mapping *m, uint32_t lifetime)
{
	int64_t now = wall_now();

	/* news of m->ha: what a dump still holds of it is older */
	for (struct dump *u = d->dumps; u; u = u->next) {
		struct mapping *old = bsearch(m, u->m + u->sent, u->n - u->sent, sizeof(*u->m), cmp_ha);

		if (old)
			old->expires = 0;
	}

	for (unsigned i = 0; i < d->nsubs; i++) {
		const struct subscriber *s = &d->subs[i];
		const struct glm_key *key;

		if (s->expires <= now || !in6_prefix_match(&m->ha, &s->prefix, s->prefix_len))
			continue;
		key = keyring_find(&d->keys, s->key_id);
		if (key)
			notify_one(d, &s->to, m, lifetime, key);
	}
}

/* Rows collected from the store (store_row_fn): the expired ones of a
 * sweep, a dump's snapshot. */
struct rows {
	struct mapping *m;
	size_t n, cap;
};

static int collect(void *ctx, const struct mapping *m)
{
	struct rows *e = ctx;

	if (e->n == e->cap) {
		size_t nc = e->cap ? e->cap * 2 : 64;
		struct mapping *nm = realloc(e->m, nc * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		e->m = nm;
		e->cap = nc;
	}
	e->m[e->n++] = *m;
	return 0;
}

void expiry_tick(struct imsd *d)
{
	struct rows e = { 0 };
	int64_t now = wall_now();
	int r;

	subs_expire(d, now);
	if (d->es) {
		estore_tick(d);
		return;
	}
	/* Pushes wait for the commit, like acks: a subscriber must not hear
	 * of an expiry that a failed commit leaves in place. */
	r = store_begin(d->store);
	if (!r)
		r = store_expire(d->store, now, collect, &e);
	if (!r && e.n)
		r = store_commit(d->store);
	else if (!r)
		store_rollback(d->store);
	if (r) {
		log_warnx("store: expiry sweep: %s", r == -ENOMEM ? "out of memory" : store_errmsg(d->store));
		store_rollback(d->store);
		goto cleanup;
	}
	for (unsigned i = 0; i < e.n; i++) {
		log_info("mapping %s -> %s expired", a6(&e.m[i].ha), a6(&e.m[i].ma));
		subs_notify(d, &e.m[i], 0);
	}
	sendq_flush(d);
cleanup:
	free(e.m);
}

/* Queue the next chunk of u: false once it is all sent (or its key gone). */
static bool dump_chunk(struct imsd *d, struct dump *u)
{
	const struct glm_key *key = keyring_find(&d->keys, u->key_id);
	int64_t now = wall_now();
	unsigned queued = 0, chunk = d->conf.dump_rate / (1000 / DUMP_GAP_MS);

	if (!key)
		return false; /* removed by a reload: nothing more for it */
	while (u->sent < u->n && queued < chunk) {
		const struct mapping *m = &u->m[u->sent++];

		if (m->expires <= now)
			continue; /* expired, or changed since (pushed) */
		notify_one(d, &u->to, m, (uint32_t)(m->expires - now), key);
		queued++;
	}
	return u->sent < u->n;
}

void on_dump_timer(void *arg)
{
	struct imsd *d = arg;

	for (struct dump **pp = &d->dumps, *u; (u = *pp);) {
		if (dump_chunk(d, u)) {
			pp = &u->next;
		} else {
			*pp = u->next;
			free(u->m);
			free(u);
		}
	}
	sendq_flush(d);
	if (d->dumps)
		ev_timer_in(d->loop, &d->dump_timer, DUMP_GAP_MS);
}

int subs_dump(struct imsd *d, const struct sockaddr_in6 *to, const struct glm_key *key,
	      const struct in6_addr *prefix, uint8_t len)
{
	struct rows c = { 0 };
	struct dump *u;
	int64_t now = wall_now();
	int r;

	dump_cancel(d, to, key->id); /* a renewal: the whole state again */
	r = d->es ? estore_each_in_prefix(d, prefix, len, now, collect, &c)
		  : store_each_in_prefix(d->store, prefix, len, now, collect, &c);
	if (r < 0 || !c.n || !(u = calloc(1, sizeof(*u)))) {
		free(c.m);
		return r < 0 ? r : c.n ? -ENOMEM : 0;
	}
	qsort(c.m, c.n, sizeof(*c.m), cmp_ha);
	u->to = *to;
	u->key_id = key->id;
	u->m = c.m;
	u->n = c.n;
	if (!dump_chunk(d, u)) {
		free(u->m);
		free(u);
		return 0;
	}
	u->next = d->dumps;
	d->dumps = u;
	if (!ev_timer_armed(&d->dump_timer))
		ev_timer_in(d->loop, &d->dump_timer, DUMP_GAP_MS);
	return 0;
}

void subs_free(struct imsd *d)
{
	ev_timer_stop(&d->dump_timer);
	while (d->dumps) {
		struct dump *u = d->dumps;

		d->dumps = u->next;
		free(u->m);
		free(u);
	}
	free(d->subs);
	d->subs = NULL;
	d->nsubs = d->subs_cap = 0;
}
