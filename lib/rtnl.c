/* rtnetlink through libmnl: IPv6 addresses, routes and links for glm's
 * daemons, and the decoder for the link/address events they watch.
 *
 * Two sockets: requests go one at a time on a synchronous socket with
 * NETLINK_EXT_ACK on, so a failure comes back as -errno plus the kernel's
 * own words, logged with the object that failed; events arrive on a second,
 * non-blocking socket bound to the caller's multicast groups, so an event
 * never gets mixed into a request's reply. Every message and attribute is
 * length-checked before use (rtnl_events_decode is fuzzed). */
#include "rtnl.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h> /* after net/if.h (rtnl.h): adds IFF_LOWER_UP */
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Dump replies come in skbs of up to 32 KiB; a smaller buffer truncates. */
#define RTNL_RX_SIZE 32768
#define RTNL_TX_SIZE 1024

struct rtnl {
	struct mnl_socket *req, *ev;
	uint32_t portid, seq;
	char errmsg[256]; /* extended-ack text of the last failed request */
	char tx[RTNL_TX_SIZE];
	char rx[RTNL_RX_SIZE] __attribute__((aligned(4)));
};

struct mnl_socket *nl_request_open(int bus, uint32_t *portid, uint32_t *seq)
{
	struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	int one = 1;

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	*portid = mnl_socket_get_portid(nl);
	*seq = (uint32_t)time(NULL);
	/* Older kernels lack these: then errors just come without text. */
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	return nl;
}

struct mnl_socket *nl_event_open(unsigned groups, unsigned group)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0 ||
	    (group && mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)) {
		int e = errno;
		mnl_socket_close(nl);
		errno = e;
		return NULL;
	}
	/* A burst (a bridge with many ports going down, flushing a port's
	 * groups) must not overrun. */
	sock_bufsize(mnl_socket_get_fd(nl), SO_RCVBUFFORCE, SO_RCVBUF, 1 << 20);
	return nl;
}

int rtnl_open(struct rtnl **rp, unsigned groups)
{
	struct rtnl *r;
	int err;

	*rp = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->req = nl_request_open(NETLINK_ROUTE, &r->portid, &r->seq);
	if (!r->req)
		goto fail;
	if (groups && !(r->ev = nl_event_open(groups, 0)))
		goto fail;
	*rp = r;
	return 0;
fail:
	err = -errno;
	rtnl_close(r);
	return err ? err : -EIO;
}

void rtnl_close(struct rtnl *r)
{
	if (!r)
		return;
	if (r->req)
		mnl_socket_close(r->req);
	if (r->ev)
		mnl_socket_close(r->ev);
	free(r);
}

int rtnl_fd(const struct rtnl *r)
{
	return r->ev ? mnl_socket_get_fd(r->ev) : -1;
}

int nl_ack_parse(const struct nlmsghdr *nlh, const char **msg)
{
	const struct nlmsgerr *e;
	const struct nlattr *attr;
	const void *tlvs;
	size_t off, tlvs_len;
	int err;

	*msg = NULL;
	if (nlh->nlmsg_len < NLMSG_HDRLEN || mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EBADMSG;
	e = mnl_nlmsg_get_payload(nlh);
	err = e->error > 0 ? -EPROTO : e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return err;
	/* The TLVs follow the echoed request, which is just its header when
	 * capped (NETLINK_CAP_ACK, or any plain ack). */
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return err;
		off += MNL_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	}
	if (off > mnl_nlmsg_get_payload_len(nlh))
		return err;
	tlvs = (const void *)((const char *)e + off);
	tlvs_len = mnl_nlmsg_get_payload_len(nlh) - off;
	mnl_attr_for_each_payload(tlvs, tlvs_len) {
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			*msg = mnl_attr_get_str(attr);
	}
	return err;
}

/* mnl_nlmsg_ok compares (int)nlmsg_len: a length of 2^31 or more passes
 * as negative and NLMSG_ALIGN(0xfffffffd) wraps to 0, an endless loop.
 * Compare unsigned (mnl_nlmsg_ok has checked rem >= 16 first). */
bool nl_msg_ok(const struct nlmsghdr *nlh, int rem)
{
	return mnl_nlmsg_ok(nlh, rem) && nlh->nlmsg_len <= (uint32_t)rem;
}

/* The attributes after a fixed header of hdrlen bytes, bounded by the exact
 * nlmsg_len: mnl_attr_parse bounds them by NLMSG_ALIGN(nlmsg_len), up to
 * 3 bytes past the end of a buffer whose last message is unaligned. The
 * caller has checked that the payload holds hdrlen bytes. */
static int attr_parse(const struct nlmsghdr *nlh, size_t hdrlen, mnl_attr_cb_t cb, void *data)
{
	size_t off = MNL_ALIGN(hdrlen), plen = mnl_nlmsg_get_payload_len(nlh);

	if (plen <= off)
		return MNL_CB_OK;
	return mnl_attr_parse_payload((const char *)mnl_nlmsg_get_payload(nlh) + off, plen - off, cb, data);
}

/* Send one request and read its replies up to the ack (or NLMSG_DONE for
 * a dump). Replies to earlier requests (a dump cut short by an error) are
 * recognised by their sequence number and dropped. Shared by every
 * request socket (rtnl.c, mdb.c). */
int nl_talk(struct mnl_socket *sock, uint32_t portid, uint32_t *seqp, void *rx, size_t rxlen,
	    struct nlmsghdr *nlh, nl_reply_fn fn, void *ctx, char *errmsg, size_t errlen)
{
	const struct nlmsghdr *m;
	const char *kmsg;
	uint32_t seq = ++*seqp;
	int err = 0, rem;
	ssize_t len;

	errmsg[0] = '\0';
	nlh->nlmsg_seq = seq;
	/* NLM_F_DUMP shares bits with NLM_F_REPLACE/EXCL: only a GET is a dump.
	 * (Other buses number their types otherwise; a dump that gets the
	 * ACK flag anyway still ends with NLMSG_DONE, the kernel sends no
	 * ack after a dump.) */
	if (!(nlh->nlmsg_type % 4 == 2 && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP))
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		len = mnl_socket_recvfrom(sock, rx, rxlen);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		m = (const struct nlmsghdr *)rx;
		for (rem = (int)len; nl_msg_ok(m, rem); m = mnl_nlmsg_next(m, &rem)) {
			if (m->nlmsg_seq != seq || m->nlmsg_pid != portid)
				continue;
			switch (m->nlmsg_type) {
			case NLMSG_ERROR: {
				int aerr = nl_ack_parse(m, &kmsg);

				if (kmsg)
					snprintf(errmsg, errlen, "%s", kmsg);
				return aerr ? aerr : err;
			}
			case NLMSG_DONE:
				if (mnl_nlmsg_get_payload_len(m) >= sizeof(int)) {
					int derr;

					memcpy(&derr, mnl_nlmsg_get_payload(m), sizeof(derr));
					if (derr < 0 && !err)
						err = derr;
				}
				return err;
			case NLMSG_NOOP:
			case NLMSG_OVERRUN:
				break;
			default:
				if (fn && !err)
					err = fn(m, ctx);
				break;
			}
		}
	}
}

static int rtnl_talk(struct rtnl *r, struct nlmsghdr *nlh, nl_reply_fn fn, void *ctx)
{
	return nl_talk(r->req, r->portid, &r->seq, r->rx, sizeof(r->rx), nlh, fn, ctx, r->errmsg, sizeof(r->errmsg));
}

/* "rtnl: add 2001:db8::1/64 on eth0: <kernel text, or strerror>" */
static int rtnl_fail(struct rtnl *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int rtnl_fail(struct rtnl *r, int err, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_warnx("rtnl: %s: %s", what, r->errmsg[0] ? r->errmsg : strerror(-err));
	return err;
}

static const char *ifname_or_index(int ifindex, char buf[IF_NAMESIZE + 8])
{
	char name[IF_NAMESIZE];

	if (ifindex > 0 && if_indextoname((unsigned)ifindex, name))
		snprintf(buf, IF_NAMESIZE + 8, "%s", name);
	else
		snprintf(buf, IF_NAMESIZE + 8, "if%d", ifindex);
	return buf;
}

/* --- links --- */

struct link_attrs {
	char name[IF_NAMESIZE];
	uint8_t mac[6];
	bool has_mac;
	uint8_t operstate;
	uint32_t event;
	uint32_t carrier_down_count;
	bool has_down_count;
	int master;
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_attrs *la = data;
	uint16_t type = mnl_attr_get_type(attr);
	uint16_t plen = mnl_attr_get_payload_len(attr);

	if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
		return MNL_CB_OK; /* newer than our headers: not ours to read */
	switch (type) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0 || plen > IF_NAMESIZE)
			return MNL_CB_ERROR;
		memcpy(la->name, mnl_attr_get_payload(attr), plen);
		la->name[IF_NAMESIZE - 1] = '\0';
		break;
	case IFLA_ADDRESS:
		if (mnl_attr_validate(attr, MNL_TYPE_BINARY) < 0)
			return MNL_CB_ERROR;
		if (plen == sizeof(la->mac)) { /* only Ethernet-like links have a MAC */
			memcpy(la->mac, mnl_attr_get_payload(attr), sizeof(la->mac));
			la->has_mac = true;
		}
		break;
	case IFLA_OPERSTATE:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
			return MNL_CB_ERROR;
		la->operstate = mnl_attr_get_u8(attr);
		break;
	case IFLA_EVENT:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		la->event = mnl_attr_get_u32(attr);
		break;
	case IFLA_CARRIER_DOWN_COUNT:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		la->carrier_down_count = mnl_attr_get_u32(attr);
		la->has_down_count = true;
		break;
	case IFLA_MASTER:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		la->master = (int)mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

/* Length-checks the header before the cast; -EBADMSG if malformed. */
static int link_parse(const struct nlmsghdr *nlh, const struct ifinfomsg **ifip, struct link_attrs *la)
{
	memset(la, 0, sizeof(*la));
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
		return -EBADMSG;
	*ifip = mnl_nlmsg_get_payload(nlh);
	if (attr_parse(nlh, sizeof(struct ifinfomsg), link_attr_cb, la) < 0)
		return -EBADMSG;
	return 0;
}

static int link_get_cb(const struct nlmsghdr *nlh, void *ctx)
{
	struct rtnl_link_info *out = ctx;
	const struct ifinfomsg *ifi;
	struct link_attrs la;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	if (link_parse(nlh, &ifi, &la) < 0)
		return -EBADMSG;
	out->ifindex = ifi->ifi_index;
	memcpy(out->name, la.name, sizeof(out->name));
	if (la.has_mac)
		memcpy(out->mac, la.mac, sizeof(out->mac));
	out->flags = ifi->ifi_flags;
	out->operstate = la.operstate;
	out->carrier = ifi->ifi_flags & IFF_LOWER_UP;
	out->carrier_down_count = la.carrier_down_count;
	return 0;
}

int rtnl_link_get(struct rtnl *r, const char *name, int ifindex, struct rtnl_link_info *out)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->tx);
	struct ifinfomsg *ifi;
	int err;

	memset(out, 0, sizeof(*out));
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (ifindex <= 0) {
		if (!name || !*name || strlen(name) >= IF_NAMESIZE)
			return -EINVAL;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	}
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	err = rtnl_talk(r, nlh, link_get_cb, out);
	if (!err && !out->ifindex)
		err = -ENODEV;
	if (err) {
		if (ifindex > 0)
			return rtnl_fail(r, err, "get link if%d", ifindex);
		return rtnl_fail(r, err, "get link %s", name);
	}
	return 0;
}

/* --- addresses --- */

struct addr_attrs {
	const struct in6_addr *local, *address;
	uint32_t flags;
	bool has_flags;
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
	struct addr_attrs *aa = data;

	if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(attr)) {
	case IFA_ADDRESS:
	case IFA_LOCAL:
		if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, sizeof(struct in6_addr)) < 0)
			return MNL_CB_ERROR;
		if (mnl_attr_get_type(attr) == IFA_LOCAL)
			aa->local = mnl_attr_get_payload(attr);
		else
			aa->address = mnl_attr_get_payload(attr);
		break;
	case IFA_FLAGS:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		aa->flags = mnl_attr_get_u32(attr);
		aa->has_flags = true;
		break;
	}
	return MNL_CB_OK;
}

/* An IPv6 address message into ev: -EBADMSG if malformed, -EAFNOSUPPORT
 * for other families. For a peer address IFA_LOCAL is ours and IFA_ADDRESS
 * the peer's; otherwise only IFA_ADDRESS is sent. */
static int addr_parse(const struct nlmsghdr *nlh, struct rtnl_event *ev)
{
	const struct ifaddrmsg *ifa;
	struct addr_attrs aa = { 0 };

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -EBADMSG;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET6)
		return -EAFNOSUPPORT;
	if (attr_parse(nlh, sizeof(*ifa), addr_attr_cb, &aa) < 0)
		return -EBADMSG;
	if (!aa.local)
		aa.local = aa.address;
	if (!aa.local || ifa->ifa_prefixlen > 128)
		return -EBADMSG;
	memset(ev, 0, sizeof(*ev));
	ev->kind = nlh->nlmsg_type == RTM_DELADDR ? RTNL_EV_ADDR_DEL : RTNL_EV_ADDR_NEW;
	ev->ifindex = (int)ifa->ifa_index;
	memcpy(&ev->addr, aa.local, sizeof(ev->addr));
	ev->plen = ifa->ifa_prefixlen;
	ev->scope = ifa->ifa_scope;
	ev->ifa_flags = aa.has_flags ? aa.flags : ifa->ifa_flags;
	return 0;
}

static int addr_req(struct rtnl *r, uint16_t type, uint16_t flags, int ifindex,
		    const struct in6_addr *a, uint8_t plen, uint32_t ifa_flags,
		    uint32_t valid_lft, uint32_t pref_lft)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->tx);
	struct ifaddrmsg *ifa;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_flags = ifa_flags & 0xff;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, sizeof(*a), a);
	mnl_attr_put(nlh, IFA_ADDRESS, sizeof(*a), a);
	if (type == RTM_NEWADDR) {
		struct ifa_cacheinfo ci = { .ifa_prefered = pref_lft, .ifa_valid = valid_lft };

		/* Flags past the first byte (IFA_F_NOPREFIXROUTE...) only fit here. */
		if (ifa_flags > 0xff)
			mnl_attr_put_u32(nlh, IFA_FLAGS, ifa_flags);
		mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(ci), &ci);
	}
	return rtnl_talk(r, nlh, NULL, NULL);
}

int rtnl_addr_add(struct rtnl *r, int ifindex, const struct in6_addr *a, uint8_t plen,
		  uint32_t ifa_flags, uint32_t valid_lft, uint32_t pref_lft)
{
	char ifn[IF_NAMESIZE + 8];
	int err;

	err = addr_req(r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, ifindex, a, plen,
		       ifa_flags, valid_lft, pref_lft);
	if (err)
		return rtnl_fail(r, err, "add %s/%u on %s", a6(a), plen, ifname_or_index(ifindex, ifn));
	return 0;
}

int rtnl_addr_del(struct rtnl *r, int ifindex, const struct in6_addr *a, uint8_t plen)
{
	char ifn[IF_NAMESIZE + 8];
	int err;

	err = addr_req(r, RTM_DELADDR, 0, ifindex, a, plen, 0, 0, 0);
	if (err)
		return rtnl_fail(r, err, "delete %s/%u on %s", a6(a), plen, ifname_or_index(ifindex, ifn));
	return 0;
}

struct addr_dump_ctx {
	int ifindex;
	rtnl_addr_fn fn;
	void *ctx;
};

static int addr_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr_dump_ctx *d = data;
	struct rtnl_event ev;

	if (nlh->nlmsg_type != RTM_NEWADDR || addr_parse(nlh, &ev) < 0)
		return 0;
	if (d->ifindex && ev.ifindex != d->ifindex)
		return 0;
	d->fn(d->ctx, ev.ifindex, &ev.addr, ev.plen, ev.scope, ev.ifa_flags);
	return 0;
}

int rtnl_addr_dump(struct rtnl *r, int ifindex, rtnl_addr_fn fn, void *ctx)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->tx);
	struct addr_dump_ctx d = { ifindex, fn, ctx };
	struct ifaddrmsg *ifa;
	int err;

	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET6;
	err = rtnl_talk(r, nlh, addr_dump_cb, &d);
	if (err)
		return rtnl_fail(r, err, "dump addresses");
	return 0;
}

/* --- routes --- */

static int route_req(struct rtnl *r, uint16_t type, uint16_t flags, const struct in6_addr *dst,
		     uint8_t dst_len, const struct in6_addr *gw, int oif,
		     const struct in6_addr *prefsrc, uint32_t metric)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->tx);
	struct rtmsg *rtm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET6;
	rtm->rtm_dst_len = dst_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	if (type == RTM_NEWROUTE) {
		rtm->rtm_protocol = RTPROT_STATIC;
		rtm->rtm_scope = RT_SCOPE_UNIVERSE;
		rtm->rtm_type = RTN_UNICAST;
	} else {
		/* As ip(8): protocol 0 matches a route of any origin. */
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	}
	mnl_attr_put(nlh, RTA_DST, sizeof(*dst), dst);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, sizeof(*gw), gw);
	if (oif > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
	if (prefsrc)
		mnl_attr_put(nlh, RTA_PREFSRC, sizeof(*prefsrc), prefsrc);
	if (metric) /* 0: the kernel's default (1024) on add, any on delete */
		mnl_attr_put_u32(nlh, RTA_PRIORITY, metric);
	return rtnl_talk(r, nlh, NULL, NULL);
}

static const char *route_text(char *buf, size_t size, const struct in6_addr *dst, uint8_t dst_len,
			      const struct in6_addr *gw, int oif, const struct in6_addr *prefsrc)
{
	char ifn[IF_NAMESIZE + 8];
	int n;

	n = snprintf(buf, size, "%s/%u", a6(dst), dst_len);
	if (gw && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, " via %s", a6(gw));
	if (oif > 0 && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - n, " dev %s", ifname_or_index(oif, ifn));
	if (prefsrc && n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - n, " src %s", a6(prefsrc));
	return buf;
}

int rtnl_route_replace(struct rtnl *r, const struct in6_addr *dst, uint8_t dst_len,
		       const struct in6_addr *gw, int oif, const struct in6_addr *prefsrc,
		       uint32_t metric)
{
	char what[256];
	int err;

	err = route_req(r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, dst, dst_len, gw, oif,
			prefsrc, metric);
	if (err)
		return rtnl_fail(r, err, "replace route %s",
				 route_text(what, sizeof(what), dst, dst_len, gw, oif, prefsrc));
	return 0;
}

int rtnl_route_del(struct rtnl *r, const struct in6_addr *dst, uint8_t dst_len,
		   const struct in6_addr *gw, int oif, uint32_t metric)
{
	char what[256];
	int err;

	err = route_req(r, RTM_DELROUTE, 0, dst, dst_len, gw, oif, NULL, metric);
	if (err)
		return rtnl_fail(r, err, "delete route %s",
				 route_text(what, sizeof(what), dst, dst_len, gw, oif, NULL));
	return 0;
}

/* One neighbour request: mac given, replace (or create) the entry as
 * STALE with it (used at once, confirmed by the kernel's own reachability
 * probe on first use, as an RA's SLLA would); NULL, delete the entry (and
 * what its queue holds). */
static int neigh_request(struct rtnl *r, int ifindex, const struct in6_addr *a, const uint8_t *mac)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->tx);
	char ifn[IF_NAMESIZE + 8], m[MAC_STRLEN];
	struct ndmsg *ndm;
	int err;

	nlh->nlmsg_type = mac ? RTM_NEWNEIGH : RTM_DELNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | (mac ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = AF_INET6;
	ndm->ndm_ifindex = ifindex;
	ndm->ndm_state = mac ? NUD_STALE : 0;
	ndm->ndm_type = RTN_UNICAST;
	mnl_attr_put(nlh, NDA_DST, sizeof(*a), a);
	if (mac)
		mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
	err = rtnl_talk(r, nlh, NULL, NULL);
	if (err && mac)
		return rtnl_fail(r, err, "replace neighbour %s dev %s lladdr %s", a6(a), ifname_or_index(ifindex, ifn),
				 mac_str(mac, m));
	if (err && err != -ENOENT) /* none: nothing to delete */
		return rtnl_fail(r, err, "delete neighbour %s dev %s", a6(a), ifname_or_index(ifindex, ifn));
	return err;
}

int rtnl_neigh_replace(struct rtnl *r, int ifindex, const struct in6_addr *a, const uint8_t mac[6])
{
	return neigh_request(r, ifindex, a, mac);
}

int rtnl_neigh_del(struct rtnl *r, int ifindex, const struct in6_addr *a)
{
	return neigh_request(r, ifindex, a, NULL);
}

/* A bridge port's flooding of multicast and broadcast (an RTM_SETLINK
 * of family AF_BRIDGE, the port's IFLA_PROTINFO). Unknown unicast keeps
 * flooding: the port still learns and forwards what is addressed to it. */
int rtnl_brport_flood(struct rtnl *r, int ifindex, bool on)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->tx);
	struct ifinfomsg *ifi;
	struct nlattr *nest;
	char ifn[IF_NAMESIZE + 8];
	int err;

	nlh->nlmsg_type = RTM_SETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_BRIDGE;
	ifi->ifi_index = ifindex;
	nest = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_MCAST_FLOOD, on);
	mnl_attr_put_u8(nlh, IFLA_BRPORT_BCAST_FLOOD, on);
	mnl_attr_nest_end(nlh, nest);
	err = rtnl_talk(r, nlh, NULL, NULL);
	if (err)
		return rtnl_fail(r, err, "bridge port %s: multicast and broadcast flooding %s",
				 ifname_or_index(ifindex, ifn), on ? "on" : "off");
	return 0;
}

/* --- events --- */

static int link_event(const struct nlmsghdr *nlh, struct rtnl_event *ev)
{
	const struct ifinfomsg *ifi;
	struct link_attrs la;

	if (link_parse(nlh, &ifi, &la) < 0)
		return -EBADMSG;
	/* AF_BRIDGE (port state) and AF_INET6 (RA info) copies are not link state. */
	if (ifi->ifi_family != AF_UNSPEC)
		return -EAFNOSUPPORT;
	memset(ev, 0, sizeof(*ev));
	ev->kind = nlh->nlmsg_type == RTM_DELLINK ? RTNL_EV_LINK_DEL : RTNL_EV_LINK;
	ev->ifindex = ifi->ifi_index;
	memcpy(ev->ifname, la.name, sizeof(ev->ifname));
	ev->flags = ifi->ifi_flags;
	ev->operstate = la.operstate;
	ev->link_event = la.event;
	ev->carrier_down_count = la.carrier_down_count;
	ev->has_down_count = la.has_down_count;
	ev->master = la.master;
	return 0;
}

struct link_dump_arg {
	rtnl_event_fn fn;
	void *ctx;
};

static int link_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_dump_arg *d = data;
	struct rtnl_event ev;

	if (nlh->nlmsg_type != RTM_NEWLINK || link_event(nlh, &ev) < 0)
		return 0; /* a malformed one is skipped, as an event would be */
	d->fn(d->ctx, &ev);
	return 0;
}

int rtnl_link_dump(struct rtnl *r, rtnl_event_fn fn, void *ctx)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->tx);
	struct link_dump_arg d = { fn, ctx };
	struct ifinfomsg *ifi;
	int err;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	err = rtnl_talk(r, nlh, link_dump_cb, &d);
	if (err)
		return rtnl_fail(r, err, "dump links");
	return 0;
}

int rtnl_events_decode(const void *buf, size_t len, rtnl_event_fn fn, void *ctx)
{
	const struct nlmsghdr *nlh = buf;
	struct rtnl_event ev;
	int rem, n = 0, err;

	if (len > RTNL_RX_SIZE * 64)
		return -EBADMSG;
	for (rem = (int)len; nl_msg_ok(nlh, rem); nlh = mnl_nlmsg_next(nlh, &rem)) {
		switch (nlh->nlmsg_type) {
		case RTM_NEWLINK:
		case RTM_DELLINK:
			err = link_event(nlh, &ev);
			break;
		case RTM_NEWADDR:
		case RTM_DELADDR:
			err = addr_parse(nlh, &ev);
			break;
		default:
			continue;
		}
		if (err == -EBADMSG)
			log_debug("rtnl: malformed event (type %u, %u bytes) skipped",
				  nlh->nlmsg_type, nlh->nlmsg_len);
		if (err)
			continue;
		fn(ctx, &ev);
		n++;
	}
	/* Bytes left that do not frame a message: the buffer is corrupt. */
	if (rem > 0)
		return -EBADMSG;
	return n;
}

int nl_events_read(struct mnl_socket *sock, void *rx, size_t rxlen, const char *what, nl_decode_fn decode, void *arg)
{
	int total = 0, n;
	ssize_t len;

	for (;;) {
		len = mnl_socket_recvfrom(sock, rx, rxlen);
		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return total;
			if (errno == ENOBUFS) {
				log_warnx("%s: event socket overran, events lost", what);
				return -ENOBUFS;
			}
			return -errno;
		}
		n = decode(rx, (size_t)len, arg);
		if (n < 0)
			log_warnx("%s: malformed event buffer (%zd bytes)", what, len);
		else
			total += n;
	}
}

struct rtnl_decode_arg {
	rtnl_event_fn fn;
	void *ctx;
};

static int rtnl_decode_cb(const void *buf, size_t len, void *arg)
{
	struct rtnl_decode_arg *d = arg;

	return rtnl_events_decode(buf, len, d->fn, d->ctx);
}

int rtnl_events_read(struct rtnl *r, rtnl_event_fn fn, void *ctx)
{
	struct rtnl_decode_arg d = { fn, ctx };

	if (!r->ev)
		return -EBADF;
	return nl_events_read(r->ev, r->rx, sizeof(r->rx), "rtnl", rtnl_decode_cb, &d);
}

/* --- sysctl --- */

int sysctl_ipv6_set(const char *ifname, const char *key, const char *value)
{
	char path[256];
	size_t len = strlen(value);
	ssize_t w;
	int fd, err = 0;

	if (!*ifname || strchr(ifname, '/') || !strcmp(ifname, ".") || !strcmp(ifname, "..") ||
	    !*key || strstr(key, ".."))
		return -EINVAL;
	if (snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", ifname, key) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	w = write(fd, value, len);
	if (w < 0)
		err = -errno;
	else if ((size_t)w != len)
		err = -EIO;
	close(fd);
out:
	if (err)
		log_warnx("sysctl net.ipv6.conf.%s.%s=%s: %s", ifname, key, value, strerror(-err));
	return err;
}
