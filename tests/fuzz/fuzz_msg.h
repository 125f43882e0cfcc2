/* What the handler harnesses share: the fuzzer's bytes read as a series
 * of glm messages, each sealed with the sender's test key (fuzz_keys.h)
 * so it passes the MAC check, with a seq inside the receiver's freshness
 * window, and sent from a real UDP socket (a "peer") to the daemon's own
 * socket, in a network namespace of the harness's own (fuzz_net.h), so
 * nothing reaches a real network and no port of another program is hit.
 *
 * One message in the input:
 *   type(1) sender(1) peer(1) seq-mode(1) seq-delta(2) present(2) TLVs...
 * and each TLV named in present, in type order: an address is one byte
 * choosing from fuzz_addrs[] (or, high bit set, 16 raw bytes follow); a
 * number is its bytes; PACKET is kind(1) length(1..2) bytes, kind 1 an
 * IPv6 header to the message's group from its source built in front of
 * the payload so the relay's packet checks can pass. Input that runs out
 * reads as zeros. The seq: mostly the clock at the input's start plus
 * the delta (in µs), so the fuzzer can replay, reorder and overtake; or
 * one of the seqs the daemon sent to the peers lately (fuzz_peers_drain),
 * so an answer can match the request it answers; or just outside the
 * window, or 0 or 2^64-1, for the refusals. */
#ifndef GLM_FUZZ_MSG_H
#define GLM_FUZZ_MSG_H
#include "fuzz_keys.h"
#include "keys.h"
#include "util.h"
#include "wire.h"
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_u8(in);

	return (uint16_t)(hi << 8 | fuzz_u8(in));
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t hi = fuzz_u16(in);

	return hi << 16 | fuzz_u16(in);
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t hi = fuzz_u32(in);

	return hi << 32 | fuzz_u32(in);
}

static inline void fuzz_bytes(struct fuzz_in *in, void *out, size_t n)
{
	size_t k = n < in->n ? n : in->n;

	memcpy(out, in->p, k);
	memset((uint8_t *)out + k, 0, n - k);
	in->p += k;
	in->n -= k;
}

/* The addresses the harnesses' daemons and peers know of (the homes of
 * fuzz_keys.h, the namespace's addresses, groups of every scope). */
static const char *const fuzz_addrs[] = {
	"::", "::1", "2001:db8:100::1", "2001:db8:100::2", "2001:db8:100::3",
	"2001:db8:a::5", "2001:db8:b::", "2001:db8:a::", "fe80::1", "ff3e::1234",
	"ff3e::1", "ff02::1", "ff05::2", "2001:db8:5::1", "2001:db8:2::1", "2001:db8:c::5",
	"2001:db8:b::1", "2001:db8:1::1", "fe80::2", "ff3e::2", "2001:db8:d::7", "2001:db8:b::9",
	"ff0e::1", "::ffff:192.0.2.1", "2001:db8:a::7",
};
#define FUZZ_NADDRS (sizeof(fuzz_addrs) / sizeof(fuzz_addrs[0]))

static inline struct in6_addr fuzz_addr_n(unsigned i)
{
	struct in6_addr a;

	inet_pton(AF_INET6, fuzz_addrs[i % FUZZ_NADDRS], &a);
	return a;
}

static inline struct in6_addr fuzz_addr(struct fuzz_in *in)
{
	uint8_t sel = fuzz_u8(in);
	struct in6_addr a;

	if (sel & 0x80) {
		fuzz_bytes(in, &a, sizeof(a));
		return a;
	}
	return fuzz_addr_n(sel);
}

/* The seqs the daemon sent lately (to any peer), newest last, and the
 * last COOKIE and PROOF tokens it sent (a message may echo them, so the
 * requests behind address validation and return routability are
 * reached). */
#define FUZZ_SEEN 8
struct fuzz_seqs {
	uint64_t base;                   /* the clock at the input's start */
	uint64_t seen[FUZZ_SEEN];
	unsigned nseen;
	uint8_t cookie[GLM_COOKIE_LEN], proof[16];
};

static inline void fuzz_seqs_saw(struct fuzz_seqs *s, const struct glm_msg *m)
{
	s->seen[s->nseen++ % FUZZ_SEEN] = m->seq;
	if (GLM_HAS(m, GLM_TLV_COOKIE))
		memcpy(s->cookie, m->cookie, sizeof(s->cookie));
	if (GLM_HAS(m, GLM_TLV_PROOF))
		memcpy(s->proof, m->proof, sizeof(s->proof));
}

static inline uint64_t fuzz_seq(struct fuzz_in *in, struct fuzz_seqs *s)
{
	uint8_t mode = fuzz_u8(in);
	uint16_t delta = fuzz_u16(in);

	switch (mode % 8) {
	case 4:
	case 5:
		/* an answer: the seq of something the daemon sent */
		if (s->nseen)
			return s->seen[(s->nseen - 1 - delta % FUZZ_SEEN) % FUZZ_SEEN] + (mode & 0x10 ? 1 : 0);
		return s->base + delta;
	case 6:
		return mode & 0x10 ? s->base - GLM_SEQ_PAST_NS - 1000000000ull : 0;
	case 7:
		return mode & 0x10 ? s->base + GLM_SEQ_FUTURE_NS + 1000000000ull : UINT64_MAX;
	default:
		return s->base + (uint64_t)delta * 1000;
	}
}

/* A message from the input: its fields, who sends it and from which peer. */
struct fuzz_msg {
	struct glm_msg m;
	enum fuzz_node sender;
	unsigned peer;
	uint8_t pkt[1600];               /* PACKET's bytes */
};

static inline void fuzz_msg_read(struct fuzz_in *in, struct fuzz_seqs *s, struct fuzz_msg *f)
{
	struct glm_msg *m = &f->m;
	uint16_t present;

	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)(fuzz_u8(in) % (GLM_MSG_TYPE_MAX + 1));
	f->sender = (enum fuzz_node)(fuzz_u8(in) % FUZZ_NODES);
	if (f->sender == 0)
		f->sender = FUZZ_AGENT;
	f->peer = fuzz_u8(in);
	m->seq = fuzz_seq(in, s);
	present = fuzz_u16(in);
	m->present = (uint32_t)present & (((1u << (GLM_TLV_MAX + 1)) - 1) & ~1u);
	if (GLM_HAS(m, GLM_TLV_HA))
		m->ha = fuzz_addr(in);
	if (GLM_HAS(m, GLM_TLV_MA))
		m->ma = fuzz_addr(in);
	if (GLM_HAS(m, GLM_TLV_LIFETIME)) {
		uint8_t l = fuzz_u8(in);

		/* mostly small lifetimes and 0, sometimes any */
		m->lifetime = l == 0xff ? fuzz_u32(in) : l;
	}
	if (GLM_HAS(m, GLM_TLV_STATUS))
		m->status = fuzz_u8(in);
	if (GLM_HAS(m, GLM_TLV_PREFIX)) {
		m->prefix = fuzz_addr(in);
		m->prefix_len = fuzz_u8(in);
		if (m->prefix_len < 0x80)
			m->prefix_len = 64;
	}
	if (GLM_HAS(m, GLM_TLV_ROUTER))
		m->router = fuzz_addr(in);
	if (GLM_HAS(m, GLM_TLV_GROUP))
		m->group = fuzz_addr(in);
	if (GLM_HAS(m, GLM_TLV_SOURCE))
		m->source = fuzz_addr(in);
	if (GLM_HAS(m, GLM_TLV_PORT))
		m->port = fuzz_u16(in);
	if (GLM_HAS(m, GLM_TLV_UPDATE_SEQ))
		m->update_seq = fuzz_seq(in, s);
	if (GLM_HAS(m, GLM_TLV_PACKET)) {
		uint8_t kind = fuzz_u8(in);
		size_t len = fuzz_u8(in), o = 0;

		if (kind & 2)
			len = len << 2;             /* up to 1020 bytes */
		if (kind & 1) {
			/* an IPv6 packet to the group, payload len bytes */
			struct in6_addr src = GLM_HAS(m, GLM_TLV_SOURCE) && !(kind & 4) ? m->source : fuzz_addr(in);

			memset(f->pkt, 0, 40);
			f->pkt[0] = 0x60;
			f->pkt[4] = (uint8_t)(len >> 8);
			f->pkt[5] = (uint8_t)len;
			f->pkt[6] = 17;
			f->pkt[7] = 64;
			memcpy(f->pkt + 8, &src, 16);
			memcpy(f->pkt + 24, &m->group, 16);
			o = 40;
		}
		fuzz_bytes(in, f->pkt + o, len);
		m->packet = f->pkt;
		m->packet_len = (uint16_t)(o + len);
	}
	if (GLM_HAS(m, GLM_TLV_LLADDR))
		fuzz_bytes(in, m->lladdr, 6);
	if (GLM_HAS(m, GLM_TLV_VOUCH)) {
		uint8_t sel = fuzz_u8(in);

		if (sel & 1) {
			/* a real vouch for (HA, MA) by an agent (or by whoever
			 * sel names: a guest's is refused), good for an hour */
			enum fuzz_node by = (enum fuzz_node)(sel >> 1) % FUZZ_NODES;
			struct glm_keyring *kr = fuzz_ring(by ? by : FUZZ_AGENT);

			if (kr)
				glm_vouch_sign(kr, &m->ha, &m->ma, s->base / 1000000000ull + 3600 - (sel & 0x80 ? 7200 : 0),
					       &m->vouch);
		} else {
			m->vouch.signer = fuzz_u32(in);
			m->vouch.not_after = fuzz_u64(in);
			fuzz_bytes(in, m->vouch.sig, sizeof(m->vouch.sig));
		}
	}
	if (GLM_HAS(m, GLM_TLV_PROOF)) {
		if (fuzz_u8(in) & 1)
			memcpy(m->proof, s->proof, sizeof(m->proof));
		else
			fuzz_bytes(in, m->proof, sizeof(m->proof));
	}
	if (GLM_HAS(m, GLM_TLV_COOKIE)) {
		if (fuzz_u8(in) & 1)
			memcpy(m->cookie, s->cookie, sizeof(m->cookie));
		else
			fuzz_bytes(in, m->cookie, sizeof(m->cookie));
	}
}

/* Seal f for receiver: the bytes on the wire, or -errno (an unencodable
 * message, e.g. of type 0, is skipped by the callers). */
static inline ssize_t fuzz_msg_seal(struct fuzz_msg *f, enum fuzz_node receiver, uint8_t *out, size_t cap)
{
	uint8_t key[GLM_KEY_LEN];

	f->m.key_id = fuzz_key_id(f->sender, receiver);
	fuzz_seal_key(f->sender, receiver, key);
	return glm_msg_encode(&f->m, key, out, cap);
}
#endif
