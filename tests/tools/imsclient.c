/* imsclient: a small IMS client for the tests and for measuring imsd.
 *
 * It speaks the wire format as a node would (sealed with its key from a
 * keyring, a fresh seq_next() per request) and can also misbehave on
 * purpose: --forge flips a MAC byte, --replay sends the same sealed bytes
 * twice, --raw sends arbitrary bytes, and --save keeps a sealed request
 * so that a test can --raw it again later, after newer ones. A reply is printed as one line,
 *   ACK status=ok ha=2001:db8::10 ma=2001:db8:2::10 lifetime=60 seq=N
 * and the exit code says what happened: 0 ok, 1 refused (any other
 * status), 2 no (authentic) answer within the timeout, 64 usage. With
 * -c N the request is repeated N times (new seq each) and round-trip
 * statistics are printed; -w W keeps W requests in flight at once.
 *
 * imsd serves QUERY and SUBSCRIBE only with its cookie for our address
 * (glm-keys(5) ADDRESS VALIDATION): a COOKIE answer is not printed, the
 * request goes again at once with the cookie (and so do all that follow:
 * it is kept, and refreshed from every answer). */
#include "conf.h"
#include "keys.h"
#include "log.h"
#include "util.h"
#include "wire.h"
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#define EXIT_REFUSED 1
#define EXIT_TIMEOUT 2

struct client {
	int fd;
	const struct glm_key *key;
	int timeout_ms;
	uint64_t seq_opt;
	bool forge, replay, quiet, no_prove;
	const char *vouch;  /* update: a VOUCH signed with this keyring's private key */
	const char *save;   /* write the sealed request here as hex */
	const char *acked;  /* -c: write the seq of every OK answer here, a line each */
	bool keep_going;    /* -c: an answer missing for -t ms counts as lost, not the end */
	bool echo;          /* the server is an echo: take our own request back as the answer */
	unsigned spread;    /* update -c: over this many home addresses from HA on (HA, HA+1, ...) */
	struct glm_msg *tmpls; /* their requests, taken in turn */
	FILE *rtts;         /* -c: every round trip, in ms, a line each */
	uint16_t port;
	unsigned count, window;
	uint8_t cookie[GLM_COOKIE_LEN];  /* imsd's last cookie for our address */
	bool have_cookie;
	unsigned cookie_rounds;
};

static const char *status_word(unsigned st)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "%s", glm_status_name(st));
	for (char *p = buf; *p; p++)
		if (*p == ' ')
			*p = '_';
	return buf;
}

static void print_msg(const struct glm_msg *m)
{
	printf("%s", glm_msg_type_name(m->type));
	if (GLM_HAS(m, GLM_TLV_STATUS))
		printf(" status=%s", status_word(m->status));
	if (GLM_HAS(m, GLM_TLV_PREFIX))
		printf(" prefix=%s/%u", a6(&m->prefix), m->prefix_len);
	if (GLM_HAS(m, GLM_TLV_HA))
		printf(" ha=%s", a6(&m->ha));
	if (GLM_HAS(m, GLM_TLV_MA))
		printf(" ma=%s", a6(&m->ma));
	if (GLM_HAS(m, GLM_TLV_LIFETIME))
		printf(" lifetime=%u", m->lifetime);
	printf(" seq=%llu\n", (unsigned long long)(GLM_HAS(m, GLM_TLV_UPDATE_SEQ) ? m->update_seq : m->seq));
	fflush(stdout);
}

/* Wait for an authentic message from the server, up to deadline (now_ns).
 * Returns 1 with *m filled, 0 on timeout, -errno. */
static int recv_msg(struct client *c, uint64_t deadline, struct glm_msg *m)
{
	uint8_t buf[GLM_MSG_MAX];

	for (;;) {
		uint64_t now = now_ns();
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;
		int pr;

		if (now >= deadline)
			return 0;
		pr = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
		if (pr < 0 && errno != EINTR)
			return -errno;
		if (pr <= 0)
			continue;
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno; /* e.g. ECONNREFUSED: nobody listens */
		}
		if (!c->key || c->echo) {
			if (glm_msg_parse(buf, (size_t)n, m) == GLM_PE_OK)
				return 1;
			continue;
		}
		if (glm_msg_parse(buf, (size_t)n, m) != GLM_PE_OK || m->key_id != c->key->id ||
		    glm_msg_verify(buf, (size_t)n, c->key->secret) != GLM_PE_OK) {
			fprintf(stderr, "imsclient: ignoring an inauthentic %zd-byte datagram\n", n);
			continue;
		}
		if (GLM_HAS(m, GLM_TLV_COOKIE)) {
			memcpy(c->cookie, m->cookie, GLM_COOKIE_LEN);
			c->have_cookie = true;
		}
		return 1;
	}
}

static int send_buf(struct client *c, const uint8_t *buf, size_t len)
{
	if (send(c->fd, buf, len, 0) < 0) {
		fprintf(stderr, "imsclient: send: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

static int seal(struct client *c, struct glm_msg *m, uint8_t *buf, size_t cap)
{
	ssize_t n;

	m->key_id = c->key->local_id;
	m->seq = c->seq_opt ? c->seq_opt++ : seq_next();
	if (c->have_cookie) {
		memcpy(m->cookie, c->cookie, GLM_COOKIE_LEN);
		m->present |= 1u << GLM_TLV_COOKIE;
	}
	n = glm_msg_encode(m, c->key->secret, buf, cap);
	if (n < 0)
		return (int)n;
	if (c->forge)
		buf[n - 1] ^= 0x01;
	if (c->save) {
		FILE *f = fopen(c->save, "w");

		if (!f) {
			fprintf(stderr, "imsclient: %s: %s\n", c->save, strerror(errno));
			return -errno;
		}
		for (ssize_t i = 0; i < n; i++)
			fprintf(f, "%02x", buf[i]);
		fputc('\n', f);
		fclose(f);
	}
	return (int)n;
}

/* Send req, wait for the answer echoing its seq, print it; return the exit code. */
static int transact(struct client *c, struct glm_msg *req, struct glm_msg *ans)
{
	uint8_t buf[512];
	int n = seal(c, req, buf, sizeof(buf)), code = EXIT_TIMEOUT;

	if (n < 0)
		return EX_SOFTWARE;
	for (int round = 0; round < (c->replay ? 2 : 1); round++) {
		uint64_t deadline;
		int r;

		if (send_buf(c, buf, (size_t)n))
			return EX_UNAVAILABLE;
		deadline = now_ns() + (uint64_t)c->timeout_ms * 1000000ull;
		code = EXIT_TIMEOUT;
		while ((r = recv_msg(c, deadline, ans)) > 0) {
			if (ans->seq != req->seq)
				continue; /* a late answer to an earlier request */
			if (ans->type == GLM_COOKIE && c->cookie_rounds++ < 2) {
				/* prove our address: the same request again,
				 * with the cookie recv_msg kept (and a new seq) */
				n = seal(c, req, buf, sizeof(buf));
				if (n < 0 || send_buf(c, buf, (size_t)n))
					return EX_SOFTWARE;
				continue;
			}
			if (!c->quiet)
				print_msg(ans);
			code = GLM_HAS(ans, GLM_TLV_STATUS) && ans->status == GLM_ST_OK ? 0 : EXIT_REFUSED;
			break;
		}
		if (r < 0) {
			fprintf(stderr, "imsclient: receive: %s\n", strerror(-r));
			return EXIT_TIMEOUT;
		}
		if (r == 0)
			fprintf(stderr, "imsclient: no answer within %d ms\n", c->timeout_ms);
	}
	return code;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_rtt(uint64_t *rtt, unsigned n, uint64_t total_ns)
{
	if (!n)
		return;
	qsort(rtt, n, sizeof(*rtt), cmp_u64);
	printf("rtt n=%u min=%.3f median=%.3f p90=%.3f p99=%.3f max=%.3f ms; %.0f requests/s\n", n,
	       ns_to_ms(rtt[0]), ns_to_ms(rtt[n / 2]), ns_to_ms(rtt[(n * 9) / 10]), ns_to_ms(rtt[(n * 99) / 100]),
	       ns_to_ms(rtt[n - 1]), total_ns ? n / (total_ns / 1e9) : 0.0);
}

/* -c N without -w: N sequential round trips; with -w W: up to W in flight. */
/* A copy of tmpl sealed (its own seq, into *seq) and sent: 0 or -1. */
static int send_copy(struct client *c, const struct glm_msg *tmpl, uint64_t *seq)
{
	struct glm_msg req = *tmpl;
	uint8_t buf[512];
	int n = seal(c, &req, buf, sizeof(buf));

	if (n < 0 || send_buf(c, buf, (size_t)n))
		return -1;
	*seq = req.seq;
	return 0;
}

static int repeat(struct client *c, struct glm_msg *tmpl)
{
	uint64_t *rtt = calloc(c->count, sizeof(*rtt)), *sent_at = calloc(c->count, sizeof(*sent_at));
	uint64_t *seqs = calloc(c->count, sizeof(*seqs));
	bool *answered = calloc(c->count, sizeof(*answered));
	unsigned sent = 0, done = 0, ok = 0, inflight = 0, lost = 0, lo = 0;
	uint64_t t0 = now_ns();
	FILE *acked = NULL;
	int code = 0;

	if (!rtt || !sent_at || !seqs || !answered) {
		code = EX_OSERR;
		goto cleanup;
	}
	if (c->acked && !(acked = fopen(c->acked, "w"))) {
		fprintf(stderr, "imsclient: %s: %s\n", c->acked, strerror(errno));
		code = EX_CANTCREAT;
		goto cleanup;
	}
	c->quiet = true;
	while (done < c->count) {
		struct glm_msg m;
		int r;

		while (sent < c->count && inflight < (c->window ? c->window : 1)) {
			if (send_copy(c, c->tmpls ? &c->tmpls[sent % c->spread] : tmpl, &seqs[sent]) < 0) {
				code = EX_UNAVAILABLE;
				goto cleanup;
			}
			sent_at[sent++] = now_ns();
			inflight++;
		}
		r = recv_msg(c, now_ns() + (uint64_t)c->timeout_ms * 1000000ull, &m);
		if (r <= 0 && c->keep_going) {
			/* what is in flight is lost: count it, go on */
			for (unsigned i = lo; i < sent; i++)
				if (!answered[i]) {
					answered[i] = true;
					lost++;
					done++;
				}
			inflight = 0;
			lo = sent;
			continue;
		}
		if (r <= 0) {
			fprintf(stderr, "imsclient: %u of %u answers missing after %d ms\n",
				c->count - done, c->count, c->timeout_ms);
			code = EXIT_TIMEOUT;
			break;
		}
		for (unsigned i = lo; i < sent; i++) {
			if (answered[i] || seqs[i] != m.seq)
				continue;
			if (m.type == GLM_COOKIE) {
				/* again, with the cookie: the round trip counts */
				if (send_copy(c, c->tmpls ? &c->tmpls[i % c->spread] : tmpl, &seqs[i]) < 0) {
					code = EX_UNAVAILABLE;
					goto cleanup;
				}
				break;
			}
			answered[i] = true;
			rtt[done - lost] = now_ns() - sent_at[i];
			if (c->rtts)
				fprintf(c->rtts, "%.4f\n", ns_to_ms(rtt[done - lost]));
			done++;
			inflight--;
			if (GLM_HAS(&m, GLM_TLV_STATUS) && m.status == GLM_ST_OK) {
				ok++;
				if (acked)
					fprintf(acked, "%llu %llu\n", (unsigned long long)m.seq,
						(unsigned long long)now_ns());
			}
			break;
		}
		while (lo < sent && answered[lo])
			lo++;
	}
	print_rtt(rtt, done - lost, now_ns() - t0);
	if (c->keep_going)
		printf("sent=%u acked=%u refused=%u unanswered=%u\n", c->count, ok, done - lost - ok, lost);
	if (!code && ok != done) {
		fprintf(stderr, "imsclient: %u of %u requests refused or unanswered\n", done - ok, done);
		code = lost ? EXIT_TIMEOUT : EXIT_REFUSED;
	}
cleanup:
	if (acked && fclose(acked) && !code)
		code = EX_IOERR;
	free(rtt);
	free(sent_at);
	free(seqs);
	free(answered);
	return code;
}

static int run(struct client *c, struct glm_msg *req)
{
	struct glm_msg ans;

	if (c->count > 1)
		return repeat(c, req);
	return transact(c, req, &ans);
}

/* Sign a VOUCH for m's HA and MA with the --vouch keyring's private key. */
static int vouch(struct client *c, struct glm_msg *m)
{
	struct glm_keyring vk;

	if (keyring_load(c->vouch, &vk) < 0)
		return -1;
	glm_vouch_sign(&vk, &m->ha, &m->ma, realtime_ns() / 1000000000ull + 3600, &m->vouch);
	m->present |= 1u << GLM_TLV_VOUCH;
	keyring_free(&vk);
	return 0;
}

static int cmd_update(struct client *c, int argc, char **argv)
{
	struct glm_msg m = { .type = GLM_IMS_UPDATE }, ans;
	uint32_t lt;

	if (argc != 4 || parse_in6(argv[1], &m.ha) || parse_in6(argv[2], &m.ma) ||
	    parse_u32(argv[3], 0, UINT32_MAX, &lt))
		return EX_USAGE;
	m.present |= 1u << GLM_TLV_HA | 1u << GLM_TLV_MA;
	GLM_SET(&m, lifetime, GLM_TLV_LIFETIME, lt);
	if (c->spread > 1 && c->count > 1) {
		int code;

		if (!(c->tmpls = calloc(c->spread, sizeof(*c->tmpls))))
			return EX_OSERR;
		for (unsigned i = 0; i < c->spread; i++) {
			c->tmpls[i] = m;
			c->tmpls[i].ha.s6_addr[15] = (uint8_t)(m.ha.s6_addr[15] + i);
			if (c->vouch && vouch(c, &c->tmpls[i]))
				return EX_CONFIG;
		}
		code = run(c, &m);
		free(c->tmpls);
		c->tmpls = NULL;
		return code;
	}
	if (c->vouch && vouch(c, &m))
		return EX_CONFIG;
	if (c->count > 1)
		return run(c, &m);
	/* an MA nobody vouched for: the IMS's token comes to the MA (which
	 * main bound us to, where it could); the update again with it, the
	 * same seq (glm-keys(5)) */
	bool quiet = c->quiet;

	c->quiet = true;
	int code = transact(c, &m, &ans);
	c->quiet = quiet;
	if (code != EXIT_REFUSED || c->no_prove || ans.status != GLM_ST_PROVE || !GLM_HAS(&ans, GLM_TLV_PROOF)) {
		if (!quiet && code != EXIT_TIMEOUT)
			print_msg(&ans);
		return code;
	}
	memcpy(m.proof, ans.proof, 16);
	m.present |= 1u << GLM_TLV_PROOF;
	c->seq_opt = m.seq;
	return transact(c, &m, &ans);
}

static int cmd_query(struct client *c, int argc, char **argv)
{
	struct glm_msg m = { .type = GLM_QUERY };

	if (argc != 2 || parse_in6(argv[1], &m.ha))
		return EX_USAGE;
	m.present |= 1u << GLM_TLV_HA;
	return run(c, &m);
}

static int cmd_subscribe(struct client *c, int argc, char **argv)
{
	struct glm_msg m = { .type = GLM_SUBSCRIBE }, ans;
	uint32_t lt, secs = 2;
	uint64_t deadline;
	int code, r;

	if (argc < 3 || argc > 4 || parse_prefix6(argv[1], &m.prefix, &m.prefix_len) ||
	    parse_u32(argv[2], 0, UINT32_MAX, &lt) || (argc == 4 && parse_u32(argv[3], 0, 3600, &secs)))
		return EX_USAGE;
	m.present |= 1u << GLM_TLV_PREFIX;
	GLM_SET(&m, lifetime, GLM_TLV_LIFETIME, lt);
	if (c->port)
		GLM_SET(&m, port, GLM_TLV_PORT, c->port);
	code = transact(c, &m, &ans);
	if (code)
		return code;
	/* The dump and the pushes that follow have imsd's own seqs. */
	deadline = now_ns() + (uint64_t)secs * 1000000000ull;
	FILE *stamps = c->acked ? fopen(c->acked, "w") : NULL;

	if (c->acked && !stamps) {
		fprintf(stderr, "imsclient: %s: %s\n", c->acked, strerror(errno));
		return EX_CANTCREAT;
	}
	if (stamps)
		setvbuf(stamps, NULL, _IOLBF, 0); /* whole lines, even if we are killed */
	while ((r = recv_msg(c, deadline, &ans)) > 0)
		if (ans.type == GLM_NOTIFY) {
			/* --acked: the update's seq and when its push arrived */
			if (stamps && GLM_HAS(&ans, GLM_TLV_UPDATE_SEQ))
				fprintf(stamps, "%llu %llu\n", (unsigned long long)ans.update_seq,
					(unsigned long long)now_ns());
			print_msg(&ans);
		}
	if (stamps && fclose(stamps))
		return EX_IOERR;
	return r < 0 ? EXIT_TIMEOUT : 0;
}

static int send_raw(struct client *c, const char *hex)
{
	size_t len = strlen(hex) / 2;
	uint8_t *buf = malloc(len ? len : 1);
	struct glm_msg ans;
	int r;

	if (!buf || strlen(hex) % 2 || parse_hex(hex, buf, len)) {
		free(buf);
		fprintf(stderr, "imsclient: --raw wants an even number of hex digits\n");
		return EX_USAGE;
	}
	r = send_buf(c, buf, len);
	free(buf);
	if (r)
		return EX_UNAVAILABLE;
	r = recv_msg(c, now_ns() + (uint64_t)c->timeout_ms * 1000000ull, &ans);
	if (r > 0) {
		print_msg(&ans);
		return 0;
	}
	fprintf(stderr, "imsclient: no answer within %d ms\n", c->timeout_ms);
	return EXIT_TIMEOUT;
}

static const struct {
	const char *name, *args;
	int (*fn)(struct client *c, int argc, char **argv);
} cmds[] = {
	{ "update", "HA MA LIFETIME", cmd_update },
	{ "query", "HA", cmd_query },
	{ "subscribe", "PREFIX LIFETIME [SECONDS]", cmd_subscribe },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: imsclient -s [ADDR]:PORT -k KEYRING -i KEYID [options] COMMAND ARGS\n"
		   "       imsclient -s [ADDR]:PORT --raw HEX\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %s %s\n", cmds[i].name, cmds[i].args);
	fprintf(f, "\noptions:\n"
		   "  --seq N      header sequence of the (first) request instead of the clock\n"
		   "  --forge      flip a byte of the MAC\n"
		   "  --replay     send the same sealed bytes twice\n"
		   "  --raw HEX    send these bytes and nothing else\n"
		   "  --save FILE  also write the sealed request to FILE as hex (for --raw later)\n"
		   "  --port P     subscribe: ask for pushes to this port\n"
		   "  --no-prove   do not answer a PROVE (an unvouched MA) with its token\n"
		   "  --vouch KEYRING  update: vouch for the MA with KEYRING's private key (an agent's)\n"
		   "  -t MS        wait this long for an answer (default 1000)\n"
		   "  -c N         repeat N times and print round-trip statistics\n"
		   "  -w W         with -c, keep W requests in flight\n"
		   "  --keep-going with -c, count what is unanswered after -t ms as lost and go on\n"
		   "  --acked FILE with -c, write the seq of every OK answer and when it came (CLOCK_MONOTONIC ns)\n"
		   "               to FILE; with subscribe, the update seq of every push and when it came\n"
		   "  --rtts FILE  with -c, write every round trip (ms) to FILE\n"
		   "  --echo       the server echoes: take our own request back as its answer (a baseline)\n"
		   "  --spread K   update with -c: take the home addresses HA .. HA+K-1 in turn (K <= 256)\n"
		   "exit: 0 ok, 1 refused, 2 no answer, 64 usage\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "seq", required_argument, NULL, 'S' }, { "forge", no_argument, NULL, 'F' },
		{ "replay", no_argument, NULL, 'R' }, { "raw", required_argument, NULL, 'X' },
		{ "port", required_argument, NULL, 'P' }, { "save", required_argument, NULL, 'W' },
		{ "no-prove", no_argument, NULL, 'N' }, { "vouch", required_argument, NULL, 'O' },
		{ "keep-going", no_argument, NULL, 'K' }, { "acked", required_argument, NULL, 'A' },
		{ "rtts", required_argument, NULL, 'T' }, { "echo", no_argument, NULL, 'E' },
		{ "spread", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { 0 },
	};
	struct client c = { .fd = -1, .timeout_ms = 1000, .count = 1 };
	const char *server = NULL, *keyring = NULL, *raw = NULL;
	struct glm_keyring kr = { 0 };
	struct sockaddr_in6 sa;
	uint32_t key_id = 0, v;
	int code = EX_USAGE;

	log_init("imsclient", true, 0);
	for (int o; (o = getopt_long(argc, argv, "+s:k:i:t:c:w:h", lopts, NULL)) != -1;) {
		switch (o) {
		case 's': server = optarg; break;
		case 'k': keyring = optarg; break;
		case 'i': if (parse_u32(optarg, 1, UINT32_MAX, &key_id)) goto bad; break;
		case 't': if (parse_u32(optarg, 1, 600000, &v)) goto bad; c.timeout_ms = (int)v; break;
		case 'c': if (parse_u32(optarg, 1, 10000000, &c.count)) goto bad; break;
		case 'w': if (parse_u32(optarg, 1, 4096, &c.window)) goto bad; break;
		case 'S': {
			char *end;
			errno = 0;
			c.seq_opt = strtoull(optarg, &end, 10);
			if (errno || *end || !c.seq_opt)
				goto bad;
			break;
		}
		case 'F': c.forge = true; break;
		case 'R': c.replay = true; break;
		case 'N': c.no_prove = true; break;
		case 'O': c.vouch = optarg; break;
		case 'X': raw = optarg; break;
		case 'W': c.save = optarg; break;
		case 'K': c.keep_going = true; break;
		case 'A': c.acked = optarg; break;
		case 'E': c.echo = true; break;
		case 'D': if (parse_u32(optarg, 1, 256, &c.spread)) goto bad; break;
		case 'T':
			if (!(c.rtts = fopen(optarg, "w"))) {
				fprintf(stderr, "imsclient: %s: %s\n", optarg, strerror(errno));
				return EX_CANTCREAT;
			}
			break;
		case 'P': if (parse_u32(optarg, 1, 65535, &v)) goto bad; c.port = (uint16_t)v; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("imsclient %s\n", GLM_VERSION); return 0;
		default: goto bad;
		}
	}
	if (!server || parse_sockaddr6(server, 5300, &sa)) {
		fprintf(stderr, "imsclient: -s [ADDR]:PORT is required\n");
		goto bad;
	}
	c.fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* an update is sent from its MA, as matd sends it, where that is an
	 * address of ours: the IMS's PROVE goes there */
	if (c.fd >= 0 && optind + 2 < argc && !strcmp(argv[optind], "update")) {
		struct sockaddr_in6 from = { .sin6_family = AF_INET6 };

		if (parse_in6(argv[optind + 2], &from.sin6_addr) == 0)
			(void)!bind(c.fd, (struct sockaddr *)&from, sizeof(from));
	}
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "imsclient: %s: %s\n", server, strerror(errno));
		code = EX_UNAVAILABLE;
		goto cleanup;
	}
	if (raw) {
		code = send_raw(&c, raw);
		goto cleanup;
	}
	if (!keyring || !key_id || optind >= argc)
		goto bad;
	if (keyring_load(keyring, &kr) < 0) {
		code = EX_CONFIG;
		goto cleanup;
	}
	/* we are the keyring's private key (key_id); we seal for the IMS */
	c.key = keyring_peer(&kr, GLM_ROLE_BIT(GLM_ROLE_IMS), &sa.sin6_addr);
	if (kr.self_id != key_id || !c.key) {
		fprintf(stderr, "imsclient: %s: %s\n", keyring,
			kr.self_id != key_id ? "its private key is not the -i key" : "no ims key for the server");
		code = EX_CONFIG;
		goto cleanup;
	}
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[optind], cmds[i].name)) {
			code = cmds[i].fn(&c, argc - optind, argv + optind);
			if (code == EX_USAGE)
				fprintf(stderr, "usage: imsclient ... %s %s\n", cmds[i].name, cmds[i].args);
			goto cleanup;
		}
	fprintf(stderr, "imsclient: unknown command '%s'\n", argv[optind]);
bad:
	if (code == EX_USAGE)
		usage(stderr);
cleanup:
	if (c.fd >= 0)
		close(c.fd);
	if (c.rtts && fclose(c.rtts) && !code)
		code = EX_IOERR;
	keyring_free(&kr);
	return code;
}
