/* Binding updates as a correspondent takes them: see binding.h. */
#include "binding.h"
#include "util.h"
#include <string.h>

uint16_t glm_bu_check(const struct glm_keyring *kr, const struct glm_proof *proof, const struct glm_msg *m,
		      const struct glm_key *key, const struct in6_addr *held_ma, uint64_t held_seq, const char **why)
{
	*why = NULL;
	if (!GLM_HAS(m, GLM_TLV_HA) || !GLM_HAS(m, GLM_TLV_MA) || !GLM_HAS(m, GLM_TLV_LIFETIME))
		return GLM_ST_BADREQ;
	if (!key_owns_home(key, &m->ha))
		return GLM_ST_DENIED;
	/* a withdrawal, a refresh, or stale (refused as such by the caller) */
	if (!m->lifetime || (held_ma && (!memcmp(held_ma, &m->ma, sizeof(*held_ma)) || m->seq <= held_seq)))
		return GLM_ST_OK;
	return glm_ma_check(kr, proof, m, realtime_ns() / 1000000000ull, why);
}

void glm_bu_prove(const struct glm_proof *proof, const struct glm_msg *m, const struct glm_key *key,
		  const struct sockaddr_in6 *from, struct glm_msg *ack, struct sockaddr_in6 *to)
{
	memset(ack, 0, sizeof(*ack));
	ack->type = GLM_BINDING_ACK;
	ack->seq = m->seq;
	GLM_SET(ack, status, GLM_TLV_STATUS, GLM_ST_PROVE);
	GLM_SET(ack, ha, GLM_TLV_HA, m->ha);
	glm_proof_make(proof, realtime_ns() / 1000000000ull, key->id, &m->ha, &m->ma, ack->proof);
	ack->present |= 1u << GLM_TLV_PROOF;
	*to = *from;
	to->sin6_addr = m->ma;
}

void glm_bu_ack(const struct glm_msg *m, uint16_t st, struct glm_msg *ack)
{
	memset(ack, 0, sizeof(*ack));
	ack->type = GLM_BINDING_ACK;
	ack->seq = m->seq;
	GLM_SET(ack, status, GLM_TLV_STATUS, st);
	if (GLM_HAS(m, GLM_TLV_HA))
		GLM_SET(ack, ha, GLM_TLV_HA, m->ha);
}
