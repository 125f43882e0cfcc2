/* Keyrings: one identity per node, and the public keys of the others.
 *
 *   private ID HEX64                              this node's own key (once)
 *   key ID ROLE HEX64 [home ADDR]... [prefix ADDR/LEN]...
 *
 * "private" is the 32-byte Ed25519 seed of this node's key pair, written
 * by `glm-keys genkey`; "key" lines hold every node's public key (this
 * node's own among them) with its role: guest, agent, ims or gateway.
 * "home ADDR" binds a key to a home address it may update (without one it
 * may not send UPDATE or BINDING_UPDATE at all); "prefix" names the
 * prefixes an agent serves (the relay streams only there, the MAs it
 * vouches for lie there) or the addresses an IMS or gateway answers on.
 *
 * No secret is shared beyond two nodes: at load each peer's MAC key is
 * derived from X25519 of our private key and its public key (both
 * converted from Ed25519) and the two public keys, so only the two ends
 * can compute it, as WireGuard's static-static DH. A message's header
 * names its sender's key id; the receiver checks it with the key it
 * shares with that sender, and takes each message type only from the
 * roles that may send it (glm_role_may_send). */
#ifndef GLM_KEYS_H
#define GLM_KEYS_H
#include "wire.h"
#include <stdbool.h>

#define GLM_KEY_MAX_HOMES 8
#define GLM_KEY_MAX_PREFIXES 8
#define GLM_PUB_LEN 32
#define GLM_SIGN_SK_LEN 64
#define GLM_SIG_LEN 64

enum glm_role {
	GLM_ROLE_NONE = 0,
	GLM_ROLE_GUEST,
	GLM_ROLE_AGENT,
	GLM_ROLE_IMS,
	GLM_ROLE_GATEWAY,
	GLM_ROLE_MAX,
};
#define GLM_ROLE_BIT(r) (1u << (r))

struct glm_prefix {
	struct in6_addr addr;
	uint8_t len;
};

struct glm_key {
	uint32_t id;
	unsigned line;                   /* in the keyring file, for messages */
	uint8_t role;                    /* enum glm_role */
	bool self;                       /* this node's own key: no MAC key */
	uint32_t local_id;               /* the id we seal under: our own */
	uint8_t pub[GLM_PUB_LEN];        /* Ed25519 public key */
	uint8_t secret[GLM_KEY_LEN];     /* MAC key shared with this peer only */
	unsigned nhomes;
	struct in6_addr homes[GLM_KEY_MAX_HOMES];
	unsigned nprefixes;
	struct glm_prefix prefixes[GLM_KEY_MAX_PREFIXES];
};

struct glm_keyring {
	unsigned n, cap;
	struct glm_key *keys;
	uint32_t self_id;                     /* the private line's id */
	unsigned private_line;                /* 0: none yet */
	uint8_t sign_sk[GLM_SIGN_SK_LEN];     /* Ed25519 secret key (seed || pk) */
};

/* Read the keyring file path, refused (logged, -EPERM) unless it is owned
 * by the effective uid and no one else may read, write or execute it, as
 * ssh refuses a private key; a symbolic link is refused (-ELOOP), so is
 * anything but a regular file (-EINVAL). Then parsed as keyring_load_buf.
 * 0, or -errno with the reason logged and kr empty. */
int keyring_load(const char *path, struct glm_keyring *kr);
/* Parse a keyring from memory (tests, fuzzing): no file, no checks. */
int keyring_load_buf(const char *name, const char *buf, size_t len, struct glm_keyring *kr);
/* One "key ID ROLE PUBLIC-KEY ..." line (argv[0] "key") into *k, errors
 * reported at pos; 0 or -EINVAL. (glm-keys pubkey checks what it writes.) */
struct conf_pos;
int keyring_parse_key_line(const struct conf_pos *pos, int argc, char **argv, struct glm_key *k);
/* Wipe the secrets, free, leave kr empty. */
void keyring_free(struct glm_keyring *kr);
const struct glm_key *keyring_find(const struct glm_keyring *kr, uint32_t id);
/* This node's own key line. */
const struct glm_key *keyring_self(const struct glm_keyring *kr);
/* The peer to talk to at addr: the key with a role in role_mask whose
 * home addresses or prefixes hold addr; failing that (or addr NULL), the
 * only key with such a role. NULL when there is none, or several and
 * addr does not tell them apart. Never our own key. */
const struct glm_key *keyring_peer(const struct glm_keyring *kr, unsigned role_mask, const struct in6_addr *addr);
bool key_owns_home(const struct glm_key *k, const struct in6_addr *ha);
/* Is a inside one of k's prefixes? */
bool key_serves(const struct glm_key *k, const struct in6_addr *a);
const char *glm_role_name(unsigned role);
/* May a key with this role send this message type? */
bool glm_role_may_send(unsigned role, unsigned type);

/* A vouched MA (RFC 4225's lesson: an MA is not taken on a node's word).
 * The host agent that prepares a guest signs (HA, MA, not-after, its id)
 * with its private key, and the guest carries that VOUCH in its UPDATE
 * and BINDING_UPDATEs: a receiver takes the MA if the signer is an agent
 * in its keyring whose prefixes hold the MA, the signature is good and
 * not-after has not passed. No round trip on the prepared path. */
#define GLM_VOUCH_LIFETIME_S (24u * 3600u)
enum glm_vouch_result {
	GLM_VOUCH_OK = 0,
	GLM_VOUCH_UNKNOWN,     /* signer not in the keyring */
	GLM_VOUCH_NOT_AGENT,   /* signer's role is not agent */
	GLM_VOUCH_OUTSIDE,     /* the MA is in none of the signer's prefixes */
	GLM_VOUCH_EXPIRED,
	GLM_VOUCH_BAD,         /* signature does not verify */
};
/* Sign (ha, ma, not_after) with our own key into *v. */
void glm_vouch_sign(const struct glm_keyring *kr, const struct in6_addr *ha, const struct in6_addr *ma,
		    uint64_t not_after, struct glm_vouch *v);
enum glm_vouch_result glm_vouch_check(const struct glm_keyring *kr, const struct in6_addr *ha,
				      const struct in6_addr *ma, const struct glm_vouch *v, uint64_t now_s);
const char *glm_vouch_result_name(enum glm_vouch_result r);

/* Return routability, for an MA nobody vouched for: the receiver of an
 * UPDATE or BINDING_UPDATE answers at the MA with a PROOF token (status
 * PROVE), a MAC of (sender key, HA, MA, minute) under a secret of its own
 * process; the update sent again with it is taken. No state is kept per
 * unproven MA; a token is good for one to two minutes. */
#define GLM_PROOF_PERIOD_S 60u
struct glm_proof {
	uint8_t secret[32];
};
void glm_proof_init(struct glm_proof *p);
void glm_proof_make(const struct glm_proof *p, uint64_t now_s, uint32_t key_id, const struct in6_addr *ha,
		    const struct in6_addr *ma, uint8_t out[16]);
bool glm_proof_check(const struct glm_proof *p, uint64_t now_s, uint32_t key_id, const struct in6_addr *ha,
		     const struct in6_addr *ma, const uint8_t tok[16]);
/* May ma be taken for ha from key? GLM_ST_OK if vouched for or proven
 * (and *why NULL), else GLM_ST_PROVE with *why saying what was wrong with
 * the vouch, if any. */
uint16_t glm_ma_check(const struct glm_keyring *kr, const struct glm_proof *p, const struct glm_msg *m,
		      uint64_t now_s, const char **why);

/* The Ed25519 public key of a "private" seed, as `glm-keys pubkey`. */
void glm_key_public(const uint8_t seed[GLM_KEY_LEN], uint8_t pub[GLM_PUB_LEN]);

/* Receive path shared by every daemon: parse, find the sender's key,
 * verify, check its role may send this type. On success *key is the
 * sender's key. Counters are indexed by enum glm_parse_err; an unknown key
 * id, or our own, counts as GLM_PE_MAC; a role that may not send the type
 * as GLM_PE_ROLE. */
enum glm_parse_err glm_msg_accept(const struct glm_keyring *kr, const uint8_t *buf, size_t len,
				  struct glm_msg *m, const struct glm_key **key);

/* Seal m for the peer whose key is key (m->key_id is set to our own id,
 * the MAC made with the key we share with that peer) and send it to `to`,
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
