/* announce: send unsolicited Neighbor Advertisements for every address of
 * the named interfaces, as a guest does when QEMU announces it after a live
 * migration (virtio-net GUEST_ANNOUNCE -> NETDEV_NOTIFY_PEERS). The frames
 * carry the NIC's MAC as source, so every bridge on the way learns the
 * VM's new port at once instead of after the neighbour cache times out.
 * The testbed runs it in the vm netns right after tb_migrate.
 *
 *   announce [-c COUNT] [-w MS] IFACE...
 *
 * Addresses come from /proc/net/if_inet6 (per netns); tentative ones are
 * skipped (they are not ours yet), optimistic ones are announced without
 * the override flag (RFC 4429 section 3.3). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define IFA_F_OPTIMISTIC_ 0x04
#define IFA_F_DADFAILED_ 0x08
#define IFA_F_TENTATIVE_ 0x40

static int get_mac(int fd, const char *ifname, unsigned char mac[6])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	return 0;
}

static int send_na(int fd, unsigned ifindex, const struct in6_addr *target,
		   const unsigned char mac[6], int override)
{
	struct {
		struct nd_neighbor_advert na;
		struct nd_opt_hdr opt;
		unsigned char mac[6];
	} __attribute__((packed)) pkt;
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6, .sin6_scope_id = ifindex };
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	struct iovec iov = { &pkt, sizeof(pkt) };
	struct msghdr msg = {
		.msg_name = &dst, .msg_namelen = sizeof(dst),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	struct in6_pktinfo pi;

	memset(&pkt, 0, sizeof(pkt));
	pkt.na.nd_na_type = ND_NEIGHBOR_ADVERT;
	pkt.na.nd_na_flags_reserved = override ? ND_NA_FLAG_OVERRIDE : 0;
	pkt.na.nd_na_target = *target;
	pkt.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
	pkt.opt.nd_opt_len = 1;
	memcpy(pkt.mac, mac, 6);
	inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);

	/* The source is the announced address itself; the kernel computes
	 * the ICMPv6 checksum for raw ICMPv6 sockets. */
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = IPPROTO_IPV6;
	cm->cmsg_type = IPV6_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	pi.ipi6_addr = *target;
	pi.ipi6_ifindex = ifindex;
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));

	if (sendmsg(fd, &msg, 0) < 0)
		return -errno;
	return 0;
}

/* One round: an NA for every usable address on ifname. Returns the number
 * sent or -errno. */
static int announce_if(int fd, const char *ifname)
{
	unsigned char mac[6];
	unsigned ifindex = if_nametoindex(ifname);
	char line[256], hex[33], name[IF_NAMESIZE + 1];
	unsigned idx, plen, scope, flags;
	FILE *f;
	int r, sent = 0;

	if (!ifindex)
		return -ENODEV;
	r = get_mac(fd, ifname, mac);
	if (r < 0)
		return r;
	f = fopen("/proc/net/if_inet6", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		struct in6_addr a;
		int i;

		if (sscanf(line, "%32s %x %x %x %x %16s", hex, &idx, &plen, &scope,
			   &flags, name) != 6 || idx != ifindex)
			continue;
		if (flags & IFA_F_DADFAILED_)
			continue;
		if ((flags & IFA_F_TENTATIVE_) && !(flags & IFA_F_OPTIMISTIC_))
			continue;
		for (i = 0; i < 16; i++) {
			unsigned b;

			sscanf(hex + 2 * i, "%2x", &b);
			a.s6_addr[i] = b;
		}
		r = send_na(fd, ifindex, &a, mac, !(flags & IFA_F_OPTIMISTIC_));
		if (r < 0) {
			char t[INET6_ADDRSTRLEN];

			fprintf(stderr, "announce: NA for %s on %s: %s\n",
				inet_ntop(AF_INET6, &a, t, sizeof(t)), ifname, strerror(-r));
			continue;
		}
		sent++;
	}
	fclose(f);
	return sent;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: announce [-c COUNT] [-w MS] IFACE...\n"
		     "Send unsolicited NAs (override, to ff02::1, hop limit 255) for every\n"
		     "non-tentative address of each IFACE. -c rounds (1), -w ms between (100).\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 } };
	int count = 1, wait_ms = 100, c, fd, hops = 255, round, i, rc = 0;

	while ((c = getopt_long(argc, argv, "c:w:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'c': count = atoi(optarg); break;
		case 'w': wait_ms = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("announce %s\n", GLM_VERSION); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind >= argc || count < 1 || wait_ms < 0) {
		usage(stderr);
		return EX_USAGE;
	}
	fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	if (fd < 0) {
		perror("announce: raw ICMPv6 socket");
		return EX_OSERR;
	}
	setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops));
	setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops));
	for (round = 0; round < count; round++) {
		if (round) {
			struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
		}
		for (i = optind; i < argc; i++) {
			int r = announce_if(fd, argv[i]);

			if (r < 0) {
				fprintf(stderr, "announce: %s: %s\n", argv[i], strerror(-r));
				rc = EX_UNAVAILABLE;
			}
		}
	}
	close(fd);
	return rc;
}
