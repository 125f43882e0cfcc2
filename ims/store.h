/* imsd's durable store: the HA -> MA mappings in SQLite (WAL, synchronous=FULL).
 *
 * A row outlives its mapping: a withdrawn or expired HA keeps its row with
 * expires = 0 (a tombstone) so that its last sequence number still refuses a
 * replay of an older update. Tombstones are bounded by the home addresses in
 * the keyring, since only an owning key can create a row.
 *
 * Writes happen between store_begin() and store_commit(); reads inside a
 * transaction see its own uncommitted writes, which is what lets a batch of
 * updates for one HA be checked in order before the single commit. */
#ifndef IMS_STORE_H
#define IMS_STORE_H
#include <netinet/in.h>
#include <stdint.h>
#include <time.h>

struct store;

struct mapping {
	struct in6_addr ha, ma;
	uint64_t seq;     /* header seq of the update that wrote the row */
	int64_t expires;  /* wall clock seconds; 0 = withdrawn or expired */
	uint32_t key_id;
};

/* Called for each row; return 0 to go on, <0 to stop (returned as is). */
typedef int (*store_row_fn)(void *ctx, const struct mapping *m);

/* On failure *out may still be set, so that store_errmsg() can say why;
 * store_close() it either way. */
int store_open(const char *path, struct store **out);
void store_close(struct store *st);

int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* The row for ha, live or tombstone: 0, -ENOENT, or -EIO. */
int store_get(struct store *st, const struct in6_addr *ha, struct mapping *m);
int store_put(struct store *st, const struct mapping *m);
/* Live mappings (expires > now) whose HA lies in prefix/len. */
int store_each_in_prefix(struct store *st, const struct in6_addr *prefix, unsigned len,
			 int64_t now, store_row_fn fn, void *ctx);
/* Inside a transaction: report every mapping with 0 < expires <= now, then
 * turn them into tombstones. */
int store_expire(struct store *st, int64_t now, store_row_fn fn, void *ctx);
/* Number of live mappings, or -EIO. */
long store_count(struct store *st, int64_t now);
/* The SQLite error text of the last failure, for log lines. */
const char *store_errmsg(struct store *st);
#endif
