/* A hash table of fixed-size entries kept in one array (open addressing,
 * linear probing, backward-shift deletion: no tombstones). An entry's key
 * is its first ksize bytes, compared with memcmp, so a key struct must be
 * zeroed before its fields are set (padding included). Entries move when
 * the table grows or when another is removed: hold no pointer to one
 * across htab_insert or htab_remove. The hash is keyed with a per-table
 * random seed, so keys a guest chooses (its groups) cannot be picked to
 * collide. The table grows without bound; a caller whose keys come from
 * the network checks htab_count against a limit of its own. */
#ifndef GLM_HTAB_H
#define GLM_HTAB_H
#include <stddef.h>
#include <stdint.h>

struct htab {
	size_t esize, ksize;
	size_t cap, n;           /* cap: 0 or a power of two; n <= cap * 3 / 4 */
	unsigned char *slots;    /* cap entries, then cap used flags */
	uint64_t seed;
};

void htab_init(struct htab *h, size_t esize, size_t ksize);
void htab_free(struct htab *h);
static inline size_t htab_count(const struct htab *h) { return h->n; }
void *htab_find(const struct htab *h, const void *key);
/* The entry with key, added zeroed but for its key if it was not there
 * (*added says which, if added is not NULL); NULL if memory ran out. */
void *htab_insert(struct htab *h, const void *key, int *added);
/* Remove entry (a pointer htab_find, htab_insert or htab_next gave). */
void htab_remove(struct htab *h, void *entry);
/* Iterate: start with *it = 0; NULL at the end. */
void *htab_next(const struct htab *h, size_t *it);
/* After htab_remove of the entry htab_next just returned: go on without
 * missing the entry that may have shifted into its slot. (An entry that
 * wrapped around the end may then be returned a second time: fine for a
 * sweep that removes what matches.) */
static inline void htab_next_after_remove(size_t *it) { if (*it) (*it)--; }
#endif
