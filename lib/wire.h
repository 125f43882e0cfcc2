/* The glm wire format: every UDP message of every glm program.
 *
 *   0      1      2      4            8                   16
 *   +------+------+------+------------+-------------------+
 *   | ver  | type | len  |   key id   |     sequence      |   header, big endian
 *   +------+------+------+------------+-------------------+
 *   | TLV: type(2) length(2) value ... (no padding)       |   body
 *   +-----------------------------------------------------+
 *   | HMAC-SHA256 over header and body (32 bytes)         |   trailer
 *   +-----------------------------------------------------+
 *
 * len is the whole message, trailer included. Each TLV type appears at most
 * once and has a fixed length, except PACKET. Unknown TLV types are an
 * error (a node never half-understands a message). glm_msg_parse() is the
 * one parser; it checks structure only. glm_msg_verify() checks the HMAC
 * with the key the receiver shares with the sender the header's key id
 * names (keys.h: no MAC key is known beyond the two ends).
 *
 * The sequence number is the sender's CLOCK_REALTIME in ns (seq_next()),
 * strictly increasing per sending process. What a receiver takes is
 * bounded in time, as WireGuard bounds its handshakes' timestamps
 * (glm_seq_fresh(), glm_replay below, glm-keys(5) "FRESHNESS").
 *
 * Address validation (glm-keys(5) "ADDRESS VALIDATION", cookie.h): a UDP
 * source can be forged, so a request whose answer is bulk or larger than
 * the request (RELAY_REQUEST, SUBSCRIBE, QUERY) is served only if it
 * carries a COOKIE TLV the server made for that source address, port and
 * key. Without one the only answer is a COOKIE message (header, COOKIE
 * TLV, MAC: GLM_COOKIE_MSG_LEN bytes, no larger than any such request),
 * sent with the request's seq; the client sends the request again at once
 * with the cookie. Answers to a request that carried a valid cookie carry
 * a fresh one, so a client in regular contact never pays the round trip
 * again. Every other answer is no larger than its request. */
#ifndef GLM_WIRE_H
#define GLM_WIRE_H
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define GLM_WIRE_VERSION 1
#define GLM_HDR_LEN 16
#define GLM_MAC_LEN 32
#define GLM_KEY_LEN 32
#define GLM_MSG_MAX 65535
#define GLM_MSG_MIN (GLM_HDR_LEN + GLM_MAC_LEN)

enum glm_msg_type {
	GLM_PREPARE = 1,
	GLM_PREPARE_ACK,
	GLM_RELAY_REQUEST,
	GLM_RELAY_RESPONSE,
	GLM_RELAY_STOP,
	GLM_RELAYED_PACKET,
	GLM_IMS_UPDATE,
	GLM_IMS_ACK,
	GLM_QUERY,
	GLM_REPLY,
	GLM_SUBSCRIBE,
	GLM_NOTIFY,
	GLM_BINDING_UPDATE,
	GLM_BINDING_ACK,
	GLM_RESUMED,          /* host agent -> matd: the VM runs here now (libvirt's RESUMED) */
	GLM_COOKIE,           /* server -> unproven client: prove you receive here (COOKIE TLV) */
	GLM_MSG_TYPE_MAX = GLM_COOKIE,
};

enum glm_tlv_type {
	GLM_TLV_HA = 1,       /* in6_addr: home address */
	GLM_TLV_MA,           /* in6_addr: mobile address */
	GLM_TLV_LIFETIME,     /* u32 seconds; 0 = withdraw */
	GLM_TLV_STATUS,       /* u16, enum glm_status */
	GLM_TLV_PREFIX,       /* in6_addr + u8 length */
	GLM_TLV_ROUTER,       /* in6_addr: link-local of the default router */
	GLM_TLV_GROUP,        /* in6_addr: multicast group */
	GLM_TLV_SOURCE,       /* in6_addr: multicast source (:: = any) */
	GLM_TLV_PORT,         /* u16 */
	GLM_TLV_UPDATE_SEQ,   /* u64: sequence of the update a NOTIFY/REPLY reports */
	GLM_TLV_PACKET,       /* variable: an IPv6 packet */
	GLM_TLV_LLADDR,       /* 6 bytes: link-layer address of a router (PREPARE:
	                       * the new one; PREPARE_ACK: the guest's current one) */
	GLM_TLV_VOUCH,        /* signer key id (4), not-after (8, CLOCK_REALTIME s), Ed25519
	                       * signature (64): a host agent vouches for (HA, MA); keys.h */
	GLM_TLV_PROOF,        /* 16 bytes: the receiver's token for (key, HA, MA), sent to the
	                       * MA and echoed: the MA receives there (return routability) */
	GLM_TLV_COOKIE,       /* GLM_COOKIE_LEN bytes: the server's MAC of the client's address */
	GLM_TLV_MAX = GLM_TLV_COOKIE,
};

enum glm_status {
	GLM_ST_OK = 0,
	GLM_ST_STALE = 1,     /* sequence not greater than the stored one */
	GLM_ST_DENIED = 2,    /* key not allowed for this home address */
	GLM_ST_NOTFOUND = 3,
	GLM_ST_BADREQ = 4,    /* well formed, authentic, but missing a field */
	GLM_ST_INTERNAL = 5,  /* e.g. the store failed: nothing was changed */
	GLM_ST_PROVE = 6,     /* the MA is neither vouched for nor proven: this answer, sent
	                       * to the MA, carries a PROOF to send the update again with */
	GLM_ST_LIMIT = 7,     /* the key holds as many sessions/subscriptions as one may */
};

/* Why a message was refused; counted by the receivers. */
enum glm_parse_err {
	GLM_PE_OK = 0,
	GLM_PE_SHORT,
	GLM_PE_VERSION,
	GLM_PE_TYPE,
	GLM_PE_LENGTH,
	GLM_PE_TLV_TRUNC,
	GLM_PE_TLV_UNKNOWN,
	GLM_PE_TLV_LEN,
	GLM_PE_TLV_DUP,
	GLM_PE_MAC,
	GLM_PE_SEQ_AHEAD,     /* seq more than GLM_SEQ_FUTURE_NS ahead of our clock */
	GLM_PE_SEQ_OLD,       /* seq more than GLM_SEQ_PAST_NS behind it */
	GLM_PE_SEQ_RESTART,   /* seq from before this receiver started */
	GLM_PE_REPLAY,        /* seq not above the last one taken from that key */
	GLM_PE_ROLE,          /* authentic, but its sender's role may not send that type */
	GLM_PE_MAX,
};

#define GLM_HAS(m, t) (((m)->present >> (t)) & 1u)
#define GLM_COOKIE_LEN 16
/* A COOKIE message: header, COOKIE TLV, MAC. */
#define GLM_COOKIE_MSG_LEN (GLM_HDR_LEN + 4 + GLM_COOKIE_LEN + GLM_MAC_LEN)

struct glm_msg {
	uint8_t type;
	uint32_t key_id;
	uint64_t seq;
	uint32_t present; /* bit n set: TLV n present */
	struct in6_addr ha, ma, router, group, source, prefix;
	uint8_t prefix_len;
	uint32_t lifetime;
	uint16_t status;
	uint16_t port;
	uint64_t update_seq;
	const uint8_t *packet; /* points into the parsed buffer */
	uint16_t packet_len;
	uint8_t lladdr[6];
	struct glm_vouch {
		uint32_t signer;
		uint64_t not_after;  /* CLOCK_REALTIME, seconds */
		uint8_t sig[64];
	} vouch;
	uint8_t proof[16];
	uint8_t cookie[GLM_COOKIE_LEN];
	uint16_t len;          /* glm_msg_parse(): the message's length on the wire */
};

/* Structural parse; returns GLM_PE_OK or the reason. Never reads past len. */
enum glm_parse_err glm_msg_parse(const uint8_t *buf, size_t len, struct glm_msg *m);
/* Constant-time HMAC check of a buffer glm_msg_parse() accepted. */
enum glm_parse_err glm_msg_verify(const uint8_t *buf, size_t len, const uint8_t key[GLM_KEY_LEN]);
/* Encode m (TLVs named by m->present) and seal it with key.
 * Returns the length written, or -EMSGSIZE / -EINVAL. */
ssize_t glm_msg_encode(const struct glm_msg *m, const uint8_t key[GLM_KEY_LEN], uint8_t *out, size_t cap);
/* The length glm_msg_encode() would give m (MAC included). */
size_t glm_msg_len(const struct glm_msg *m);

const char *glm_msg_type_name(unsigned type);
const char *glm_parse_err_name(enum glm_parse_err e);
const char *glm_status_name(unsigned st);
/* Freshness: the window around the receiver's own clock a message's seq
 * must fall in. The nodes' clocks are assumed synchronised (NTP) to well
 * within GLM_SEQ_FUTURE_NS; a message takes well under GLM_SEQ_PAST_NS to
 * arrive, retransmissions included. A seq at most GLM_SEQ_FUTURE_NS ahead
 * is all a sender can push its own sequence (stored per home address by
 * the IMS) to: half a minute of real time, not the end of the space. */
#define GLM_SEQ_FUTURE_NS (30ull * 1000000000ull)
#define GLM_SEQ_PAST_NS (60ull * 1000000000ull)

/* Is seq fresh for a receiver whose clock reads now (CLOCK_REALTIME ns)
 * and which started at since (its CLOCK_REALTIME then: nothing sent
 * before a restart is taken after it)? GLM_PE_OK, or GLM_PE_SEQ_AHEAD,
 * GLM_PE_SEQ_OLD, GLM_PE_SEQ_RESTART. */
enum glm_parse_err glm_seq_fresh(uint64_t seq, uint64_t now, uint64_t since);

/* The last seq taken per sending key, for the messages that must not be
 * taken twice (a request that starts something). Bounded: when full, the
 * key with the oldest seq is forgotten and floor rises to that seq, so a
 * key no longer remembered is held to "above floor" (never to nothing).
 * Zero-initialised it is empty. */
#define GLM_REPLAY_KEYS 1024
struct glm_replay {
	unsigned n;
	uint64_t floor;
	struct {
		uint32_t key_id;
		uint64_t last;
	} k[GLM_REPLAY_KEYS];
};
/* seq from key_id: GLM_PE_OK (and now the last of that key) if above the
 * last one taken from it, else GLM_PE_REPLAY (nothing recorded). */
enum glm_parse_err glm_replay_check(struct glm_replay *r, uint32_t key_id, uint64_t seq);

/* Drop counters by reason: "drop_bad_MAC=N" lines in text, a
 * "drops":{"bad_MAC":N,...} member in JSON. */
struct printer;
void glm_drops_print(struct printer *p, const uint64_t drops[GLM_PE_MAX]);

/* Set a TLV and mark it present. */
#define GLM_SET(m, field, tlv, val) do { (m)->field = (val); (m)->present |= 1u << (tlv); } while (0)
#endif
