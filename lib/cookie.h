/* Address validation: the cookie a server gives a client to prove that the
 * client receives at the address its requests come from, as WireGuard's
 * cookie reply and QUIC's Retry token do. A forged UDP source costs the
 * attacker nothing; without this, one small request would make a relay
 * stream, or the IMS dump its mappings, to whatever address it names.
 *
 * The cookie is a keyed BLAKE2b MAC over (address, port, key id, time
 * bucket) under a random secret that rotates every GLM_COOKIE_ROTATE_NS;
 * one made under the previous secret is still taken, so a cookie lives
 * two to four minutes. The server stores nothing per client: whoever
 * echoes a cookie for its address has received there. */
#ifndef GLM_COOKIE_H
#define GLM_COOKIE_H
#include "wire.h"
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define GLM_COOKIE_ROTATE_NS (120ull * 1000000000ull)

/* Zero-initialised it is ready: the first use draws the secrets. */
struct glm_cookie_secret {
	bool ready;
	uint64_t bucket;                 /* now / GLM_COOKIE_ROTATE_NS when cur was drawn */
	uint8_t cur[32], prev[32];
};

/* The cookie for a client at `from` sending under key_id, at now (the
 * server's CLOCK_MONOTONIC ns). */
void glm_cookie_make(struct glm_cookie_secret *s, uint64_t now, const struct sockaddr_in6 *from, uint32_t key_id,
		     uint8_t out[GLM_COOKIE_LEN]);
/* Did this server make c for (from, key_id) under the current or the
 * previous secret? Constant time in c. */
bool glm_cookie_check(struct glm_cookie_secret *s, uint64_t now, const struct sockaddr_in6 *from, uint32_t key_id,
		      const uint8_t c[GLM_COOKIE_LEN]);
/* Does message m (from `from`) carry a valid cookie? */
bool glm_cookie_proven(struct glm_cookie_secret *s, uint64_t now, const struct glm_msg *m,
		       const struct sockaddr_in6 *from);
/* The only answer to an unproven request: a COOKIE message with the
 * request's seq and key, in out (the caller seals and sends it). false
 * (nothing to send) if it would be larger than the request. */
bool glm_cookie_reply(struct glm_cookie_secret *s, uint64_t now, const struct glm_msg *req,
		      const struct sockaddr_in6 *from, struct glm_msg *out);
/* Add a fresh cookie for `from` to an answer (to a proven request). */
void glm_cookie_add(struct glm_cookie_secret *s, uint64_t now, const struct sockaddr_in6 *from, uint32_t key_id,
		    struct glm_msg *out);
void glm_cookie_wipe(struct glm_cookie_secret *s);
#endif
