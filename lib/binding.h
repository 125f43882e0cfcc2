/* The correspondent's side of a BINDING_UPDATE (mobile node -> a peer
 * that translates for it), shared by matd's correspondent role and the
 * site gateway (glm-gatewayd(8)), so both take exactly the same updates:
 * the key must own the home address, and a new MA must be vouched for by
 * the agent of its prefix or proven reachable (return routability, see
 * keys.h). Ordering (an update not newer than the binding held is stale)
 * stays with the caller, which owns the bindings. */
#ifndef GLM_BINDING_H
#define GLM_BINDING_H
#include "keys.h"
#include "wire.h"
#include <netinet/in.h>

/* Check binding update m from key. held_ma and held_seq: the binding the
 * caller holds for m's HA (held_ma NULL: none), for which the same MA or a
 * stale seq needs no proof (the caller refuses the stale one). Returns
 *   GLM_ST_BADREQ  HA, MA or lifetime missing
 *   GLM_ST_DENIED  key does not own the HA
 *   GLM_ST_PROVE   a new MA neither vouched for nor proven: send
 *                  glm_bu_prove()'s answer, to the MA
 *   GLM_ST_OK      to be applied
 * and in *why, for the log, what was wrong with a vouch or proof (or NULL). */
uint16_t glm_bu_check(const struct glm_keyring *kr, const struct glm_proof *proof, const struct glm_msg *m,
		      const struct glm_key *key, const struct in6_addr *held_ma, uint64_t held_seq, const char **why);
/* The PROVE answer to m from key, arrived from `from`: *ack carries our
 * token for (key, HA, MA), *to is the MA at from's port. The token goes to
 * the MA, not to whoever sent the update, and is no bigger than it. */
void glm_bu_prove(const struct glm_proof *proof, const struct glm_msg *m, const struct glm_key *key,
		  const struct sockaddr_in6 *from, struct glm_msg *ack, struct sockaddr_in6 *to);
/* The BINDING_ACK to m with status st. */
void glm_bu_ack(const struct glm_msg *m, uint16_t st, struct glm_msg *ack);
#endif
