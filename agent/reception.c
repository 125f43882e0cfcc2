/* Reception check: is a group's stream arriving natively on a bridge?
 * An AF_PACKET socket on the bridge sees what the bridge delivers to the
 * host (our proxy joins make it a member), filtered in the kernel to
 * multicast of scope 3 or wider; our own injected (relayed) packets are
 * outgoing and never seen here. */
#include "agent_int.h"
#include "log.h"
#include "util.h"
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Make room: forget groups not seen for a second (reception_seen asks
 * about the last second at most); if every one was, the oldest half. */
static void sweep(struct htab *h, uint64_t now)
{
	uint64_t cut = now - 1000000000ull;
	struct reception_seen *e;
	size_t it = 0;

	for (int pass = 0; pass < 2 && htab_count(h) >= RECEPTION_MAX; pass++) {
		while ((e = htab_next(h, &it)))
			if (e->last_ns < cut) {
				htab_remove(h, e);
				htab_next_after_remove(&it);
			}
		it = 0;
		cut = now - (now - cut) / 2;
	}
}

static void note(struct agentd *a, int br, const struct in6_addr *g, uint64_t now)
{
	struct htab *h = &a->br[br].seen;
	struct reception_seen key, *e;

	memset(&key, 0, sizeof(key));
	key.group = *g;
	if (!htab_find(h, &key) && htab_count(h) >= RECEPTION_MAX)
		sweep(h, now);
	if ((e = htab_insert(h, &key, NULL)))
		e->last_ns = now;
}

bool reception_seen(const struct agentd *a, int br, const struct in6_addr *group, uint64_t since_ns)
{
	struct reception_seen key, *e;

	memset(&key, 0, sizeof(key));
	key.group = *group;
	e = htab_find(&a->br[br].seen, &key);
	return e && e->last_ns && e->last_ns >= since_ns;
}

static void input(struct agentd *a, void *arg)
{
	int br = (int)(intptr_t)arg;
	uint8_t pkt[2048];

	for (int budget = 0; budget < 256; budget++) {
		ssize_t n = recv(a->br[br].pkt_fd, pkt, sizeof(pkt), 0);
		struct in6_addr g;
		uint64_t now;

		if (n < 0)
			return;
		/* The kernel filter already did this; a packet socket on a
		 * bridge can still hand us others (e.g. while it is set up). */
		if (n < 40 || (pkt[0] >> 4) != 6 || pkt[24] != 0xff || (pkt[25] & 0x0f) < 3)
			continue;
		memcpy(&g, pkt + 24, 16);
		now = now_ns();
		if (!reception_seen(a, br, &g, now - 1000000000ull))
			log_debug("%s: native %s arriving", a->br[br].name, a6(&g));
		note(a, br, &g, now);
		vm_native(a, br, &g);
		relay_client_native(a, br, pkt, (size_t)n);
	}
}

int reception_init(struct agentd *a, int br)
{
	/* dst[0] == 0xff and scope (dst[1] & 0xf) >= 3 (no link-local ND/MLD) */
	static struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 24),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xff, 0, 4),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 25),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x0f),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 3, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IPV6),
				   .sll_ifindex = a->br[br].ifindex };
	int one = 1, fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IPV6)), r;

	if (fd < 0)
		return log_warn("%s: packet socket", a->br[br].name), -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		log_warn("%s: packet socket", a->br[br].name);
		close(fd);
		return r;
	}
	a->br[br].pkt_fd = fd;
	return agentd_watch(a, fd, input, (void *)(intptr_t)br);
}
