/* The keys of the harnesses that reach past the MAC check: the one place
 * that knows how a test node's keyring is written and which key seals a
 * message from a given sender. When keys become per-node key pairs with
 * roles (issue 14), this file changes and the harnesses do not: they ask
 * for a keyring as seen by a node (fuzz_keyring) and for the key a
 * sender seals with towards it (fuzz_seal_key, fuzz_key_id).
 *
 * The nodes: two host agents, two guests (each owning home addresses),
 * a relay and an IMS. FUZZ_STRANGER is no one the receiver knows: its
 * messages are sealed with a key no keyring holds, so the refusal path
 * is fuzzed too. */
#ifndef GLM_FUZZ_KEYS_H
#define GLM_FUZZ_KEYS_H
#include "keys.h"
#include <stdint.h>
#include <string.h>

enum fuzz_node {
	FUZZ_AGENT = 1,
	FUZZ_AGENT2,
	FUZZ_GUEST,       /* owns 2001:db8:100::1 and 2001:db8:100::2 */
	FUZZ_GUEST2,      /* owns 2001:db8:100::3 */
	FUZZ_RELAY,
	FUZZ_IMS,
	FUZZ_STRANGER,
	FUZZ_NODES,
};

static const char fuzz_keyring_text[] =
	"key 1 0101010101010101010101010101010101010101010101010101010101010101\n"
	"key 2 0202020202020202020202020202020202020202020202020202020202020202\n"
	"key 3 0303030303030303030303030303030303030303030303030303030303030303 "
	"home 2001:db8:100::1 home 2001:db8:100::2\n"
	"key 4 0404040404040404040404040404040404040404040404040404040404040404 home 2001:db8:100::3\n"
	"key 5 0505050505050505050505050505050505050505050505050505050505050505\n"
	"key 6 0606060606060606060606060606060606060606060606060606060606060606\n";

/* The keyring node `self` loads (today every node holds the same shared
 * keys). 0, or -errno: a harness that cannot have its keys must not run. */
static inline int fuzz_keyring(enum fuzz_node self, struct glm_keyring *kr)
{
	(void)self;
	return keyring_load_buf("fuzz-keys", fuzz_keyring_text, sizeof(fuzz_keyring_text) - 1, kr);
}

/* The header's key id of a message from sender (today: the sender's key). */
static inline uint32_t fuzz_key_id(enum fuzz_node sender, enum fuzz_node receiver)
{
	(void)receiver;
	return sender == FUZZ_STRANGER ? 77 : (uint32_t)sender;
}

/* The 32 bytes sender seals a message to receiver with. */
static inline void fuzz_seal_key(enum fuzz_node sender, enum fuzz_node receiver, uint8_t key[GLM_KEY_LEN])
{
	(void)receiver;
	memset(key, sender == FUZZ_STRANGER ? 0x77 : (int)sender, GLM_KEY_LEN);
}
#endif
