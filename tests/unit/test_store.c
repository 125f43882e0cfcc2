/* Unit tests of imsd's SQLite store (ims/store.c) on a temporary file:
 * put/get, the tombstone that keeps a withdrawn HA's seq, prefix ranges,
 * expiry, rollback, and that a reopened file still has what was committed. */
// link: ims/store.c
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "../../ims/store.h"

struct fixture {
	char dir[64], path[96];
	struct store *st;
};

static struct in6_addr A(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static struct mapping M(const char *ha, const char *ma, uint64_t seq, int64_t expires)
{
	struct mapping m = { .ha = A(ha), .ma = A(ma), .seq = seq, .expires = expires, .key_id = 7 };
	return m;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/glm-test-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/ims.db", f->dir);
	assert_int_equal(store_open(f->path, &f->st), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[128];

	store_close(f->st);
	for (const char *const *suf = (const char *const[]){ "-wal", "-shm", NULL }; *suf; suf++) {
		snprintf(p, sizeof(p), "%s%s", f->path, *suf);
		unlink(p);
	}
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void put_one(struct store *st, struct mapping m)
{
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_put(st, &m), 0);
	assert_int_equal(store_commit(st), 0);
}

static void test_put_get(void **state)
{
	struct fixture *f = *state;
	struct mapping m;
	struct in6_addr ha = A("2001:db8:100::10");

	assert_int_equal(store_get(f->st, &ha, &m), -ENOENT);
	put_one(f->st, M("2001:db8:100::10", "2001:db8:2::10", 9, 1000));
	assert_int_equal(store_get(f->st, &ha, &m), 0);
	struct in6_addr ma = A("2001:db8:2::10");
	assert_memory_equal(&m.ma, &ma, sizeof(ma));
	assert_int_equal(m.seq, 9);
	assert_int_equal(m.expires, 1000);
	assert_int_equal(m.key_id, 7);
	assert_int_equal(store_count(f->st, 999), 1);
	assert_int_equal(store_count(f->st, 1000), 0);
}

/* seq is a u64 on the wire; values above INT64_MAX must come back intact. */
static void test_big_seq(void **state)
{
	struct fixture *f = *state;
	struct mapping m;
	struct in6_addr ha = A("2001:db8:100::10");

	put_one(f->st, M("2001:db8:100::10", "2001:db8:2::10", UINT64_MAX - 1, 1000));
	assert_int_equal(store_get(f->st, &ha, &m), 0);
	assert_true(m.seq == UINT64_MAX - 1);
}

/* The staleness rule lives in imsd, but it relies on get() returning the
 * stored seq, including for a withdrawn HA (tombstone, expires 0). */
static void test_stale_and_tombstone(void **state)
{
	struct fixture *f = *state;
	struct mapping m;
	struct in6_addr ha = A("2001:db8:100::10");

	put_one(f->st, M("2001:db8:100::10", "2001:db8:2::10", 9, 1000));
	put_one(f->st, M("2001:db8:100::10", "2001:db8:2::10", 12, 0));
	assert_int_equal(store_get(f->st, &ha, &m), 0);
	assert_int_equal(m.seq, 12);
	assert_int_equal(m.expires, 0);
	assert_int_equal(store_count(f->st, 1), 0);
}

static void test_rollback(void **state)
{
	struct fixture *f = *state;
	struct mapping m = M("2001:db8:100::10", "2001:db8:2::10", 9, 1000), got;

	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_put(f->st, &m), 0);
	/* Inside the transaction its own write is visible ... */
	assert_int_equal(store_get(f->st, &m.ha, &got), 0);
	store_rollback(f->st);
	/* ... and after a rollback it never was. */
	assert_int_equal(store_get(f->st, &m.ha, &got), -ENOENT);
}

static int count_row(void *ctx, const struct mapping *m)
{
	(*(int *)ctx)++;
	return 0;
}

static void test_prefix(void **state)
{
	struct fixture *f = *state;
	struct in6_addr p = A("2001:db8:100::");
	int n = 0;

	put_one(f->st, M("2001:db8:100::10", "2001:db8:2::10", 1, 1000));
	put_one(f->st, M("2001:db8:100::ffff", "2001:db8:2::11", 1, 1000));
	put_one(f->st, M("2001:db8:101::10", "2001:db8:2::12", 1, 1000));
	put_one(f->st, M("2001:db8:100::20", "2001:db8:2::13", 1, 0)); /* tombstone */
	assert_int_equal(store_each_in_prefix(f->st, &p, 64, 500, count_row, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_each_in_prefix(f->st, &in6addr_any, 0, 500, count_row, &n), 0);
	assert_int_equal(n, 3);
	n = 0;
	p = A("2001:db8:100::10");
	assert_int_equal(store_each_in_prefix(f->st, &p, 128, 500, count_row, &n), 0);
	assert_int_equal(n, 1);
}

static void test_expire(void **state)
{
	struct fixture *f = *state;
	struct mapping m;
	int n = 0;

	put_one(f->st, M("2001:db8:100::10", "2001:db8:2::10", 5, 100));
	put_one(f->st, M("2001:db8:100::11", "2001:db8:2::11", 6, 200));
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_expire(f->st, 150, count_row, &n), 0);
	assert_int_equal(store_commit(f->st), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_count(f->st, 150), 1);
	/* The expired row keeps its seq, so an old update stays stale. */
	struct in6_addr ha = A("2001:db8:100::10");
	assert_int_equal(store_get(f->st, &ha, &m), 0);
	assert_int_equal(m.seq, 5);
	assert_int_equal(m.expires, 0);
	/* A second sweep finds nothing new. */
	n = 0;
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_expire(f->st, 150, count_row, &n), 0);
	store_rollback(f->st);
	assert_int_equal(n, 0);
}

static void test_reopen_persists(void **state)
{
	struct fixture *f = *state;
	struct mapping m;
	struct in6_addr ha = A("2001:db8:100::10");

	put_one(f->st, M("2001:db8:100::10", "2001:db8:2::10", 42, 1000));
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_int_equal(store_get(f->st, &ha, &m), 0);
	assert_int_equal(m.seq, 42);
	assert_int_equal(m.expires, 1000);
}

static void test_open_bad_path(void **state)
{
	struct store *st = NULL;

	assert_true(store_open("/nonexistent-dir/for/glm/ims.db", &st) < 0);
	assert_non_null(store_errmsg(st));
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_tombstone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_persists, setup, teardown),
		cmocka_unit_test(test_open_bad_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
