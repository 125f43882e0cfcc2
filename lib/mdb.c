/* The bridge multicast database (MDB) through libmnl: dump it, watch its
 * events, add/replace/delete IPv6 entries.
 *
 * Like rtnl.c, two sockets: requests go one at a time on a synchronous
 * socket with NETLINK_EXT_ACK on, so a failure is -errno plus the kernel's
 * own text, logged with the entry it concerned; events come on a second,
 * non-blocking socket in RTNLGRP_MDB. Dump replies and notifications share
 * one layout (br_port_msg, MDBA_MDB > MDBA_MDB_ENTRY > MDBA_MDB_ENTRY_INFO =
 * struct br_mdb_entry followed by MDBA_MDB_EATTR_* attributes) and so one
 * parser, mdb_decode, which checks every length before use and is fuzzed. */
#include "mdb.h"
#include "log.h"
#include "rtnl.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_bridge.h>
#include <linux/if_ether.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Dump replies come in skbs of up to 32 KiB; a smaller buffer truncates. */
#define MDB_RX_SIZE 32768
#define MDB_TX_SIZE 512

struct mdb {
	struct mnl_socket *req, *ev;
	uint32_t portid, seq;
	char errmsg[256]; /* extended-ack text of the last failed request */
	char tx[MDB_TX_SIZE] __attribute__((aligned(4)));
	char rx[MDB_RX_SIZE] __attribute__((aligned(4)));
};

int mdb_open(struct mdb **mp, bool events)
{
	struct mdb *m;
	int err;

	*mp = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->req = nl_request_open(NETLINK_ROUTE, &m->portid, &m->seq);
	if (!m->req)
		goto fail;
	if (events && !(m->ev = nl_event_open(0, RTNLGRP_MDB)))
		goto fail;
	*mp = m;
	return 0;
fail:
	err = -errno;
	mdb_close(m);
	return err ? err : -EIO;
}

void mdb_close(struct mdb *m)
{
	if (!m)
		return;
	if (m->req)
		mnl_socket_close(m->req);
	if (m->ev)
		mnl_socket_close(m->ev);
	free(m);
}

int mdb_fd(const struct mdb *m)
{
	return m->ev ? mnl_socket_get_fd(m->ev) : -1;
}

/* --- the parser --- */

struct decode_ctx {
	int bridge;
	bool deleted;
	mdb_fn fn;
	void *ctx;
	int n;
};

/* One MDBA_MDB_ENTRY_INFO: a br_mdb_entry, then its attributes. */
static int decode_info(const struct nlattr *info, struct decode_ctx *d)
{
	const char *payload = mnl_attr_get_payload(info);
	size_t plen = mnl_attr_get_payload_len(info), off = MNL_ALIGN(sizeof(struct br_mdb_entry));
	const struct nlattr *attr;
	struct br_mdb_entry be;
	struct mdb_entry e;

	if (plen < sizeof(be))
		return -EBADMSG;
	memcpy(&be, payload, sizeof(be));
	if (be.addr.proto != htons(ETH_P_IPV6))
		return 0; /* IPv4 and L2 (MAC) groups are not ours */
	memset(&e, 0, sizeof(e));
	e.bridge = d->bridge;
	e.port = (int)be.ifindex;
	e.group = be.addr.u.ip6;
	e.state = be.state == MDB_PERMANENT ? MDB_ENTRY_PERMANENT : MDB_ENTRY_TEMP;
	e.deleted = d->deleted;
	if (plen > off) {
		mnl_attr_for_each_payload((const void *)(payload + off), plen - off) {
			switch (mnl_attr_get_type(attr)) {
			case MDBA_MDB_EATTR_SOURCE:
				if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, sizeof(e.source)) < 0)
					return -EBADMSG;
				memcpy(&e.source, mnl_attr_get_payload(attr), sizeof(e.source));
				break;
			case MDBA_MDB_EATTR_RTPROT:
				if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
					return -EBADMSG;
				e.proto = mnl_attr_get_u8(attr);
				break;
			}
		}
	}
	d->fn(d->ctx, &e);
	d->n++;
	return 0;
}

/* MDBA_MDB: MDBA_MDB_ENTRY nests (one per group), each holding an
 * MDBA_MDB_ENTRY_INFO per port (and one for the host's own membership,
 * with the bridge's ifindex as the port). A malformed entry is skipped,
 * not the rest: attribute framing is intact or the loop stops. */
static void decode_mdb(const struct nlattr *mdb, struct decode_ctx *d)
{
	const struct nlattr *ent, *info;

	mnl_attr_for_each_nested(ent, mdb) {
		if (mnl_attr_get_type(ent) != MDBA_MDB_ENTRY)
			continue;
		mnl_attr_for_each_nested(info, ent) {
			if (mnl_attr_get_type(info) != MDBA_MDB_ENTRY_INFO)
				continue;
			if (decode_info(info, d) < 0)
				log_debug("mdb: malformed entry (%u bytes) skipped",
					  mnl_attr_get_payload_len(info));
		}
	}
}

/* One RTM_NEWMDB/RTM_DELMDB message. Attributes are bounded by the exact
 * nlmsg_len, not NLMSG_ALIGN(nlmsg_len) as mnl_attr_parse does, which may
 * run up to 3 bytes past an unaligned last message. */
static int decode_msg(const struct nlmsghdr *nlh, struct decode_ctx *d)
{
	size_t plen = mnl_nlmsg_get_payload_len(nlh), off = MNL_ALIGN(sizeof(struct br_port_msg));
	const char *payload = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *attr;
	struct br_port_msg bpm;

	if (plen < sizeof(bpm))
		return -EBADMSG;
	memcpy(&bpm, payload, sizeof(bpm));
	/* Notifications say AF_BRIDGE, dump replies leave it 0. */
	if (bpm.family != AF_BRIDGE && bpm.family != AF_UNSPEC)
		return 0;
	d->bridge = (int)bpm.ifindex;
	d->deleted = nlh->nlmsg_type == RTM_DELMDB;
	if (plen <= off)
		return 0;
	/* MDBA_ROUTER (router port) messages share the group: skipped. */
	mnl_attr_for_each_payload((const void *)(payload + off), plen - off) {
		if (mnl_attr_get_type(attr) == MDBA_MDB)
			decode_mdb(attr, d);
	}
	return 0;
}

int mdb_decode(const void *buf, size_t len, mdb_fn fn, void *ctx)
{
	const struct nlmsghdr *nlh = buf;
	struct decode_ctx d = { .fn = fn, .ctx = ctx };
	int rem;

	if (len > MDB_RX_SIZE * 64)
		return -EBADMSG;
	for (rem = (int)len; nl_msg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		/* Dump replies come as RTM_GETMDB, notifications as NEW/DEL. */
		if (nlh->nlmsg_type != RTM_NEWMDB && nlh->nlmsg_type != RTM_DELMDB &&
		    nlh->nlmsg_type != RTM_GETMDB)
			continue;
		if (decode_msg(nlh, &d) < 0)
			log_debug("mdb: malformed message (type %u, %u bytes) skipped",
				  nlh->nlmsg_type, nlh->nlmsg_len);
	}
	/* Bytes left that do not frame a message: the buffer is corrupt. */
	if (rem > 0)
		return -EBADMSG;
	return d.n;
}

/* --- requests --- */

static int mdb_talk(struct mdb *m, struct nlmsghdr *nlh, nl_reply_fn fn, void *ctx)
{
	return nl_talk(m->req, m->portid, &m->seq, m->rx, sizeof(m->rx), nlh, fn, ctx, m->errmsg, sizeof(m->errmsg));
}

static const char *ifname(int ifindex, char buf[IF_NAMESIZE + 8])
{
	char name[IF_NAMESIZE];

	if (ifindex > 0 && if_indextoname((unsigned)ifindex, name))
		snprintf(buf, IF_NAMESIZE + 8, "%s", name);
	else
		snprintf(buf, IF_NAMESIZE + 8, "if%d", ifindex);
	return buf;
}

/* "mdb: add ff3e::1234 on br0 port vnet0: <kernel text, or strerror>" */
static int mdb_fail(struct mdb *m, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int mdb_fail(struct mdb *m, int err, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_warnx("mdb: %s: %s", what, m->errmsg[0] ? m->errmsg : strerror(-err));
	return err;
}

struct dump_ctx {
	int bridge;
	mdb_fn fn;
	void *ctx;
};

static void dump_filter(void *ctx, const struct mdb_entry *e)
{
	struct dump_ctx *d = ctx;

	if (!d->bridge || e->bridge == d->bridge)
		d->fn(d->ctx, e);
}

static int dump_cb(const struct nlmsghdr *nlh, void *ctx)
{
	/* One message at a time; its own length bounds it (mdb_talk checked). */
	mdb_decode(nlh, nlh->nlmsg_len, dump_filter, ctx);
	return 0;
}

int mdb_dump(struct mdb *m, int bridge, mdb_fn fn, void *ctx)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m->tx);
	struct dump_ctx d = { bridge, fn, ctx };
	struct br_port_msg *bpm;
	char ifn[IF_NAMESIZE + 8];
	int err;

	nlh->nlmsg_type = RTM_GETMDB;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	bpm = mnl_nlmsg_put_extra_header(nlh, sizeof(*bpm));
	bpm->family = AF_BRIDGE;
	/* The kernel dumps every bridge whatever ifindex says (and refuses a
	 * filter under strict checking): filter here. */
	bpm->ifindex = 0;
	err = mdb_talk(m, nlh, dump_cb, &d);
	if (err) {
		if (bridge)
			return mdb_fail(m, err, "dump %s", ifname(bridge, ifn));
		return mdb_fail(m, err, "dump");
	}
	return 0;
}

struct mdb_decode_arg {
	mdb_fn fn;
	void *ctx;
};

static int mdb_decode_cb(const void *buf, size_t len, void *arg)
{
	struct mdb_decode_arg *d = arg;

	return mdb_decode(buf, len, d->fn, d->ctx);
}

int mdb_events_read(struct mdb *m, mdb_fn fn, void *ctx)
{
	struct mdb_decode_arg d = { fn, ctx };

	if (!m->ev)
		return -EBADF;
	return nl_events_read(m->ev, m->rx, sizeof(m->rx), "mdb", mdb_decode_cb, &d);
}

static int mdb_req(struct mdb *m, uint16_t type, uint16_t flags, int bridge, int port,
		   const struct in6_addr *group, enum mdb_state state)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(m->tx);
	struct br_mdb_entry be;
	struct br_port_msg *bpm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	bpm = mnl_nlmsg_put_extra_header(nlh, sizeof(*bpm));
	bpm->family = AF_BRIDGE;
	bpm->ifindex = (uint32_t)bridge;
	memset(&be, 0, sizeof(be));
	be.ifindex = (uint32_t)port;
	be.state = state == MDB_ENTRY_PERMANENT ? MDB_PERMANENT : MDB_TEMPORARY;
	be.addr.proto = htons(ETH_P_IPV6);
	be.addr.u.ip6 = *group;
	mnl_attr_put(nlh, MDBA_SET_ENTRY, sizeof(be), &be);
	return mdb_talk(m, nlh, NULL, NULL);
}

int mdb_add(struct mdb *m, int bridge, int port, const struct in6_addr *group, enum mdb_state state,
	    bool replace)
{
	char brn[IF_NAMESIZE + 8], pn[IF_NAMESIZE + 8];
	int err;

	err = mdb_req(m, RTM_NEWMDB, NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL),
		      bridge, port, group, state);
	if (err)
		return mdb_fail(m, err, "%s %s on %s port %s", replace ? "replace" : "add", a6(group),
				ifname(bridge, brn), ifname(port, pn));
	return 0;
}

int mdb_del(struct mdb *m, int bridge, int port, const struct in6_addr *group)
{
	char brn[IF_NAMESIZE + 8], pn[IF_NAMESIZE + 8];
	int err;

	err = mdb_req(m, RTM_DELMDB, 0, bridge, port, group, MDB_ENTRY_TEMP);
	if (err)
		return mdb_fail(m, err, "delete %s on %s port %s", a6(group), ifname(bridge, brn),
				ifname(port, pn));
	return 0;
}
