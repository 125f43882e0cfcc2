/* Prometheus exposition and the "GET /metrics" server (see metrics.h for
 * why HTTP and how it is bounded). */
#include "metrics.h"
#include "conf.h"
#include "evloop.h"
#include "log.h"
#include "util.h"
#include "wire.h"
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the exposition writer ---- */

const double mx_seconds_le[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
const unsigned mx_seconds_n = sizeof(mx_seconds_le) / sizeof(mx_seconds_le[0]);

void mx_family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	/* HELP text escapes backslash and newline */
	sb_printf(sb, "# HELP %s ", name);
	for (const char *p = help; *p; p++) {
		if (*p == '\\')
			sb_printf(sb, "\\\\");
		else if (*p == '\n')
			sb_printf(sb, "\\n");
		else
			sb_putc(sb, *p);
	}
	sb_printf(sb, "\n# TYPE %s %s\n", name, type);
}

/* {k="v",...,le="LE"}: kv holds n key and value pairs, values escaped */
static void labels_kv(struct strbuf *sb, const char *const *kv, unsigned n, const char *le)
{
	if (!n && !le)
		return;
	sb_putc(sb, '{');
	for (unsigned i = 0; i < n; i++) {
		sb_printf(sb, "%s%s=\"", i ? "," : "", kv[2 * i]);
		for (const char *p = kv[2 * i + 1]; *p; p++) {
			if (*p == '\\' || *p == '"')
				sb_printf(sb, "\\%c", *p);
			else if (*p == '\n')
				sb_printf(sb, "\\n");
			else
				sb_putc(sb, *p);
		}
		sb_putc(sb, '"');
	}
	if (le)
		sb_printf(sb, "%sle=\"%s\"", n ? "," : "", le);
	sb_putc(sb, '}');
}

static void labels(struct strbuf *sb, const char *lkey, const char *lval, const char *le)
{
	const char *kv[2] = { lkey, lval };

	labels_kv(sb, kv, lkey ? 1 : 0, le);
}

void mx_sample2(struct strbuf *sb, const char *name, const char *k1, const char *v1, const char *k2, const char *v2,
		uint64_t v)
{
	const char *kv[4] = { k1, v1, k2, v2 };

	sb_printf(sb, "%s", name);
	labels_kv(sb, kv, 2, NULL);
	sb_printf(sb, " %llu\n", (unsigned long long)v);
}

void mx_sample(struct strbuf *sb, const char *name, const char *lkey, const char *lval, uint64_t v)
{
	sb_printf(sb, "%s", name);
	labels(sb, lkey, lval, NULL);
	sb_printf(sb, " %llu\n", (unsigned long long)v);
}

static void fmt_double(char *buf, size_t cap, double v)
{
	if (isnan(v))
		snprintf(buf, cap, "NaN");
	else if (isinf(v))
		snprintf(buf, cap, v > 0 ? "+Inf" : "-Inf");
	else
		snprintf(buf, cap, "%.17g", v);
}

void mx_sample_f(struct strbuf *sb, const char *name, const char *lkey, const char *lval, double v)
{
	char num[40];

	fmt_double(num, sizeof(num), v);
	sb_printf(sb, "%s", name);
	labels(sb, lkey, lval, NULL);
	sb_printf(sb, " %s\n", num);
}

void mx_counter(struct strbuf *sb, const char *name, const char *help, uint64_t v)
{
	mx_family(sb, name, "counter", help);
	mx_sample(sb, name, NULL, NULL, v);
}

void mx_gauge(struct strbuf *sb, const char *name, const char *help, uint64_t v)
{
	mx_family(sb, name, "gauge", help);
	mx_sample(sb, name, NULL, NULL, v);
}

void mx_drops(struct strbuf *sb, const char *name, const uint64_t *drops)
{
	char reason[48];

	mx_family(sb, name, "counter",
		  "Messages dropped, by reason: the parse error (short, bad_MAC, replay, wrong_role...).");
	for (unsigned e = GLM_PE_OK + 1; e < GLM_PE_MAX; e++) {
		snprintf(reason, sizeof(reason), "%s", glm_parse_err_name(e));
		for (char *p = reason; *p; p++)
			if (*p == ' ')
				*p = '_';
		mx_sample(sb, name, "reason", reason, drops[e]);
	}
}

void mx_hist_init(struct mx_hist *h, const double *le, unsigned n)
{
	memset(h, 0, sizeof(*h));
	h->le = le;
	h->n = n > MX_HIST_MAX ? MX_HIST_MAX : n;
}

void mx_hist_observe(struct mx_hist *h, double v)
{
	unsigned i = 0;

	if (isnan(v))
		return;
	while (i < h->n && v > h->le[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += v;
}

void mx_hist_write(struct strbuf *sb, const char *name, const char *lkey, const char *lval, const struct mx_hist *h)
{
	uint64_t cum = 0;
	char le[40];

	for (unsigned i = 0; i <= h->n; i++) {
		cum += h->bucket[i];
		if (i < h->n)
			snprintf(le, sizeof(le), "%g", h->le[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		sb_printf(sb, "%s_bucket", name);
		labels(sb, lkey, lval, le);
		sb_printf(sb, " %llu\n", (unsigned long long)cum);
	}
	fmt_double(le, sizeof(le), h->sum);
	sb_printf(sb, "%s_sum", name);
	labels(sb, lkey, lval, NULL);
	sb_printf(sb, " %s\n%s_count", le, name);
	labels(sb, lkey, lval, NULL);
	sb_printf(sb, " %llu\n", (unsigned long long)h->count);
}

/* ---- the HTTP request parser ---- */

/* RFC 9110 tchar */
static bool tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the line starting at p (the index of its '\n'), or -1. */
static long line_end(const char *buf, size_t len, size_t p)
{
	const char *nl = memchr(buf + p, '\n', len - p);

	return nl ? nl - buf : -1;
}

int http_parse_request(const char *buf, size_t len, struct http_req *r)
{
	size_t p = 0, mlen, tlen, e;
	long nl = line_end(buf, len, 0);

	memset(r, 0, sizeof(*r));
	/* a head that cannot be HTTP is refused before it is whole */
	for (mlen = 0; mlen < len && tchar((unsigned char)buf[mlen]); mlen++)
		;
	if (mlen < len && (mlen == 0 || buf[mlen] != ' '))
		return -EBADMSG;
	if (nl < 0)
		return 0;
	e = (size_t)nl;
	if (e > 0 && buf[e - 1] == '\r')
		e--;
	if (mlen == 0 || mlen > 16 || mlen >= e)
		return -EBADMSG;
	r->method = mlen == 3 && !memcmp(buf, "GET", 3) ? HTTP_GET
		  : mlen == 4 && !memcmp(buf, "HEAD", 4) ? HTTP_HEAD : HTTP_OTHER;
	p = mlen + 1;
	for (tlen = 0; p + tlen < e && buf[p + tlen] > ' ' && buf[p + tlen] < 0x7f; tlen++)
		;
	if (tlen == 0 || p + tlen >= e || buf[p + tlen] != ' ')
		return -EBADMSG;
	if (e - (p + tlen + 1) != 8 || memcmp(buf + p + tlen + 1, "HTTP/1.", 7) ||
	    buf[p + tlen + 8] < '0' || buf[p + tlen + 8] > '9')
		return -EBADMSG;
	{
		const char *q = memchr(buf + p, '?', tlen);
		size_t plen = q ? (size_t)(q - (buf + p)) : tlen;

		if (plen == 0)
			return -EBADMSG; /* "?query" alone: no path at all */
		if (plen >= sizeof(r->path))
			return -E2BIG;
		memcpy(r->path, buf + p, plen);
		r->path[plen] = '\0';
	}
	/* headers: "name: value" lines up to an empty one */
	for (p = (size_t)nl + 1;; p = (size_t)nl + 1) {
		size_t i;

		if (p >= len)
			return 0;
		nl = line_end(buf, len, p);
		if (nl < 0) {
			/* what is there must still be able to become a header */
			for (i = p; i < len && tchar((unsigned char)buf[i]); i++)
				;
			if (i < len && !(i == p && buf[i] == '\r' && i + 1 == len) && (i == p || buf[i] != ':'))
				return -EBADMSG;
			return 0;
		}
		e = (size_t)nl;
		if (e > p && buf[e - 1] == '\r')
			e--;
		if (e == p)
			return nl + 1;
		for (i = p; i < e && tchar((unsigned char)buf[i]); i++)
			;
		if (i == p || i == e || buf[i] != ':')
			return -EBADMSG;
		for (i++; i < e; i++)
			if (((unsigned char)buf[i] < ' ' && buf[i] != '\t') || buf[i] == 0x7f)
				return -EBADMSG;
	}
}

/* ---- the server ---- */

struct mx_conn {
	struct metrics_http *m;
	int fd;                      /* -1: free */
	struct ev_timer timer;       /* the deadline, and the retry while the peer is slow */
	uint64_t deadline_ns;
	size_t rlen;
	char req[MX_REQ_MAX];
	char *resp;                  /* the whole answer, once the request is read */
	size_t resp_len, resp_off;
};

struct metrics_http {
	struct evloop *loop;
	int lfd;
	metrics_fn fn;
	void *ctx;
	struct mx_conn conn[MX_CONNS];
};

#define MX_RETRY_MS 10

static void conn_close(struct mx_conn *c)
{
	ev_timer_stop(&c->timer);
	ev_unwatch(c->m->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	free(c->resp);
	c->resp = NULL;
	c->rlen = c->resp_len = c->resp_off = 0;
}

/* Send what the socket takes; closes when done or broken, else retries. */
static void conn_flush(struct mx_conn *c)
{
	while (c->resp_off < c->resp_len) {
		ssize_t n = send(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			uint64_t at = now_ns() + MX_RETRY_MS * 1000000ull;

			ev_timer_at(c->m->loop, &c->timer, at < c->deadline_ns ? at : c->deadline_ns);
			return;
		}
		if (n <= 0) {
			log_debug("metrics: send: %s", n < 0 ? strerror(errno) : "nothing taken");
			conn_close(c);
			return;
		}
		c->resp_off += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	conn_close(c);
}

static void conn_answer(struct mx_conn *c, int status, const char *reason, const char *body, size_t blen,
			bool head_only)
{
	static const char ctype_metrics[] = "text/plain; version=0.0.4; charset=utf-8";
	char hdr[256];
	int h = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, reason, status == 200 ? ctype_metrics : "text/plain; charset=utf-8", blen);
	size_t total = (size_t)h + (head_only ? 0 : blen);

	c->resp = malloc(total);
	if (!c->resp) {
		conn_close(c);
		return;
	}
	memcpy(c->resp, hdr, (size_t)h);
	if (!head_only)
		memcpy(c->resp + h, body, blen);
	c->resp_len = total;
	c->resp_off = 0;
	ev_unwatch(c->m->loop, c->fd); /* nothing more is read */
	conn_flush(c);
}

static void conn_error(struct mx_conn *c, int status, const char *reason)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason);

	conn_answer(c, status, reason, body, (size_t)n, false);
}

static void conn_metrics(struct mx_conn *c, bool head_only)
{
	size_t cap = 64 << 10;

	for (;;) {
		char *buf = malloc(cap);
		struct strbuf sb;

		if (!buf) {
			conn_error(c, 500, "Internal Server Error");
			return;
		}
		sb_init(&sb, buf, cap);
		c->m->fn(c->m->ctx, &sb);
		if (sb_ok(&sb)) {
			conn_answer(c, 200, "OK", buf, sb.len, head_only);
			free(buf);
			return;
		}
		free(buf);
		if (cap >= MX_RESP_MAX) {
			log_warnx("metrics: the exposition is longer than %u bytes", MX_RESP_MAX);
			conn_error(c, 500, "Internal Server Error");
			return;
		}
		cap *= 4;
	}
}

static void conn_readable(void *arg)
{
	struct mx_conn *c = arg;
	struct http_req r;
	ssize_t n;
	int h;

	n = recv(c->fd, c->req + c->rlen, sizeof(c->req) - c->rlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->rlen += (size_t)n;
	h = http_parse_request(c->req, c->rlen, &r);
	if (h == 0 && c->rlen == sizeof(c->req))
		return conn_error(c, 431, "Request Header Fields Too Large");
	if (h == 0)
		return;
	if (h == -E2BIG)
		return conn_error(c, 414, "URI Too Long");
	if (h < 0)
		return conn_error(c, 400, "Bad Request");
	if (r.method == HTTP_OTHER)
		return conn_error(c, 405, "Method Not Allowed");
	if (strcmp(r.path, "/metrics"))
		return conn_error(c, 404, "Not Found");
	conn_metrics(c, r.method == HTTP_HEAD);
}

static void conn_timer(void *arg)
{
	struct mx_conn *c = arg;

	if (now_ns() >= c->deadline_ns) {
		log_debug("metrics: a client too slow for %d ms dropped", MX_CONN_MS);
		conn_close(c);
	} else if (c->resp) {
		conn_flush(c);
	}
}

static void on_accept(void *arg)
{
	struct metrics_http *m = arg;
	struct mx_conn *c = NULL;
	int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (unsigned i = 0; i < MX_CONNS && !c; i++)
		if (m->conn[i].fd < 0)
			c = &m->conn[i];
	if (!c) {
		/* busy: no waiting line, a scraper retries on its next interval */
		close(fd);
		return;
	}
	c->fd = fd;
	c->deadline_ns = now_ns() + MX_CONN_MS * 1000000ull;
	ev_timer_at(m->loop, &c->timer, c->deadline_ns);
	if (ev_watch(m->loop, fd, conn_readable, c) < 0)
		conn_close(c);
}

int metrics_http_start(struct metrics_http **out, struct evloop *loop, const struct sockaddr_in6 *addr,
		       metrics_fn fn, void *ctx)
{
	struct metrics_http *m = calloc(1, sizeof(*m));
	int one = 1, r;

	if (!m)
		return -ENOMEM;
	m->loop = loop;
	m->fn = fn;
	m->ctx = ctx;
	for (unsigned i = 0; i < MX_CONNS; i++) {
		m->conn[i].m = m;
		m->conn[i].fd = -1;
		ev_timer_init(&m->conn[i].timer, "metrics connection", conn_timer, &m->conn[i]);
	}
	m->lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (m->lfd < 0) {
		r = -errno;
		free(m);
		return r;
	}
	setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(m->lfd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 || listen(m->lfd, 16) < 0)
		r = -errno;
	else
		r = ev_watch(loop, m->lfd, on_accept, m);
	if (r < 0) {
		close(m->lfd);
		free(m);
		return r;
	}
	*out = m;
	return 0;
}

void metrics_http_free(struct metrics_http *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < MX_CONNS; i++)
		if (m->conn[i].fd >= 0)
			conn_close(&m->conn[i]);
	ev_unwatch(m->loop, m->lfd);
	close(m->lfd);
	free(m);
}

int metrics_conf(const struct conf_pos *pos, int argc, char **argv, struct sockaddr_in6 *out)
{
	char buf[GLM_CONF_MAXLINE];
	char *av[2] = { argv[0], argc == 2 ? argv[1] : NULL };
	int r;

	if (argc != 2)
		return conf_err(pos, "usage: metrics [ADDR]:PORT");
	/* ":PORT" is the loopback address: metrics are for a local scraper
	 * unless the operator names another address */
	if (argv[1][0] == ':') {
		snprintf(buf, sizeof(buf), "[::1]%s", argv[1]);
		av[1] = buf;
	}
	if ((r = conf_sockaddr6(pos, 2, av, 0, out)) < 0)
		return r;
	if (!out->sin6_port)
		return conf_err(pos, "metrics %s: no port (expected [ADDR]:PORT)", argv[1]);
	return 0;
}
