/* Neighbour discovery as the mobility daemon needs it: a raw ICMPv6 socket
 * per interface, Router Solicitations with our link-layer address (a
 * snooping bridge otherwise delays the router's reply, see LAB.md), the one
 * Router Advertisement parser, and echo probes that confirm a new link. */
#ifndef GLM_NDISC_H
#define GLM_NDISC_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RA_MAX_PREFIXES 8

struct ra_prefix {
	struct in6_addr prefix;
	uint8_t len;
	bool onlink, autonomous;
	uint32_t valid, preferred;
};

struct ra_info {
	uint16_t router_lifetime;
	uint32_t mtu; /* 0 if absent */
	bool has_slla;
	uint8_t slla[6];
	unsigned nprefixes;
	struct ra_prefix prefixes[RA_MAX_PREFIXES];
};

/* Parse an RA's ICMPv6 message (from the ICMPv6 header on). Returns 0 or
 * -EBADMSG; every option length is checked against what remains. */
int ra_parse(const uint8_t *buf, size_t len, struct ra_info *ra);

/* A raw ICMPv6 socket bound to ifname that receives RAs and echo replies. */
int ndisc_socket(const char *ifname, int ifindex);
int ndisc_send_rs(int fd, int ifindex, const uint8_t mac[6]);
/* Neighbour Solicitation for target from src with our link-layer address:
 * the target (a router) creates a neighbour entry for src on receipt, so
 * its first packet to src needs no resolution of its own. */
int ndisc_send_ns(int fd, int ifindex, const struct in6_addr *src, const struct in6_addr *target,
		  const uint8_t mac[6]);
/* Echo request to dst on ifindex, from src (NULL: kernel's choice). */
int ndisc_send_echo(int fd, int ifindex, const struct in6_addr *src, const struct in6_addr *dst,
		    uint16_t id, uint16_t seq);

enum ndisc_kind { NDISC_NONE, NDISC_RA, NDISC_ECHO_REPLY };
struct ndisc_msg {
	enum ndisc_kind kind;
	struct in6_addr from;
	struct ra_info ra;      /* NDISC_RA */
	uint16_t id, seq;       /* NDISC_ECHO_REPLY */
};
/* Read one message; returns 1 with *m filled, 0 if nothing usable (ignored
 * or malformed: counted in *bad if non-NULL), -errno on error. */
int ndisc_recv(int fd, struct ndisc_msg *m, unsigned *bad);

/* EUI-64 interface identifier from a MAC, into the low 64 bits of a. */
void eui64_iid(struct in6_addr *a, const uint8_t mac[6]);
#endif
