/* gwlatency: how long after the IMS acknowledged an update the home
 * gateway's kernel map holds it (bench/gateway, issue 15 item 5 (c)).
 *
 *   gwlatency -s [IMS]:PORT -k KEYRING -i KEYID --vouch KEYRING --netns NS
 *             [--table T] [--set S] [--push-if IF] [--push-port P] [-n COUNT]
 *             [-w WINDOW] [-t MS] [--log FILE] HA... -- MA1 MA2
 *
 * It sends COUNT IMS updates as the owner of the HAs (KEYRING, KEYID),
 * each MA vouched for by the agent key in --vouch, every HA alternating
 * between MA1 and MA2 (plus its index, so no two HAs share an MA) so that
 * each update moves it (each HA is first sent
 * to MA2, unrecorded, so the first recorded update is a move too); WINDOW HAs have an
 * update in flight at once (default 1: one at a time). One process holds
 * both ends on one clock: the UDP socket to the IMS in the namespace it
 * was started in, and a netlink socket in NS (the gateway's: it is
 * opened after setns) subscribed to the nftables events, which the
 * kernel sends when a batch is committed: the moment the map holds the
 * new element, to the packet.
 *
 * Timestamps (CLOCK_REALTIME): the ACK's is the kernel's receive time of
 * the datagram (SO_TIMESTAMPNS), a few tens of microseconds after the IMS
 * sent it, so the interval is short of the true one by that much; the
 * map's is when the event is read, which is after the commit: nftables
 * events carry no timestamp, so the process waits in poll(2) for both at
 * once and reads the netlink socket first. A map event that comes before
 * its ACK counts as 0 (the push overtook the ACK).
 *
 * With --push-if (the gateway's interface towards the IMS), a packet
 * socket there timestamps each NOTIFY as it reaches the gateway's host
 * (SO_TIMESTAMPNS; UDP to --push-port, default 5302; parsed, not
 * authenticated: it only splits the interval in two): ACK -> push
 * arrival (the IMS and the network) and push arrival -> map (the
 * gateway: its wake-up, the message, the nftables commit).
 *
 * Prints one key=value line: n=, lost=, refused=, p50_ms=, p90_ms=,
 * p99_ms=, max_ms=, mean_ms=, rtt_p50_ms= (update to ACK), and with
 * --push-if push_p50_ms= push_p99_ms= gw_p50_ms= gw_p99_ms=; --log writes
 * "HA MA ack_ns map_ns push_ns" a line (push_ns 0 without --push-if). */
#include "conf.h"
#include "keys.h"
#include "util.h"
#include "wire.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define MAX_HA 64

struct ha_state {
	struct in6_addr ha;
	struct in6_addr ma[2];  /* MA1 and MA2 plus the HA's index: each its own */
	struct glm_vouch vouch[2];
	unsigned next;        /* which MA the next update names */
	bool inflight, acked, mapped;
	uint64_t seq, sent_ns, ack_ns, map_ns, push_ns;
	unsigned want;        /* the MA the update in flight names */
};

struct run {
	int udp, pkt;
	uint16_t push_port;
	struct mnl_socket *nl;
	const struct glm_key *ims;
	const char *table, *set;
	struct in6_addr ma[2];
	struct ha_state ha[MAX_HA];
	unsigned nha, window, count, started, done, lost, refused;
	bool priming;         /* prime(): nothing is recorded */
	int timeout_ms;
	uint64_t *lat, *rtt, *to_push, *in_gw;
	FILE *log;
};

static uint64_t rt_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int send_update(struct run *r, struct ha_state *h)
{
	struct glm_msg m = { .type = GLM_IMS_UPDATE };
	uint8_t buf[512];
	ssize_t n;

	h->want = h->next;
	h->next ^= 1;
	m.ha = h->ha;
	m.ma = h->ma[h->want];
	m.present |= 1u << GLM_TLV_HA | 1u << GLM_TLV_MA;
	GLM_SET(&m, lifetime, GLM_TLV_LIFETIME, 600);
	m.vouch = h->vouch[h->want];
	m.present |= 1u << GLM_TLV_VOUCH;
	m.key_id = r->ims->local_id;
	m.seq = seq_next();
	n = glm_msg_encode(&m, r->ims->secret, buf, sizeof(buf));
	if (n < 0 || send(r->udp, buf, (size_t)n, 0) < 0)
		return -1;
	h->seq = m.seq;
	h->sent_ns = rt_ns();
	h->inflight = true;
	h->acked = h->mapped = false;
	h->push_ns = 0;
	r->started++;
	return 0;
}

static void finish(struct run *r, struct ha_state *h)
{
	uint64_t d = h->map_ns > h->ack_ns ? h->map_ns - h->ack_ns : 0;

	h->inflight = false;
	if (r->priming)
		return;
	r->lat[r->done] = d;
	r->rtt[r->done] = h->ack_ns > h->sent_ns ? h->ack_ns - h->sent_ns : 0;
	if (r->pkt >= 0) {
		r->to_push[r->done] = h->push_ns > h->ack_ns ? h->push_ns - h->ack_ns : 0;
		r->in_gw[r->done] = h->map_ns > h->push_ns && h->push_ns ? h->map_ns - h->push_ns : 0;
	}
	r->done++;
	if (r->log) {
		char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

		fprintf(r->log, "%s %s %llu %llu %llu\n", inet_ntop(AF_INET6, &h->ha, a, sizeof(a)),
			inet_ntop(AF_INET6, &h->ma[h->want], b, sizeof(b)), (unsigned long long)h->ack_ns,
			(unsigned long long)h->map_ns, (unsigned long long)h->push_ns);
	}
}

static void on_ack(struct run *r)
{
	uint8_t buf[GLM_MSG_MAX];
	char cbuf[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;

	while ((n = recvmsg(r->udp, &mh, MSG_DONTWAIT)) >= 0) {
		uint64_t t = rt_ns();
		struct glm_msg m;

		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			}
		mh.msg_controllen = sizeof(cbuf);
		if (glm_msg_parse(buf, (size_t)n, &m) != GLM_PE_OK || m.key_id != r->ims->id ||
		    glm_msg_verify(buf, (size_t)n, r->ims->secret) != GLM_PE_OK || m.type != GLM_IMS_ACK)
			continue;
		for (unsigned i = 0; i < r->nha; i++) {
			struct ha_state *h = &r->ha[i];

			if (!h->inflight || h->acked || h->seq != m.seq)
				continue;
			if (!GLM_HAS(&m, GLM_TLV_STATUS) || m.status != GLM_ST_OK) {
				fprintf(stderr, "gwlatency: update refused: %s\n", glm_status_name(m.status));
				r->refused++;
				h->inflight = false;
				break;
			}
			h->acked = true;
			h->ack_ns = t;
			if (r->priming)
				h->inflight = false; /* a refresh changes nothing in the map */
			if (h->mapped)
				finish(r, h);
			break;
		}
	}
}

/* A NOTIFY as it reaches the gateway's host: IPv6, UDP, our message. */
static void on_push(struct run *r)
{
	uint8_t buf[2048];
	char cbuf[CMSG_SPACE(sizeof(struct timespec))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;

	while ((n = recvmsg(r->pkt, &mh, MSG_DONTWAIT)) >= 0) {
		uint64_t t = rt_ns();
		struct glm_msg m;

		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts;

				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
			}
		mh.msg_controllen = sizeof(cbuf);
		if (n < 48 || (buf[0] >> 4) != 6 || buf[6] != 17 || (buf[42] << 8 | buf[43]) != r->push_port ||
		    glm_msg_parse(buf + 48, (size_t)n - 48, &m) != GLM_PE_OK || m.type != GLM_NOTIFY ||
		    !GLM_HAS(&m, GLM_TLV_UPDATE_SEQ))
			continue;
		for (unsigned i = 0; i < r->nha; i++) {
			struct ha_state *h = &r->ha[i];

			if (h->inflight && !h->push_ns && h->seq == m.update_seq && !memcmp(&h->ha, &m.ha, 16))
				h->push_ns = t;
		}
	}
}

struct nl_ctx {
	struct run *r;
	uint64_t t;
};

static int on_nl_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct nl_ctx *c = arg;
	struct run *r = c->r;
	struct nftnl_set *s;
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFT_MSG_NEWSETELEM)
		return MNL_CB_OK;
	s = nftnl_set_alloc();
	if (!s || nftnl_set_elems_nlmsg_parse(nlh, s) < 0 ||
	    strcmp(nftnl_set_get_str(s, NFTNL_SET_TABLE) ?: "", r->table) ||
	    strcmp(nftnl_set_get_str(s, NFTNL_SET_NAME) ?: "", r->set)) {
		nftnl_set_free(s);
		return MNL_CB_OK;
	}
	it = nftnl_set_elems_iter_create(s);
	while (it && (e = nftnl_set_elems_iter_next(it))) {
		uint32_t kl = 0, dl = 0;
		const void *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
		const void *d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dl);

		if (!k || !d || kl != 16 || dl != 16)
			continue;
		for (unsigned i = 0; i < r->nha; i++) {
			struct ha_state *h = &r->ha[i];

			if (!h->inflight || h->mapped || memcmp(k, &h->ha, 16) || memcmp(d, &h->ma[h->want], 16))
				continue;
			h->mapped = true;
			h->map_ns = c->t;
			if (h->acked)
				finish(r, h);
		}
	}
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int on_nl(struct run *r)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nl_ctx c = { r, rt_ns() };
	ssize_t n;

	while ((n = mnl_socket_recvfrom(r->nl, buf, sizeof(buf))) > 0)
		if (mnl_cb_run(buf, (size_t)n, 0, 0, on_nl_msg, &c) < 0 && errno != ENOENT)
			break;
	if (n < 0 && errno == ENOBUFS) {
		fprintf(stderr, "gwlatency: netlink events lost (ENOBUFS)\n");
		return -1;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, unsigned n, double p)
{
	unsigned i = (unsigned)(p * n);

	return n ? ns_to_ms(v[i < n ? i : n - 1]) : 0;
}

/* Each HA to MA2 first, unrecorded: the series then starts with a move
 * to MA1 whatever the HA held (an update to the MA it holds is a refresh,
 * which leaves the kernel's map alone and would never be seen there). */
static int prime(struct run *r)
{
	uint64_t end;

	r->priming = true;
	for (unsigned i = 0; i < r->nha; i++) {
		r->ha[i].next = 1;
		if (send_update(r, &r->ha[i]) < 0)
			return -1;
	}
	end = rt_ns() + (uint64_t)r->timeout_ms * 1000000ull;
	for (;;) {
		struct pollfd p[3] = { { .fd = r->pkt, .events = POLLIN },
				       { .fd = mnl_socket_get_fd(r->nl), .events = POLLIN },
				       { .fd = r->udp, .events = POLLIN } };
		unsigned busy = 0;

		for (unsigned i = 0; i < r->nha; i++)
			busy += r->ha[i].inflight;
		if (!busy)
			break;
		if (rt_ns() > end) {
			fprintf(stderr, "gwlatency: priming: %u updates unanswered\n", busy);
			return -1;
		}
		if (poll(p, 3, 100) < 0 && errno != EINTR)
			return -1;
		if (p[0].revents)
			on_push(r);
		if (p[1].revents && on_nl(r) < 0)
			return -1;
		if (p[2].revents)
			on_ack(r);
	}
	/* the last commits' events, then a clean start */
	usleep(200000);
	if (r->pkt >= 0)
		on_push(r);
	on_nl(r);
	for (unsigned i = 0; i < r->nha; i++)
		r->ha[i].inflight = false;
	r->started = r->refused = 0;
	r->priming = false;
	return 0;
}

static int run_all(struct run *r)
{
	if (prime(r) < 0)
		return EX_UNAVAILABLE;
	while (r->done + r->lost + r->refused < r->count) {
		struct pollfd p[3] = { { .fd = r->pkt, .events = POLLIN },
				       { .fd = mnl_socket_get_fd(r->nl), .events = POLLIN },
				       { .fd = r->udp, .events = POLLIN } };
		uint64_t now = rt_ns();
		int n;

		for (unsigned i = 0, busy = 0; i < r->nha; i++) {
			struct ha_state *h = &r->ha[i];

			busy += h->inflight;
			if (h->inflight && now - h->sent_ns > (uint64_t)r->timeout_ms * 1000000ull) {
				fprintf(stderr, "gwlatency: update %u: %s after %d ms\n", r->started,
					h->acked ? "acked, never in the map" : "never acked", r->timeout_ms);
				h->inflight = false;
				r->lost++;
				busy--;
			}
			if (!h->inflight && busy < r->window && r->started < r->count) {
				if (send_update(r, h) < 0) {
					perror("gwlatency: send");
					return EX_UNAVAILABLE;
				}
				busy++;
			}
		}
		n = poll(p, 3, 100);
		if (n < 0 && errno != EINTR)
			return EX_OSERR;
		if (p[0].revents)
			on_push(r);
		if (p[1].revents && on_nl(r) < 0)
			return EX_SOFTWARE;
		if (p[2].revents)
			on_ack(r);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: gwlatency -s [IMS]:PORT -k KEYRING -i KEYID --vouch KEYRING --netns NS\n"
		   "                 [--table T] [--set S] [-n COUNT] [-w WINDOW] [-t MS] [--log FILE]\n"
		   "                 HA... -- MA1 MA2\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "vouch", required_argument, 0, 'v' }, { "netns", required_argument, 0, 'N' },
		{ "table", required_argument, 0, 'T' }, { "set", required_argument, 0, 'S' },
		{ "log", required_argument, 0, 'l' }, { "push-if", required_argument, 0, 'P' },
		{ "push-port", required_argument, 0, 'p' }, { "help", no_argument, 0, 'h' }, { 0 },
	};
	struct run r = { .udp = -1, .pkt = -1, .push_port = 5302, .table = "glm_gw", .set = "ha2ma", .window = 1, .count = 1000, .timeout_ms = 2000 };
	const char *server = NULL, *keyring = NULL, *vouch = NULL, *netns = NULL, *logf = NULL, *push_if = NULL;
	struct glm_keyring kr = { 0 }, vk = { 0 };
	struct sockaddr_in6 sa;
	uint32_t key_id = 0, v;
	int code = EX_USAGE, c, one = 1, i, nsfd;

	while ((c = getopt_long(argc, argv, "+s:k:i:n:w:t:h", lo, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'k': keyring = optarg; break;
		case 'i': if (parse_u32(optarg, 1, UINT32_MAX, &key_id)) goto bad; break;
		case 'n': if (parse_u32(optarg, 1, 10000000, &r.count)) goto bad; break;
		case 'w': if (parse_u32(optarg, 1, MAX_HA, &r.window)) goto bad; break;
		case 't': if (parse_u32(optarg, 1, 600000, &v)) goto bad; r.timeout_ms = (int)v; break;
		case 'v': vouch = optarg; break;
		case 'N': netns = optarg; break;
		case 'T': r.table = optarg; break;
		case 'S': r.set = optarg; break;
		case 'l': logf = optarg; break;
		case 'P': push_if = optarg; break;
		case 'p': if (parse_u32(optarg, 1, 65535, &v)) goto bad; r.push_port = (uint16_t)v; break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	for (i = optind; i < argc && strcmp(argv[i], "--"); i++) {
		if (r.nha == MAX_HA || parse_in6(argv[i], &r.ha[r.nha].ha))
			goto bad;
		r.nha++;
	}
	if (!server || !keyring || !key_id || !vouch || !netns || !r.nha || i + 3 != argc ||
	    parse_in6(argv[i + 1], &r.ma[0]) || parse_in6(argv[i + 2], &r.ma[1]) ||
	    parse_sockaddr6(server, 5300, &sa))
		goto bad;
	if (r.window > r.nha)
		r.window = r.nha;
	if (keyring_load(keyring, &kr) < 0 || keyring_load(vouch, &vk) < 0) {
		code = EX_CONFIG;
		goto cleanup;
	}
	r.ims = keyring_peer(&kr, GLM_ROLE_BIT(GLM_ROLE_IMS), &sa.sin6_addr);
	if (kr.self_id != key_id || !r.ims) {
		fprintf(stderr, "gwlatency: %s: %s\n", keyring,
			kr.self_id != key_id ? "its private key is not the -i key" : "no ims key for the server");
		code = EX_CONFIG;
		goto cleanup;
	}
	/* Two home addresses are never at one MA: the gateway's ma2ha map
	 * keeps MAs unique, and refuses an MA another HA holds. HA number h
	 * alternates between MA1 + h * 256 and MA2 + h * 256 (in the last 16
	 * bits: apart as long as MA1 and MA2 differ in the last byte). */
	for (unsigned h = 0; h < r.nha; h++)
		for (unsigned m = 0; m < 2; m++) {
			struct in6_addr *a = &r.ha[h].ma[m];
			unsigned low;

			*a = r.ma[m];
			low = ((unsigned)a->s6_addr[14] << 8 | a->s6_addr[15]) + h * 256;
			a->s6_addr[14] = (uint8_t)(low >> 8);
			a->s6_addr[15] = (uint8_t)low;
			glm_vouch_sign(&vk, &r.ha[h].ha, a, realtime_ns() / 1000000000ull + 3600, &r.ha[h].vouch[m]);
		}
	r.lat = calloc(r.count, sizeof(*r.lat));
	r.rtt = calloc(r.count, sizeof(*r.rtt));
	r.to_push = calloc(r.count, sizeof(*r.to_push));
	r.in_gw = calloc(r.count, sizeof(*r.in_gw));
	if (!r.lat || !r.rtt || !r.to_push || !r.in_gw) {
		code = EX_OSERR;
		goto cleanup;
	}
	/* the IMS's socket here, the gateway's events there */
	r.udp = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (r.udp < 0 || connect(r.udp, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    setsockopt(r.udp, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) {
		fprintf(stderr, "gwlatency: %s: %s\n", server, strerror(errno));
		code = EX_UNAVAILABLE;
		goto cleanup;
	}
	{
		char path[256];

		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
			fprintf(stderr, "gwlatency: netns %s: %s\n", netns, strerror(errno));
			code = EX_OSERR;
			goto cleanup;
		}
		close(nsfd);
	}
	r.nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!r.nl || mnl_socket_bind(r.nl, 1u << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
		perror("gwlatency: netlink");
		code = EX_OSERR;
		goto cleanup;
	}
	{
		int rb = 8 << 20;

		setsockopt(mnl_socket_get_fd(r.nl), SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb));
	}
	if (push_if) {
		struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IPV6),
					  .sll_ifindex = (int)if_nametoindex(push_if) };

		r.pkt = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IPV6));
		if (r.pkt < 0 || !ll.sll_ifindex || bind(r.pkt, (struct sockaddr *)&ll, sizeof(ll)) < 0 ||
		    setsockopt(r.pkt, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) {
			fprintf(stderr, "gwlatency: --push-if %s: %s\n", push_if, strerror(errno));
			code = EX_OSERR;
			goto cleanup;
		}
	}
	if (logf && !(r.log = fopen(logf, "w"))) {
		fprintf(stderr, "gwlatency: %s: %s\n", logf, strerror(errno));
		code = EX_CANTCREAT;
		goto cleanup;
	}
	code = run_all(&r);
	{
		double sum = 0;

		for (unsigned k = 0; k < r.done; k++)
			sum += ns_to_ms(r.lat[k]);
		qsort(r.lat, r.done, sizeof(*r.lat), cmp_u64);
		qsort(r.rtt, r.done, sizeof(*r.rtt), cmp_u64);
		printf("n=%u lost=%u refused=%u window=%u p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f mean_ms=%.3f "
		       "rtt_p50_ms=%.3f rtt_p99_ms=%.3f\n",
		       r.done, r.lost, r.refused, r.window, pct(r.lat, r.done, .5), pct(r.lat, r.done, .9),
		       pct(r.lat, r.done, .99), r.done ? ns_to_ms(r.lat[r.done - 1]) : 0, r.done ? sum / r.done : 0,
		       pct(r.rtt, r.done, .5), pct(r.rtt, r.done, .99));
		if (r.pkt >= 0) {
			qsort(r.to_push, r.done, sizeof(*r.to_push), cmp_u64);
			qsort(r.in_gw, r.done, sizeof(*r.in_gw), cmp_u64);
			printf("push_p50_ms=%.3f push_p99_ms=%.3f gw_p50_ms=%.3f gw_p99_ms=%.3f\n", pct(r.to_push, r.done, .5),
			       pct(r.to_push, r.done, .99), pct(r.in_gw, r.done, .5), pct(r.in_gw, r.done, .99));
		}
	}
	if (!code && (r.lost || r.refused))
		code = 1;
	goto cleanup;
bad:
	usage(stderr);
cleanup:
	if (r.log)
		fclose(r.log);
	if (r.nl)
		mnl_socket_close(r.nl);
	if (r.udp >= 0)
		close(r.udp);
	if (r.pkt >= 0)
		close(r.pkt);
	free(r.to_push);
	free(r.in_gw);
	free(r.lat);
	free(r.rtt);
	keyring_free(&kr);
	keyring_free(&vk);
	return code;
}
