/* The keys of the harnesses that reach past the MAC check: the one place
 * that knows how a test node's keyring is written and which key seals a
 * message from a given sender: the harnesses ask for a keyring as seen by
 * a node (fuzz_keyring) and for the key a sender seals with towards it
 * (fuzz_seal_key, fuzz_key_id).
 *
 * The nodes: two host agents, two guests (each owning home addresses),
 * a relay and an IMS, each with its key pair and role (glm-keys(5)). FUZZ_STRANGER is no one the receiver knows: its
 * messages are sealed with a key no keyring holds, so the refusal path
 * is fuzzed too. */
#ifndef GLM_FUZZ_KEYS_H
#define GLM_FUZZ_KEYS_H
#include "keys.h"
#include "../unit/unit_keys.h"
#include <stdbool.h>
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

/* Each node's keyring: its own private key and every node's public line
 * (tests/unit/unit_keys.h: a node's seed is its id, repeatable). The
 * agents and the relay serve all of 2001:db8::/32 (every harness address:
 * their vouches and relay destinations hold), the guests own the home
 * addresses above. */
static const char *const fuzz_key_specs[] = {
	"1 agent prefix 2001:db8::/32",
	"2 agent prefix 2001:db8::/32",
	"3 guest home 2001:db8:100::1 home 2001:db8:100::2",
	"4 guest home 2001:db8:100::3 prefix 2001:db8:d::/48",
	"5 agent prefix 2001:db8::/32",
	"6 ims",
	NULL,
};

/* The keyring node `self` loads. 0, or -errno: a harness that cannot have
 * its keys must not run. */
static inline int fuzz_keyring(enum fuzz_node self, struct glm_keyring *kr)
{
	return unit_keyring(kr, (uint32_t)self, fuzz_key_specs);
}

/* The header's key id of a message from sender: its own. */
static inline uint32_t fuzz_key_id(enum fuzz_node sender, enum fuzz_node receiver)
{
	(void)receiver;
	return sender == FUZZ_STRANGER ? 77 : (uint32_t)sender;
}

/* The 32 bytes sender seals a message to receiver with: the MAC key of
 * the pair, as sender's keyring derives it (loaded once per sender). */
/* Node's own keyring, loaded once (NULL for the stranger). */
static inline struct glm_keyring *fuzz_ring(enum fuzz_node node)
{
	static struct glm_keyring rings[FUZZ_NODES];
	static bool loaded[FUZZ_NODES];

	if (node == FUZZ_STRANGER || node <= 0 || node >= FUZZ_NODES)
		return NULL;
	if (!loaded[node] && fuzz_keyring(node, &rings[node]) == 0)
		loaded[node] = true;
	return loaded[node] ? &rings[node] : NULL;
}

static inline void fuzz_seal_key(enum fuzz_node sender, enum fuzz_node receiver, uint8_t key[GLM_KEY_LEN])
{
	struct glm_keyring *kr = fuzz_ring(sender);
	const struct glm_key *k = kr ? keyring_find(kr, (uint32_t)receiver) : NULL;

	if (k && !k->self)
		memcpy(key, k->secret, GLM_KEY_LEN);
	else
		memset(key, 0x77, GLM_KEY_LEN);   /* to itself: no pair key, refused as a stranger's */
}
#endif
