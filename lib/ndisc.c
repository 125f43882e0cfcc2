/* Router solicitation, the RA parser and echo probes (see ndisc.h). */
#include "ndisc.h"
#include "util.h"
#include <errno.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int ra_parse(const uint8_t *buf, size_t len, struct ra_info *ra)
{
	size_t off = sizeof(struct nd_router_advert);

	memset(ra, 0, sizeof(*ra));
	if (len < off || buf[0] != ND_ROUTER_ADVERT || buf[1] != 0)
		return -EBADMSG;
	ra->router_lifetime = (uint16_t)(buf[6] << 8 | buf[7]);
	while (off < len) {
		size_t olen;
		const uint8_t *o = buf + off;

		if (len - off < 2)
			return -EBADMSG;
		olen = (size_t)o[1] * 8;
		if (olen == 0 || olen > len - off)
			return -EBADMSG;
		switch (o[0]) {
		case ND_OPT_SOURCE_LINKADDR:
			if (olen == 8) {
				ra->has_slla = true;
				memcpy(ra->slla, o + 2, 6);
			}
			break;
		case ND_OPT_MTU:
			if (olen != 8)
				return -EBADMSG;
			ra->mtu = (uint32_t)o[4] << 24 | (uint32_t)o[5] << 16 | (uint32_t)o[6] << 8 | o[7];
			break;
		case ND_OPT_PREFIX_INFORMATION: {
			struct ra_prefix *p;

			if (olen != 32 || o[2] > 128)
				return -EBADMSG;
			if (ra->nprefixes == RA_MAX_PREFIXES)
				break;
			p = &ra->prefixes[ra->nprefixes++];
			p->len = o[2];
			p->onlink = o[3] & ND_OPT_PI_FLAG_ONLINK;
			p->autonomous = o[3] & ND_OPT_PI_FLAG_AUTO;
			p->valid = (uint32_t)o[4] << 24 | (uint32_t)o[5] << 16 | (uint32_t)o[6] << 8 | o[7];
			p->preferred = (uint32_t)o[8] << 24 | (uint32_t)o[9] << 16 | (uint32_t)o[10] << 8 | o[11];
			memcpy(&p->prefix, o + 16, 16);
			break;
		}
		default:
			break; /* options we don't use are skipped, as RFC 4861 says */
		}
		off += olen;
	}
	return 0;
}

int ndisc_socket(const char *ifname, int ifindex)
{
	int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	int hops = 255, one = 1, r;
	struct icmp6_filter f;

	if (fd < 0)
		return -errno;
	ICMP6_FILTER_SETBLOCKALL(&f);
	ICMP6_FILTER_SETPASS(ND_ROUTER_ADVERT, &f);
	ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
	if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int send_from(int fd, int ifindex, const struct in6_addr *src, const struct in6_addr *dst,
		     const void *msg, size_t len)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = *dst, .sin6_scope_id = (uint32_t)ifindex };

	return sendto_from(fd, msg, len, &to, src, ifindex);
}

int ndisc_send_rs(int fd, int ifindex, const uint8_t mac[6])
{
	uint8_t msg[16] = { ND_ROUTER_SOLICIT, 0, 0, 0, 0, 0, 0, 0, ND_OPT_SOURCE_LINKADDR, 1 };
	struct in6_addr all_routers = { .s6_addr = { 0xff, 0x02, [15] = 0x02 } };

	memcpy(msg + 10, mac, 6);
	return send_from(fd, ifindex, NULL, &all_routers, msg, sizeof(msg));
}

int ndisc_send_ns(int fd, int ifindex, const struct in6_addr *src, const struct in6_addr *target,
		  const uint8_t mac[6])
{
	uint8_t msg[32] = { ND_NEIGHBOR_SOLICIT, 0, 0, 0, 0, 0, 0, 0, [24] = ND_OPT_SOURCE_LINKADDR, [25] = 1 };
	/* to the target's solicited-node group: no neighbour entry needed */
	struct in6_addr snm = { .s6_addr = { 0xff, 0x02, [11] = 0x01, [12] = 0xff } };

	memcpy(msg + 8, target, 16);
	memcpy(msg + 26, mac, 6);
	memcpy(snm.s6_addr + 13, target->s6_addr + 13, 3);
	return send_from(fd, ifindex, src, &snm, msg, sizeof(msg));
}

int ndisc_send_echo(int fd, int ifindex, const struct in6_addr *src, const struct in6_addr *dst,
		    uint16_t id, uint16_t seq)
{
	uint8_t msg[8] = { ICMP6_ECHO_REQUEST, 0, 0, 0, (uint8_t)(id >> 8), (uint8_t)id,
			   (uint8_t)(seq >> 8), (uint8_t)seq };

	return send_from(fd, ifindex, src, dst, msg, sizeof(msg));
}

int ndisc_recv(int fd, struct ndisc_msg *m, unsigned *bad)
{
	uint8_t buf[1500];
	struct sockaddr_in6 from;
	union { char b[CMSG_SPACE(sizeof(int)) + 64]; struct cmsghdr align; } c;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	int hoplimit = -1;
	ssize_t n;

	memset(m, 0, sizeof(*m));
	n = recvmsg(fd, &mh, 0);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&hoplimit, CMSG_DATA(cm), sizeof(int));
	m->from = from.sin6_addr;
	if (n >= 8 && buf[0] == ICMP6_ECHO_REPLY) {
		m->kind = NDISC_ECHO_REPLY;
		m->id = (uint16_t)(buf[4] << 8 | buf[5]);
		m->seq = (uint16_t)(buf[6] << 8 | buf[7]);
		return 1;
	}
	/* RFC 4861 6.1.2: hop limit 255 and a link-local source, or drop. */
	if (hoplimit != 255 || !IN6_IS_ADDR_LINKLOCAL(&from.sin6_addr) ||
	    ra_parse(buf, (size_t)n, &m->ra) < 0) {
		if (bad)
			(*bad)++;
		return 0;
	}
	m->kind = NDISC_RA;
	return 1;
}

void eui64_iid(struct in6_addr *a, const uint8_t mac[6])
{
	a->s6_addr[8] = mac[0] ^ 0x02;
	a->s6_addr[9] = mac[1];
	a->s6_addr[10] = mac[2];
	a->s6_addr[11] = 0xff;
	a->s6_addr[12] = 0xfe;
	a->s6_addr[13] = mac[3];
	a->s6_addr[14] = mac[4];
	a->s6_addr[15] = mac[5];
}
