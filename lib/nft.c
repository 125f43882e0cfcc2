/* The one nftables table glm owns ("ip6 mat"), built with libnftnl and sent
 * with libmnl. Its four maps translate home addresses (HA) to mobile
 * addresses (MA) and back; the chains rewrite with them, see nft.h.
 *
 * Every change is one atomic nfnetlink batch. Element changes are queued
 * into a pending batch (each message with NLM_F_ACK and its own sequence
 * number) and mat_nft_commit sends it with a single sendmsg. nfnetlink
 * processes the batch inside that call, so every ack is already queued on
 * the socket when it returns: commit reads them without blocking and maps
 * a failing sequence number back to the change that failed, for the log.
 * One socket and one buffer are kept for the life of the handle, so a
 * commit of a few elements costs a few tens of microseconds. */
#include "nft.h"
#include "log.h"
#include "rtnl.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/if_ether.h>
#include <linux/netfilter_bridge.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NFT_TYPE_IPV6_ADDR 8 /* nft's datatype id for ipv6_addr */
#define NFT_TYPE_IFINDEX 20  /* nft's datatype id for iface_index */
#define NFT_BYTEORDER_HOST 1 /* nft's byte order id in a set's user data */
#define BR_PORTS "vm_ports"  /* the bridge table's set of VM ports */
#define BR_RA_PORTS "ra_untrusted" /* and of ports whose RAs are dropped */
#define XLATE_PEERS "xlate_peers" /* matd's set of peers that translate */
#define NFT_PRIO_RAW -300
#define NFT_BATCH_LIMIT (128 * 1024)
#define NFT_MSG_ROOM 4096 /* no message we build is larger */
#define NFT_OPS_MAX 1024  /* acks for this many fit the 2 MiB receive buffer */
#define NFT_RX_SIZE 16384

/* What a queued message does, to name it if the kernel rejects it. */
struct nft_op {
	uint16_t type;     /* NFT_MSG_* */
	const char *obj;   /* table, chain or map name */
	bool has_key, has_val;
	struct in6_addr key, val; /* bridge: MAC . MAC : MAC, see br_key */
};

struct mat_nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;       /* next sequence number */
	uint32_t seq_begin; /* of the pending batch's BATCH_BEGIN */
	int error;          /* sticky while queueing: -ENOMEM, -EMSGSIZE */
	unsigned nops;
	struct mnl_nlmsg_batch *batch;
	uint16_t family;    /* NFPROTO_IPV6 (matd) or NFPROTO_BRIDGE (agent) */
	bool per_peer;      /* matd with a home gateway: see mat_nft_per_peer */
	unsigned nprefixes; /* matd: prefixes of translating peers; gateway: of the hosts served */
	struct {
		struct in6_addr addr;
		uint8_t len;
	} prefixes[MAT_NFT_MAX_PREFIXES];
	char table[NFT_TABLE_MAXNAMELEN];
	struct nft_op ops[NFT_OPS_MAX];
	char buf[NFT_BATCH_LIMIT + NFT_MSG_ROOM] __attribute__((aligned(4)));
	char rx[NFT_RX_SIZE] __attribute__((aligned(4)));
};

static const struct {
	const char *name;
	const char *chain;
	uint32_t offset; /* ip6 saddr 8, daddr 24 */
} mat_maps[MAT_MAP_COUNT] = {
	[MAT_SELF_HA2MA] = { "self_ha2ma", "out", 8 },
	[MAT_SELF_MA2HA] = { "self_ma2ha", "in", 24 },
	[MAT_PEER_HA2MA] = { "peer_ha2ma", "out", 24 },
	[MAT_PEER_MA2HA] = { "peer_ma2ha", "in", 8 },
};

const char *mat_map_name(enum mat_map map)
{
	return (unsigned)map < MAT_MAP_COUNT ? mat_maps[map].name : "?";
}

static int nft_open(struct mat_nft **np, const char *table, uint16_t family)
{
	struct mat_nft *n;
	int one = 1, err;

	*np = NULL;
	if (!*table)
		return -EINVAL;
	if (strlen(table) >= NFT_TABLE_MAXNAMELEN)
		return -ENAMETOOLONG;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	strcpy(n->table, table);
	n->family = family;
	n->batch = mnl_nlmsg_batch_start(n->buf, NFT_BATCH_LIMIT);
	if (!n->batch)
		goto fail;
	n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!n->nl || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (uint32_t)time(NULL);
	mnl_socket_setsockopt(n->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	sock_bufsize(mnl_socket_get_fd(n->nl), SO_SNDBUFFORCE, SO_SNDBUF, 2 * NFT_BATCH_LIMIT);
	sock_bufsize(mnl_socket_get_fd(n->nl), SO_RCVBUFFORCE, SO_RCVBUF, 2 << 20);
	*np = n;
	return 0;
fail:
	err = errno ? -errno : -EIO;
	mat_nft_close(n);
	return err;
}

int mat_nft_open(struct mat_nft **np, const char *table)
{
	return nft_open(np, table ? table : "mat", NFPROTO_IPV6);
}

void mat_nft_close(struct mat_nft *n)
{
	if (!n)
		return;
	if (n->nl)
		mnl_socket_close(n->nl);
	if (n->batch)
		mnl_nlmsg_batch_stop(n->batch);
	free(n);
}

static void batch_reset(struct mat_nft *n)
{
	mnl_nlmsg_batch_reset(n->batch);
	n->nops = 0;
	n->error = 0;
}

/* Start a message in the pending batch (opening the batch if needed). */
static struct nlmsghdr *op_start(struct mat_nft *n, uint16_t type, uint16_t flags, const char *obj,
				 struct nft_op **opp)
{
	struct nlmsghdr *nlh;
	struct nft_op *op;

	if (n->error)
		return NULL;
	if (n->nops == NFT_OPS_MAX) {
		n->error = -EMSGSIZE;
		return NULL;
	}
	if (n->nops == 0) {
		mnl_nlmsg_batch_reset(n->batch);
		n->seq_begin = n->seq++;
		nftnl_batch_begin(mnl_nlmsg_batch_current(n->batch), n->seq_begin);
		mnl_nlmsg_batch_next(n->batch);
	}
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(n->batch), type, n->family,
				    flags | NLM_F_ACK, n->seq);
	op = &n->ops[n->nops];
	memset(op, 0, sizeof(*op));
	op->type = type;
	op->obj = obj;
	if (opp)
		*opp = op;
	return nlh;
}

static void op_finish(struct mat_nft *n)
{
	if (!mnl_nlmsg_batch_next(n->batch)) {
		n->error = -EMSGSIZE;
		return;
	}
	n->seq++;
	n->nops++;
}

static void op_describe(const struct nft_op *op, uint16_t family, const char *table, char *buf, size_t size)
{
	char k[INET6_ADDRSTRLEN + 20] = "", v[INET6_ADDRSTRLEN + 4] = "";
	const char *fam = family == NFPROTO_BRIDGE ? "bridge" : "ip6";
	bool set = family == NFPROTO_BRIDGE && (!strcmp(op->obj, BR_PORTS) || !strcmp(op->obj, BR_RA_PORTS));
	bool ip6set = family == NFPROTO_IPV6 && !strcmp(op->obj, XLATE_PEERS);

	if (set) {
		uint32_t ifindex;

		memcpy(&ifindex, op->key.s6_addr, 4);
		snprintf(k, sizeof(k), "ifindex %u", ifindex);
	} else if (family == NFPROTO_BRIDGE) {
		char dst[MAC_STRLEN], src[MAC_STRLEN];

		/* the key as br_key() lays it out */
		snprintf(k, sizeof(k), "%s . %s", mac_str(op->key.s6_addr, dst), mac_str(op->key.s6_addr + 8, src));
		snprintf(v, sizeof(v), " : %s", mac_str(op->val.s6_addr, dst));
	} else {
		if (op->has_key)
			inet_ntop(AF_INET6, &op->key, k, sizeof(k));
		if (op->has_val) {
			strcpy(v, " : ");
			inet_ntop(AF_INET6, &op->val, v + 3, sizeof(v) - 3);
		}
	}
	switch (op->type) {
	case NFT_MSG_NEWTABLE:
		snprintf(buf, size, "add table %s %s", fam, table);
		break;
	case NFT_MSG_DELTABLE:
		snprintf(buf, size, "delete table %s %s", fam, table);
		break;
	case NFT_MSG_NEWSET:
		snprintf(buf, size, "add %s %s", set || ip6set ? "set" : "map", op->obj);
		break;
	case NFT_MSG_NEWCHAIN:
		snprintf(buf, size, "add chain %s", op->obj);
		break;
	case NFT_MSG_NEWRULE:
		snprintf(buf, size, "add rule to chain %s", op->obj);
		break;
	case NFT_MSG_NEWSETELEM:
		snprintf(buf, size, "add element %s%s to %s %s", k, v, set || ip6set ? "set" : "map", op->obj);
		break;
	case NFT_MSG_DELSETELEM:
		if (op->has_key)
			snprintf(buf, size, "delete element %s from %s %s", k, set || ip6set ? "set" : "map", op->obj);
		else
			snprintf(buf, size, "flush %s %s", set || ip6set ? "set" : "map", op->obj);
		break;
	default:
		snprintf(buf, size, "message %u", op->type);
	}
}

/* Read the acks of the batch just sent: 0 or the first error. */
static int batch_acks(struct mat_nft *n, uint32_t seq_end)
{
	int fd = mnl_socket_get_fd(n->nl), err = 0, rem;
	const struct nlmsghdr *nlh;
	unsigned acked = 0;
	char what[320];
	ssize_t len;

	while (acked < n->nops) {
		len = recv(fd, n->rx, sizeof(n->rx), MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			err = -errno;
			log_warnx("nft: commit: reading acks: %s", strerror(errno));
			return err;
		}
		nlh = (const struct nlmsghdr *)n->rx;
		for (rem = (int)len; nl_msg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
			uint32_t off = nlh->nlmsg_seq - n->seq_begin;
			const char *kmsg;
			int e;

			if (nlh->nlmsg_type != NLMSG_ERROR || off >= seq_end - n->seq_begin)
				continue; /* not about this batch */
			e = nl_ack_parse(nlh, &kmsg);
			if (off >= 1 && off <= n->nops)
				acked++;
			if (!e)
				continue;
			if (off >= 1 && off <= n->nops)
				op_describe(&n->ops[off - 1], n->family, n->table, what, sizeof(what));
			else
				snprintf(what, sizeof(what), "commit");
			if (kmsg)
				log_warnx("nft: %s: %s (%s)", what, strerror(-e), kmsg);
			else
				log_warnx("nft: %s: %s", what, strerror(-e));
			if (!err)
				err = e;
		}
	}
	if (!err && acked < n->nops) {
		log_warnx("nft: commit: %u of %u changes acknowledged", acked, n->nops);
		err = -EPROTO;
	}
	return err;
}

unsigned mat_nft_pending(const struct mat_nft *n)
{
	return n->nops;
}

int mat_nft_commit(struct mat_nft *n)
{
	uint32_t seq_end;
	int err;

	if (n->error) {
		err = n->error;
		log_warnx("nft: commit: %s", err == -EMSGSIZE ? "too many changes in one batch" : strerror(-err));
		batch_reset(n);
		return err;
	}
	if (!n->nops)
		return 0;
	seq_end = n->seq++;
	nftnl_batch_end(mnl_nlmsg_batch_current(n->batch), seq_end);
	if (!mnl_nlmsg_batch_next(n->batch)) {
		log_warnx("nft: commit: too many changes in one batch");
		batch_reset(n);
		return -EMSGSIZE;
	}
	if (mnl_socket_sendto(n->nl, mnl_nlmsg_batch_head(n->batch), mnl_nlmsg_batch_size(n->batch)) < 0) {
		err = -errno;
		log_warnx("nft: commit: %s", strerror(errno));
	} else {
		err = batch_acks(n, seq_end);
	}
	batch_reset(n);
	return err;
}

/* --- elements --- */

/* One element change of set `set`: key and value of up to 16 bytes each
 * (no key: DELSETELEM flushes the whole set), timeout in ms (0: none). */
static void elem_op(struct mat_nft *n, uint16_t type, uint16_t flags, const char *set, const void *key,
		    uint32_t klen, const void *val, uint32_t vlen, uint64_t timeout_ms)
{
	struct nftnl_set_elem *e = NULL;
	struct nftnl_set *s;
	struct nlmsghdr *nlh;
	struct nft_op *op;

	nlh = op_start(n, type, flags, set, &op);
	if (!nlh)
		return;
	s = nftnl_set_alloc();
	if (!s)
		goto nomem;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, n->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	if (key) {
		e = nftnl_set_elem_alloc();
		if (!e)
			goto nomem;
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, klen);
		op->has_key = true;
		memcpy(&op->key, key, klen);
		if (val) {
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, val, vlen);
			op->has_val = true;
			memcpy(&op->val, val, vlen);
		}
		if (timeout_ms)
			nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout_ms);
		nftnl_set_elem_add(s, e);
	}
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	op_finish(n);
	return;
nomem:
	if (s)
		nftnl_set_free(s);
	n->error = -ENOMEM;
}

static bool map_ok(struct mat_nft *n, enum mat_map map)
{
	if ((unsigned)map < MAT_MAP_COUNT && n->family == NFPROTO_IPV6)
		return true;
	if (!n->error)
		n->error = -EINVAL;
	return false;
}

void mat_nft_flush(struct mat_nft *n, enum mat_map map)
{
	if (map_ok(n, map))
		elem_op(n, NFT_MSG_DELSETELEM, 0, mat_maps[map].name, NULL, 0, NULL, 0, 0);
}

void mat_nft_add(struct mat_nft *n, enum mat_map map, const struct in6_addr *key, const struct in6_addr *val)
{
	if (map_ok(n, map))
		elem_op(n, NFT_MSG_NEWSETELEM, NLM_F_CREATE, mat_maps[map].name, key, 16, val, 16, 0);
}

void mat_nft_del(struct mat_nft *n, enum mat_map map, const struct in6_addr *key)
{
	if (map_ok(n, map))
		elem_op(n, NFT_MSG_DELSETELEM, 0, mat_maps[map].name, key, 16, NULL, 0, 0);
}

/* --- table, maps, chains, rules --- */

static void table_op(struct mat_nft *n, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t;
	struct nlmsghdr *nlh;

	nlh = op_start(n, type, flags, n->table, NULL);
	if (!nlh)
		return;
	t = nftnl_table_alloc();
	if (!t) {
		n->error = -ENOMEM;
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, n->table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, n->family);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	op_finish(n);
}

/* Deleting a table that does not exist fails, so add it first in the same
 * batch: an add of an existing table is a no-op, and the pair always works. */
static void table_delete(struct mat_nft *n)
{
	table_op(n, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	table_op(n, NFT_MSG_DELTABLE, 0);
}

static void set_add(struct mat_nft *n, const char *name, uint32_t id, uint32_t flags, uint32_t ktype,
		    uint32_t klen, uint32_t vtype, uint32_t vlen)
{
	struct nlmsghdr *nlh;
	struct nftnl_set *s;

	nlh = op_start(n, NFT_MSG_NEWSET, NLM_F_CREATE, name, NULL);
	if (!nlh)
		return;
	s = nftnl_set_alloc();
	if (!s) {
		n->error = -ENOMEM;
		return;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, n->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, n->family);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, (vlen ? NFT_SET_MAP : 0) | flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, ktype);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, klen);
	if (vlen) { /* a map; without a value, a plain set */
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, vtype);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, vlen);
	}
	if (ktype == NFT_TYPE_IFINDEX) {
		/* an ifindex is in host byte order (meta oif); nft shows the
		 * elements as names only when the set says so */
		struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(16);

		if (u && nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, NFT_BYTEORDER_HOST))
			nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u), nftnl_udata_buf_len(u));
		if (u)
			nftnl_udata_buf_free(u);
	}
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	op_finish(n);
}

static void map_add(struct mat_nft *n, enum mat_map map)
{
	set_add(n, mat_maps[map].name, map + 1, 0, NFT_TYPE_IPV6_ADDR, 16, NFT_TYPE_IPV6_ADDR, 16);
}

static void chain_add(struct mat_nft *n, const char *name, const char *type, uint32_t hook)
{
	struct nftnl_chain *c;
	struct nlmsghdr *nlh;

	nlh = op_start(n, NFT_MSG_NEWCHAIN, NLM_F_CREATE, name, NULL);
	if (!nlh)
		return;
	c = nftnl_chain_alloc();
	if (!c) {
		n->error = -ENOMEM;
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, n->table);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, n->family);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NFT_PRIO_RAW); /* bridge: dstnat, also -300 */
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	op_finish(n);
}

/* Load (reg = destination) or write (write: reg = source) len bytes at
 * base + offset. Writes to IPv6 addresses carry the pseudo-header flag:
 * the address is in the TCP/UDP pseudo-header, so the kernel fixes the L4
 * checksum incrementally (IPv6 has no header checksum). */
static struct nftnl_expr *payload_expr(uint32_t base, uint32_t offset, uint32_t len, bool write, uint32_t reg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	if (write) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_SREG, reg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_NONE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, 0);
		if (base == NFT_PAYLOAD_NETWORK_HEADER)
			nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_FLAGS, NFT_PAYLOAD_L4CSUM_PSEUDOHDR);
	} else {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, reg);
	}
	return e;
}

/* Look reg 1 up in a map (map: the value to reg 1) or a plain set
 * (invert: the rule goes on if reg 1 is absent). */
static struct nftnl_expr *lookup_expr(const char *set, uint32_t id, bool map, bool invert)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	if (map)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
	if (invert)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	return e;
}

static struct nftnl_expr *meta_expr(uint32_t key)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	return e;
}

/* reg 1 == the len bytes at data */
static struct nftnl_expr *cmp_data_expr(const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return e;
}

static struct nftnl_expr *cmp_eq_expr(uint32_t value)
{
	return cmp_data_expr(&value, sizeof(value));
}

static struct nftnl_expr *counter_expr(void)
{
	return nftnl_expr_alloc("counter");
}

static struct nftnl_expr *drop_expr(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_DROP);
	return e;
}

/* Append a rule of n expressions (NULL: out of memory) to chain. */
static void rule_append(struct mat_nft *n, const char *chain, struct nftnl_expr **e, unsigned ne)
{
	struct nftnl_rule *r = NULL;
	struct nlmsghdr *nlh;
	unsigned i;

	nlh = op_start(n, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, chain, NULL);
	for (i = 0; nlh && i < ne; i++)
		if (!e[i])
			break;
	if (nlh && i == ne)
		r = nftnl_rule_alloc();
	if (!r) {
		for (i = 0; i < ne; i++)
			if (e[i])
				nftnl_expr_free(e[i]);
		if (nlh)
			n->error = -ENOMEM;
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, n->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, n->family);
	for (i = 0; i < ne; i++)
		nftnl_rule_add_expr(r, e[i]);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	op_finish(n);
}

/* reg 1 = (reg 1 & mask) ^ 0 over 16 bytes: the prefix of an address */
static struct nftnl_expr *mask_expr(const struct in6_addr *mask)
{
	static const struct in6_addr zero;
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 16);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, 16);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 16);
	return e;
}

static void prefix_mask(const struct in6_addr *prefix, uint8_t len, struct in6_addr *mask, struct in6_addr *p)
{
	memset(mask, 0, sizeof(*mask));
	for (unsigned i = 0; i < len && i < 128; i++)
		mask->s6_addr[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	*p = *prefix;
	in6_prefix_apply(p, len);
}

/* ip6 daddr P/L ip6 saddr set ip6 saddr map @MAP notrack, as nft 1.0.6
 * emits it:
 *   [ payload load 16b @ network header + 24 => reg 1 ]
 *   [ bitwise reg 1 = ( reg 1 & MASK ) ^ 0 ]
 *   [ cmp eq reg 1 P ]
 *   [ payload load 16b @ network header + 8 => reg 1 ]
 *   [ lookup reg 1 set MAP dreg 1 ]
 *   [ payload write reg 1 => 16b @ network header + 8 csum_type 0 csum_off 0 csum_flags 0x1 ]
 *   [ notrack ]
 * The source of a packet to a host in P/L rewritten with the map (a miss
 * leaves it alone), the L4 checksum fixed as in rule_add. */
static void rule_saddr_to_prefix(struct mat_nft *n, const char *chain, const struct in6_addr *prefix, uint8_t len,
				 const char *map, uint32_t map_id)
{
	struct in6_addr mask, p;

	prefix_mask(prefix, len, &mask, &p);
	struct nftnl_expr *e[7] = {
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, 24, 16, false, NFT_REG_1),
		mask_expr(&mask),
		cmp_data_expr(&p, 16),
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, 8, 16, false, NFT_REG_1),
		lookup_expr(map, map_id, true, false),
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, 8, 16, true, NFT_REG_1),
		nftnl_expr_alloc("notrack"),
	};
	rule_append(n, chain, e, ARRAY_SIZE(e));
}

static int prefix_keep(struct mat_nft *n, const struct in6_addr *prefix, uint8_t len)
{
	if (len > 128)
		return -EINVAL;
	if (n->nprefixes == MAT_NFT_MAX_PREFIXES)
		return -ENOSPC;
	n->prefixes[n->nprefixes].addr = *prefix;
	n->prefixes[n->nprefixes].len = len;
	n->nprefixes++;
	return 0;
}

/* ip6 {s,d}addr set ip6 {s,d}addr map @MAP notrack, as nft 1.0.6 emits it:
 *   [ payload load 16b @ network header + OFF => reg 1 ]
 *   [ lookup reg 1 set MAP dreg 1 ]
 *   [ payload write reg 1 => 16b @ network header + OFF csum_type 0 csum_off 0 csum_flags 0x1 ]
 *   [ notrack ]
 * A miss in the lookup ends the rule, so unmapped packets pass untouched. */
static void rule_add(struct mat_nft *n, enum mat_map map)
{
	uint32_t off = mat_maps[map].offset;
	struct nftnl_expr *e[4] = {
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, off, 16, false, NFT_REG_1),
		lookup_expr(mat_maps[map].name, map + 1, true, false),
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, off, 16, true, NFT_REG_1),
		nftnl_expr_alloc("notrack"),
	};

	rule_append(n, mat_maps[map].chain, e, ARRAY_SIZE(e));
}

/* --- ICMPv6 errors quoting a translated packet (the mat and gateway tables) --- */

#define ICMPV6_ERR_FIRST 1 /* destination unreachable */
#define ICMPV6_ERR_LAST 4  /* parameter problem; 2 packet too big, 3 time exceeded */
#define ICMPV6_QUOTED_SADDR (8 + 8)  /* the ICMPv6 header, then the invoking packet's IPv6 header */
#define ICMPV6_QUOTED_DADDR (8 + 24)
#define ICMPV6_CSUM_OFFSET 2

/* reg 1 within [from, to], one byte */
static struct nftnl_expr *range_u8_expr(uint8_t from, uint8_t to)
{
	struct nftnl_expr *e = nftnl_expr_alloc("range");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, NFT_RANGE_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, &from, 1);
	nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, &to, 1);
	return e;
}

/* An ICMPv6 error about a translated packet quotes it translated: with an
 * MA where the socket it concerns has an HA. The receiver takes the error
 * (a Packet Too Big's MTU above all) only for a packet it recognises as
 * its own, so the quoted address at transport offset off (the quoted
 * source, ICMPV6_QUOTED_SADDR, or destination, ICMPV6_QUOTED_DADDR) is
 * put back through an MA -> HA map. For the quoted destination:
 *   icmpv6 type 1-4 @th,256,128 set @th,256,128 map @MAP counter notrack
 * as nft 1.0.6 lists it, made of:
 *   [ meta load l4proto => reg 1 ]
 *   [ cmp eq reg 1 0x0000003a ]
 *   [ payload load 1b @ transport header + 0 => reg 1 ]
 *   [ range eq reg 1 0x01 0x04 ]
 *   [ payload load 16b @ transport header + 32 => reg 1 ]
 *   [ lookup reg 1 set MAP dreg 1 ]
 *   [ payload write reg 1 => 16b @ transport header + 32 csum_type 1 csum_off 2 csum_flags 0x0 ]
 *   [ counter ]
 *   [ notrack ]
 * The write fixes the ICMPv6 checksum incrementally (csum_type inet at
 * transport header + 2); the quoted address is not in the pseudo-header
 * and the outer addresses do not change here, so no pseudo-header flag.
 * A miss in the lookup ends the rule: the error passes untouched. Not
 * tracked, as the packets it quotes were not. */
static void icmp_quoted_rule(struct mat_nft *n, const char *chain, uint32_t off, const char *map, uint32_t map_id)
{
	uint8_t icmp6 = IPPROTO_ICMPV6;
	struct nftnl_expr *w = payload_expr(NFT_PAYLOAD_TRANSPORT_HEADER, off, 16, true, NFT_REG_1);

	if (w) {
		nftnl_expr_set_u32(w, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_INET);
		nftnl_expr_set_u32(w, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, ICMPV6_CSUM_OFFSET);
	}
	struct nftnl_expr *e[9] = {
		meta_expr(NFT_META_L4PROTO),
		cmp_data_expr(&icmp6, sizeof(icmp6)),
		payload_expr(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, false, NFT_REG_1),
		range_u8_expr(ICMPV6_ERR_FIRST, ICMPV6_ERR_LAST),
		payload_expr(NFT_PAYLOAD_TRANSPORT_HEADER, off, 16, false, NFT_REG_1),
		lookup_expr(map, map_id, true, false),
		w,
		counter_expr(),
		nftnl_expr_alloc("notrack"),
	};
	rule_append(n, chain, e, ARRAY_SIZE(e));
}

#define XLATE_PEERS_ID (MAT_MAP_COUNT + 1)

void mat_nft_per_peer(struct mat_nft *n, bool on)
{
	n->per_peer = on;
}

int mat_nft_xlate_prefix(struct mat_nft *n, const struct in6_addr *prefix, uint8_t len)
{
	return n->per_peer ? prefix_keep(n, prefix, len) : -EINVAL;
}

void mat_nft_xlate_peer(struct mat_nft *n, const struct in6_addr *peer, bool add)
{
	if (!n->per_peer) {
		if (!n->error)
			n->error = -EINVAL;
		return;
	}
	elem_op(n, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0, XLATE_PEERS, peer, 16,
		NULL, 0, 0);
}

/* ip6 daddr @xlate_peers ip6 saddr set ip6 saddr map @self_ha2ma notrack:
 *   [ payload load 16b @ network header + 24 => reg 1 ]
 *   [ lookup reg 1 set xlate_peers ]
 *   then rule_add's four */
static void rule_add_per_peer(struct mat_nft *n)
{
	struct nftnl_expr *e[6] = {
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, 24, 16, false, NFT_REG_1),
		lookup_expr(XLATE_PEERS, XLATE_PEERS_ID, false, false),
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, 8, 16, false, NFT_REG_1),
		lookup_expr(mat_maps[MAT_SELF_HA2MA].name, MAT_SELF_HA2MA + 1, true, false),
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, 8, 16, true, NFT_REG_1),
		nftnl_expr_alloc("notrack"),
	};

	rule_append(n, mat_maps[MAT_SELF_HA2MA].chain, e, ARRAY_SIZE(e));
}

int mat_nft_setup(struct mat_nft *n)
{
	unsigned i;

	if (n->family != NFPROTO_IPV6)
		return -EINVAL;
	batch_reset(n); /* queued element changes refer to the old table */
	table_delete(n);
	table_op(n, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	for (i = 0; i < MAT_MAP_COUNT; i++)
		map_add(n, i);
	if (n->per_peer)
		set_add(n, XLATE_PEERS, XLATE_PEERS_ID, 0, NFT_TYPE_IPV6_ADDR, 16, 0, 0);
	/* type route: a rewritten source or destination is routed again. */
	chain_add(n, "out", "route", NF_INET_LOCAL_OUT);
	chain_add(n, "in", "filter", NF_INET_PRE_ROUTING);
	for (i = 0; i < MAT_MAP_COUNT; i++) {
		if (i == MAT_SELF_HA2MA && n->per_peer) {
			rule_add_per_peer(n);
			for (unsigned j = 0; j < n->nprefixes; j++)
				rule_saddr_to_prefix(n, mat_maps[i].chain, &n->prefixes[j].addr, n->prefixes[j].len,
						     mat_maps[i].name, i + 1);
		} else {
			rule_add(n, i);
		}
	}
	/* errors about our packets quote our MA as the source (and a
	 * mobile peer's MA as the destination); errors about a packet we
	 * sent to a mobile peer, from routers on the way, quote its MA */
	icmp_quoted_rule(n, "in", ICMPV6_QUOTED_SADDR, mat_maps[MAT_SELF_MA2HA].name, MAT_SELF_MA2HA + 1);
	icmp_quoted_rule(n, "in", ICMPV6_QUOTED_DADDR, mat_maps[MAT_PEER_MA2HA].name, MAT_PEER_MA2HA + 1);
	return mat_nft_commit(n);
}

int mat_nft_teardown(struct mat_nft *n)
{
	batch_reset(n);
	table_delete(n);
	return mat_nft_commit(n);
}

/* --- the host agent's table: bridge glm, see nft.h --- */

#define NFT_TYPE_ETHER_ADDR 9 /* nft's datatype id for ether_addr */
#define NFT_TYPE_BITS 6       /* concatenated types: (a << 6) | b */
#define BR_MAP "to_router"
#define BR_MAP_ID 1
#define BR_CHAIN "pre"
#define BR_PORTS_ID 2
#define BR_OUT_CHAIN "out"
#define BR_RA_PORTS_ID 3
#define BR_RA_CHAIN "ra_guard"
#define ND_ROUTER_ADVERT 134

int br_nft_open(struct mat_nft **n)
{
	return nft_open(n, "glm", NFPROTO_BRIDGE);
}

/* iif @SET meta protocol ip6 meta l4proto ipv6-icmp icmpv6 type
 * nd-router-advert counter drop. nft itself would test the Ethernet type
 * (link header + 12), which reads 0x8100 for a frame whose VLAN tag the
 * kernel took off (nft puts the tag back for link-header loads): a guest
 * could tag its RA past it. skb->protocol is the inner type then, and the
 * same otherwise. meta l4proto and the transport header are found behind
 * any extension headers (a hop-by-hop header does not hide the RA).
 * Frames that enter a port go through prerouting whether they are for the
 * host or to be forwarded, so one rule keeps the RA from both. */
static void ra_guard_rule(struct mat_nft *n, const char *set, uint32_t set_id)
{
	uint16_t ip6 = htons(ETH_P_IPV6);
	uint8_t icmp6 = IPPROTO_ICMPV6, ra = ND_ROUTER_ADVERT;
	struct nftnl_expr *e[10] = {
		meta_expr(NFT_META_IIF),
		lookup_expr(set, set_id, false, false),
		meta_expr(NFT_META_PROTOCOL),
		cmp_data_expr(&ip6, sizeof(ip6)),
		meta_expr(NFT_META_L4PROTO),
		cmp_data_expr(&icmp6, sizeof(icmp6)),
		payload_expr(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, false, NFT_REG_1),
		cmp_data_expr(&ra, sizeof(ra)),
		counter_expr(),
		drop_expr(),
	};

	rule_append(n, BR_RA_CHAIN, e, ARRAY_SIZE(e));
}

/* ether daddr set ether daddr . ether saddr map @to_router, as nft 1.0.6
 * emits it (each part of a concatenation padded to 8 bytes):
 *   [ payload load 6b @ link header + 0 => reg 1 ]
 *   [ payload load 6b @ link header + 6 => reg 10 ]
 *   [ lookup reg 1 set to_router dreg 1 ]
 *   [ payload write reg 1 => 6b @ link header + 0 ]
 * The hook runs before the bridge's forwarding lookup, which then sends the
 * frame to the port the new destination was learned on. */
int br_nft_setup(struct mat_nft *n)
{
	if (n->family != NFPROTO_BRIDGE)
		return -EINVAL;
	batch_reset(n);
	table_delete(n);
	table_op(n, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	set_add(n, BR_MAP, BR_MAP_ID, NFT_SET_TIMEOUT, NFT_TYPE_ETHER_ADDR << NFT_TYPE_BITS | NFT_TYPE_ETHER_ADDR,
		16, NFT_TYPE_ETHER_ADDR, 6);
	chain_add(n, BR_CHAIN, "filter", NF_BR_PRE_ROUTING);
	struct nftnl_expr *e[4] = {
		payload_expr(NFT_PAYLOAD_LL_HEADER, 0, 6, false, NFT_REG_1),
		payload_expr(NFT_PAYLOAD_LL_HEADER, 6, 6, false, NFT_REG32_02),
		lookup_expr(BR_MAP, BR_MAP_ID, true, false),
		payload_expr(NFT_PAYLOAD_LL_HEADER, 0, 6, true, NFT_REG_1),
	};
	rule_append(n, BR_CHAIN, e, ARRAY_SIZE(e));
	set_add(n, BR_PORTS, BR_PORTS_ID, 0, NFT_TYPE_IFINDEX, 4, 0, 0);
	chain_add(n, BR_OUT_CHAIN, "filter", NF_BR_LOCAL_OUT);
	struct nftnl_expr *o[5] = {
		meta_expr(NFT_META_MARK),
		cmp_eq_expr(BR_RELAY_MARK),
		meta_expr(NFT_META_OIF),
		lookup_expr(BR_PORTS, BR_PORTS_ID, false, true),
		drop_expr(),
	};
	rule_append(n, BR_OUT_CHAIN, o, ARRAY_SIZE(o));
	set_add(n, BR_RA_PORTS, BR_RA_PORTS_ID, 0, NFT_TYPE_IFINDEX, 4, 0, 0);
	chain_add(n, BR_RA_CHAIN, "filter", NF_BR_PRE_ROUTING);
	ra_guard_rule(n, BR_RA_PORTS, BR_RA_PORTS_ID);
	ra_guard_rule(n, BR_PORTS, BR_PORTS_ID);
	return mat_nft_commit(n);
}

static void br_key(struct in6_addr *k, const uint8_t dst[6], const uint8_t src[6])
{
	memset(k, 0, sizeof(*k));
	memcpy(k->s6_addr, dst, 6);
	memcpy(k->s6_addr + 8, src, 6);
}

void br_nft_redirect(struct mat_nft *n, const uint8_t src[6], const uint8_t old_dst[6], const uint8_t new_dst[6],
		     uint64_t timeout_ms)
{
	struct in6_addr k;

	br_key(&k, old_dst, src);
	elem_op(n, NFT_MSG_NEWSETELEM, NLM_F_CREATE, BR_MAP, &k, 16, new_dst, 6, timeout_ms);
}

void br_nft_unredirect(struct mat_nft *n, const uint8_t src[6], const uint8_t old_dst[6])
{
	struct in6_addr k;

	br_key(&k, old_dst, src);
	elem_op(n, NFT_MSG_DELSETELEM, 0, BR_MAP, &k, 16, NULL, 0, 0);
}

void br_nft_port(struct mat_nft *n, uint32_t ifindex, bool add)
{
	elem_op(n, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0, BR_PORTS, &ifindex,
		sizeof(ifindex), NULL, 0, 0);
}

void br_nft_ra_port(struct mat_nft *n, uint32_t ifindex, bool add)
{
	elem_op(n, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0, BR_RA_PORTS, &ifindex,
		sizeof(ifindex), NULL, 0, 0);
}

void br_nft_ra_flush(struct mat_nft *n)
{
	elem_op(n, NFT_MSG_DELSETELEM, 0, BR_RA_PORTS, NULL, 0, NULL, 0, 0);
}

/* --- the gateway's table: ip6 glm_gw, see nft.h --- */

#define GW_MAP "ha2ma"
#define GW_MAP_ID 1
#define GW_MA2HA "ma2ha"
#define GW_MA2HA_ID 2
#define GW_CHAIN "pre"
#define GW_OUT_CHAIN "out"
#define ICMPV6_ADDR_UNREACH_CODE 3

int gw_nft_open(struct mat_nft **n, const char *table)
{
	return nft_open(n, table ? table : "glm_gw", NFPROTO_IPV6);
}

static struct nftnl_expr *accept_expr(void)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, NF_ACCEPT);
	return e;
}

static struct nftnl_expr *reject_expr(uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = nftnl_expr_alloc("reject");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
	return e;
}

/* ip6 daddr P/L counter reject with icmpv6 type addr-unreachable, as nft
 * 1.0.6 emits it for any length (it loads fewer bytes for whole octets):
 *   [ payload load 16b @ network header + 24 => reg 1 ]
 *   [ bitwise reg 1 = ( reg 1 & MASK ) ^ 0 ]
 *   [ cmp eq reg 1 P ]
 *   [ counter ]
 *   [ reject type 0 code 3 ]
 * Only packets the map did not rewrite get here: the map rule accepts. */
static void gw_reject_rule(struct mat_nft *n, const struct in6_addr *prefix, uint8_t len)
{
	struct in6_addr mask, p;

	prefix_mask(prefix, len, &mask, &p);
	struct nftnl_expr *e[5] = {
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, 24, 16, false, NFT_REG_1),
		mask_expr(&mask),
		cmp_data_expr(&p, 16),
		counter_expr(),
		reject_expr(NFT_REJECT_ICMP_UNREACH, ICMPV6_ADDR_UNREACH_CODE),
	};
	rule_append(n, GW_CHAIN, e, ARRAY_SIZE(e));
}

int gw_nft_setup(struct mat_nft *n, const struct in6_addr *home, const uint8_t *home_len, unsigned nhome)
{
	if (n->family != NFPROTO_IPV6)
		return -EINVAL;
	batch_reset(n);
	table_delete(n);
	table_op(n, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	set_add(n, GW_MAP, GW_MAP_ID, 0, NFT_TYPE_IPV6_ADDR, 16, NFT_TYPE_IPV6_ADDR, 16);
	set_add(n, GW_MA2HA, GW_MA2HA_ID, 0, NFT_TYPE_IPV6_ADDR, 16, NFT_TYPE_IPV6_ADDR, 16);
	/* filter, not route: the destination changes before the routing
	 * decision, which then takes the MA's route */
	chain_add(n, GW_CHAIN, "filter", NF_INET_PRE_ROUTING);
	/* first: the accept below ends the chain */
	icmp_quoted_rule(n, GW_CHAIN, ICMPV6_QUOTED_DADDR, GW_MA2HA, GW_MA2HA_ID);
	struct nftnl_expr *e[6] = {
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, 24, 16, false, NFT_REG_1),
		lookup_expr(GW_MAP, GW_MAP_ID, true, false),
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, 24, 16, true, NFT_REG_1),
		counter_expr(), /* the packets translated: gw_nft_counters */
		nftnl_expr_alloc("notrack"),
		accept_expr(),
	};
	rule_append(n, GW_CHAIN, e, ARRAY_SIZE(e));
	/* a site gateway: the home prefix is not routed here, a packet to
	 * an HA we hold nothing for goes on to the home gateway */
	for (unsigned i = 0; i < nhome && !n->nprefixes; i++)
		gw_reject_rule(n, &home[i], home_len[i]);
	for (unsigned i = 0; i < n->nprefixes; i++)
		rule_saddr_to_prefix(n, GW_CHAIN, &n->prefixes[i].addr, n->prefixes[i].len, GW_MA2HA, GW_MA2HA_ID);
	/* The errors this router sends itself, for a packet it rewrote and
	 * could not forward (too big for the next link: PMTU discovery).
	 * And what it sends to a home address, its errors about a guest's
	 * packets above all: to the MA, like a packet that passes. route:
	 * the new destination is routed again (the first lookup needs a
	 * route to the home prefix here, see glm-gatewayd(8)). */
	chain_add(n, GW_OUT_CHAIN, "route", NF_INET_LOCAL_OUT);
	icmp_quoted_rule(n, GW_OUT_CHAIN, ICMPV6_QUOTED_DADDR, GW_MA2HA, GW_MA2HA_ID);
	struct nftnl_expr *o[5] = {
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, 24, 16, false, NFT_REG_1),
		lookup_expr(GW_MAP, GW_MAP_ID, true, false),
		payload_expr(NFT_PAYLOAD_NETWORK_HEADER, 24, 16, true, NFT_REG_1),
		counter_expr(),
		nftnl_expr_alloc("notrack"),
	};
	rule_append(n, GW_OUT_CHAIN, o, ARRAY_SIZE(o));
	return mat_nft_commit(n);
}

/* One rule of the dump: which of gw_nft_counters' sums its counter goes
 * to, told by what the rule does (a lookup in ha2ma: a packet sent to its
 * MA; in ma2ha with a counter: an ICMPv6 error's quoted header; reject). */
struct gw_rule_scan {
	bool has_counter, to_ma, quoted, reject;
	struct nft_counter_sum c;
};

static int gw_rule_expr(struct nftnl_expr *e, void *data)
{
	struct gw_rule_scan *s = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (!name)
		return MNL_CB_OK;
	if (!strcmp(name, "counter")) {
		s->has_counter = true;
		s->c.packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		s->c.bytes = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	} else if (!strcmp(name, "lookup") && nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_SET)) {
		const char *set = nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET);

		if (set && !strcmp(set, GW_MAP))
			s->to_ma = true;
		else if (set && !strcmp(set, GW_MA2HA))
			s->quoted = true;
	} else if (!strcmp(name, "reject")) {
		s->reject = true;
	}
	return MNL_CB_OK;
}

static void gw_rule_add(const struct nlmsghdr *nlh, struct gw_nft_counters *out)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct gw_rule_scan s = { 0 };
	struct nft_counter_sum *to;

	if (!r)
		return;
	if (nftnl_rule_nlmsg_parse(nlh, r) == 0)
		nftnl_expr_foreach(r, gw_rule_expr, &s);
	nftnl_rule_free(r);
	if (!s.has_counter)
		return;
	to = s.reject ? &out->rejected : s.to_ma ? &out->to_ma : s.quoted ? &out->icmp : NULL;
	if (to) {
		to->packets += s.c.packets;
		to->bytes += s.c.bytes;
	}
}

int gw_nft_counters(struct mat_nft *n, struct gw_nft_counters *out)
{
	int fd = mnl_socket_get_fd(n->nl), rem;
	uint32_t seq = n->seq++;
	char req[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(4)));
	struct nftnl_rule *r = nftnl_rule_alloc();
	const struct nlmsghdr *m;
	struct nlmsghdr *nlh;
	ssize_t len;

	memset(out, 0, sizeof(*out));
	if (!r)
		return -ENOMEM;
	nlh = nftnl_nlmsg_build_hdr(req, NFT_MSG_GETRULE, n->family, NLM_F_DUMP, seq);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, n->table);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* The kernel answers a dump as it is read: the first part is queued
	 * by the request, each later one by the read before it. A table of
	 * a few rules is one or two reads; the bound only stops a runaway. */
	for (unsigned reads = 0; reads < 256; reads++) {
		len = recv(fd, n->rx, sizeof(n->rx), MSG_DONTWAIT);
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		m = (const struct nlmsghdr *)n->rx;
		for (rem = (int)len; nl_msg_ok(m, rem); m = mnl_nlmsg_next(m, &rem)) {
			if (m->nlmsg_seq != seq)
				continue; /* a late ack of some batch: not ours */
			if (m->nlmsg_type == NLMSG_DONE)
				return 0;
			if (m->nlmsg_type == NLMSG_ERROR) {
				const char *kmsg;
				int e = nl_ack_parse(m, &kmsg);

				if (e)
					return e;
				continue;
			}
			if (m->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE))
				gw_rule_add(m, out);
		}
	}
	return -EMSGSIZE;
}

void gw_nft_alias(struct mat_nft *n, const struct in6_addr *ma, const struct in6_addr *ha, bool add)
{
	if (add)
		elem_op(n, NFT_MSG_NEWSETELEM, NLM_F_CREATE, GW_MA2HA, ma, 16, ha, 16, 0);
	else
		elem_op(n, NFT_MSG_DELSETELEM, 0, GW_MA2HA, ma, 16, NULL, 0, 0);
}

int gw_nft_serve(struct mat_nft *n, const struct in6_addr *prefix, uint8_t len)
{
	return prefix_keep(n, prefix, len);
}

void gw_nft_map(struct mat_nft *n, const struct in6_addr *ha, const struct in6_addr *ma)
{
	elem_op(n, NFT_MSG_NEWSETELEM, NLM_F_CREATE, GW_MAP, ha, 16, ma, 16, 0);
	elem_op(n, NFT_MSG_NEWSETELEM, NLM_F_CREATE, GW_MA2HA, ma, 16, ha, 16, 0);
}

void gw_nft_unmap(struct mat_nft *n, const struct in6_addr *ha, const struct in6_addr *ma)
{
	elem_op(n, NFT_MSG_DELSETELEM, 0, GW_MAP, ha, 16, NULL, 0, 0);
	elem_op(n, NFT_MSG_DELSETELEM, 0, GW_MA2HA, ma, 16, NULL, 0, 0);
}
