/* lib/htab: see htab.h. Linear probing keeps a lookup to a few adjacent
 * slots at the 3/4 load the table keeps; deletion shifts the entries
 * after the removed one back, so lookups never walk over tombstones. */
#include "htab.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define HTAB_MIN 16

void htab_init(struct htab *h, size_t esize, size_t ksize)
{
	memset(h, 0, sizeof(*h));
	h->esize = esize;
	h->ksize = ksize;
	if (getrandom(&h->seed, sizeof(h->seed), GRND_NONBLOCK) != sizeof(h->seed))
		h->seed = now_ns() ^ (uint64_t)(uintptr_t)h;
}

void htab_free(struct htab *h)
{
	free(h->slots);
	h->slots = NULL;
	h->cap = h->n = 0;
}

/* A seeded 64-bit hash over the key (a multiply-xorshift mix per 8 bytes). */
static uint64_t hash(const struct htab *h, const void *key)
{
	const unsigned char *p = key;
	uint64_t x = h->seed ^ (h->ksize * 0x9e3779b97f4a7c15ull);
	size_t i;

	for (i = 0; i + 8 <= h->ksize; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		x = (x ^ w) * 0xbf58476d1ce4e5b9ull;
		x ^= x >> 31;
	}
	if (i < h->ksize) {
		uint64_t w = 0;
		memcpy(&w, p + i, h->ksize - i);
		x = (x ^ w) * 0xbf58476d1ce4e5b9ull;
		x ^= x >> 31;
	}
	x = (x ^ (x >> 30)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Entries first (aligned as calloc aligns), then a used flag per slot. */
static unsigned char *slot(const struct htab *h, size_t i) { return h->slots + i * h->esize; }
static unsigned char *used(const struct htab *h, size_t i) { return h->slots + h->cap * h->esize + i; }

/* The slot of key, or the empty slot where it would go. */
static size_t probe(const struct htab *h, const void *key)
{
	size_t i = hash(h, key) & (h->cap - 1);

	while (*used(h, i) && memcmp(slot(h, i), key, h->ksize))
		i = (i + 1) & (h->cap - 1);
	return i;
}

void *htab_find(const struct htab *h, const void *key)
{
	if (!h->n)
		return NULL;
	size_t i = probe(h, key);
	return *used(h, i) ? slot(h, i) : NULL;
}

static int grow(struct htab *h)
{
	struct htab old = *h;
	size_t cap = h->cap ? h->cap * 2 : HTAB_MIN;
	unsigned char *n = calloc(cap, 1 + h->esize);

	if (!n)
		return -ENOMEM;
	h->slots = n;
	h->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (*used(&old, i)) {
			size_t j = probe(h, slot(&old, i));
			memcpy(slot(h, j), slot(&old, i), h->esize);
			*used(h, j) = 1;
		}
	free(old.slots);
	return 0;
}

void *htab_insert(struct htab *h, const void *key, int *added)
{
	size_t i;

	if (added)
		*added = 0;
	if (h->n && *used(h, i = probe(h, key)))
		return slot(h, i);
	if ((h->n + 1) * 4 > h->cap * 3 && grow(h) < 0)
		return NULL;
	i = probe(h, key);
	*used(h, i) = 1;
	memset(slot(h, i), 0, h->esize);
	memcpy(slot(h, i), key, h->ksize);
	h->n++;
	if (added)
		*added = 1;
	return slot(h, i);
}

void htab_remove(struct htab *h, void *entry)
{
	size_t i = (size_t)((unsigned char *)entry - h->slots) / h->esize, j = i;

	*used(h, i) = 0;
	h->n--;
	/* Shift back each following entry whose home slot is not between the
	 * hole and it (cyclically): it was pushed past the hole. */
	for (;;) {
		j = (j + 1) & (h->cap - 1);
		if (!*used(h, j))
			return;
		size_t home = hash(h, slot(h, j)) & (h->cap - 1);
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		memcpy(slot(h, i), slot(h, j), h->esize);
		*used(h, i) = 1;
		*used(h, j) = 0;
		i = j;
	}
}

void *htab_next(const struct htab *h, size_t *it)
{
	for (; *it < h->cap; (*it)++)
		if (*used(h, *it))
			return slot(h, (*it)++);
	return NULL;
}
