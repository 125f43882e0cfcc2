/* The SQLite side of imsd (see store.h): one connection, statements
 * prepared once at open, every write inside an explicit transaction so
 * that a batch of updates costs one fsync. */
#include "store.h"
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

enum {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_GET, ST_PUT, ST_RANGE,
	ST_EXPIRED, ST_EXPIRE, ST_COUNT, ST_MAX,
};

static const char *const sql[ST_MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_GET] = "SELECT ma, seq, expires, key_id FROM mappings WHERE ha = ?1",
	[ST_PUT] = "INSERT OR REPLACE INTO mappings (ha, ma, seq, expires, key_id) "
		   "VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_RANGE] = "SELECT ha, ma, seq, expires, key_id FROM mappings "
		     "WHERE ha >= ?1 AND ha <= ?2 AND expires > ?3 ORDER BY ha",
	[ST_EXPIRED] = "SELECT ha, ma, seq, expires, key_id FROM mappings "
		       "WHERE expires > 0 AND expires <= ?1",
	[ST_EXPIRE] = "UPDATE mappings SET expires = 0 WHERE expires > 0 AND expires <= ?1",
	[ST_COUNT] = "SELECT COUNT(*) FROM mappings WHERE expires > ?1",
};

/* The index on expires keeps the once-a-second sweep and the count from
 * scanning the whole table. */
static const char schema[] =
	"CREATE TABLE IF NOT EXISTS mappings ("
	" ha BLOB PRIMARY KEY, ma BLOB, seq INTEGER, expires INTEGER, key_id INTEGER);"
	"CREATE INDEX IF NOT EXISTS mappings_expires ON mappings (expires);";

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_MAX];
	int in_txn;
};

const char *store_errmsg(struct store *st)
{
	return st && st->db ? sqlite3_errmsg(st->db) : "out of memory";
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->in_txn)
		store_rollback(st);
	for (int i = 0; i < ST_MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

/* One pragma whose answer must be the value asked for: journal_mode
 * silently stays "delete" on a filesystem that cannot do WAL, and we
 * would rather refuse to start than run with a weaker guarantee. */
static int pragma(sqlite3 *db, const char *set, const char *want)
{
	sqlite3_stmt *s;
	int r = -EIO;

	if (sqlite3_prepare_v2(db, set, -1, &s, NULL) != SQLITE_OK)
		return -EIO;
	int rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && !want)
		r = 0;
	else if (rc == SQLITE_ROW && (!want || !strcasecmp((const char *)sqlite3_column_text(s, 0), want)))
		r = 0;
	sqlite3_finalize(s);
	return r;
}

int store_open(const char *path, struct store **out)
{
	struct store *st = calloc(1, sizeof(*st));
	int r = -EIO;

	*out = NULL;
	if (!st)
		return -ENOMEM;
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto cleanup;
	sqlite3_busy_timeout(st->db, 1000);
	if (pragma(st->db, "PRAGMA journal_mode=WAL", "wal") ||
	    pragma(st->db, "PRAGMA synchronous=FULL", NULL) ||
	    sqlite3_exec(st->db, schema, NULL, NULL, NULL) != SQLITE_OK)
		goto cleanup;
	for (int i = 0; i < ST_MAX; i++)
		if (sqlite3_prepare_v3(st->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &st->stmt[i], NULL) != SQLITE_OK)
			goto cleanup;
	*out = st;
	return 0;
cleanup:
	/* The caller logs store_errmsg(); keep the handle alive for that. */
	*out = st;
	return r;
}

static int run(struct store *st, int which)
{
	sqlite3_stmt *s = st->stmt[which];
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int store_begin(struct store *st)
{
	int r = run(st, ST_BEGIN);

	if (!r)
		st->in_txn = 1;
	return r;
}

int store_commit(struct store *st)
{
	int r = run(st, ST_COMMIT);

	/* A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY);
	 * roll it back so that nothing of it survives. */
	if (r)
		store_rollback(st);
	st->in_txn = 0;
	return r;
}

void store_rollback(struct store *st)
{
	if (sqlite3_get_autocommit(st->db) == 0)
		run(st, ST_ROLLBACK);
	st->in_txn = 0;
}

static void row(sqlite3_stmt *s, int col0, struct mapping *m)
{
	const void *b = sqlite3_column_blob(s, col0);

	memset(&m->ma, 0, sizeof(m->ma));
	if (b && sqlite3_column_bytes(s, col0) == sizeof(m->ma))
		memcpy(&m->ma, b, sizeof(m->ma));
	/* seq is a u64 on the wire; SQLite keeps its bit pattern as an i64. */
	m->seq = (uint64_t)sqlite3_column_int64(s, col0 + 1);
	m->expires = sqlite3_column_int64(s, col0 + 2);
	m->key_id = (uint32_t)sqlite3_column_int64(s, col0 + 3);
}

int store_get(struct store *st, const struct in6_addr *ha, struct mapping *m)
{
	sqlite3_stmt *s = st->stmt[ST_GET];
	int rc, r;

	sqlite3_bind_blob(s, 1, ha, sizeof(*ha), SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		m->ha = *ha;
		row(s, 0, m);
		r = 0;
	} else {
		r = rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return r;
}

int store_put(struct store *st, const struct mapping *m)
{
	sqlite3_stmt *s = st->stmt[ST_PUT];
	int r;

	sqlite3_bind_blob(s, 1, &m->ha, sizeof(m->ha), SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, &m->ma, sizeof(m->ma), SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)m->seq);
	sqlite3_bind_int64(s, 4, m->expires);
	sqlite3_bind_int64(s, 5, m->key_id);
	r = run(st, ST_PUT);
	sqlite3_clear_bindings(s);
	return r;
}

/* Step a SELECT of full rows, handing each to fn. */
static int each_row(sqlite3_stmt *s, store_row_fn fn, void *ctx)
{
	struct mapping m;
	int rc, r = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const void *ha = sqlite3_column_blob(s, 0);

		if (!ha || sqlite3_column_bytes(s, 0) != sizeof(m.ha))
			continue; /* not written by us */
		memcpy(&m.ha, ha, sizeof(m.ha));
		row(s, 1, &m);
		r = fn(ctx, &m);
		if (r < 0)
			break;
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = -EIO;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return r < 0 ? r : 0;
}

int store_each_in_prefix(struct store *st, const struct in6_addr *prefix, unsigned len,
			 int64_t now, store_row_fn fn, void *ctx)
{
	sqlite3_stmt *s = st->stmt[ST_RANGE];
	struct in6_addr lo = *prefix, hi;

	/* HAs are 16-byte blobs compared with memcmp, so a prefix is a range. */
	if (len > 128)
		return -EINVAL;
	for (unsigned i = len; i < 128; i++)
		lo.s6_addr[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	hi = lo;
	for (unsigned i = len; i < 128; i++)
		hi.s6_addr[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	sqlite3_bind_blob(s, 1, &lo, sizeof(lo), SQLITE_TRANSIENT);
	sqlite3_bind_blob(s, 2, &hi, sizeof(hi), SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 3, now);
	return each_row(s, fn, ctx);
}

int store_expire(struct store *st, int64_t now, store_row_fn fn, void *ctx)
{
	int r;

	sqlite3_bind_int64(st->stmt[ST_EXPIRED], 1, now);
	r = each_row(st->stmt[ST_EXPIRED], fn, ctx);
	if (r)
		return r;
	sqlite3_bind_int64(st->stmt[ST_EXPIRE], 1, now);
	r = run(st, ST_EXPIRE);
	sqlite3_clear_bindings(st->stmt[ST_EXPIRE]);
	return r;
}

long store_count(struct store *st, int64_t now)
{
	sqlite3_stmt *s = st->stmt[ST_COUNT];
	long n = -EIO;

	sqlite3_bind_int64(s, 1, now);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return n;
}
