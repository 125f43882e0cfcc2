/* Keyrings: the per-node HMAC keys, one file format for imsd and matd.
 *
 *   key ID HEX64 [home ADDR]...
 *
 * ID is a decimal key id (1..2^32-1), HEX64 a 32-byte secret in hex; each
 * "home ADDR" binds the key to a home address it may update (without it,
 * the key may not send UPDATE or BINDING_UPDATE at all). */
#ifndef GLM_KEYS_H
#define GLM_KEYS_H
#include "wire.h"
#include <stdbool.h>

#define GLM_KEY_MAX_HOMES 8

struct glm_key {
	uint32_t id;
	unsigned line;                   /* in the keyring file, for messages */
	uint8_t secret[GLM_KEY_LEN];
	unsigned nhomes;
	struct in6_addr homes[GLM_KEY_MAX_HOMES];
};

struct glm_keyring {
	unsigned n, cap;
	struct glm_key *keys;
};

/* Read the keyring file path, refused (logged, -EPERM) unless it is owned
 * by the effective uid and no one else may read, write or execute it, as
 * ssh refuses a private key; a symbolic link is refused (-ELOOP), so is
 * anything but a regular file (-EINVAL). Then parsed as keyring_load_buf.
 * 0, or -errno with the reason logged and kr empty. */
int keyring_load(const char *path, struct glm_keyring *kr);
/* Parse a keyring from memory (tests, fuzzing): no file, no checks. */
int keyring_load_buf(const char *name, const char *buf, size_t len, struct glm_keyring *kr);
/* Wipe the secrets, free, leave kr empty. */
void keyring_free(struct glm_keyring *kr);
const struct glm_key *keyring_find(const struct glm_keyring *kr, uint32_t id);
bool key_owns_home(const struct glm_key *k, const struct in6_addr *ha);

/* Receive path shared by every daemon: parse, find the key, verify.
 * On success *key is the sender's key. Counters are indexed by
 * enum glm_parse_err; an unknown key id counts as GLM_PE_MAC. */
enum glm_parse_err glm_msg_accept(const struct glm_keyring *kr, const uint8_t *buf, size_t len,
				  struct glm_msg *m, const struct glm_key **key);

/* Seal m with key (m->key_id is set to key's id) and send it to `to`,
 * from src (NULL: the kernel's choice); the writer of what glm_recv_msg
 * reads. Returns 0 or -errno (logged at debug level). */
int glm_send_msg(int fd, const struct sockaddr_in6 *to, const struct in6_addr *src, struct glm_msg *m,
		 const struct glm_key *key);

/* Receive one datagram on a non-blocking fd, accept it as above and check
 * that it is fresh (glm_seq_fresh(): within the window around our clock,
 * and sent after since, the receiver's start in CLOCK_REALTIME ns).
 * Returns 1 with m, key and from set; 0 if it was dropped (counted in
 * drops[reason], logged at debug level); -1 when nothing is pending. */
int glm_recv_msg(int fd, const struct glm_keyring *kr, uint64_t since, uint8_t *buf, size_t cap,
		 struct glm_msg *m, const struct glm_key **key, struct sockaddr_in6 *from, uint64_t *rx,
		 uint64_t drops[GLM_PE_MAX]);
/* The same, and the address the datagram was sent to in *local (the
 * socket needs IPV6_RECVPKTINFO; unspecified if it did not say), so an
 * answer can leave from the address the sender expects it from. */
int glm_recv_msg_to(int fd, const struct glm_keyring *kr, uint64_t since, uint8_t *buf, size_t cap,
		    struct glm_msg *m, const struct glm_key **key, struct sockaddr_in6 *from, struct in6_addr *local,
		    uint64_t *rx, uint64_t drops[GLM_PE_MAX]);
#endif
