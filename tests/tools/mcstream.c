/* mcstream: a sequence-numbered IPv6 multicast stream that measures what a
 * migration does to a multicast receiver. The sender sends fixed-size UDP
 * datagrams to [GROUP]:PORT out of one interface at a steady rate
 * (absolute deadlines, so a stall is not smeared into the schedule); the
 * receiver joins the group on one interface (MCAST_JOIN_GROUP by ifindex,
 * RFC 3678) and counts what arrives: received, lost (sequence gaps),
 * duplicates (the same sequence number twice: a relayed copy and the
 * native one), reordered, the largest inter-arrival gap and every gap
 * longer than a threshold with its wall-clock time, and the sequence
 * numbers of the first MAX_DUPS duplicates (to place them in time).
 * Arrival times are the kernel's receive timestamps (SO_TIMESTAMPNS), so
 * a receiver that is scheduled late on a busy box still measures the
 * network's gap.
 * first_delay_ms is the one-way delay of the first packet received (with
 * a stream started after the join: the cost of the first packet, e.g. a
 * multicast router's upcall and route install); first_rx - joined_at is
 * the time from the join to the first packet.
 *
 *   mcstream send --group G --port P --ifname IF [--rate PPS] [--size B]
 *                 [--duration S] [--hops N] [--source ADDR] [--rt-prio N] [--json]
 *   mcstream recv --group G --port P --ifname IF [--duration S] [--idle S]
 *                 [--linger S] [--gap-ms MS] [--json]
 *
 * A receiver may join a stream that is already running: "lost" counts the
 * sequence numbers missing between the first one it received and the
 * last one sent (the sender's FIN records carry the total) or received.
 * Output: one key=value line, or one JSON object with --json, with the
 * field names of seqstream's receiver report. Exit: 0 fine, 1 an error
 * during the run, sysexits for usage and set-up failures. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define PKT_MAGIC 0x676c6d6du /* "glmm" */
#define PKT_HDR 40
#define MAX_GAPS 2000
#define MAX_DUPS 256
#define BATCH 64
#define FIN_COPIES 3

enum pkt_type { PKT_DATA = 0, PKT_FIN = 3 };

/* Wire layout, big-endian: magic u32, type u16, size u16, rate u32,
 * stream u32 (random per sender run), seq u64, send time u64
 * (CLOCK_REALTIME ns: every netns shares it, so the receiver can compute
 * the one-way delay), reserved u64. A FIN's seq is the number sent. */
struct pkt {
	uint32_t magic;
	uint16_t type;
	uint16_t size;
	uint32_t rate;
	uint32_t stream;
	uint64_t seq;
	uint64_t send_ns;
};

struct opts {
	bool json;
	struct in6_addr group, source;
	bool have_group, have_source;
	unsigned port, ifindex, hops;
	int rt_prio;
	const char *ifname;
	double rate, duration, idle, linger, gap_ms;
	size_t size;
};

struct gap {
	double at;    /* wall clock (epoch s) of the last arrival before the gap */
	double ms;
	uint64_t seq; /* first packet after the gap */
	double send_ms; /* the same gap in the sender's time: a paused guest's own clock stops */
};

struct stats {
	/* sender */
	uint64_t sent, tx_errors;
	/* receiver */
	uint64_t received, lost, reordered, dup, foreign, total_sent;
	bool have_total, eof, have_rx;
	uint32_t stream;
	uint64_t first_seq, max_seq;
	uint64_t joined_at, first_rx, last_rx, max_gap, max_gap_at, max_delay, first_delay; /* realtime ns */
	uint64_t last_send; /* send time of the last packet received */
	uint64_t gap_thresh;
	struct gap gaps[MAX_GAPS];
	unsigned ngaps, gaps_total;
	uint64_t dups[MAX_DUPS]; /* sequence numbers of the first duplicates */
	uint8_t *seen; /* one bit per sequence number from first_seq on */
	size_t seen_bytes;
	char error[256];
};

static volatile sig_atomic_t stop_sig;
static sigset_t run_mask; /* the mask ppoll waits with: signals unblocked */

static void on_signal(int sig) { stop_sig = sig; }

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double epoch_s(uint64_t ns) { return (double)ns / 1e9; }
static uint64_t secs_ns(double s) { return s > 0 ? (uint64_t)(s * 1e9) : 0; }

static void set_error(struct stats *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct stats *st, const char *fmt, ...)
{
	va_list ap;

	if (st->error[0])
		return; /* keep the first cause */
	va_start(ap, fmt);
	vsnprintf(st->error, sizeof(st->error), fmt, ap);
	va_end(ap);
}

static void put16(uint8_t *p, uint16_t v) { v = htobe16(v); memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return be16toh(v); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }

static void pkt_encode(uint8_t *buf, size_t size, enum pkt_type type, uint32_t rate, uint32_t stream,
		       uint64_t seq, uint64_t ts)
{
	memset(buf, 0, PKT_HDR);
	put32(buf, PKT_MAGIC);
	put16(buf + 4, type);
	put16(buf + 6, (uint16_t)size);
	put32(buf + 8, rate);
	put32(buf + 12, stream);
	put64(buf + 16, seq);
	put64(buf + 24, ts);
	/* Padding is a function of seq, so a mangled copy is caught. */
	for (size_t i = PKT_HDR; i < size; i++)
		buf[i] = (uint8_t)(seq + i);
}

/* -EINVAL if the bytes are not one of our packets. */
static int pkt_decode(const uint8_t *buf, size_t len, struct pkt *p)
{
	if (len < PKT_HDR)
		return -EINVAL;
	p->magic = get32(buf);
	p->type = get16(buf + 4);
	p->size = get16(buf + 6);
	p->rate = get32(buf + 8);
	p->stream = get32(buf + 12);
	p->seq = get64(buf + 16);
	p->send_ns = get64(buf + 24);
	if (p->magic != PKT_MAGIC || p->size != len)
		return -EINVAL;
	if (p->type == PKT_DATA)
		for (size_t i = PKT_HDR; i < len; i++)
			if (buf[i] != (uint8_t)(p->seq + i))
				return -EINVAL;
	return 0;
}

/* Sleep until the absolute monotonic deadline, or a signal. Signals are
 * blocked except inside ppoll, so a stop is never lost. */
static void sleep_until(uint64_t deadline)
{
	uint64_t now = now_ns();
	struct timespec ts;

	if (deadline <= now)
		return;
	ts.tv_sec = (deadline - now) / 1000000000ull;
	ts.tv_nsec = (deadline - now) % 1000000000ull;
	ppoll(NULL, 0, &ts, &run_mask);
}

/* ---- sender ---- */

static int run_sender(const struct opts *o, struct stats *st)
{
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)o->port),
				    .sin6_addr = o->group };
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), zero = 0, hops = (int)o->hops;
	uint64_t interval = (uint64_t)(1e9 / o->rate), start, next, end;
	uint32_t stream;
	uint8_t buf[1500];
	int rc = 0;

	if (fd < 0) {
		set_error(st, "socket: %s", strerror(errno));
		return -EX_OSERR;
	}
	if (getrandom(&stream, sizeof(stream), 0) != sizeof(stream))
		stream = (uint32_t)real_ns() ^ (uint32_t)getpid();
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &o->ifindex, sizeof(o->ifindex)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof(zero)) < 0) {
		set_error(st, "multicast options on %s: %s", o->ifname, strerror(errno));
		rc = -EX_OSERR;
		goto cleanup;
	}
	if (o->have_source) {
		struct sockaddr_in6 src = { .sin6_family = AF_INET6, .sin6_addr = o->source };

		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			set_error(st, "bind %s: %s", a6(&o->source), strerror(errno));
			rc = -EX_UNAVAILABLE;
			goto cleanup;
		}
	}
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		set_error(st, "connect [%s]:%u via %s: %s", a6(&o->group), o->port, o->ifname,
			  strerror(errno));
		rc = -EX_UNAVAILABLE;
		goto cleanup;
	}
	start = next = now_ns();
	end = o->duration > 0 ? start + secs_ns(o->duration) : 0;
	while (!stop_sig) {
		uint64_t now = now_ns();

		if (end && now >= end)
			break;
		/* Every packet that is due, stamped now; late ones go out in a burst. */
		while (next <= now && (!end || next < end)) {
			pkt_encode(buf, o->size, PKT_DATA, (uint32_t)o->rate, stream, st->sent, real_ns());
			if (send(fd, buf, o->size, 0) < 0)
				st->tx_errors++;
			st->sent++;
			next += interval;
		}
		sleep_until(end && end < next ? end : next);
	}
	pkt_encode(buf, PKT_HDR, PKT_FIN, (uint32_t)o->rate, stream, st->sent, real_ns());
	for (int i = 0; i < FIN_COPIES; i++)
		if (send(fd, buf, PKT_HDR, 0) < 0)
			st->tx_errors++;
cleanup:
	close(fd);
	return rc;
}

/* ---- receiver ---- */

/* Set the bit of seq, return whether it was set already. */
static bool seen_test_set(struct stats *st, uint64_t seq)
{
	uint64_t off = seq - st->first_seq;
	size_t byte = off / 8;

	if (byte >= st->seen_bytes) {
		size_t n = st->seen_bytes ? st->seen_bytes : 4096;

		while (n <= byte)
			n *= 2;
		uint8_t *p = realloc(st->seen, n);

		if (!p)
			return false; /* out of memory: count as new */
		memset(p + st->seen_bytes, 0, n - st->seen_bytes);
		st->seen = p;
		st->seen_bytes = n;
	}
	bool was = st->seen[byte] & (1u << (off % 8));

	st->seen[byte] |= 1u << (off % 8);
	return was;
}

static void note_arrival(struct stats *st, const struct opts *o, uint64_t t, const struct pkt *p)
{
	if (!st->gap_thresh) {
		if (o->gap_ms > 0)
			st->gap_thresh = secs_ns(o->gap_ms / 1000);
		else if (p->rate)
			st->gap_thresh = 3 * (uint64_t)(1e9 / p->rate);
		else
			st->gap_thresh = 3000000;
	}
	if (t > p->send_ns && t - p->send_ns > st->max_delay)
		st->max_delay = t - p->send_ns;
	if (!st->have_rx) {
		st->have_rx = true;
		st->first_rx = st->last_rx = t;
		st->first_delay = t > p->send_ns ? t - p->send_ns : 0;
		st->last_send = p->send_ns;
		return;
	}
	if (t <= st->last_rx)
		return;
	uint64_t g = t - st->last_rx, sg = p->send_ns > st->last_send ? p->send_ns - st->last_send : 0;

	if (g > st->max_gap) {
		st->max_gap = g;
		st->max_gap_at = st->last_rx;
	}
	if (g > st->gap_thresh) {
		if (st->ngaps < MAX_GAPS)
			st->gaps[st->ngaps++] = (struct gap){ epoch_s(st->last_rx), ns_to_ms(g), p->seq, ns_to_ms(sg) };
		st->gaps_total++;
	}
	st->last_rx = t;
	st->last_send = p->send_ns;
}

/* One datagram; false when the stream has ended (FIN). */
static bool account(struct stats *st, const struct opts *o, const uint8_t *buf, size_t len, uint64_t t)
{
	struct pkt p;

	if (pkt_decode(buf, len, &p) < 0)
		return true; /* not ours */
	if (!st->received && !st->have_total && p.type == PKT_DATA) {
		st->stream = p.stream;
		st->first_seq = st->max_seq = p.seq;
	} else if (p.stream != st->stream) {
		st->foreign++; /* another sender, or an earlier run of it */
		return true;
	}
	if (p.type == PKT_FIN) {
		if (!st->received)
			return true; /* the end of a stream we saw nothing of */
		st->total_sent = p.seq;
		st->have_total = st->eof = true;
		return false;
	}
	if (p.type != PKT_DATA)
		return true;
	if (p.seq < st->first_seq) {
		st->reordered++; /* older than the first we saw: not counted */
		return true;
	}
	if (seen_test_set(st, p.seq)) {
		if (st->dup < MAX_DUPS)
			st->dups[st->dup] = p.seq;
		st->dup++;
		return true;
	}
	if (st->received && p.seq < st->max_seq)
		st->reordered++;
	if (p.seq > st->max_seq)
		st->max_seq = p.seq;
	st->received++;
	note_arrival(st, o, t, &p);
	return true;
}

static int run_receiver(const struct opts *o, struct stats *st)
{
	struct sockaddr_in6 local = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)o->port),
				      .sin6_addr = o->group };
	struct group_req gr = { .gr_interface = o->ifindex };
	struct sockaddr_in6 *g6 = (struct sockaddr_in6 *)&gr.gr_group;
	static uint8_t bufs[BATCH][2048];
	static char cbufs[BATCH][CMSG_SPACE(sizeof(struct timespec))];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1, zero = 0;
	int rcvbuf = 4 << 20, rc = 0;
	uint64_t end, linger_end = 0;
	bool done = false;

	if (fd < 0) {
		set_error(st, "socket: %s", strerror(errno));
		return -EX_OSERR;
	}
	/* Several receivers of one group may share a netns (SO_REUSEADDR); a
	 * socket bound to the group sees only that group, and with
	 * IPV6_MULTICAST_ALL off only the joins made on it. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
		set_error(st, "bind [%s]:%u: %s", a6(&o->group), o->port, strerror(errno));
		rc = -EX_UNAVAILABLE;
		goto cleanup;
	}
	g6->sin6_family = AF_INET6;
	g6->sin6_addr = o->group;
	if (setsockopt(fd, IPPROTO_IPV6, MCAST_JOIN_GROUP, &gr, sizeof(gr)) < 0) {
		set_error(st, "join %s on %s: %s", a6(&o->group), o->ifname, strerror(errno));
		rc = -EX_UNAVAILABLE;
		goto cleanup;
	}
	st->joined_at = real_ns();
	end = o->duration > 0 ? now_ns() + secs_ns(o->duration) : 0;

	while (!stop_sig && !done) {
		uint64_t deadline = end, mono = now_ns();

		if (linger_end && (!deadline || linger_end < deadline))
			deadline = linger_end;
		if (o->idle > 0 && st->have_rx) {
			/* last_rx is wall-clock; turn it into a monotonic deadline */
			uint64_t since = real_ns() - st->last_rx;
			uint64_t idle_end = mono + (secs_ns(o->idle) > since ? secs_ns(o->idle) - since : 0);

			if (!deadline || idle_end < deadline)
				deadline = idle_end;
		}
		if (deadline && mono >= deadline)
			break;

		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct timespec ts, *tsp = NULL;

		if (deadline) {
			ts.tv_sec = (deadline - mono) / 1000000000ull;
			ts.tv_nsec = (deadline - mono) % 1000000000ull;
			tsp = &ts;
		}
		if (ppoll(&pfd, 1, tsp, &run_mask) <= 0)
			continue;
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			msgs[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1,
							   .msg_control = cbufs[i],
							   .msg_controllen = sizeof(cbufs[i]) };
		}
		int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);

		if (n < 0) {
			if (errno != EINTR && errno != EAGAIN)
				set_error(st, "recv: %s", strerror(errno));
			continue;
		}
		uint64_t fallback = real_ns();

		for (int i = 0; i < n; i++) {
			uint64_t t = fallback;
			struct cmsghdr *c;

			for (c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
				    c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
					struct timespec k;

					memcpy(&k, CMSG_DATA(c), sizeof(k));
					t = (uint64_t)k.tv_sec * 1000000000ull + (uint64_t)k.tv_nsec;
				}
			}
			if (!account(st, o, bufs[i], msgs[i].msg_len, t) && !linger_end) {
				if (o->linger > 0)
					linger_end = now_ns() + secs_ns(o->linger);
				else
					done = true;
			}
		}
	}
	if (!st->have_total)
		st->total_sent = st->received ? st->max_seq + 1 : 0;
	if (st->received && st->total_sent > st->first_seq + st->received)
		st->lost = st->total_sent - st->first_seq - st->received;
cleanup:
	close(fd);
	return rc;
}

/* ---- report ---- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		if ((unsigned char)*s >= 0x20)
			putchar(*s);
	}
	putchar('"');
}

static void report(const struct opts *o, const struct stats *st, bool sender)
{
	const char *g = o->have_group ? a6(&o->group) : "";

	if (o->json) {
		printf("{\"proto\":\"udp\",\"side\":\"mcast\",\"role\":\"%s\",\"group\":\"%s\",\"port\":%u,"
		       "\"ifname\":\"%s\"", sender ? "send" : "recv", g, o->port, o->ifname ? o->ifname : "");
		if (sender) {
			printf(",\"sent\":%llu,\"tx_errors\":%llu", (unsigned long long)st->sent,
			       (unsigned long long)st->tx_errors);
		} else {
			printf(",\"sent\":%llu,\"received\":%llu,\"lost\":%llu,\"reordered\":%llu,"
			       "\"dup\":%llu,\"foreign\":%llu,\"first_seq\":%llu,\"last_seq\":%llu,"
			       "\"max_gap_ms\":%.3f,\"max_gap_at\":%.6f,\"max_delay_ms\":%.3f,"
			       "\"first_delay_ms\":%.3f,\"gap_thresh_ms\":%.3f,\"gaps_total\":%u,\"gaps\":[",
			       (unsigned long long)st->total_sent, (unsigned long long)st->received,
			       (unsigned long long)st->lost, (unsigned long long)st->reordered,
			       (unsigned long long)st->dup, (unsigned long long)st->foreign,
			       (unsigned long long)st->first_seq, (unsigned long long)st->max_seq,
			       ns_to_ms(st->max_gap), st->max_gap ? epoch_s(st->max_gap_at) : 0.0,
			       ns_to_ms(st->max_delay), ns_to_ms(st->first_delay), ns_to_ms(st->gap_thresh),
			       st->gaps_total);
			for (unsigned i = 0; i < st->ngaps; i++)
				printf("%s{\"at\":%.6f,\"ms\":%.3f,\"seq\":%llu,\"send_ms\":%.3f}", i ? "," : "",
				       st->gaps[i].at, st->gaps[i].ms, (unsigned long long)st->gaps[i].seq,
				       st->gaps[i].send_ms);
			printf("],\"dup_seqs\":[");
			for (uint64_t i = 0; i < st->dup && i < MAX_DUPS; i++)
				printf("%s%llu", i ? "," : "", (unsigned long long)st->dups[i]);
			printf("],\"joined_at\":%.6f,\"first_rx\":%.6f,\"last_rx\":%.6f,\"eof\":%s",
			       epoch_s(st->joined_at), st->have_rx ? epoch_s(st->first_rx) : 0.0,
			       st->have_rx ? epoch_s(st->last_rx) : 0.0, st->eof ? "true" : "false");
		}
		printf(",\"error\":");
		if (st->error[0])
			json_str(st->error);
		else
			printf("null");
		printf("}\n");
	} else if (sender) {
		printf("role=send group=%s sent=%llu tx_errors=%llu error=\"%s\"\n", g,
		       (unsigned long long)st->sent, (unsigned long long)st->tx_errors, st->error);
	} else {
		printf("role=recv group=%s sent=%llu received=%llu lost=%llu reordered=%llu dup=%llu "
		       "max_gap_ms=%.3f max_delay_ms=%.3f gaps=%u first_rx_ms=%.3f eof=%d error=\"%s\"\n",
		       g, (unsigned long long)st->total_sent, (unsigned long long)st->received,
		       (unsigned long long)st->lost, (unsigned long long)st->reordered,
		       (unsigned long long)st->dup, ns_to_ms(st->max_gap), ns_to_ms(st->max_delay),
		       st->gaps_total, st->have_rx ? ns_to_ms(st->first_rx - st->joined_at) : -1.0,
		       st->eof, st->error);
	}
	if (st->error[0])
		fprintf(stderr, "mcstream: %s\n", st->error);
	fflush(stdout);
}

/* ---- command line ---- */

static int cmd_send(int argc, char **argv);
static int cmd_recv(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "send", cmd_send, "send a numbered stream to [GROUP]:PORT out of IFNAME" },
	{ "recv", cmd_recv, "join GROUP on IFNAME and measure the stream on PORT" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: mcstream COMMAND --group GROUP --port PORT --ifname IF [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-6s %s\n", commands[i].name, commands[i].help);
	fprintf(out,
		"\noptions:\n"
		"  --group GROUP     IPv6 multicast group (required)\n"
		"  --port PORT       UDP port (required)\n"
		"  --ifname IF       interface to send out of / join on (required)\n"
		"  --rate PPS        send: packets per second (1000)\n"
		"  --size BYTES      send: datagram size, %d..1400 (200)\n"
		"  --duration S      send: for S seconds (10); recv: stop after S seconds\n"
		"                    (0: until the sender's FIN, --idle or a signal)\n"
		"  --hops N          send: hop limit (64)\n"
		"  --source ADDR     send: source address (the kernel's choice)\n"
		"  --rt-prio N       run SCHED_FIFO at priority N, so a busy box does not\n"
		"                    delay the sender's schedule (0: no)\n"
		"  --idle S          recv: stop S seconds after the last packet (0: never)\n"
		"  --linger S        recv: after the FIN, keep counting late copies for S s (0)\n"
		"  --gap-ms MS       recv: report gaps longer than MS (3 send intervals)\n"
		"  --json            print one JSON object\n"
		"  --help, --version\n",
		PKT_HDR);
}

static int run(int argc, char **argv, bool sender)
{
	static const struct option lopts[] = {
		{ "group", required_argument, NULL, 'G' }, { "port", required_argument, NULL, 'p' },
		{ "ifname", required_argument, NULL, 'i' }, { "rate", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' }, { "duration", required_argument, NULL, 'd' },
		{ "hops", required_argument, NULL, 'H' }, { "source", required_argument, NULL, 'S' },
		{ "idle", required_argument, NULL, 'I' }, { "linger", required_argument, NULL, 'L' },
		{ "gap-ms", required_argument, NULL, 'g' }, { "json", no_argument, NULL, 'j' },
		{ "rt-prio", required_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' },
		{ 0 } };
	struct opts o = { .rate = 1000, .size = 200, .duration = -1, .hops = 64 };
	static struct stats st;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;
	char *end;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'G':
			if (inet_pton(AF_INET6, optarg, &o.group) != 1 || !IN6_IS_ADDR_MULTICAST(&o.group)) {
				fprintf(stderr, "mcstream: bad --group '%s': not an IPv6 multicast address\n", optarg);
				return EX_USAGE;
			}
			o.have_group = true;
			break;
		case 'p':
			o.port = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o.port < 1 || o.port > 65535) {
				fprintf(stderr, "mcstream: bad --port '%s'\n", optarg);
				return EX_USAGE;
			}
			break;
		case 'i': o.ifname = optarg; break;
		case 'r': o.rate = atof(optarg); break;
		case 's': o.size = strtoul(optarg, NULL, 10); break;
		case 'd': o.duration = atof(optarg); break;
		case 'H': o.hops = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S':
			if (!sender || inet_pton(AF_INET6, optarg, &o.source) != 1) {
				fprintf(stderr, "mcstream: bad --source '%s'\n", optarg);
				return EX_USAGE;
			}
			o.have_source = true;
			break;
		case 'I': o.idle = atof(optarg); break;
		case 'L': o.linger = atof(optarg); break;
		case 'g': o.gap_ms = atof(optarg); break;
		case 'j': o.json = true; break;
		case 'P': o.rt_prio = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc || !o.have_group || !o.port || !o.ifname || !(o.rate > 0) || o.rate > 1e6 ||
	    o.size < PKT_HDR || o.size > 1400 || o.hops > 255) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!(o.ifindex = if_nametoindex(o.ifname))) {
		fprintf(stderr, "mcstream: interface %s: %s\n", o.ifname, strerror(errno));
		return EX_NOINPUT;
	}
	if (o.duration < 0)
		o.duration = sender ? 10 : 0;
	if (o.rt_prio > 0) {
		struct sched_param sp = { .sched_priority = o.rt_prio };

		if (sched_setscheduler(0, SCHED_FIFO, &sp) < 0) {
			fprintf(stderr, "mcstream: SCHED_FIFO priority %d: %s\n", o.rt_prio, strerror(errno));
			return EX_NOPERM;
		}
	}

	/* Signals stay blocked except inside ppoll, so a stop is never lost
	 * between checking the flag and going to sleep. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &run_mask);
	sigdelset(&run_mask, SIGINT);
	sigdelset(&run_mask, SIGTERM);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = sender ? run_sender(&o, &st) : run_receiver(&o, &st);
	report(&o, &st, sender);
	free(st.seen);
	if (rc < 0)
		return -rc;
	return st.error[0] ? 1 : 0;
}

static int cmd_send(int argc, char **argv) { return run(argc, argv, true); }
static int cmd_recv(int argc, char **argv) { return run(argc, argv, false); }

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mcstream %s\n", GLM_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "mcstream: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
