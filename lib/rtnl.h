/* rtnetlink through libmnl: the address, route and link operations glm's
 * daemons need, and a decoder for the events they watch. Every request
 * asks for an ack with NETLINK_EXT_ACK on; failures return -errno and the
 * kernel's own error text is logged with the object that failed. */
#ifndef GLM_RTNL_H
#define GLM_RTNL_H
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rtnl;

/* groups: RTMGRP_* bits to subscribe for events (0 for a request-only socket). */
int rtnl_open(struct rtnl **r, unsigned groups);
void rtnl_close(struct rtnl *r);
int rtnl_fd(const struct rtnl *r); /* the event socket, for epoll */

struct rtnl_link_info {
	int ifindex;
	char name[IF_NAMESIZE];
	uint8_t mac[6];
	unsigned flags;    /* IFF_* */
	uint8_t operstate; /* IF_OPER_* */
	bool carrier;
	uint32_t carrier_down_count;
};
int rtnl_link_get(struct rtnl *r, const char *name, int ifindex, struct rtnl_link_info *out);

/* Add (or replace) an IPv6 address. ifa_flags: IFA_F_NODAD, IFA_F_OPTIMISTIC,
 * IFA_F_NOPREFIXROUTE. Lifetimes in seconds, 0xffffffff = forever. */
int rtnl_addr_add(struct rtnl *r, int ifindex, const struct in6_addr *a, uint8_t plen,
		  uint32_t ifa_flags, uint32_t valid_lft, uint32_t pref_lft);
int rtnl_addr_del(struct rtnl *r, int ifindex, const struct in6_addr *a, uint8_t plen);
/* Dump the IPv6 addresses of ifindex (0 = all). */
typedef void (*rtnl_addr_fn)(void *ctx, int ifindex, const struct in6_addr *a, uint8_t plen,
			     uint8_t scope, uint32_t ifa_flags);
int rtnl_addr_dump(struct rtnl *r, int ifindex, rtnl_addr_fn fn, void *ctx);

/* Replace (create or change) an IPv6 unicast route in the main table.
 * gw and prefsrc may be NULL. */
int rtnl_route_replace(struct rtnl *r, const struct in6_addr *dst, uint8_t dst_len,
		       const struct in6_addr *gw, int oif, const struct in6_addr *prefsrc,
		       uint32_t metric);
int rtnl_route_del(struct rtnl *r, const struct in6_addr *dst, uint8_t dst_len,
		   const struct in6_addr *gw, int oif, uint32_t metric);
/* Set a's link-layer address on ifindex (state STALE). */
int rtnl_neigh_replace(struct rtnl *r, int ifindex, const struct in6_addr *a, const uint8_t mac[6]);
/* -ENOENT, silently, when there is none */
int rtnl_neigh_del(struct rtnl *r, int ifindex, const struct in6_addr *a);
/* Turn a bridge port's flooding of multicast and broadcast on or off. */
int rtnl_brport_flood(struct rtnl *r, int ifindex, bool on);

enum rtnl_event_kind { RTNL_EV_LINK, RTNL_EV_LINK_DEL, RTNL_EV_ADDR_NEW, RTNL_EV_ADDR_DEL };
struct rtnl_event {
	enum rtnl_event_kind kind;
	int ifindex;
	char ifname[IF_NAMESIZE]; /* links only; "" if absent */
	unsigned flags;           /* links: IFF_* (IFF_LOWER_UP = carrier) */
	uint8_t operstate;
	uint32_t link_event;      /* IFLA_EVENT value (IFLA_EVENT_NOTIFY_PEERS...), 0 = none */
	/* IFLA_CARRIER_DOWN_COUNT: linkwatch folds a quick down+up into one
	 * "up" event, the counter still shows the loss. */
	uint32_t carrier_down_count;
	bool has_down_count;
	int master;               /* links: the bridge (or bond) it is a port of, 0 if none */
	struct in6_addr addr;     /* addresses only */
	uint8_t plen, scope;
	uint32_t ifa_flags;
};
typedef void (*rtnl_event_fn)(void *ctx, const struct rtnl_event *ev);
/* Every link, as RTNL_EV_LINK events (a request: no event socket needed). */
int rtnl_link_dump(struct rtnl *r, rtnl_event_fn fn, void *ctx);
/* Read and decode every pending event on the event socket (non-blocking). */
int rtnl_events_read(struct rtnl *r, rtnl_event_fn fn, void *ctx);
/* Decode a buffer of netlink messages: the one parser, fuzzed. Returns the
 * number of events delivered or -EBADMSG; malformed messages are skipped.
 * buf must be 4-byte aligned, as a netlink receive buffer is. Only
 * AF_UNSPEC link messages and AF_INET6 address messages are delivered.
 * rtnl_events_read returns -ENOBUFS when the kernel dropped events (the
 * socket overran): the caller should re-read the state it tracks. */
int rtnl_events_decode(const void *buf, size_t len, rtnl_event_fn fn, void *ctx);

/* An NLMSG_ERROR message: returns its error (0 for an ack, else -errno,
 * -EBADMSG if truncated) and points *msg at the kernel's extended-ack
 * text, or NULL. Shared with nft.c. */
struct nlmsghdr;
int nl_ack_parse(const struct nlmsghdr *nlh, const char **msg);
/* mnl_nlmsg_ok, also safe for nlmsg_len >= 2^31 (libmnl 1.0.4 is not). */
bool nl_msg_ok(const struct nlmsghdr *nlh, int rem);

/* One request on a netlink request socket, its replies to fn, up to the
 * ack; the kernel's error text (extack) lands in errmsg. For rtnl.c,
 * mdb.c and matd's sock_diag dump, whose sockets are libmnl ones. */
struct mnl_socket;
struct nlmsghdr;
typedef int (*nl_reply_fn)(const struct nlmsghdr *nlh, void *ctx);
/* A request socket on bus (NETLINK_ROUTE, NETLINK_SOCK_DIAG; ext ack on;
 * its port id and a first sequence number)
 * and a non-blocking event socket subscribed to the RTMGRP_* bits groups
 * and, if not 0, the RTNLGRP_* group. NULL with errno on failure. */
struct mnl_socket *nl_request_open(int bus, uint32_t *portid, uint32_t *seq);
struct mnl_socket *nl_event_open(unsigned groups, unsigned group);
int nl_talk(struct mnl_socket *sock, uint32_t portid, uint32_t *seq, void *rx, size_t rxlen,
	    struct nlmsghdr *nlh, nl_reply_fn fn, void *ctx, char *errmsg, size_t errlen);

/* Read every pending message of a non-blocking event socket and hand each
 * buffer to decode (which returns the events it delivered or <0). */
typedef int (*nl_decode_fn)(const void *buf, size_t len, void *arg);
int nl_events_read(struct mnl_socket *sock, void *rx, size_t rxlen, const char *what, nl_decode_fn decode, void *arg);

/* Write /proc/sys/net/ipv6/conf/IFNAME/KEY. */
int sysctl_ipv6_set(const char *ifname, const char *key, const char *value);
#endif
