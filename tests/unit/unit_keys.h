/* Keyrings for unit tests: every node's seed is its key id in all 32
 * bytes (repeatable, never a real key), so a test names nodes, not hex.
 *
 *   unit_keyring(&kr, 2, (const char *[]){ "1 agent prefix 2001:db8:1::/64",
 *                                          "2 agent", NULL });
 *
 * loads "private 2 SEED(2)" and "key ID ROLE PUB(ID) REST" for each spec
 * "ID ROLE REST"; unit_keyring_text writes that text for tests of the
 * parser itself. */
#ifndef GLM_UNIT_KEYS_H
#define GLM_UNIT_KEYS_H
#include "keys.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void unit_seed(uint32_t id, uint8_t seed[GLM_KEY_LEN])
{
	memset(seed, (int)(id & 0xff), GLM_KEY_LEN);
	memcpy(seed, &id, sizeof(id));
}

static inline size_t unit_hex(char *out, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	return 2 * n;
}

/* The keyring text into buf (cap bytes); its length. */
static inline size_t unit_keyring_text(char *buf, size_t cap, uint32_t self, const char *const *specs)
{
	uint8_t seed[GLM_KEY_LEN], pub[GLM_PUB_LEN];
	char hex[2 * GLM_PUB_LEN + 1];
	size_t len;

	unit_seed(self, seed);
	unit_hex(hex, seed, sizeof(seed));
	len = (size_t)snprintf(buf, cap, "private %u %s\n", self, hex);
	for (; *specs; specs++) {
		unsigned long id = strtoul(*specs, NULL, 10);
		const char *rest = strchr(*specs, ' ');
		const char *more = rest ? strchr(rest + 1, ' ') : NULL;
		int rl = rest ? (int)(more ? (size_t)(more - rest - 1) : strlen(rest + 1)) : 0;

		unit_seed((uint32_t)id, seed);
		glm_key_public(seed, pub);
		unit_hex(hex, pub, sizeof(pub));
		len += (size_t)snprintf(buf + len, cap - len, "key %lu %.*s %s%s\n", id, rl, rest ? rest + 1 : "", hex,
					more ? more : "");
	}
	return len;
}

static inline int unit_keyring(struct glm_keyring *kr, uint32_t self, const char *const *specs)
{
	char buf[8192];
	size_t n = unit_keyring_text(buf, sizeof(buf), self, specs);

	return keyring_load_buf("unit", buf, n, kr);
}
#endif
