/* After a move, get every TCP session of the home address going again.
 *
 * Between the resume and the correspondent learning the new MA, the guest
 * may send (its frames reach the peer through the new link), but the
 * peer's ACKs go to the old MA and are lost. A sender that waits for them
 * (Nagle, a full window) then sits until its retransmission timer, 200 ms
 * or more. As soon as a correspondent acked its binding update, matd
 * sends on each established TCP connection of the HA with it one segment
 * outside the peer's receive window; the peer answers it with an ACK of
 * what it has received (RFC 793 3.9; RFC 5961 5: at most one per 500 ms
 * and connection on Linux), which now reaches the new MA, and the guest's
 * TCP goes on. Sessions with other peers (bindings from the IMS) are asked
 * with the output switch (post_switch in mobile.c).
 *
 * The connections come from sock_diag (NETLINK_SOCK_DIAG, inet_diag),
 * listed when the agent's PREPARE comes, before the move (a just-resumed
 * TCG guest takes 10-15 ms for the dump), or at the switch of an
 * unprepared move; one opened in between is left to the correspondent's
 * own request (below) or its retransmission timer. The segment leaves
 * through a raw socket from the new MA itself: the output translation
 * still maps the HA to the old MA (it moves after every correspondent
 * acked, with the deferred work), and the peer, which has the new
 * binding, maps the new MA to the HA.
 *
 * A correspondent running matd does the same for its side the moment it
 * installs the moved binding (tcp_kick_peer): a segment from the peer's
 * HA to itself, injected through a raw IPv6 socket, on each of its own
 * sessions with the peer, which makes its TCP send the ACK to the new MA
 * tens of ms before the peer, just resumed, has read our binding ack. The
 * peer's own segment that follows is then within Linux's 500 ms limit and
 * goes unanswered, which is fine: one ACK is all it takes. */
#include "matd.h"
#include "log.h"
#include "rtnl.h"
#include "util.h"
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct diag_arg {
	const struct in6_addr *addr;
	bool remote; /* addr is the remote end, not the local one */
	struct kick_list *l;
};

static int diag_msg(const struct nlmsghdr *nlh, void *arg)
{
	const struct diag_arg *a = arg;
	struct kick_list *l = a->l;
	const struct inet_diag_msg *m;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY || mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return 0;
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET6 || memcmp(a->remote ? m->id.idiag_dst : m->id.idiag_src, a->addr, 16) ||
	    l->n == KICK_MAX)
		return 0;
	memcpy(&l->c[l->n].src, m->id.idiag_src, 16);
	memcpy(&l->c[l->n].dst, m->id.idiag_dst, 16);
	l->c[l->n].sport = m->id.idiag_sport;
	l->c[l->n].dport = m->id.idiag_dport;
	l->c[l->n].done = false;
	l->n++;
	return 0;
}

/* The established TCP connections whose local (or remote) address is addr. */
static int tcp_sessions(const struct in6_addr *addr, bool remote, struct kick_list *l)
{
	static char tx[256] __attribute__((aligned(4))), rx[16384] __attribute__((aligned(4)));
	struct diag_arg a = { addr, remote, l };
	struct inet_diag_req_v2 *req;
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	uint32_t portid, seq;
	char err[256];
	int r;

	l->n = 0;
	if (!(nl = nl_request_open(NETLINK_SOCK_DIAG, &portid, &seq)))
		return -errno;
	nlh = mnl_nlmsg_put_header(tx);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = AF_INET6;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = 1u << 1; /* TCP_ESTABLISHED */
	r = nl_talk(nl, portid, &seq, rx, sizeof(rx), nlh, diag_msg, &a, err, sizeof(err));
	mnl_socket_close(nl);
	return r;
}

int tcp_kick_open(struct matd *d)
{
	int off = 16;

	d->kick_fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);
	if (d->kick_fd < 0 || setsockopt(d->kick_fd, IPPROTO_IPV6, IPV6_CHECKSUM, &off, sizeof(off)) < 0) {
		int r = -errno;

		if (d->kick_fd >= 0)
			close(d->kick_fd);
		d->kick_fd = -1;
		return r;
	}
	return 0;
}

int tcp_kick_list(struct matd *d)
{
	struct kick_list *l = &d->kick;
	uint64_t t0 = now_ns();
	int r;

	if (l->loaded)
		return (int)l->n;
	if (d->kick_fd < 0)
		return 0;
	if ((r = tcp_sessions(&d->conf.ha, false, l)) < 0) {
		log_warnx("TCP sessions of %s: sock_diag: %s", a6(&d->conf.ha), strerror(-r));
		return r;
	}
	l->loaded = true;
	log_debug("%u TCP sessions of %s listed in %.3f ms", l->n, a6(&d->conf.ha), ns_to_ms(now_ns() - t0));
	return (int)l->n;
}

/* The segments' sequence numbers only need to be unlikely inside a
 * window: no getrandom(), which blocks in a guest booted moments ago until
 * its entropy pool is ready (0.8 s in a TCG guest). */
static uint32_t kick_seq(struct matd *d)
{
	uint64_t x = d->kick_rng; /* xorshift64 */

	if (!x)
		x = now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	d->kick_rng = x;
	return (uint32_t)(x >> 32);
}

int tcp_kick(struct matd *d, const struct in6_addr *from, const struct in6_addr *peer)
{
	struct kick_list *l = &d->kick;
	int r, sent = 0, due = 0;

	if (d->kick_fd < 0)
		return -EBADF;
	if ((r = tcp_kick_list(d)) <= 0)
		return r;
	for (unsigned i = 0; i < l->n; i++) {
		struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = l->c[i].dst };
		struct tcphdr th = { 0 };

		if (l->c[i].done || (peer && memcmp(&l->c[i].dst, peer, 16)))
			continue;
		l->c[i].done = true; /* one try: the peer answers at most once per 500 ms anyway */
		due++;
		th.th_sport = l->c[i].sport;
		th.th_dport = l->c[i].dport;
		/* outside the peer's window (up to a few MB of 4 GB) but for a
		 * chance the peer just drops */
		th.th_seq = htonl(kick_seq(d));
		th.th_off = 5;
		th.th_flags = TH_ACK;
		th.th_win = htons(1024);
		/* a peer that does not translate (home-gateway) knows only
		 * the HA: a segment from the MA would be answered with a
		 * reset; from the HA its ACK comes through the gateway */
		if (sendto_from(d->kick_fd, &th, sizeof(th), &to, matd_peer_translates(d, &to.sin6_addr) ? from :
				&d->conf.ha, 0) >= 0)
			sent++;
	}
	if (!due)
		return 0;
	log_debug("handover: TCP sessions asked %.3f ms after the trigger", ns_to_ms(now_ns() - d->ho.t_event));
	log_info("%d of %d TCP sessions of %s%s%s asked their peers for an ACK to %s", sent, due, a6(&d->conf.ha),
		 peer ? " with " : "", peer ? a6(peer) : "", a6(from));
	return sent;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	return sum;
}

int tcp_kick_peer(struct matd *d, const struct in6_addr *ha)
{
	static struct kick_list l;
	int r, sent = 0;

	if (d->inject_fd < 0) {
		d->inject_fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW); /* header included */
		if (d->inject_fd < 0) {
			log_warnx("raw IPv6 socket: %s; our TCP sessions with moved peers wait for them", strerror(errno));
			return -errno;
		}
	}
	if ((r = tcp_sessions(ha, true, &l)) < 0) {
		log_warnx("TCP sessions with %s: sock_diag: %s", a6(ha), strerror(-r));
		return r;
	}
	for (unsigned i = 0; i < l.n; i++) {
		struct {
			struct ip6_hdr ip;
			struct tcphdr th;
		} __attribute__((packed)) pk = { 0 };
		struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = l.c[i].src };
		uint32_t sum = IPPROTO_TCP + sizeof(pk.th); /* pseudo-header: length, next header */

		pk.ip.ip6_flow = htonl(6u << 28);
		pk.ip.ip6_plen = htons(sizeof(pk.th));
		pk.ip.ip6_nxt = IPPROTO_TCP;
		pk.ip.ip6_hlim = 64;
		pk.ip.ip6_src = l.c[i].dst; /* from the peer's HA, to us */
		pk.ip.ip6_dst = l.c[i].src;
		pk.th.th_sport = l.c[i].dport;
		pk.th.th_dport = l.c[i].sport;
		pk.th.th_seq = htonl(kick_seq(d));
		pk.th.th_ack = htonl(kick_seq(d));
		pk.th.th_off = 5;
		pk.th.th_flags = TH_ACK;
		pk.th.th_win = htons(1024);
		sum = csum_add(sum, &pk.ip.ip6_src, 32);
		sum = csum_add(sum, &pk.th, sizeof(pk.th));
		pk.th.th_sum = htons(csum_fold(sum));
		if (sendto(d->inject_fd, &pk, sizeof(pk), 0, (struct sockaddr *)&to, sizeof(to)) == (ssize_t)sizeof(pk))
			sent++;
	}
	if (l.n)
		log_info("%d of %u of our TCP sessions with %s asked for an ACK to its new MA", sent, l.n, a6(ha));
	return sent;
}
