/* Private helpers shared by relay_client.c and relay_server.c: which groups
 * may be relayed, the checks a relayed inner packet must pass, the packet
 * hash the client's duplicate suppression keys on, the client's replay
 * window, and the RELAYED_PACKET framing the server builds without copying
 * the packet. All pure functions, so tests/unit/test_relay.c covers them
 * without sockets. */
#ifndef GLM_RELAY_H
#define GLM_RELAY_H
#include "wire.h"
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define IP6_HDR_LEN 40
/* The most relay sessions one key (one agent) may hold at a relay: a key
 * cannot take the relay's whole table (RS_MAX_SESSIONS). */
#define RELAY_SESSIONS_PER_KEY 64
/* RELAYED_PACKET = header, GROUP TLV, PACKET TLV header, packet, MAC. */
#define RELAY_FRAME_HDR (GLM_HDR_LEN + 4 + 16 + 4)
#define RELAY_FRAME_OVERHEAD (RELAY_FRAME_HDR + GLM_MAC_LEN)
/* (an SSM frame has 20 bytes more: its packets must be 20 bytes shorter) */
#define RELAY_PKT_MAXLEN (GLM_MSG_MAX - RELAY_FRAME_OVERHEAD - 20)

/* Multicast scope of a group (RFC 4291 2.7); 0 if not multicast. */
static inline unsigned relay_scope(const struct in6_addr *g)
{
	return g->s6_addr[0] == 0xff ? g->s6_addr[1] & 0x0f : 0;
}

/* May this group be relayed? Relaying makes a group cross routers, so it
 * must be at least admin-local (scope 4 is admin-local, 3 realm-local;
 * ff01/ff02 never leave their link and must not be made to). Returns a
 * glm_status. */
static inline unsigned relay_group_status(const struct in6_addr *g, const struct in6_addr *src)
{
	if (g->s6_addr[0] != 0xff)
		return GLM_ST_BADREQ;
	if (relay_scope(g) < 3)
		return GLM_ST_DENIED;
	if (src && (src->s6_addr[0] == 0xff || IN6_IS_ADDR_LOOPBACK(src)))
		return GLM_ST_BADREQ;
	return GLM_ST_OK;
}

enum relay_pkt_err {
	RELAY_PKT_OK = 0,
	RELAY_PKT_SHORT,       /* shorter than an IPv6 header */
	RELAY_PKT_VERSION,     /* not IPv6 */
	RELAY_PKT_LENGTH,      /* payload length != what the TLV carries (or jumbo) */
	RELAY_PKT_GROUP,       /* destination is not the session's group */
	RELAY_PKT_SOURCE,      /* not from the session's source (SSM) */
	RELAY_PKT_MAX,
};

static inline const char *relay_pkt_err_name(enum relay_pkt_err e)
{
	static const char *const n[RELAY_PKT_MAX] = { "ok", "short", "not IPv6", "bad length",
						      "wrong group", "wrong source" };
	return (unsigned)e < RELAY_PKT_MAX ? n[e] : "unknown";
}

/* Check an inner packet against its session: IPv6, payload length equal
 * to what the TLV holds, destination == group, and source == src unless
 * src is NULL or :: (any source). */
static inline enum relay_pkt_err relay_pkt_check(const uint8_t *p, size_t len, const struct in6_addr *group,
						  const struct in6_addr *src)
{
	if (len < IP6_HDR_LEN)
		return RELAY_PKT_SHORT;
	if ((p[0] >> 4) != 6)
		return RELAY_PKT_VERSION;
	if ((size_t)(p[4] << 8 | p[5]) + IP6_HDR_LEN != len)
		return RELAY_PKT_LENGTH;
	if (memcmp(p + 24, group, 16))
		return RELAY_PKT_GROUP;
	if (src && !IN6_IS_ADDR_UNSPECIFIED(src) && memcmp(p + 8, src, 16))
		return RELAY_PKT_SOURCE;
	return RELAY_PKT_OK;
}

/* Identity of a packet for duplicate suppression: source, group and the
 * payload (UDP header and data), not the hop limit, which the re-sent copy
 * changes, nor the flow label. Keyed SipHash: a sender cannot aim
 * collisions at another stream's packets. len >= IP6_HDR_LEN. */
static inline uint64_t relay_pkt_hash(const uint8_t key[crypto_shorthash_KEYBYTES], const uint8_t *p, size_t len)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h;

	/* src and dst are contiguous at 8..39: hash them and the payload as
	 * one run, skipping version, class, flow, length, next header and
	 * hop limit. */
	crypto_shorthash(out, p + 8, len - 8, key);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* A ring of recent packet hashes. 0 marks an empty slot (a real hash of 0
 * is simply never found: one missed duplicate in 2^64). */
#define RELAY_RING 256
struct relay_ring {
	uint64_t h[RELAY_RING];
	unsigned next;
};

static inline void relay_ring_add(struct relay_ring *r, uint64_t h)
{
	r->h[r->next++ % RELAY_RING] = h;
}

static inline bool relay_ring_has(const struct relay_ring *r, uint64_t h)
{
	if (!h)
		return false;
	for (unsigned i = 0; i < RELAY_RING; i++)
		if (r->h[i] == h)
			return true;
	return false;
}

/* Anti-replay window over the relay's per-session sequence numbers (as in
 * IPsec, RFC 4303 3.4.3): a 64-wide bitmap behind the highest seen. A
 * RELAYED_PACKET is authentic (HMAC) but could be captured and replayed;
 * without this a replay would be re-sent onto the bridge as a duplicate. */
struct relay_window {
	uint64_t top, bits;
};

/* true: fresh (and now recorded); false: replayed or too old. */
static inline bool relay_window_check(struct relay_window *w, uint64_t seq)
{
	if (seq > w->top) {
		uint64_t d = seq - w->top;
		w->bits = d >= 64 ? 1 : (w->bits << d) | 1;
		w->top = seq;
		return true;
	}
	if (w->top - seq >= 64)
		return false;
	if (w->bits >> (w->top - seq) & 1)
		return false;
	w->bits |= 1ull << (w->top - seq);
	return true;
}

/* The fixed part of a RELAYED_PACKET before the packet itself: header,
 * GROUP, SOURCE for a source-specific session (source non-NULL), PACKET's
 * TLV header. The same bytes glm_msg_encode() produces (TLVs in type
 * order); the caller seals them and the packet with HMAC-SHA256 and
 * appends the MAC. Returns the length written, RELAY_FRAME_HDR or
 * RELAY_FRAME_HDR_SSM. */
#define RELAY_FRAME_HDR_SSM (RELAY_FRAME_HDR + 4 + 16)
static inline size_t relay_frame_hdr(uint8_t h[RELAY_FRAME_HDR_SSM], uint32_t key_id, uint64_t seq,
				     const struct in6_addr *group, const struct in6_addr *source, size_t pkt_len)
{
	size_t hl = source ? RELAY_FRAME_HDR_SSM : RELAY_FRAME_HDR;
	size_t total = hl + GLM_MAC_LEN + pkt_len, o = GLM_HDR_LEN;

	h[0] = GLM_WIRE_VERSION;
	h[1] = GLM_RELAYED_PACKET;
	h[2] = (uint8_t)(total >> 8);
	h[3] = (uint8_t)total;
	for (int i = 0; i < 4; i++)
		h[4 + i] = (uint8_t)(key_id >> (24 - 8 * i));
	for (int i = 0; i < 8; i++)
		h[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
	h[o++] = 0;
	h[o++] = GLM_TLV_GROUP;
	h[o++] = 0;
	h[o++] = 16;
	memcpy(h + o, group, 16);
	o += 16;
	if (source) {
		h[o++] = 0;
		h[o++] = GLM_TLV_SOURCE;
		h[o++] = 0;
		h[o++] = 16;
		memcpy(h + o, source, 16);
		o += 16;
	}
	h[o++] = 0;
	h[o++] = GLM_TLV_PACKET;
	h[o++] = (uint8_t)(pkt_len >> 8);
	h[o++] = (uint8_t)pkt_len;
	return o;
}

/* Complete the UDP checksum of an IPv6 packet whose sender left it to
 * offload (the field holds only the pseudo-header sum). Only UDP right
 * after the fixed header: multicast streams are UDP, and extension headers
 * in them are rare enough to pass unfixed. Returns 1 if fixed. */
static inline int relay_udp_csum_fix(uint8_t *p, size_t len)
{
	uint64_t sum = 0;
	size_t ulen, i;

	if (len < IP6_HDR_LEN + 8 || p[6] != 17)
		return 0;
	ulen = len - IP6_HDR_LEN;
	if ((size_t)(p[44] << 8 | p[45]) != ulen)
		return 0;
	p[46] = p[47] = 0;
	for (i = 8; i < 40; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	sum += ulen + 17;
	/* 32 bits at a time: a big-endian 32-bit word folds to the sum of
	 * its two 16-bit halves (RFC 1071 2(B)) */
	for (i = IP6_HDR_LEN; i + 3 < len; i += 4)
		sum += (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 | p[i + 3];
	for (; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	if (!sum)
		sum = 0xffff;       /* RFC 8200 8.1: zero is not allowed over IPv6 */
	p[46] = (uint8_t)(sum >> 8);
	p[47] = (uint8_t)sum;
	return 1;
}

/* Ethernet multicast address of an IPv6 group (RFC 2464 7). */
static inline void relay_group_mac(const struct in6_addr *g, uint8_t mac[6])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, g->s6_addr + 12, 4);
}
#endif
