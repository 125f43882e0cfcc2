/* The one parser and encoder of the glm wire format (see wire.h). */
#include "wire.h"
#include "print.h"
#include <endian.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const uint16_t tlv_len[GLM_TLV_MAX + 1] = {
	[GLM_TLV_HA] = 16, [GLM_TLV_MA] = 16, [GLM_TLV_LIFETIME] = 4,
	[GLM_TLV_STATUS] = 2, [GLM_TLV_PREFIX] = 17, [GLM_TLV_ROUTER] = 16,
	[GLM_TLV_GROUP] = 16, [GLM_TLV_SOURCE] = 16, [GLM_TLV_PORT] = 2,
	[GLM_TLV_UPDATE_SEQ] = 8, [GLM_TLV_PACKET] = 0 /* variable */, [GLM_TLV_LLADDR] = 6,
	[GLM_TLV_VOUCH] = 76, [GLM_TLV_PROOF] = 16,
	[GLM_TLV_COOKIE] = GLM_COOKIE_LEN,
};

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

enum glm_parse_err glm_msg_parse(const uint8_t *buf, size_t len, struct glm_msg *m)
{
	size_t off, end;

	memset(m, 0, sizeof(*m));
	if (len < GLM_MSG_MIN)
		return GLM_PE_SHORT;
	if (buf[0] != GLM_WIRE_VERSION)
		return GLM_PE_VERSION;
	if (buf[1] == 0 || buf[1] > GLM_MSG_TYPE_MAX)
		return GLM_PE_TYPE;
	if (get16(buf + 2) != len)
		return GLM_PE_LENGTH;
	m->type = buf[1];
	m->len = (uint16_t)len;
	m->key_id = get32(buf + 4);
	m->seq = get64(buf + 8);

	end = len - GLM_MAC_LEN;
	for (off = GLM_HDR_LEN; off < end;) {
		uint16_t t, l;
		const uint8_t *v;

		if (end - off < 4)
			return GLM_PE_TLV_TRUNC;
		t = get16(buf + off);
		l = get16(buf + off + 2);
		off += 4;
		if (l > end - off)
			return GLM_PE_TLV_TRUNC;
		if (t == 0 || t > GLM_TLV_MAX)
			return GLM_PE_TLV_UNKNOWN;
		if (tlv_len[t] ? l != tlv_len[t] : l == 0)
			return GLM_PE_TLV_LEN;
		if (GLM_HAS(m, t))
			return GLM_PE_TLV_DUP;
		v = buf + off;
		off += l;
		m->present |= 1u << t;
		switch (t) {
		case GLM_TLV_HA: memcpy(&m->ha, v, 16); break;
		case GLM_TLV_MA: memcpy(&m->ma, v, 16); break;
		case GLM_TLV_ROUTER: memcpy(&m->router, v, 16); break;
		case GLM_TLV_GROUP: memcpy(&m->group, v, 16); break;
		case GLM_TLV_SOURCE: memcpy(&m->source, v, 16); break;
		case GLM_TLV_LLADDR: memcpy(m->lladdr, v, 6); break;
		case GLM_TLV_PROOF: memcpy(m->proof, v, 16); break;
		case GLM_TLV_VOUCH:
			m->vouch.signer = get32(v);
			m->vouch.not_after = get64(v + 4);
			memcpy(m->vouch.sig, v + 12, 64);
			break;
		case GLM_TLV_COOKIE: memcpy(m->cookie, v, GLM_COOKIE_LEN); break;
		case GLM_TLV_LIFETIME: m->lifetime = get32(v); break;
		case GLM_TLV_STATUS: m->status = get16(v); break;
		case GLM_TLV_PORT: m->port = get16(v); break;
		case GLM_TLV_UPDATE_SEQ: m->update_seq = get64(v); break;
		case GLM_TLV_PREFIX:
			if (v[16] > 128)
				return GLM_PE_TLV_LEN;
			memcpy(&m->prefix, v, 16);
			m->prefix_len = v[16];
			break;
		case GLM_TLV_PACKET:
			m->packet = v;
			m->packet_len = l;
			break;
		}
	}
	return GLM_PE_OK;
}

enum glm_parse_err glm_msg_verify(const uint8_t *buf, size_t len, const uint8_t key[GLM_KEY_LEN])
{
	if (len < GLM_MSG_MIN)
		return GLM_PE_SHORT;
	if (crypto_auth_hmacsha256_verify(buf + len - GLM_MAC_LEN, buf, len - GLM_MAC_LEN, key) != 0)
		return GLM_PE_MAC;
	return GLM_PE_OK;
}

enum glm_parse_err glm_seq_fresh(uint64_t seq, uint64_t now, uint64_t since)
{
	if (seq > now && seq - now > GLM_SEQ_FUTURE_NS)
		return GLM_PE_SEQ_AHEAD;
	if (seq < now && now - seq > GLM_SEQ_PAST_NS)
		return GLM_PE_SEQ_OLD;
	if (seq < since)
		return GLM_PE_SEQ_RESTART;
	return GLM_PE_OK;
}

enum glm_parse_err glm_replay_check(struct glm_replay *r, uint32_t key_id, uint64_t seq)
{
	int i = -1;

	for (unsigned j = 0; j < r->n && i < 0; j++)
		if (r->k[j].key_id == key_id)
			i = (int)j;
	if (seq <= (i >= 0 ? r->k[i].last : r->floor))
		return GLM_PE_REPLAY;
	if (i < 0) {
		if (r->n < GLM_REPLAY_KEYS) {
			i = (int)r->n++;
		} else {
			/* forget the key heard from longest ago; whatever it
			 * sent is at most floor from now on */
			i = 0;
			for (unsigned j = 1; j < r->n; j++)
				if (r->k[j].last < r->k[i].last)
					i = (int)j;
			if (r->k[i].last > r->floor)
				r->floor = r->k[i].last;
		}
		r->k[i].key_id = key_id;
	}
	r->k[i].last = seq;
	return GLM_PE_OK;
}

struct wbuf {
	uint8_t *p;
	size_t cap, len;
	int err;
};

static void put(struct wbuf *w, const void *v, size_t n)
{
	if (w->err)
		return;
	if (n > w->cap - w->len) {
		w->err = -EMSGSIZE;
		return;
	}
	memcpy(w->p + w->len, v, n);
	w->len += n;
}

static void put_tlv(struct wbuf *w, uint16_t t, const void *v, size_t n)
{
	uint8_t h[4] = { (uint8_t)(t >> 8), (uint8_t)t, (uint8_t)(n >> 8), (uint8_t)n };

	if (n > 0xffff) {
		w->err = -EMSGSIZE;
		return;
	}
	put(w, h, 4);
	put(w, v, n);
}

ssize_t glm_msg_encode(const struct glm_msg *m, const uint8_t key[GLM_KEY_LEN], uint8_t *out, size_t cap)
{
	struct wbuf w = { .p = out, .cap = cap < GLM_MSG_MAX ? cap : GLM_MSG_MAX };
	uint8_t hdr[GLM_HDR_LEN] = { GLM_WIRE_VERSION, m->type };
	uint32_t k = htobe32(m->key_id);
	uint64_t s = htobe64(m->seq);

	if (m->type == 0 || m->type > GLM_MSG_TYPE_MAX)
		return -EINVAL;
	memcpy(hdr + 4, &k, 4);
	memcpy(hdr + 8, &s, 8);
	put(&w, hdr, sizeof(hdr));
	for (unsigned t = 1; t <= GLM_TLV_MAX; t++) {
		uint8_t b[76];
		if (!GLM_HAS(m, t))
			continue;
		switch (t) {
		case GLM_TLV_HA: put_tlv(&w, t, &m->ha, 16); break;
		case GLM_TLV_MA: put_tlv(&w, t, &m->ma, 16); break;
		case GLM_TLV_ROUTER: put_tlv(&w, t, &m->router, 16); break;
		case GLM_TLV_GROUP: put_tlv(&w, t, &m->group, 16); break;
		case GLM_TLV_SOURCE: put_tlv(&w, t, &m->source, 16); break;
		case GLM_TLV_LLADDR: put_tlv(&w, t, m->lladdr, 6); break;
		case GLM_TLV_PROOF: put_tlv(&w, t, m->proof, 16); break;
		case GLM_TLV_VOUCH: {
			uint32_t sg = htobe32(m->vouch.signer);
			uint64_t na = htobe64(m->vouch.not_after);

			memcpy(b, &sg, 4);
			memcpy(b + 4, &na, 8);
			memcpy(b + 12, m->vouch.sig, 64);
			put_tlv(&w, t, b, 76);
			break;
		}
		case GLM_TLV_COOKIE: put_tlv(&w, t, m->cookie, GLM_COOKIE_LEN); break;
		case GLM_TLV_LIFETIME: { uint32_t v = htobe32(m->lifetime); put_tlv(&w, t, &v, 4); break; }
		case GLM_TLV_STATUS: { uint16_t v = htobe16(m->status); put_tlv(&w, t, &v, 2); break; }
		case GLM_TLV_PORT: { uint16_t v = htobe16(m->port); put_tlv(&w, t, &v, 2); break; }
		case GLM_TLV_UPDATE_SEQ: { uint64_t v = htobe64(m->update_seq); put_tlv(&w, t, &v, 8); break; }
		case GLM_TLV_PREFIX:
			if (m->prefix_len > 128)
				return -EINVAL;
			memcpy(b, &m->prefix, 16);
			b[16] = m->prefix_len;
			put_tlv(&w, t, b, 17);
			break;
		case GLM_TLV_PACKET:
			if (!m->packet_len)
				return -EINVAL;
			put_tlv(&w, t, m->packet, m->packet_len);
			break;
		}
	}
	if (w.err == 0 && w.cap - w.len < GLM_MAC_LEN)
		w.err = -EMSGSIZE;
	if (w.err)
		return w.err;
	out[2] = (uint8_t)((w.len + GLM_MAC_LEN) >> 8);
	out[3] = (uint8_t)(w.len + GLM_MAC_LEN);
	crypto_auth_hmacsha256(out + w.len, out, w.len, key);
	return (ssize_t)(w.len + GLM_MAC_LEN);
}

size_t glm_msg_len(const struct glm_msg *m)
{
	size_t n = GLM_MSG_MIN;

	for (unsigned t = 1; t <= GLM_TLV_MAX; t++)
		if (GLM_HAS(m, t))
			n += 4 + (tlv_len[t] ? tlv_len[t] : m->packet_len);
	return n;
}

static const char *const type_names[] = {
	[GLM_PREPARE] = "PREPARE", [GLM_PREPARE_ACK] = "PREPARE_ACK",
	[GLM_RELAY_REQUEST] = "RELAY_REQUEST", [GLM_RELAY_RESPONSE] = "RELAY_RESPONSE",
	[GLM_RELAY_STOP] = "RELAY_STOP", [GLM_RELAYED_PACKET] = "RELAYED_PACKET",
	[GLM_IMS_UPDATE] = "UPDATE", [GLM_IMS_ACK] = "ACK", [GLM_QUERY] = "QUERY",
	[GLM_REPLY] = "REPLY", [GLM_SUBSCRIBE] = "SUBSCRIBE", [GLM_NOTIFY] = "NOTIFY",
	[GLM_BINDING_UPDATE] = "BINDING_UPDATE", [GLM_BINDING_ACK] = "BINDING_ACK",
	[GLM_RESUMED] = "RESUMED", [GLM_COOKIE] = "COOKIE",
};

const char *glm_msg_type_name(unsigned type)
{
	return type <= GLM_MSG_TYPE_MAX && type_names[type] ? type_names[type] : "unknown";
}

static const char *const pe_names[GLM_PE_MAX] = {
	[GLM_PE_OK] = "ok", [GLM_PE_SHORT] = "short", [GLM_PE_VERSION] = "bad version",
	[GLM_PE_TYPE] = "bad type", [GLM_PE_LENGTH] = "length mismatch",
	[GLM_PE_TLV_TRUNC] = "truncated TLV", [GLM_PE_TLV_UNKNOWN] = "unknown TLV",
	[GLM_PE_TLV_LEN] = "bad TLV length", [GLM_PE_TLV_DUP] = "duplicate TLV",
	[GLM_PE_MAC] = "bad MAC", [GLM_PE_SEQ_AHEAD] = "seq ahead", [GLM_PE_SEQ_OLD] = "seq too old",
	[GLM_PE_SEQ_RESTART] = "seq before start", [GLM_PE_REPLAY] = "replay",
	[GLM_PE_ROLE] = "wrong role",
};

const char *glm_parse_err_name(enum glm_parse_err e)
{
	return (unsigned)e < GLM_PE_MAX ? pe_names[e] : "unknown";
}

const char *glm_status_name(unsigned st)
{
	static const char *const n[] = { "ok", "stale", "denied", "not found", "bad request", "internal error",
					 "prove", "limit reached" };
	return st < sizeof(n) / sizeof(n[0]) ? n[st] : "unknown";
}

void glm_drops_print(struct printer *p, const uint64_t drops[GLM_PE_MAX])
{
	print_open_object(p, "drops");
	for (int i = 1; i < GLM_PE_MAX; i++) {
		char name[32], fmt[48];

		snprintf(name, sizeof(name), "%s", glm_parse_err_name((enum glm_parse_err)i));
		for (char *c = name; *c; c++)
			if (*c == ' ')
				*c = '_';
		snprintf(fmt, sizeof(fmt), "drop_%s=%%llu\n", name);
		print_u64(p, name, fmt, drops[i]);
	}
	print_close_object(p);
}
