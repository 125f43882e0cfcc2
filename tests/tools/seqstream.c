/* seqstream: a sequence-numbered TCP or UDP stream that measures what a
 * migration does to a session. One side sends fixed-size records at a
 * steady rate (absolute deadlines, so a stall is not smeared into the
 * schedule); the other checks them. TCP: every record must arrive in
 * order, once, intact, and a reset is an error. UDP: received, lost,
 * reordered and duplicated records are counted. Both report the largest
 * inter-arrival gap (the outage a move causes) and every gap longer than
 * three send intervals, with its wall-clock time.
 *
 *   seqstream server --tcp|--udp --listen [ADDR]:PORT [--send|--recv] ...
 *   seqstream client --tcp|--udp --connect [ADDR]:PORT [--bind ADDR] ...
 *
 * By default the client sends and the server receives; either side may
 * take either role, so a stream can flow either way over a connection
 * either side opened. A UDP client opens with a HELLO that the server
 * acknowledges (so no record is sent before the server is there, and a
 * sending server learns where to send); a UDP sender ends with FIN
 * records carrying the total it sent.
 *
 * Output: one key=value line on stdout, or one JSON object with --json.
 * Exit: 0 fine, 1 the stream broke (reset, byte-level inconsistency),
 * sysexits for usage and set-up failures. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define REC_MAGIC 0x676c6d73u /* "glms" */
#define REC_HDR 32
#define MAX_GAPS 2000

enum rec_type { REC_DATA = 0, REC_HELLO = 1, REC_HELLO_ACK = 2, REC_FIN = 3 };
enum role { ROLE_DEFAULT, ROLE_SEND, ROLE_RECV };

/* Wire layout, big-endian: magic u32, type u16, size u16, rate u32,
 * reserved u32, seq u64, send time u64 (CLOCK_MONOTONIC ns: every netns
 * shares the clock, so the receiver can compute one-way delay). */
struct rec {
	uint32_t magic;
	uint16_t type;
	uint16_t size;
	uint32_t rate;
	uint32_t reserved;
	uint64_t seq;
	uint64_t send_ns;
};

struct opts {
	bool server, tcp, udp, json;
	enum role role;
	struct sockaddr_in6 addr, bind;
	bool have_addr, have_bind;
	double rate, duration, idle, wait, drain, gap_ms;
	size_t size;
};

struct gap {
	double at;      /* wall clock (epoch s) of the last arrival before the gap */
	double ms;
	uint64_t seq;   /* first record after the gap */
};

struct stats {
	/* sender */
	uint64_t sent, tx_errors;
	size_t max_queue;
	/* receiver */
	uint64_t received, lost, reordered, dup, expected, total_sent;
	bool have_total, eof, have_rx;
	uint64_t first_rx, last_rx, max_gap, max_gap_at, max_delay;
	uint64_t gap_thresh;
	struct gap gaps[MAX_GAPS];
	unsigned ngaps, gaps_total;
	uint8_t *seen;          /* UDP: one bit per sequence number */
	size_t seen_bytes;
	uint64_t max_seq;
	char error[256];
};

static volatile sig_atomic_t stop_sig;
static sigset_t run_mask; /* the mask ppoll waits with: signals unblocked */
static int64_t rt_off;     /* CLOCK_REALTIME - CLOCK_MONOTONIC, ns */

static void on_signal(int sig) { stop_sig = sig; }

static double epoch_s(uint64_t mono) { return (double)((int64_t)mono + rt_off) / 1e9; }

static void rec_encode(uint8_t *buf, size_t size, enum rec_type type, uint32_t rate,
		       uint64_t seq, uint64_t ts)
{
	uint32_t u32;
	uint16_t u16;
	uint64_t u64;

	memset(buf, 0, size);
	u32 = htobe32(REC_MAGIC); memcpy(buf, &u32, 4);
	u16 = htobe16(type); memcpy(buf + 4, &u16, 2);
	u16 = htobe16(size); memcpy(buf + 6, &u16, 2);
	u32 = htobe32(rate); memcpy(buf + 8, &u32, 4);
	u64 = htobe64(seq); memcpy(buf + 16, &u64, 8);
	u64 = htobe64(ts); memcpy(buf + 24, &u64, 8);
	/* Padding is a function of seq, so a byte-level mix-up is caught. */
	for (size_t i = REC_HDR; i < size; i++)
		buf[i] = (uint8_t)(seq + i);
}

/* -EINVAL if the bytes are not a record of this size. */
static int rec_decode(const uint8_t *buf, size_t len, size_t size, struct rec *r)
{
	uint32_t u32;
	uint16_t u16;
	uint64_t u64;

	if (len < REC_HDR)
		return -EINVAL;
	memcpy(&u32, buf, 4); r->magic = be32toh(u32);
	memcpy(&u16, buf + 4, 2); r->type = be16toh(u16);
	memcpy(&u16, buf + 6, 2); r->size = be16toh(u16);
	memcpy(&u32, buf + 8, 4); r->rate = be32toh(u32);
	memcpy(&u64, buf + 16, 8); r->seq = be64toh(u64);
	memcpy(&u64, buf + 24, 8); r->send_ns = be64toh(u64);
	if (r->magic != REC_MAGIC || r->size != len || (size && r->size != size))
		return -EINVAL;
	if (r->type == REC_DATA)
		for (size_t i = REC_HDR; i < len; i++)
			if (buf[i] != (uint8_t)(r->seq + i))
				return -EINVAL;
	return 0;
}

static int parse_addr(const char *s, bool want_port, struct sockaddr_in6 *sa)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = "::";
	const char *port = NULL;
	struct addrinfo hints = { .ai_family = AF_INET6, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res;
	char *end;
	long p = 0;

	if (want_port) {
		if (s[0] == '[') {
			const char *rb = strchr(s, ']');

			if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof(host))
				return -EINVAL;
			memcpy(host, s + 1, rb - s - 1);
			host[rb - s - 1] = 0;
			port = rb + 2;
		} else {
			port = s[0] == ':' ? s + 1 : s;
		}
		p = strtol(port, &end, 10);
		if (*port == 0 || *end || p < 1 || p > 65535)
			return -EINVAL;
	} else {
		if (strlen(s) >= sizeof(host))
			return -EINVAL;
		strcpy(host, s);
	}
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -EINVAL;
	memcpy(sa, res->ai_addr, sizeof(*sa));
	freeaddrinfo(res);
	sa->sin6_port = htons((uint16_t)p);
	return 0;
}

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

/* Wait for events on fd until the absolute monotonic deadline (0: none).
 * Returns revents, 0 on timeout or signal. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	struct timespec ts, *tsp = NULL;
	int r;

	if (deadline) {
		uint64_t now = now_ns();
		uint64_t left = deadline > now ? deadline - now : 0;

		ts.tv_sec = left / 1000000000ull;
		ts.tv_nsec = left % 1000000000ull;
		tsp = &ts;
	}
	r = ppoll(&pfd, 1, tsp, &run_mask);
	if (r <= 0)
		return 0;
	return pfd.revents;
}

static uint64_t secs_ns(double s) { return s > 0 ? (uint64_t)(s * 1e9) : 0; }

/* ---- receiver ---- */

static void note_arrival(struct stats *st, uint64_t t, uint64_t seq, uint64_t send_ns, uint32_t rate,
			 const struct opts *o)
{
	if (!st->gap_thresh) {
		if (o->gap_ms > 0)
			st->gap_thresh = secs_ns(o->gap_ms / 1000);
		else if (rate)
			st->gap_thresh = 3 * (uint64_t)(1e9 / rate);
		else
			st->gap_thresh = 3000000;
	}
	if (t > send_ns && t - send_ns > st->max_delay)
		st->max_delay = t - send_ns;
	if (!st->have_rx) {
		st->have_rx = true;
		st->first_rx = st->last_rx = t;
		return;
	}
	if (t == st->last_rx)
		return;
	uint64_t g = t - st->last_rx;

	if (g > st->max_gap) {
		st->max_gap = g;
		st->max_gap_at = st->last_rx;
	}
	if (g > st->gap_thresh) {
		if (st->ngaps < MAX_GAPS)
			st->gaps[st->ngaps++] = (struct gap){ epoch_s(st->last_rx), ns_to_ms(g), seq };
		st->gaps_total++;
	}
	st->last_rx = t;
}

static int tcp_receive(int fd, const struct opts *o, struct stats *st)
{
	size_t cap = 65536, have = 0, size = o->size;
	uint8_t *buf = malloc(cap);
	uint64_t end = o->duration > 0 ? now_ns() + secs_ns(o->duration) : 0;
	int rc = 0;

	if (!buf)
		return -ENOMEM;
	while (!stop_sig) {
		uint64_t deadline = end;

		if (o->idle > 0 && st->have_rx) {
			uint64_t idle_end = st->last_rx + secs_ns(o->idle);

			if (!deadline || idle_end < deadline)
				deadline = idle_end;
		}
		if (deadline && now_ns() >= deadline)
			break;
		if (!wait_fd(fd, POLLIN, deadline))
			continue;
		ssize_t n = recv(fd, buf + have, cap - have, 0);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			set_error(st, "recv: %s", strerror(errno));
			rc = -errno;
			break;
		}
		if (n == 0) {
			st->eof = true;
			if (have)
				set_error(st, "EOF inside a record (%zu stray bytes)", have);
			break;
		}
		uint64_t t = now_ns();

		have += n;
		size_t off = 0;

		while (have - off >= size) {
			struct rec r;

			if (rec_decode(buf + off, size, size, &r) < 0 || r.type != REC_DATA) {
				set_error(st, "byte-level inconsistency after %llu records",
					  (unsigned long long)st->received);
				rc = -EPROTO;
				goto out;
			}
			if (r.seq != st->expected) {
				set_error(st, "record out of sequence: expected %llu, got %llu",
					  (unsigned long long)st->expected, (unsigned long long)r.seq);
				rc = -EPROTO;
				goto out;
			}
			note_arrival(st, t, r.seq, r.send_ns, r.rate, o);
			st->expected++;
			st->received++;
			off += size;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
out:
	st->total_sent = st->expected;
	free(buf);
	return rc;
}

static bool seen_test_set(struct stats *st, uint64_t seq)
{
	size_t byte = seq / 8;

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
	bool was = st->seen[byte] & (1u << (seq % 8));

	st->seen[byte] |= 1u << (seq % 8);
	return was;
}

static void udp_reply_hello(int fd, const struct sockaddr_in6 *to, const struct opts *o)
{
	uint8_t b[REC_HDR];

	rec_encode(b, sizeof(b), REC_HELLO_ACK, 0, 0, now_ns());
	sendto(fd, b, sizeof(b), MSG_DONTWAIT, (const struct sockaddr *)to, to ? sizeof(*to) : 0);
}

static int udp_receive(int fd, const struct opts *o, struct stats *st)
{
	uint8_t buf[65536];
	uint64_t end = o->duration > 0 ? now_ns() + secs_ns(o->duration) : 0;

	while (!stop_sig) {
		uint64_t deadline = end;

		if (o->idle > 0 && st->have_rx) {
			uint64_t idle_end = st->last_rx + secs_ns(o->idle);

			if (!deadline || idle_end < deadline)
				deadline = idle_end;
		}
		if (deadline && now_ns() >= deadline)
			break;
		if (!wait_fd(fd, POLLIN, deadline))
			continue;
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		struct rec r;

		if (n < 0) {
			/* ICMP errors from an earlier send: not fatal for UDP. */
			if (errno != EINTR && errno != EAGAIN && errno != ECONNREFUSED &&
			    errno != EHOSTUNREACH && errno != ENETUNREACH)
				set_error(st, "recv: %s", strerror(errno));
			continue;
		}
		uint64_t t = now_ns();

		if (rec_decode(buf, n, 0, &r) < 0)
			continue; /* not ours */
		if (r.type == REC_HELLO) {
			udp_reply_hello(fd, o->server ? &from : NULL, o);
			continue;
		}
		if (r.type == REC_FIN) {
			st->total_sent = r.seq;
			st->have_total = true;
			st->eof = true;
			break;
		}
		if (r.type != REC_DATA)
			continue;
		if (seen_test_set(st, r.seq)) {
			st->dup++;
			continue;
		}
		if (st->received && r.seq < st->max_seq)
			st->reordered++;
		if (!st->received || r.seq > st->max_seq)
			st->max_seq = r.seq;
		st->received++;
		note_arrival(st, t, r.seq, r.send_ns, r.rate, o);
	}
	if (!st->have_total)
		st->total_sent = st->received ? st->max_seq + 1 : 0;
	st->lost = st->total_sent > st->received ? st->total_sent - st->received : 0;
	return 0;
}

/* ---- sender ---- */

static int tcp_flush(int fd, uint8_t *q, size_t *qlen, size_t *qoff, struct stats *st)
{
	while (*qoff < *qlen) {
		ssize_t n = send(fd, q + *qoff, *qlen - *qoff, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			set_error(st, "send: %s", strerror(errno));
			return -errno;
		}
		*qoff += n;
	}
	*qlen = *qoff = 0;
	return 0;
}

/* Something arrived on a socket we only send on: EOF or an error. */
static int sender_check_input(int fd, bool tcp, struct stats *st)
{
	uint8_t b[2048];
	ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);

	if (n > 0)
		return 0; /* UDP: a late HELLO_ACK; TCP: ignore stray bytes */
	if (n == 0 && tcp) {
		set_error(st, "peer closed the connection");
		return -EPIPE;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		if (!tcp) {
			st->tx_errors++;
			return 0;
		}
		set_error(st, "recv: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int run_sender(int fd, const struct opts *o, struct stats *st)
{
	uint64_t interval = (uint64_t)(1e9 / o->rate);
	uint64_t start = now_ns(), next = start;
	uint64_t end = o->duration > 0 ? start + secs_ns(o->duration) : 0;
	size_t qcap = 65536, qlen = 0, qoff = 0;
	uint8_t *q = malloc(qcap);
	int rc = 0;

	if (!q)
		return -ENOMEM;
	while (!stop_sig) {
		uint64_t now = now_ns();

		if (end && now >= end)
			break;
		/* Every record that is due, stamped now; late ones go out in a burst. */
		while (next <= now && (!end || next < end)) {
			if (o->tcp) {
				if (qlen + o->size > qcap) {
					if (qoff) {
						memmove(q, q + qoff, qlen - qoff);
						qlen -= qoff;
						qoff = 0;
					}
					while (qlen + o->size > qcap)
						qcap *= 2;
					uint8_t *nq = realloc(q, qcap);

					if (!nq) {
						rc = -ENOMEM;
						goto out;
					}
					q = nq;
				}
				rec_encode(q + qlen, o->size, REC_DATA, (uint32_t)o->rate, st->sent, now);
				qlen += o->size;
				if (qlen - qoff > st->max_queue)
					st->max_queue = qlen - qoff;
			} else {
				uint8_t b[65536];

				rec_encode(b, o->size, REC_DATA, (uint32_t)o->rate, st->sent, now);
				if (send(fd, b, o->size, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
					st->tx_errors++;
			}
			st->sent++;
			next += interval;
		}
		if (o->tcp && qlen > qoff && (rc = tcp_flush(fd, q, &qlen, &qoff, st)) < 0)
			goto out;
		uint64_t deadline = next;

		if (end && end < deadline)
			deadline = end;
		short ev = POLLIN | (o->tcp && qlen > qoff ? POLLOUT : 0);
		int re = wait_fd(fd, ev, deadline);

		if (re & (POLLIN | POLLERR | POLLHUP)) {
			if ((rc = sender_check_input(fd, o->tcp, st)) < 0)
				goto out;
			if (o->tcp && (re & POLLERR)) {
				int err = 0;
				socklen_t el = sizeof(err);

				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err) {
					set_error(st, "socket: %s", strerror(err));
					rc = -err;
					goto out;
				}
			}
		}
	}
	/* Finish: TCP drains what is queued, half-closes, and waits for the
	 * receiver's EOF, so the peer saw everything before we exit. Stopped
	 * by a signal, it hands the kernel what it can and leaves at once. */
	if (o->tcp && stop_sig) {
		tcp_flush(fd, q, &qlen, &qoff, st);
		shutdown(fd, SHUT_WR);
	} else if (o->tcp) {
		uint64_t dl = now_ns() + secs_ns(o->drain);
		bool peer_eof = false;

		while (qlen > qoff && now_ns() < dl && !stop_sig) {
			if ((rc = tcp_flush(fd, q, &qlen, &qoff, st)) < 0)
				goto out;
			if (qlen > qoff)
				wait_fd(fd, POLLOUT, dl);
		}
		if (qlen > qoff) {
			set_error(st, "%zu bytes still queued after %.1fs drain", qlen - qoff, o->drain);
			rc = -ETIMEDOUT;
			goto out;
		}
		shutdown(fd, SHUT_WR);
		while (!peer_eof && now_ns() < dl && !stop_sig) {
			uint8_t b[2048];

			if (!wait_fd(fd, POLLIN, dl))
				continue;
			ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);

			if (n == 0)
				peer_eof = true;
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				set_error(st, "recv after shutdown: %s", strerror(errno));
				rc = -errno;
				goto out;
			}
		}
		if (!peer_eof && !stop_sig) {
			int unacked = 0;

			ioctl(fd, SIOCOUTQ, &unacked);
			set_error(st, "receiver did not finish within %.1fs drain (%d bytes unacknowledged)",
				  o->drain, unacked);
			rc = -ETIMEDOUT;
		}
	} else {
		uint8_t b[REC_HDR];

		rec_encode(b, sizeof(b), REC_FIN, (uint32_t)o->rate, st->sent, now_ns());
		for (int i = 0; i < 3; i++)
			send(fd, b, sizeof(b), MSG_DONTWAIT | MSG_NOSIGNAL);
	}
out:
	free(q);
	return rc;
}

/* ---- connection set-up ---- */

static int tcp_server(const struct opts *o, struct stats *st)
{
	int one = 1, lfd, fd = -1;
	uint64_t end = o->duration > 0 ? now_ns() + secs_ns(o->duration) : 0;

	lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0)
		return -errno;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&o->addr, sizeof(o->addr)) < 0 || listen(lfd, 4) < 0) {
		set_error(st, "listen on %s: %s", sa6(&o->addr), strerror(errno));
		close(lfd);
		return -EADDRNOTAVAIL;
	}
	while (!stop_sig && (!end || now_ns() < end)) {
		if (!wait_fd(lfd, POLLIN, end))
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd >= 0 || (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED))
			break;
	}
	close(lfd);
	if (fd < 0) {
		set_error(st, "no connection on %s", sa6(&o->addr));
		return -ETIMEDOUT;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int client_socket(const struct opts *o, int type)
{
	int fd = socket(AF_INET6, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (o->have_bind && bind(fd, (const struct sockaddr *)&o->bind, sizeof(o->bind)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int tcp_client(const struct opts *o, struct stats *st)
{
	uint64_t end = now_ns() + secs_ns(o->wait);
	int one = 1, fd, err = ETIMEDOUT;

	for (;;) {
		fd = client_socket(o, SOCK_STREAM);
		if (fd < 0) {
			set_error(st, "socket/bind %s: %s", o->have_bind ? sa6(&o->bind) : "",
				  strerror(-fd));
			return fd;
		}
		if (connect(fd, (const struct sockaddr *)&o->addr, sizeof(o->addr)) == 0)
			break;
		if (errno == EINPROGRESS) {
			socklen_t el = sizeof(err);
			int re = wait_fd(fd, POLLOUT, end);

			err = ETIMEDOUT;
			if (re)
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			if (re && !err)
				break;
		} else {
			err = errno;
		}
		close(fd);
		if (stop_sig || now_ns() >= end || (err != ECONNREFUSED && err != ENETUNREACH &&
						    err != EHOSTUNREACH && err != ETIMEDOUT)) {
			set_error(st, "connect to %s: %s", sa6(&o->addr), strerror(err));
			return -err;
		}
		struct timespec ts = { 0, 50000000 }; /* the server may not be up yet */

		nanosleep(&ts, NULL);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int udp_server(const struct opts *o, struct stats *st)
{
	uint64_t end = o->duration > 0 ? now_ns() + secs_ns(o->duration) : 0;
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&o->addr, sizeof(o->addr)) < 0) {
		set_error(st, "bind %s: %s", sa6(&o->addr), strerror(errno));
		close(fd);
		return -EADDRNOTAVAIL;
	}
	if (o->role == ROLE_RECV)
		return fd; /* HELLOs are answered in the receive loop */
	/* A sending server waits for a client's HELLO to learn its address. */
	while (!stop_sig && (!end || now_ns() < end)) {
		uint8_t b[2048];
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		struct rec r;

		if (!wait_fd(fd, POLLIN, end))
			continue;
		ssize_t n = recvfrom(fd, b, sizeof(b), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);

		if (n < 0 || rec_decode(b, n, 0, &r) < 0 || r.type != REC_HELLO)
			continue;
		udp_reply_hello(fd, &from, o);
		if (connect(fd, (struct sockaddr *)&from, sizeof(from)) < 0) {
			set_error(st, "connect to %s: %s", sa6(&from), strerror(errno));
			close(fd);
			return -EHOSTUNREACH;
		}
		return fd;
	}
	set_error(st, "no client on %s", sa6(&o->addr));
	close(fd);
	return -ETIMEDOUT;
}

static int udp_client(const struct opts *o, struct stats *st)
{
	uint64_t end = now_ns() + secs_ns(o->wait);
	int fd = client_socket(o, SOCK_DGRAM);

	if (fd < 0) {
		set_error(st, "socket/bind: %s", strerror(-fd));
		return fd;
	}
	if (connect(fd, (const struct sockaddr *)&o->addr, sizeof(o->addr)) < 0) {
		set_error(st, "connect to %s: %s", sa6(&o->addr), strerror(errno));
		close(fd);
		return -EHOSTUNREACH;
	}
	while (!stop_sig && now_ns() < end) {
		uint8_t b[2048];
		uint64_t retry = now_ns() + 100000000ull;
		struct rec r;

		rec_encode(b, REC_HDR, REC_HELLO, 0, 0, now_ns());
		send(fd, b, REC_HDR, MSG_DONTWAIT);
		while (now_ns() < retry && !stop_sig) {
			if (!wait_fd(fd, POLLIN, retry < end ? retry : end))
				continue;
			ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);

			if (n > 0 && rec_decode(b, n, 0, &r) == 0 && r.type == REC_HELLO_ACK)
				return fd;
		}
	}
	set_error(st, "no answer from %s", sa6(&o->addr));
	close(fd);
	return -ETIMEDOUT;
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
	const char *proto = o->tcp ? "tcp" : "udp";
	const char *side = o->server ? "server" : "client";

	if (o->json) {
		printf("{\"proto\":\"%s\",\"side\":\"%s\",\"role\":\"%s\"", proto, side,
		       sender ? "send" : "recv");
		if (sender) {
			printf(",\"sent\":%llu,\"tx_errors\":%llu,\"max_queue_bytes\":%zu",
			       (unsigned long long)st->sent, (unsigned long long)st->tx_errors,
			       st->max_queue);
		} else {
			printf(",\"sent\":%llu,\"received\":%llu,\"lost\":%llu,\"reordered\":%llu,"
			       "\"dup\":%llu,\"max_gap_ms\":%.3f,\"max_gap_at\":%.6f,"
			       "\"max_delay_ms\":%.3f,\"gap_thresh_ms\":%.3f,\"gaps_total\":%u,\"gaps\":[",
			       (unsigned long long)st->total_sent, (unsigned long long)st->received,
			       (unsigned long long)st->lost, (unsigned long long)st->reordered,
			       (unsigned long long)st->dup, ns_to_ms(st->max_gap),
			       st->max_gap ? epoch_s(st->max_gap_at) : 0.0, ns_to_ms(st->max_delay),
			       ns_to_ms(st->gap_thresh), st->gaps_total);
			for (unsigned i = 0; i < st->ngaps; i++)
				printf("%s{\"at\":%.6f,\"ms\":%.3f,\"seq\":%llu}", i ? "," : "",
				       st->gaps[i].at, st->gaps[i].ms, (unsigned long long)st->gaps[i].seq);
			printf("],\"first_rx\":%.6f,\"last_rx\":%.6f,\"eof\":%s",
			       st->have_rx ? epoch_s(st->first_rx) : 0.0,
			       st->have_rx ? epoch_s(st->last_rx) : 0.0, st->eof ? "true" : "false");
		}
		printf(",\"error\":");
		if (st->error[0])
			json_str(st->error);
		else
			printf("null");
		printf("}\n");
	} else if (sender) {
		printf("proto=%s side=%s role=send sent=%llu tx_errors=%llu max_queue_bytes=%zu error=\"%s\"\n",
		       proto, side, (unsigned long long)st->sent, (unsigned long long)st->tx_errors,
		       st->max_queue, st->error);
	} else {
		printf("proto=%s side=%s role=recv sent=%llu received=%llu lost=%llu reordered=%llu "
		       "dup=%llu max_gap_ms=%.3f max_delay_ms=%.3f gaps=%u eof=%d error=\"%s\"\n",
		       proto, side, (unsigned long long)st->total_sent,
		       (unsigned long long)st->received, (unsigned long long)st->lost,
		       (unsigned long long)st->reordered, (unsigned long long)st->dup,
		       ns_to_ms(st->max_gap), ns_to_ms(st->max_delay), st->gaps_total, st->eof,
		       st->error);
	}
	if (st->error[0])
		fprintf(stderr, "seqstream: %s\n", st->error);
	fflush(stdout);
}

/* ---- command line ---- */

static int cmd_server(int argc, char **argv);
static int cmd_client(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "server", cmd_server, "listen on [ADDR]:PORT; receives by default" },
	{ "client", cmd_client, "connect to [ADDR]:PORT; sends by default" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: seqstream COMMAND --tcp|--udp [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out,
		"\noptions:\n"
		"  --listen [ADDR]:PORT   server address (default [::])\n"
		"  --connect [ADDR]:PORT  client: the server\n"
		"  --bind ADDR            client: source address\n"
		"  --send | --recv        this side's role (client sends, server receives)\n"
		"  --rate PPS             sender: records per second (1000)\n"
		"  --size BYTES           record size, 32..1400 (64)\n"
		"  --duration S           sender: send for S seconds (10); receiver/server:\n"
		"                         stop after S seconds (0: until EOF/FIN/idle)\n"
		"  --idle S               receiver: stop S seconds after the last record\n"
		"                         (UDP default 2, TCP default 0: none)\n"
		"  --wait S               client: keep trying to reach the server (3)\n"
		"  --drain S              TCP sender: time to flush and close at the end (10)\n"
		"  --gap-ms MS            report gaps longer than MS (3 send intervals)\n"
		"  --json                 print one JSON object\n"
		"  --help, --version\n");
}

static int run(int argc, char **argv, bool server)
{
	static const struct option lopts[] = {
		{ "tcp", no_argument, NULL, 't' },  { "udp", no_argument, NULL, 'u' },
		{ "listen", required_argument, NULL, 'l' }, { "connect", required_argument, NULL, 'c' },
		{ "bind", required_argument, NULL, 'b' }, { "send", no_argument, NULL, 'S' },
		{ "recv", no_argument, NULL, 'R' }, { "rate", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' }, { "duration", required_argument, NULL, 'd' },
		{ "idle", required_argument, NULL, 'i' }, { "wait", required_argument, NULL, 'w' },
		{ "drain", required_argument, NULL, 'D' }, { "gap-ms", required_argument, NULL, 'g' },
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
		{ 0 } };
	struct opts o = { .server = server, .rate = 1000, .size = 64, .duration = -1, .idle = -1,
			  .wait = 3, .drain = 10 };
	static struct stats st;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;
	struct timespec rt, mono;
	bool sender;
	int c, fd, rc;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 't': o.tcp = true; break;
		case 'u': o.udp = true; break;
		case 'l':
		case 'c':
			if ((c == 'l') != server || parse_addr(optarg, true, &o.addr) < 0) {
				fprintf(stderr, "seqstream: bad --%s '%s'\n", c == 'l' ? "listen" : "connect", optarg);
				return EX_USAGE;
			}
			o.have_addr = true;
			break;
		case 'b':
			if (server || parse_addr(optarg, false, &o.bind) < 0) {
				fprintf(stderr, "seqstream: bad --bind '%s'\n", optarg);
				return EX_USAGE;
			}
			o.have_bind = true;
			break;
		case 'S': o.role = ROLE_SEND; break;
		case 'R': o.role = ROLE_RECV; break;
		case 'r': o.rate = atof(optarg); break;
		case 's': o.size = strtoul(optarg, NULL, 10); break;
		case 'd': o.duration = atof(optarg); break;
		case 'i': o.idle = atof(optarg); break;
		case 'w': o.wait = atof(optarg); break;
		case 'D': o.drain = atof(optarg); break;
		case 'g': o.gap_ms = atof(optarg); break;
		case 'j': o.json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (o.tcp == o.udp || optind != argc || !o.have_addr || !(o.rate > 0) ||
	    o.rate > 1e6 || o.size < REC_HDR || o.size > 1400) {
		usage(stderr);
		return EX_USAGE;
	}
	if (o.role == ROLE_DEFAULT)
		o.role = server ? ROLE_RECV : ROLE_SEND;
	sender = o.role == ROLE_SEND;
	if (o.duration < 0)
		o.duration = sender ? 10 : 0;
	if (o.idle < 0)
		o.idle = o.udp ? 2 : 0;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	rt_off = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000ll + (rt.tv_nsec - mono.tv_nsec);

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
	signal(SIGPIPE, SIG_IGN);

	if (o.tcp)
		fd = server ? tcp_server(&o, &st) : tcp_client(&o, &st);
	else
		fd = server ? udp_server(&o, &st) : udp_client(&o, &st);
	if (fd < 0) {
		report(&o, &st, sender);
		return EX_UNAVAILABLE;
	}
	if (sender)
		rc = run_sender(fd, &o, &st);
	else
		rc = o.tcp ? tcp_receive(fd, &o, &st) : udp_receive(fd, &o, &st);
	close(fd);
	report(&o, &st, sender);
	free(st.seen);
	return rc < 0 || st.error[0] ? 1 : 0;
}

static int cmd_server(int argc, char **argv) { return run(argc, argv, true); }
static int cmd_client(int argc, char **argv) { return run(argc, argv, false); }

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
		printf("seqstream %s\n", GLM_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "seqstream: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
