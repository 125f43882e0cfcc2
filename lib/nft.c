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
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NFT_TYPE_IPV6_ADDR 8 /* nft's datatype id for ipv6_addr */
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
	struct in6_addr key, val;
};

struct mat_nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;       /* next sequence number */
	uint32_t seq_begin; /* of the pending batch's BATCH_BEGIN */
	int error;          /* sticky while queueing: -ENOMEM, -EMSGSIZE */
	unsigned nops;
	struct mnl_nlmsg_batch *batch;
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

static void sock_bufsize(struct mnl_socket *nl, int opt_force, int opt, int size)
{
	int fd = mnl_socket_get_fd(nl);

	if (setsockopt(fd, SOL_SOCKET, opt_force, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

int mat_nft_open(struct mat_nft **np, const char *table)
{
	struct mat_nft *n;
	int one = 1, err;

	*np = NULL;
	if (!table)
		table = "mat";
	if (!*table)
		return -EINVAL;
	if (strlen(table) >= NFT_TABLE_MAXNAMELEN)
		return -ENAMETOOLONG;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	strcpy(n->table, table);
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
	sock_bufsize(n->nl, SO_SNDBUFFORCE, SO_SNDBUF, 2 * NFT_BATCH_LIMIT);
	sock_bufsize(n->nl, SO_RCVBUFFORCE, SO_RCVBUF, 2 << 20);
	*np = n;
	return 0;
fail:
	err = errno ? -errno : -EIO;
	mat_nft_close(n);
	return err;
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
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(n->batch), type, NFPROTO_IPV6,
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

static void op_describe(const struct nft_op *op, const char *table, char *buf, size_t size)
{
	char k[INET6_ADDRSTRLEN] = "", v[INET6_ADDRSTRLEN] = "";

	if (op->has_key)
		inet_ntop(AF_INET6, &op->key, k, sizeof(k));
	if (op->has_val)
		inet_ntop(AF_INET6, &op->val, v, sizeof(v));
	switch (op->type) {
	case NFT_MSG_NEWTABLE:
		snprintf(buf, size, "add table ip6 %s", table);
		break;
	case NFT_MSG_DELTABLE:
		snprintf(buf, size, "delete table ip6 %s", table);
		break;
	case NFT_MSG_NEWSET:
		snprintf(buf, size, "add map %s", op->obj);
		break;
	case NFT_MSG_NEWCHAIN:
		snprintf(buf, size, "add chain %s", op->obj);
		break;
	case NFT_MSG_NEWRULE:
		snprintf(buf, size, "add rule to chain %s", op->obj);
		break;
	case NFT_MSG_NEWSETELEM:
		snprintf(buf, size, "add element %s : %s to map %s", k, v, op->obj);
		break;
	case NFT_MSG_DELSETELEM:
		if (op->has_key)
			snprintf(buf, size, "delete element %s from map %s", k, op->obj);
		else
			snprintf(buf, size, "flush map %s", op->obj);
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
				op_describe(&n->ops[off - 1], n->table, what, sizeof(what));
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

static void elem_op(struct mat_nft *n, uint16_t type, uint16_t flags, enum mat_map map,
		    const struct in6_addr *key, const struct in6_addr *val)
{
	struct nftnl_set_elem *e = NULL;
	struct nftnl_set *s;
	struct nlmsghdr *nlh;
	struct nft_op *op;

	if ((unsigned)map >= MAT_MAP_COUNT) {
		if (!n->error)
			n->error = -EINVAL;
		return;
	}
	nlh = op_start(n, type, flags, mat_maps[map].name, &op);
	if (!nlh)
		return;
	s = nftnl_set_alloc();
	if (!s)
		goto nomem;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, n->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, mat_maps[map].name);
	if (key) {
		e = nftnl_set_elem_alloc();
		if (!e)
			goto nomem;
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, sizeof(*key));
		op->has_key = true;
		op->key = *key;
		if (val) {
			nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, val, sizeof(*val));
			op->has_val = true;
			op->val = *val;
		}
		nftnl_set_elem_add(s, e);
	}
	/* Without elements, DELSETELEM flushes the whole map. */
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	op_finish(n);
	return;
nomem:
	if (s)
		nftnl_set_free(s);
	n->error = -ENOMEM;
}

void mat_nft_flush(struct mat_nft *n, enum mat_map map)
{
	elem_op(n, NFT_MSG_DELSETELEM, 0, map, NULL, NULL);
}

void mat_nft_add(struct mat_nft *n, enum mat_map map, const struct in6_addr *key, const struct in6_addr *val)
{
	elem_op(n, NFT_MSG_NEWSETELEM, NLM_F_CREATE, map, key, val);
}

void mat_nft_del(struct mat_nft *n, enum mat_map map, const struct in6_addr *key)
{
	elem_op(n, NFT_MSG_DELSETELEM, 0, map, key, NULL);
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
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_IPV6);
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

static void map_add(struct mat_nft *n, enum mat_map map)
{
	struct nlmsghdr *nlh;
	struct nftnl_set *s;

	nlh = op_start(n, NFT_MSG_NEWSET, NLM_F_CREATE, mat_maps[map].name, NULL);
	if (!nlh)
		return;
	s = nftnl_set_alloc();
	if (!s) {
		n->error = -ENOMEM;
		return;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, n->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, mat_maps[map].name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_IPV6);
	nftnl_set_set_u32(s, NFTNL_SET_ID, map + 1);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, NFT_TYPE_IPV6_ADDR);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, sizeof(struct in6_addr));
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_TYPE_IPV6_ADDR);
	nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, sizeof(struct in6_addr));
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	op_finish(n);
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
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_IPV6);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, NFT_PRIO_RAW);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	op_finish(n);
}

static struct nftnl_expr *payload_expr(uint32_t offset, bool write)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	if (!e)
		return NULL;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, sizeof(struct in6_addr));
	if (write) {
		/* The address is in the TCP/UDP pseudo-header: have the kernel
		 * fix the L4 checksum incrementally (IPv6 has no header csum). */
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_NONE);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, 0);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_FLAGS, NFT_PAYLOAD_L4CSUM_PSEUDOHDR);
	} else {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
	return e;
}

/* ip6 {s,d}addr set ip6 {s,d}addr map @MAP notrack, as nft 1.0.6 emits it:
 *   [ payload load 16b @ network header + OFF => reg 1 ]
 *   [ lookup reg 1 set MAP dreg 1 ]
 *   [ payload write reg 1 => 16b @ network header + OFF csum_type 0 csum_off 0 csum_flags 0x1 ]
 *   [ notrack ]
 * A miss in the lookup ends the rule, so unmapped packets pass untouched. */
static void rule_add(struct mat_nft *n, enum mat_map map)
{
	struct nftnl_expr *e[4];
	struct nlmsghdr *nlh;
	struct nftnl_rule *r;
	unsigned i;

	nlh = op_start(n, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, mat_maps[map].chain, NULL);
	if (!nlh)
		return;
	r = nftnl_rule_alloc();
	e[0] = payload_expr(mat_maps[map].offset, false);
	e[1] = nftnl_expr_alloc("lookup");
	e[2] = payload_expr(mat_maps[map].offset, true);
	e[3] = nftnl_expr_alloc("notrack");
	if (!r || !e[0] || !e[1] || !e[2] || !e[3]) {
		for (i = 0; i < ARRAY_SIZE(e); i++)
			if (e[i])
				nftnl_expr_free(e[i]);
		if (r)
			nftnl_rule_free(r);
		n->error = -ENOMEM;
		return;
	}
	nftnl_expr_set_u32(e[1], NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e[1], NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
	nftnl_expr_set_str(e[1], NFTNL_EXPR_LOOKUP_SET, mat_maps[map].name);
	nftnl_expr_set_u32(e[1], NFTNL_EXPR_LOOKUP_SET_ID, map + 1);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, n->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, mat_maps[map].chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_IPV6);
	for (i = 0; i < ARRAY_SIZE(e); i++)
		nftnl_rule_add_expr(r, e[i]);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	op_finish(n);
}

int mat_nft_setup(struct mat_nft *n)
{
	unsigned i;

	batch_reset(n); /* queued element changes refer to the old table */
	table_delete(n);
	table_op(n, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	for (i = 0; i < MAT_MAP_COUNT; i++)
		map_add(n, i);
	/* type route: a rewritten source or destination is routed again. */
	chain_add(n, "out", "route", NF_INET_LOCAL_OUT);
	chain_add(n, "in", "filter", NF_INET_PRE_ROUTING);
	for (i = 0; i < MAT_MAP_COUNT; i++)
		rule_add(n, i);
	return mat_nft_commit(n);
}

int mat_nft_teardown(struct mat_nft *n)
{
	batch_reset(n);
	table_delete(n);
	return mat_nft_commit(n);
}
