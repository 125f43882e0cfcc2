/* MLD report parser and the per-port report socket (see mld.h). */
#include "mld.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IP6_HDR 40
#define NH_HOPOPTS 0
#define NH_ICMPV6 58
#define MLD1_REPORT 131
#define MLD1_DONE 132
#define MLD2_REPORT 143

int mld_parse_report(const uint8_t *pkt, size_t len, mld_fn fn, void *ctx)
{
	size_t off = IP6_HDR, end;
	uint8_t nh;
	struct mld_record r;
	int n = 0;

	if (len < IP6_HDR || (pkt[0] >> 4) != 6)
		return -EBADMSG;
	end = IP6_HDR + (size_t)(pkt[4] << 8 | pkt[5]);
	if (end > len)
		return -EBADMSG;
	nh = pkt[6];
	/* MLD always carries a Hop-by-Hop header (router alert) first. */
	if (nh == NH_HOPOPTS) {
		if (end - off < 8)
			return -EBADMSG;
		nh = pkt[off];
		size_t hl = ((size_t)pkt[off + 1] + 1) * 8;
		if (hl > end - off)
			return -EBADMSG;
		off += hl;
	}
	if (nh != NH_ICMPV6 || end - off < 4)
		return 0;
	switch (pkt[off]) {
	case MLD1_REPORT:
	case MLD1_DONE:
		if (end - off < 24)
			return -EBADMSG;
		memcpy(&r.group, pkt + off + 8, 16);
		r.join = pkt[off] == MLD1_REPORT;
		fn(ctx, &r);
		return 1;
	case MLD2_REPORT: {
		unsigned nrec;

		if (end - off < 8)
			return -EBADMSG;
		nrec = (unsigned)(pkt[off + 6] << 8 | pkt[off + 7]);
		off += 8;
		for (unsigned i = 0; i < nrec; i++) {
			size_t rl;
			unsigned type, nsrc;

			if (end - off < 20)
				return -EBADMSG;
			type = pkt[off];
			nsrc = (unsigned)(pkt[off + 2] << 8 | pkt[off + 3]);
			rl = 20 + (size_t)nsrc * 16 + (size_t)pkt[off + 1] * 4;
			if (rl > end - off)
				return -EBADMSG;
			memcpy(&r.group, pkt + off + 4, 16);
			/* IS_EX, TO_EX: (*,G) joined; IS_IN/TO_IN/ALLOW with
			 * sources: (S,G) joined; TO_IN with none: left. */
			switch (type) {
			case 1: case 3: case 5: r.join = nsrc > 0; break;
			case 2: case 4: r.join = true; break;
			case 6: r.join = false; break;
			default: off += rl; continue;
			}
			fn(ctx, &r);
			n++;
			off += rl;
		}
		return n;
	}
	default:
		return 0;
	}
}

int mld_socket(int ifindex)
{
	/* A bridge port hands every frame to the bridge before protocol
	 * handlers run, so only an ETH_P_ALL socket sees what the VM sends.
	 * The filter keeps IPv6 packets whose next header is Hop-by-Hop and
	 * whose ICMPv6 type (after an 8-byte HBH header) is an MLD report or
	 * done: the only packets the kernel copies to us. */
	static struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 7),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NH_HOPOPTS, 0, 5),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 48),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MLD2_REPORT, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MLD1_REPORT, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MLD1_DONE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = ifindex };
	int one = 1, fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	/* Filter first, then bind: nothing unfiltered gets queued. */
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
