/* Keyring files: read only when no one but their owner, the user we run
 * as, can read or change them; parsed (see keys.h), each peer's MAC key
 * derived; the secrets wiped from every buffer that held them before it
 * is freed. And the shared authenticate step. */
#include "keys.h"
#include "conf.h"
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "util.h"

/* The longest keyring line is "key ID ROLE HEX" and a pair per home
 * address and prefix; one pair more must still reach key_line, to be
 * refused there with the count rather than by the tokenizer. */
_Static_assert(GLM_CONF_MAXARGS >= 4 + 2 * (GLM_KEY_MAX_HOMES + GLM_KEY_MAX_PREFIXES + 1),
	       "GLM_CONF_MAXARGS too small for a keyring line");

#define KEYRING_MAX_BYTES (1u << 24)

static const char *const role_names[GLM_ROLE_MAX] = {
	[GLM_ROLE_NONE] = "none", [GLM_ROLE_GUEST] = "guest", [GLM_ROLE_AGENT] = "agent",
	[GLM_ROLE_IMS] = "ims", [GLM_ROLE_GATEWAY] = "gateway",
};

const char *glm_role_name(unsigned role)
{
	return role < GLM_ROLE_MAX ? role_names[role] : "unknown";
}

/* Who may send what: a host agent prepares, resumes and relays; only a
 * guest (the owner of the home address, checked where it is used) moves
 * a home address; only the IMS answers for it. */
#define R(x) GLM_ROLE_BIT(GLM_ROLE_##x)
static const uint8_t senders[GLM_MSG_TYPE_MAX + 1] = {
	[GLM_PREPARE] = R(AGENT),         [GLM_PREPARE_ACK] = R(GUEST),
	[GLM_RELAY_REQUEST] = R(AGENT),   [GLM_RELAY_RESPONSE] = R(AGENT),
	[GLM_RELAY_STOP] = R(AGENT),      [GLM_RELAYED_PACKET] = R(AGENT),
	[GLM_IMS_UPDATE] = R(GUEST),      [GLM_IMS_ACK] = R(IMS),
	[GLM_QUERY] = R(GUEST) | R(AGENT) | R(GATEWAY),
	[GLM_REPLY] = R(IMS),
	[GLM_SUBSCRIBE] = R(GUEST) | R(GATEWAY),
	[GLM_NOTIFY] = R(IMS),
	[GLM_BINDING_UPDATE] = R(GUEST),
	[GLM_BINDING_ACK] = R(GUEST) | R(GATEWAY),
	[GLM_RESUMED] = R(AGENT),
	[GLM_COOKIE] = R(AGENT) | R(IMS),          /* a relay's, the IMS's */
};
#undef R

bool glm_role_may_send(unsigned role, unsigned type)
{
	return role < GLM_ROLE_MAX && type <= GLM_MSG_TYPE_MAX && (senders[type] >> role & 1u);
}

/* realloc, except that the old block is wiped before it is freed: it
 * held secrets. */
static void *secret_grow(void *old, size_t len, size_t ncap)
{
	void *p = malloc(ncap);

	if (!p)
		return NULL;
	if (old) {
		memcpy(p, old, len);
		sodium_memzero(old, len);
		free(old);
	}
	return p;
}

static int parse_role(const char *s)
{
	for (int r = GLM_ROLE_GUEST; r < GLM_ROLE_MAX; r++)
		if (!strcmp(s, role_names[r]))
			return r;
	return -1;
}

int keyring_parse_key_line(const struct conf_pos *pos, int argc, char **argv, struct glm_key *k)
{
	int role;

	if (argc < 4)
		return conf_err(pos, "usage: key ID ROLE PUBLIC-KEY [home ADDR]... [prefix ADDR/LEN]...");
	if (parse_u32(argv[1], 1, UINT32_MAX, &k->id))
		return conf_err(pos, "bad key id '%s'", argv[1]);
	if ((role = parse_role(argv[2])) < 0)
		return conf_err(pos, "key %u: unknown role '%s' (guest, agent, ims or gateway)", k->id, argv[2]);
	k->role = (uint8_t)role;
	if (parse_hex(argv[3], k->pub, GLM_PUB_LEN))
		return conf_err(pos, "key %u: public key must be 64 hex digits (glm-keys pubkey)", k->id);
	for (int i = 4; i < argc; i += 2) {
		bool home = !strcmp(argv[i], "home");

		if ((!home && strcmp(argv[i], "prefix")) || i + 1 >= argc)
			return conf_err(pos, "key %u: expected 'home ADDR' or 'prefix ADDR/LEN', got '%s'", k->id,
					argv[i]);
		if (home) {
			if (k->nhomes == GLM_KEY_MAX_HOMES)
				return conf_err(pos, "key %u: more than %d home addresses", k->id, GLM_KEY_MAX_HOMES);
			if (parse_in6(argv[i + 1], &k->homes[k->nhomes]))
				return conf_err(pos, "key %u: bad home address '%s'", k->id, argv[i + 1]);
			k->nhomes++;
		} else {
			struct glm_prefix *p = &k->prefixes[k->nprefixes];

			if (k->nprefixes == GLM_KEY_MAX_PREFIXES)
				return conf_err(pos, "key %u: more than %d prefixes", k->id, GLM_KEY_MAX_PREFIXES);
			if (parse_prefix6(argv[i + 1], &p->addr, &p->len))
				return conf_err(pos, "key %u: bad prefix '%s'", k->id, argv[i + 1]);
			k->nprefixes++;
		}
	}
	return 0;
}

static int key_add(struct glm_keyring *kr, const struct conf_pos *pos, const struct glm_key *k)
{
	/* Which public key would a message with this id be checked against? */
	const struct glm_key *dup = keyring_find(kr, k->id);

	if (dup)
		return conf_err(pos, "key id %u already defined at line %u", k->id, dup->line);
	if (kr->n == kr->cap) {
		unsigned nc = kr->cap ? kr->cap * 2 : 16;
		struct glm_key *nk = secret_grow(kr->keys, kr->n * sizeof(*nk), nc * sizeof(*nk));

		if (!nk)
			return -ENOMEM;
		kr->keys = nk;
		kr->cap = nc;
	}
	kr->keys[kr->n++] = *k;
	return 0;
}

/* "private ID HEX64": our own key pair, from its seed. */
static int private_line(struct glm_keyring *kr, const struct conf_pos *pos, int argc, char **argv)
{
	uint8_t seed[GLM_KEY_LEN], pk[GLM_PUB_LEN];
	uint32_t id;
	int r = 0;

	if (kr->private_line)
		return conf_err(pos, "a second 'private' line (the first is line %u): a keyring holds one node's "
				"own key", kr->private_line);
	if (argc != 3)
		return conf_err(pos, "usage: private ID HEX64 (glm-keys genkey)");
	if (parse_u32(argv[1], 1, UINT32_MAX, &id))
		return conf_err(pos, "bad key id '%s'", argv[1]);
	if (parse_hex(argv[2], seed, sizeof(seed)))
		r = conf_err(pos, "private key %u must be 64 hex digits", id);
	else if (crypto_sign_seed_keypair(pk, kr->sign_sk, seed) != 0)
		r = conf_err(pos, "private key %u: unusable", id);
	sodium_memzero(seed, sizeof(seed));
	if (r == 0) {
		kr->self_id = id;
		kr->private_line = pos->line;
	}
	return r;
}

static int key_line(void *ctx, const struct conf_pos *pos, int argc, char **argv)
{
	struct glm_key k = { .line = pos->line };
	int r;

	if (!strcmp(argv[0], "private"))
		return private_line(ctx, pos, argc, argv);
	if (strcmp(argv[0], "key"))
		return conf_err(pos, "unknown keyword '%.32s' (expected 'private' or 'key')", argv[0]);
	r = keyring_parse_key_line(pos, argc, argv, &k);
	if (r == 0)
		r = key_add(ctx, pos, &k);
	return r;
}

/* The MAC key of the pair (our x_sk, peer): BLAKE2b of the X25519 result
 * and both public keys, lower first, so both ends compute the same. */
static int pair_key(const uint8_t x_sk[32], const uint8_t my_pub[GLM_PUB_LEN], struct glm_key *k)
{
	static const uint8_t label[] = "glm pairwise MAC key v1";
	uint8_t x_pk[32], dh[32];
	crypto_generichash_state st;
	bool mine_first = memcmp(my_pub, k->pub, GLM_PUB_LEN) < 0;
	int r = 0;

	if (crypto_sign_ed25519_pk_to_curve25519(x_pk, k->pub) != 0 || crypto_scalarmult(dh, x_sk, x_pk) != 0)
		r = -EINVAL;
	if (r == 0) {
		crypto_generichash_init(&st, label, sizeof(label) - 1, GLM_KEY_LEN);
		crypto_generichash_update(&st, dh, sizeof(dh));
		crypto_generichash_update(&st, mine_first ? my_pub : k->pub, GLM_PUB_LEN);
		crypto_generichash_update(&st, mine_first ? k->pub : my_pub, GLM_PUB_LEN);
		crypto_generichash_final(&st, k->secret, GLM_KEY_LEN);
	}
	sodium_memzero(dh, sizeof(dh));
	sodium_memzero(&st, sizeof(st));
	return r;
}

/* After the last line: our own key must be there and match its public
 * line; then every peer's MAC key. */
static int keyring_finish(const char *name, struct glm_keyring *kr)
{
	const uint8_t *my_pub = kr->sign_sk + 32;
	struct glm_key *self = NULL;
	uint8_t x_sk[32];
	int r = 0;

	if (!kr->private_line) {
		log_warnx("%s: no 'private ID KEY' line: this node's own key (glm-keys genkey)", name);
		return -ENOKEY;
	}
	for (unsigned i = 0; i < kr->n; i++)
		if (kr->keys[i].id == kr->self_id)
			self = &kr->keys[i];
	if (!self) {
		log_warnx("%s:%u: private key %u has no 'key %u ROLE PUBLIC-KEY' line", name, kr->private_line,
			  kr->self_id, kr->self_id);
		return -ENOKEY;
	}
	if (sodium_memcmp(self->pub, my_pub, GLM_PUB_LEN) != 0) {
		log_warnx("%s:%u: private key %u does not match the public key of key %u at line %u", name,
			  kr->private_line, kr->self_id, kr->self_id, self->line);
		return -EINVAL;
	}
	self->self = true;
	if (crypto_sign_ed25519_sk_to_curve25519(x_sk, kr->sign_sk) != 0)
		return -EINVAL;
	for (unsigned i = 0; i < kr->n && r == 0; i++) {
		struct glm_key *k = &kr->keys[i];

		k->local_id = kr->self_id;
		if (k->self)
			continue;
		if (pair_key(x_sk, my_pub, k) < 0) {
			log_warnx("%s:%u: key %u: not a usable public key", name, k->line, k->id);
			r = -EINVAL;
		}
	}
	sodium_memzero(x_sk, sizeof(x_sk));
	return r;
}

static int keyring_done(struct glm_keyring *kr, int r)
{
	if (r < 0)
		keyring_free(kr);
	return r;
}

/* Is the opened keyring path (st) ours alone, as ssh wants a private key?
 * Each reason is logged, so one look fixes all: 0 or -EPERM. */
static int keyring_private(const char *path, const struct stat *st)
{
	mode_t m = st->st_mode & 07777;
	uid_t euid = geteuid();
	int r = 0;

	if (st->st_uid != euid) {
		log_warnx("keyring %s: owned by uid %u, but this program runs as uid %u: chown %u it", path,
			  (unsigned)st->st_uid, (unsigned)euid, (unsigned)euid);
		r = -EPERM;
	}
	if (m & 077) {
		/* others first: the wider door */
		unsigned who = m & 007 ? m & 007 : (m >> 3) & 007;

		log_warnx("keyring %s: mode %04o is %s by %s: chmod 600 it", path, (unsigned)m,
			  who & 4 ? "readable" : who & 2 ? "writable" : "executable", m & 007 ? "others" : "its group");
		r = -EPERM;
	}
	return r;
}

/* The whole keyring file into *buf (the caller wipes and frees it). The
 * checks are made with fstat on the descriptor that is then read, so the
 * file checked is the file read; O_NOFOLLOW refuses a symbolic link, whose
 * target whoever can write its directory could change; O_NONBLOCK keeps a
 * FIFO from hanging the open before it is refused. */
static int keyring_read(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	size_t cap;
	struct stat st;
	int r;

	*buf = NULL;
	*len = 0;
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			log_warnx("keyring %s: a symbolic link: name the file itself", path);
		else
			log_warnx("keyring %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		log_warnx("keyring %s: %s", path, strerror(-r));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("keyring %s: not a regular file", path);
		r = -EINVAL;
		goto cleanup;
	}
	if ((r = keyring_private(path, &st)) < 0)
		goto cleanup;
	/* A byte more than its size, to see the end; it may grow meanwhile. */
	cap = st.st_size < KEYRING_MAX_BYTES ? (size_t)st.st_size + 1 : KEYRING_MAX_BYTES + 1;
	if (!(*buf = malloc(cap))) {
		r = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		ssize_t n;

		if (*len == cap) {
			size_t nc = cap * 2 < KEYRING_MAX_BYTES + 1 ? cap * 2 : KEYRING_MAX_BYTES + 1;
			char *nb;

			if (nc == cap) {
				log_warnx("keyring %s: larger than %u MiB", path, KEYRING_MAX_BYTES >> 20);
				r = -EFBIG;
				goto cleanup;
			}
			if (!(nb = secret_grow(*buf, *len, nc))) {
				r = -ENOMEM;
				goto cleanup;
			}
			*buf = nb;
			cap = nc;
		}
		n = read(fd, *buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			log_warnx("keyring %s: %s", path, strerror(-r));
			goto cleanup;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	r = 0;
cleanup:
	close(fd);
	return r;
}

int keyring_load(const char *path, struct glm_keyring *kr)
{
	char *buf;
	size_t len;
	int r;

	memset(kr, 0, sizeof(*kr));
	r = keyring_read(path, &buf, &len);
	if (r == 0)
		r = conf_parse_buf(path, buf, len, key_line, kr);
	if (r == 0)
		r = keyring_finish(path, kr);
	if (buf) {
		sodium_memzero(buf, len);
		free(buf);
	}
	return keyring_done(kr, r);
}

int keyring_load_buf(const char *name, const char *buf, size_t len, struct glm_keyring *kr)
{
	int r;

	memset(kr, 0, sizeof(*kr));
	r = conf_parse_buf(name, buf, len, key_line, kr);
	if (r == 0)
		r = keyring_finish(name, kr);
	return keyring_done(kr, r);
}

void keyring_free(struct glm_keyring *kr)
{
	if (kr->keys)
		sodium_memzero(kr->keys, kr->cap * sizeof(*kr->keys));
	free(kr->keys);
	sodium_memzero(kr, sizeof(*kr));
}

const struct glm_key *keyring_find(const struct glm_keyring *kr, uint32_t id)
{
	for (unsigned i = 0; i < kr->n; i++)
		if (kr->keys[i].id == id)
			return &kr->keys[i];
	return NULL;
}

const struct glm_key *keyring_self(const struct glm_keyring *kr)
{
	return keyring_find(kr, kr->self_id);
}

const struct glm_key *keyring_peer(const struct glm_keyring *kr, unsigned role_mask, const struct in6_addr *addr)
{
	const struct glm_key *only = NULL;
	unsigned n = 0;

	for (unsigned i = 0; i < kr->n; i++) {
		const struct glm_key *k = &kr->keys[i];

		if (k->self || !(role_mask >> k->role & 1u))
			continue;
		if (addr && (key_owns_home(k, addr) || key_serves(k, addr)))
			return k;
		only = k;
		n++;
	}
	return n == 1 ? only : NULL;
}

bool key_serves(const struct glm_key *k, const struct in6_addr *a)
{
	for (unsigned i = 0; i < k->nprefixes; i++)
		if (in6_prefix_match(a, &k->prefixes[i].addr, k->prefixes[i].len))
			return true;
	return false;
}

void glm_key_public(const uint8_t seed[GLM_KEY_LEN], uint8_t pub[GLM_PUB_LEN])
{
	uint8_t sk[GLM_SIGN_SK_LEN];

	crypto_sign_seed_keypair(pub, sk, seed);
	sodium_memzero(sk, sizeof(sk));
}

/* What a vouch signs: a label, HA, MA, not-after, signer. */
static void vouch_text(uint8_t t[16 + 32 + 12], const struct in6_addr *ha, const struct in6_addr *ma,
		       uint64_t not_after, uint32_t signer)
{
	uint64_t na = htobe64(not_after);
	uint32_t sg = htobe32(signer);

	memcpy(t, "glm vouch v1\0\0\0\0", 16);
	memcpy(t + 16, ha, 16);
	memcpy(t + 32, ma, 16);
	memcpy(t + 48, &na, 8);
	memcpy(t + 56, &sg, 4);
}

void glm_vouch_sign(const struct glm_keyring *kr, const struct in6_addr *ha, const struct in6_addr *ma,
		    uint64_t not_after, struct glm_vouch *v)
{
	uint8_t t[60];

	v->signer = kr->self_id;
	v->not_after = not_after;
	vouch_text(t, ha, ma, not_after, v->signer);
	crypto_sign_detached(v->sig, NULL, t, sizeof(t), kr->sign_sk);
}

enum glm_vouch_result glm_vouch_check(const struct glm_keyring *kr, const struct in6_addr *ha,
				      const struct in6_addr *ma, const struct glm_vouch *v, uint64_t now_s)
{
	const struct glm_key *k = keyring_find(kr, v->signer);
	uint8_t t[60];

	if (!k)
		return GLM_VOUCH_UNKNOWN;
	if (k->role != GLM_ROLE_AGENT)
		return GLM_VOUCH_NOT_AGENT;
	if (!key_serves(k, ma))
		return GLM_VOUCH_OUTSIDE;
	if (v->not_after < now_s)
		return GLM_VOUCH_EXPIRED;
	vouch_text(t, ha, ma, v->not_after, v->signer);
	return crypto_sign_verify_detached(v->sig, t, sizeof(t), k->pub) == 0 ? GLM_VOUCH_OK : GLM_VOUCH_BAD;
}

const char *glm_vouch_result_name(enum glm_vouch_result r)
{
	static const char *const n[] = { "ok", "signer unknown", "signer not an agent", "MA outside the signer's prefixes",
					 "expired", "bad signature" };
	return (unsigned)r < sizeof(n) / sizeof(n[0]) ? n[r] : "unknown";
}

void glm_proof_init(struct glm_proof *p)
{
	randombytes_buf(p->secret, sizeof(p->secret));
}

static void proof_at(const struct glm_proof *p, uint64_t epoch, uint32_t key_id, const struct in6_addr *ha,
		     const struct in6_addr *ma, uint8_t out[16])
{
	uint8_t t[8 + 4 + 32];
	uint64_t e = htobe64(epoch);
	uint32_t k = htobe32(key_id);

	memcpy(t, &e, 8);
	memcpy(t + 8, &k, 4);
	memcpy(t + 12, ha, 16);
	memcpy(t + 28, ma, 16);
	crypto_generichash(out, 16, t, sizeof(t), p->secret, sizeof(p->secret));
}

void glm_proof_make(const struct glm_proof *p, uint64_t now_s, uint32_t key_id, const struct in6_addr *ha,
		    const struct in6_addr *ma, uint8_t out[16])
{
	proof_at(p, now_s / GLM_PROOF_PERIOD_S, key_id, ha, ma, out);
}

bool glm_proof_check(const struct glm_proof *p, uint64_t now_s, uint32_t key_id, const struct in6_addr *ha,
		     const struct in6_addr *ma, const uint8_t tok[16])
{
	uint8_t want[16];
	uint64_t e = now_s / GLM_PROOF_PERIOD_S;

	for (int back = 0; back < 2 && e >= (uint64_t)back; back++) {
		proof_at(p, e - (uint64_t)back, key_id, ha, ma, want);
		if (sodium_memcmp(want, tok, 16) == 0)
			return true;
	}
	return false;
}

uint16_t glm_ma_check(const struct glm_keyring *kr, const struct glm_proof *p, const struct glm_msg *m,
		      uint64_t now_s, const char **why)
{
	*why = NULL;
	if (GLM_HAS(m, GLM_TLV_VOUCH)) {
		enum glm_vouch_result r = glm_vouch_check(kr, &m->ha, &m->ma, &m->vouch, now_s);

		if (r == GLM_VOUCH_OK)
			return GLM_ST_OK;
		*why = glm_vouch_result_name(r);
	}
	if (GLM_HAS(m, GLM_TLV_PROOF) && glm_proof_check(p, now_s, m->key_id, &m->ha, &m->ma, m->proof))
		return GLM_ST_OK;
	if (GLM_HAS(m, GLM_TLV_PROOF) && !*why)
		*why = "proof wrong or expired";
	return GLM_ST_PROVE;
}

bool key_owns_home(const struct glm_key *k, const struct in6_addr *ha)
{
	for (unsigned i = 0; i < k->nhomes; i++)
		if (!memcmp(&k->homes[i], ha, sizeof(*ha)))
			return true;
	return false;
}

enum glm_parse_err glm_msg_accept(const struct glm_keyring *kr, const uint8_t *buf, size_t len,
				  struct glm_msg *m, const struct glm_key **key)
{
	enum glm_parse_err e = glm_msg_parse(buf, len, m);
	const struct glm_key *k;

	*key = NULL;
	if (e != GLM_PE_OK)
		return e;
	k = keyring_find(kr, m->key_id);
	if (!k || k->self)
		return GLM_PE_MAC;
	e = glm_msg_verify(buf, len, k->secret);
	if (e != GLM_PE_OK)
		return e;
	if (!glm_role_may_send(k->role, m->type))
		return GLM_PE_ROLE;
	*key = k;
	return GLM_PE_OK;
}

int glm_send_msg(int fd, const struct sockaddr_in6 *to, const struct in6_addr *src, struct glm_msg *m,
		 const struct glm_key *key)
{
	uint8_t buf[GLM_MSG_MAX];
	ssize_t n;
	int r;

	m->key_id = key->local_id;
	n = glm_msg_encode(m, key->secret, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	r = sendto_from(fd, buf, (size_t)n, to, src, 0);
	if (r < 0)
		log_debug("send %s to %s: %s", glm_msg_type_name(m->type), sa6(to), strerror(-r));
	return r;
}

int glm_recv_msg(int fd, const struct glm_keyring *kr, uint64_t since, uint8_t *buf, size_t cap,
		 struct glm_msg *m, const struct glm_key **key, struct sockaddr_in6 *from, uint64_t *rx,
		 uint64_t drops[GLM_PE_MAX])
{
	return glm_recv_msg_to(fd, kr, since, buf, cap, m, key, from, NULL, rx, drops);
}

int glm_recv_msg_to(int fd, const struct glm_keyring *kr, uint64_t since, uint8_t *buf, size_t cap,
		    struct glm_msg *m, const struct glm_key **key, struct sockaddr_in6 *from, struct in6_addr *local,
		    uint64_t *rx, uint64_t drops[GLM_PE_MAX])
{
	union {
		struct cmsghdr h;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cbuf;
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_name = from, .msg_namelen = sizeof(*from), .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = local ? cbuf.b : NULL, .msg_controllen = local ? sizeof(cbuf) : 0 };
	enum glm_parse_err e;
	ssize_t n = recvmsg(fd, &mh, 0);

	if (n < 0)
		return -1;
	if (local) {
		*local = in6addr_any;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				*local = pi.ipi6_addr;
			}
	}
	(*rx)++;
	e = glm_msg_accept(kr, buf, (size_t)n, m, key);
	if (e == GLM_PE_OK)
		e = glm_seq_fresh(m->seq, realtime_ns(), since);
	if (e != GLM_PE_OK) {
		drops[e]++;
		if (e >= GLM_PE_SEQ_AHEAD)
			log_debug("dropped %s from key %u at %s: %s (seq %llu)", glm_msg_type_name(m->type), m->key_id,
				  sa6(from), glm_parse_err_name(e), (unsigned long long)m->seq);
		else
			log_debug("dropped %zd bytes from %s: %s", n, sa6(from), glm_parse_err_name(e));
		return 0;
	}
	return 1;
}
