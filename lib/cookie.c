/* Address validation cookies (see cookie.h). */
#include "cookie.h"
#include <sodium.h>
#include <string.h>

static void rotate(struct glm_cookie_secret *s, uint64_t now)
{
	uint64_t b = now / GLM_COOKIE_ROTATE_NS;

	if (!s->ready || b > s->bucket + 1) {
		/* first use, or silent for two periods: nothing old is valid */
		randombytes_buf(s->cur, sizeof(s->cur));
		randombytes_buf(s->prev, sizeof(s->prev));
	} else if (b == s->bucket + 1) {
		memcpy(s->prev, s->cur, sizeof(s->prev));
		randombytes_buf(s->cur, sizeof(s->cur));
	} else {
		return;
	}
	s->ready = true;
	s->bucket = b;
}

static void mac(const uint8_t secret[32], uint64_t bucket, const struct sockaddr_in6 *from, uint32_t key_id,
		uint8_t out[GLM_COOKIE_LEN])
{
	uint8_t in[16 + 2 + 4 + 8];

	memcpy(in, &from->sin6_addr, 16);
	memcpy(in + 16, &from->sin6_port, 2);  /* network order as it is */
	for (int i = 0; i < 4; i++)
		in[18 + i] = (uint8_t)(key_id >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		in[22 + i] = (uint8_t)(bucket >> (56 - 8 * i));
	crypto_generichash(out, GLM_COOKIE_LEN, in, sizeof(in), secret, 32);
}

void glm_cookie_make(struct glm_cookie_secret *s, uint64_t now, const struct sockaddr_in6 *from, uint32_t key_id,
		     uint8_t out[GLM_COOKIE_LEN])
{
	rotate(s, now);
	mac(s->cur, s->bucket, from, key_id, out);
}

bool glm_cookie_check(struct glm_cookie_secret *s, uint64_t now, const struct sockaddr_in6 *from, uint32_t key_id,
		      const uint8_t c[GLM_COOKIE_LEN])
{
	uint8_t want[GLM_COOKIE_LEN];
	bool ok;

	rotate(s, now);
	mac(s->cur, s->bucket, from, key_id, want);
	ok = crypto_verify_16(want, c) == 0;
	mac(s->prev, s->bucket - 1, from, key_id, want);
	ok |= crypto_verify_16(want, c) == 0;
	return ok;
}

bool glm_cookie_proven(struct glm_cookie_secret *s, uint64_t now, const struct glm_msg *m,
		       const struct sockaddr_in6 *from)
{
	return GLM_HAS(m, GLM_TLV_COOKIE) && glm_cookie_check(s, now, from, m->key_id, m->cookie);
}

bool glm_cookie_reply(struct glm_cookie_secret *s, uint64_t now, const struct glm_msg *req,
		      const struct sockaddr_in6 *from, struct glm_msg *out)
{
	memset(out, 0, sizeof(*out));
	if (req->len < GLM_COOKIE_MSG_LEN)
		return false;
	out->type = GLM_COOKIE;
	out->key_id = req->key_id;
	out->seq = req->seq;
	glm_cookie_add(s, now, from, req->key_id, out);
	return true;
}

void glm_cookie_add(struct glm_cookie_secret *s, uint64_t now, const struct sockaddr_in6 *from, uint32_t key_id,
		    struct glm_msg *out)
{
	glm_cookie_make(s, now, from, key_id, out->cookie);
	out->present |= 1u << GLM_TLV_COOKIE;
}

void glm_cookie_wipe(struct glm_cookie_secret *s)
{
	sodium_memzero(s, sizeof(*s));
}
