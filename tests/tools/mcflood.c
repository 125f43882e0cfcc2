/* mcflood: fill a link with IPv6 multicast, and count what arrives. For
 * throughput benchmarks (bench/relay), where mcstream's paced,
 * sequence-checked stream is the wrong tool: the sender sends as fast as
 * sendmmsg allows, the counter only counts.
 *
 *   mcflood send  --group G --ifname IF [--port P] [--size B] [--duration S] [--hops N]
 *                 [--raw SOURCE [--dst-mac MAC] [--head BYTES]] [--rate PPS]
 *   mcflood count --group G --ifname IF [--port P] [--duration S]
 *
 * --raw sends prebuilt Ethernet frames from SOURCE through an AF_PACKET
 * socket that bypasses the qdisc: no IPv6/UDP stack on the sending side,
 * so one core offers more than a forwarder on another core can take, and
 * the checksum is complete (as from a real NIC, not left to offload).
 * With --dst-mac the frames go to that MAC (a router's) and G may be a
 * unicast address: a flood of forwarded unicast (bench/gateway). The
 * kernel puts only the Ethernet header of a packet socket's frame in the
 * skb's linear part, the rest in a page; a NIC's driver puts the headers
 * there too (a small packet whole), and a forwarder that writes into the
 * UDP header (a checksum fix-up) would otherwise pay a pull per packet
 * that it does not pay behind a NIC. --head BYTES makes the first BYTES
 * of each frame linear (through a virtio-net header with hdr_len).
 * --rate paces it (in batches, on absolute deadlines): a forwarder
 * flooded far beyond what it can take livelocks in its receive path and
 * forwards less than it can, so capacity is the best of several rates.
 * Prints one line of key=value: sent= / received=, pps=, gbps= (IPv6
 * packet bits: UDP payload + 48 bytes of headers). The counter's clock
 * starts at its first packet. */
#include "util.h"
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

struct opts {
	struct in6_addr group, source;
	bool raw, have_mac;
	unsigned head;
	uint8_t mac[6];
	unsigned ifindex, port, size, hops;
	double duration, rate;
};

static int do_send(const struct opts *o)
{
	static uint8_t buf[BATCH][65507];
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = o->group, .sin6_port = htons((uint16_t)o->port) };
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), hops = (int)o->hops, ifi = (int)o->ifindex, zero = 0;
	uint64_t sent = 0, errs = 0, start, end, now;

	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifi, sizeof(ifi)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof(zero)) < 0) {
		perror("mcflood: socket");
		return EX_OSERR;
	}
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], o->size };
		mm[i].msg_hdr = (struct msghdr){ .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov[i],
						 .msg_iovlen = 1 };
	}
	start = now_ns();
	end = start + (uint64_t)(o->duration * 1e9);
	do {
		for (int i = 0; i < BATCH; i++)
			memcpy(buf[i], &sent, sizeof(sent));
		int n = sendmmsg(fd, mm, BATCH, 0);
		if (n < 0) {
			errs++;
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
				perror("mcflood: sendmmsg");
				return 1;
			}
		} else {
			sent += (unsigned)n;
		}
		now = now_ns();
	} while (now < end);
	double s = (double)(now - start) / 1e9;
	printf("sent=%llu errors=%llu seconds=%.3f pps=%.0f gbps=%.3f\n", (unsigned long long)sent,
	       (unsigned long long)errs, s, (double)sent / s, (double)sent * (o->size + 48) * 8 / s / 1e9);
	return 0;
}

static uint16_t csum6(const uint8_t *ip, size_t len)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 8; i < 40; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	sum += (len - 40) + 17;
	for (i = 40; i + 1 < len; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	if (i < len)
		sum += (uint32_t)ip[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	return sum ? (uint16_t)sum : 0xffff;
}

static int do_send_raw(const struct opts *o)
{
	static uint8_t frame[14 + 40 + 8 + 65507];
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_ifindex = (int)o->ifindex, .sll_halen = 6 };
	struct mmsghdr mm[BATCH];
	struct iovec iov[2];
	struct virtio_net_hdr vh = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	struct ifreq ifr = { 0 };
	size_t ulen = 8 + o->size, flen = 14 + 40 + ulen;
	uint8_t *ip = frame + 14, *u = ip + 40;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0), one = 1;
	uint64_t sent = 0, errs = 0, start, end, now;
	uint16_t c;

	if (fd < 0 || !if_indextoname(o->ifindex, ifr.ifr_name) || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror("mcflood: raw socket");
		return EX_OSERR;
	}
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	frame[0] = frame[1] = 0x33;
	memcpy(frame + 2, o->group.s6_addr + 12, 4);
	if (o->have_mac)
		memcpy(frame, o->mac, 6);
	memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6);
	frame[12] = 0x86;
	frame[13] = 0xdd;
	ip[0] = 0x60;
	ip[4] = (uint8_t)(ulen >> 8);
	ip[5] = (uint8_t)ulen;
	ip[6] = 17;
	ip[7] = (uint8_t)o->hops;
	memcpy(ip + 8, &o->source, 16);
	memcpy(ip + 24, &o->group, 16);
	u[0] = 0x9c;
	u[1] = 0x40;
	u[2] = (uint8_t)(o->port >> 8);
	u[3] = (uint8_t)o->port;
	u[4] = (uint8_t)(ulen >> 8);
	u[5] = (uint8_t)ulen;
	memset(u + 8, 0xa5, o->size);
	c = csum6(ip, 40 + ulen);
	u[6] = (uint8_t)(c >> 8);
	u[7] = (uint8_t)c;
	memcpy(ll.sll_addr, frame, 6);
	iov[1] = (struct iovec){ frame, flen };
	if (o->head) {
		int on = 1;

		vh.hdr_len = (uint16_t)(o->head < flen ? o->head : flen);
		if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) < 0) {
			perror("mcflood: PACKET_VNET_HDR");
			return EX_OSERR;
		}
	}
	iov[0] = (struct iovec){ &vh, sizeof(vh) };
	for (int i = 0; i < BATCH; i++)
		mm[i].msg_hdr = (struct msghdr){ .msg_name = &ll, .msg_namelen = sizeof(ll), .msg_iov = o->head ? iov : iov + 1,
						 .msg_iovlen = o->head ? 2 : 1 };
	unsigned batch = BATCH;
	if (o->rate > 0 && o->rate / 2000 < BATCH)
		batch = o->rate / 2000 > 1 ? (unsigned)(o->rate / 2000) : 1;
	start = now_ns();
	end = start + (uint64_t)(o->duration * 1e9);
	do {
		if (o->rate > 0) {
			uint64_t due = start + (uint64_t)((double)sent * 1e9 / o->rate);
			struct timespec ts = { (time_t)(due / 1000000000u), (long)(due % 1000000000u) };

			if (due > now_ns())
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
		int n = sendmmsg(fd, mm, batch, 0);

		if (n < 0) {
			errs++;
			if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
				perror("mcflood: sendmmsg");
				return 1;
			}
		} else {
			sent += (unsigned)n;
		}
		now = now_ns();
	} while (now < end);
	double s = (double)(now - start) / 1e9;
	printf("sent=%llu errors=%llu seconds=%.3f pps=%.0f gbps=%.3f\n", (unsigned long long)sent,
	       (unsigned long long)errs, s, (double)sent / s, (double)sent * (o->size + 48) * 8 / s / 1e9);
	return 0;
}

static int do_count(const struct opts *o)
{
	static uint8_t buf[BATCH][2048];
	struct sockaddr_in6 any = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)o->port) };
	struct group_req gr = { .gr_interface = o->ifindex };
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1, rb = 16 << 20;
	uint64_t got = 0, bytes = 0, first = 0, last = 0, end = 0;

	((struct sockaddr_in6 *)&gr.gr_group)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)&gr.gr_group)->sin6_addr = o->group;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, MCAST_JOIN_GROUP, &gr, sizeof(gr)) < 0) {
		perror("mcflood: join");
		return EX_OSERR;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		mm[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	printf("ready\n");
	fflush(stdout);
	end = now_ns() + (uint64_t)(o->duration * 1e9);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = now_ns();
		int n;

		if (now >= end)
			break;
		if (poll(&p, 1, (int)((end - now) / 1000000 + 1)) <= 0)
			continue;
		n = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		now = now_ns();
		if (!first)
			first = now;
		last = now;
		got += (unsigned)n;
		for (int i = 0; i < n; i++)
			bytes += mm[i].msg_len;
	}
	double s = first && last > first ? (double)(last - first) / 1e9 : 0;
	printf("received=%llu seconds=%.3f pps=%.0f gbps=%.3f\n", (unsigned long long)got, s, s ? (double)got / s : 0.0,
	       s ? ((double)bytes + 48.0 * (double)got) * 8 / s / 1e9 : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "group", required_argument, 0, 'g' }, { "ifname", required_argument, 0, 'i' },
		{ "port", required_argument, 0, 'p' },  { "size", required_argument, 0, 's' },
		{ "duration", required_argument, 0, 'd' }, { "hops", required_argument, 0, 'H' },
		{ "raw", required_argument, 0, 'R' }, { "rate", required_argument, 0, 'r' },
		{ "dst-mac", required_argument, 0, 'M' }, { "head", required_argument, 0, 'D' }, { "help", no_argument, 0, 'h' }, { 0 },
	};
	struct opts o = { .port = 5500, .size = 1400, .hops = 8, .duration = 5 };
	bool have_group = false;
	const char *mode;
	int c;

	if (argc < 2 || (strcmp(argv[1], "send") && strcmp(argv[1], "count"))) {
		fprintf(stderr, "usage: mcflood send|count --group G --ifname IF [--port P] [--size B] "
				"[--duration S] [--hops N] [--raw SOURCE [--dst-mac MAC] [--head BYTES]] [--rate PPS]\n");
		return EX_USAGE;
	}
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "g:i:p:s:d:H:R:r:M:D:h", lo, NULL)) != -1) {
		switch (c) {
		case 'g': have_group = inet_pton(AF_INET6, optarg, &o.group) == 1; break;
		case 'i': o.ifindex = if_nametoindex(optarg); break;
		case 'p': o.port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': o.size = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'd': o.duration = atof(optarg); break;
		case 'H': o.hops = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': o.rate = atof(optarg); break;
		case 'D': o.head = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'M':
			o.have_mac = sscanf(optarg, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &o.mac[0], &o.mac[1], &o.mac[2],
					    &o.mac[3], &o.mac[4], &o.mac[5]) == 6;
			if (!o.have_mac) {
				fprintf(stderr, "mcflood: --dst-mac wants xx:xx:xx:xx:xx:xx\n");
				return EX_USAGE;
			}
			break;
		case 'R':
			o.raw = true;
			if (inet_pton(AF_INET6, optarg, &o.source) != 1) {
				fprintf(stderr, "mcflood: --raw needs the source address\n");
				return EX_USAGE;
			}
			break;
		default: return c == 'h' ? 0 : EX_USAGE;
		}
	}
	if (!have_group || !o.ifindex || !o.port || o.port > 65535 || o.size < 8 || o.size > 65507 || o.duration <= 0) {
		fprintf(stderr, "mcflood: need --group, an existing --ifname, sane --port/--size/--duration\n");
		return EX_USAGE;
	}
	if ((o.have_mac || o.head) && !o.raw) {
		fprintf(stderr, "mcflood: --dst-mac and --head need --raw\n");
		return EX_USAGE;
	}
	if (!strcmp(mode, "send"))
		return o.raw ? do_send_raw(&o) : do_send(&o);
	return do_count(&o);
}
