/* lib/htab.c against a plain array model: random inserts, lookups and
 * removals (the backward shift must keep every key findable), growth,
 * iteration that removes as it goes, and entries whose keys are structs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "htab.h"

struct ent {
	uint32_t key[5];      /* 20 bytes: a key that is not a multiple of 8 */
	unsigned val;
};

#define NKEYS 3000

static void mkkey(uint32_t k[5], unsigned i)
{
	memset(k, 0, 20);
	k[0] = i * 2654435761u;
	k[4] = i;
}

static void test_model(void **state)
{
	static bool in[NKEYS];
	struct htab h;
	unsigned seed = 1;

	(void)state;
	memset(in, 0, sizeof(in));
	htab_init(&h, sizeof(struct ent), 20);
	for (int round = 0; round < 200000; round++) {
		seed = seed * 1103515245 + 12345;
		unsigned i = (seed >> 8) % NKEYS, op = (seed >> 4) % 3;
		uint32_t k[5];
		mkkey(k, i);
		struct ent *e = htab_find(&h, k);
		assert_int_equal(e != NULL, in[i]);
		if (e)
			assert_int_equal(e->val, i + 7);
		if (op < 2 && !in[i]) {
			int added;
			e = htab_insert(&h, k, &added);
			assert_non_null(e);
			assert_int_equal(added, 1);
			assert_int_equal(e->val, 0);
			e->val = i + 7;
			in[i] = true;
		} else if (op == 2 && in[i]) {
			htab_remove(&h, e);
			in[i] = false;
		}
	}
	size_t n = 0;
	for (unsigned i = 0; i < NKEYS; i++) {
		uint32_t k[5];
		mkkey(k, i);
		assert_int_equal(htab_find(&h, k) != NULL, in[i]);
		n += in[i];
	}
	assert_int_equal(htab_count(&h), n);
	htab_free(&h);
}

static void test_insert_existing(void **state)
{
	struct htab h;
	uint32_t k[5];
	int added;

	(void)state;
	htab_init(&h, sizeof(struct ent), 20);
	mkkey(k, 42);
	struct ent *e = htab_insert(&h, k, &added);
	assert_int_equal(added, 1);
	e->val = 5;
	e = htab_insert(&h, k, &added);
	assert_int_equal(added, 0);
	assert_int_equal(e->val, 5);
	assert_int_equal(htab_count(&h), 1);
	htab_free(&h);
	assert_null(htab_find(&h, k));
}

static void test_sweep(void **state)
{
	struct htab h;
	size_t it = 0, seen = 0;
	struct ent *e;

	(void)state;
	htab_init(&h, sizeof(struct ent), 20);
	for (unsigned i = 0; i < 1000; i++) {
		uint32_t k[5];
		mkkey(k, i);
		((struct ent *)htab_insert(&h, k, NULL))->val = i;
	}
	/* remove the odd ones while iterating */
	while ((e = htab_next(&h, &it))) {
		seen++;
		if (e->val & 1) {
			htab_remove(&h, e);
			htab_next_after_remove(&it);
		}
	}
	assert_true(seen >= 1000);
	assert_int_equal(htab_count(&h), 500);
	for (unsigned i = 0; i < 1000; i++) {
		uint32_t k[5];
		mkkey(k, i);
		assert_int_equal(htab_find(&h, k) != NULL, !(i & 1));
	}
	it = 0;
	seen = 0;
	while (htab_next(&h, &it))
		seen++;
	assert_int_equal(seen, 500);
	htab_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_insert_existing),
		cmocka_unit_test(test_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
