/* lib/metrics.c: the exposition writer's lines (HELP escaping, label
 * escaping, cumulative histogram buckets, +Inf, sum and count), the
 * sticky overflow of a full buffer, and the HTTP request parser: whole
 * heads, heads cut anywhere (need more, never a wrong answer), bare LF,
 * queries, and what it refuses. And the server on a loopback socket,
 * driven by its loop: GET (an answer larger than its first buffer), HEAD,
 * 404, 405, 400. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "metrics.h"
#include "wire.h"

static void test_counter_gauge(void **state)
{
	char buf[1024];
	struct strbuf sb;

	(void)state;
	sb_init(&sb, buf, sizeof(buf));
	mx_counter(&sb, "glm_x_total", "Things\\done\nhere.", 42);
	mx_gauge(&sb, "glm_y", "Now.", 7);
	mx_family(&sb, "glm_z_total", "counter", "By reason.");
	mx_sample(&sb, "glm_z_total", "reason", "bad \"MAC\"\\\n", 3);
	mx_sample2(&sb, "glm_z_total", "event", "a", "result", "ok", 4);
	mx_sample_f(&sb, "glm_f", NULL, NULL, 0.5);
	assert_true(sb_ok(&sb));
	assert_string_equal(buf, "# HELP glm_x_total Things\\\\done\\nhere.\n"
				 "# TYPE glm_x_total counter\n"
				 "glm_x_total 42\n"
				 "# HELP glm_y Now.\n# TYPE glm_y gauge\nglm_y 7\n"
				 "# HELP glm_z_total By reason.\n# TYPE glm_z_total counter\n"
				 "glm_z_total{reason=\"bad \\\"MAC\\\"\\\\\\n\"} 3\n"
				 "glm_z_total{event=\"a\",result=\"ok\"} 4\n"
				 "glm_f 0.5\n");
}

static void test_histogram(void **state)
{
	static const double le[] = { 0.01, 0.1, 1 };
	struct mx_hist h;
	char buf[1024];
	struct strbuf sb;

	(void)state;
	mx_hist_init(&h, le, 3);
	mx_hist_observe(&h, 0.005);
	mx_hist_observe(&h, 0.01);  /* on a bound: in it (le is "less or equal") */
	mx_hist_observe(&h, 0.5);
	mx_hist_observe(&h, 3);
	sb_init(&sb, buf, sizeof(buf));
	mx_hist_write(&sb, "glm_h_seconds", "phase", "total", &h);
	assert_true(sb_ok(&sb));
	assert_non_null(strstr(buf, "glm_h_seconds_sum{phase=\"total\"} 3.51"));
	assert_non_null(strstr(buf, "glm_h_seconds_count{phase=\"total\"} 4\n"));
	assert_non_null(strstr(buf, "glm_h_seconds_bucket{phase=\"total\",le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(buf, "glm_h_seconds_bucket{phase=\"total\",le=\"0.01\"} 2\n"));
	assert_non_null(strstr(buf, "glm_h_seconds_bucket{phase=\"total\",le=\"1\"} 3\n"));
	/* no label: le alone */
	sb_init(&sb, buf, sizeof(buf));
	mx_hist_write(&sb, "glm_h_seconds", NULL, NULL, &h);
	assert_non_null(strstr(buf, "glm_h_seconds_bucket{le=\"0.1\"} 2\nglm_h_seconds_bucket{le=\"1\"} 3\n"));
	assert_non_null(strstr(buf, "\nglm_h_seconds_count 4\n"));
}

static void test_overflow(void **state)
{
	uint64_t drops[GLM_PE_MAX] = { 0 };
	char buf[64];
	struct strbuf sb;

	(void)state;
	sb_init(&sb, buf, sizeof(buf));
	mx_drops(&sb, "glm_d_total", drops);
	assert_false(sb_ok(&sb));
	assert_true(strlen(buf) < sizeof(buf));
}

static void test_drops(void **state)
{
	uint64_t drops[GLM_PE_MAX] = { 0 };
	char buf[4096];
	struct strbuf sb;

	(void)state;
	drops[GLM_PE_MAC] = 5;
	sb_init(&sb, buf, sizeof(buf));
	mx_drops(&sb, "glm_d_total", drops);
	assert_true(sb_ok(&sb));
	assert_non_null(strstr(buf, "glm_d_total{reason=\"bad_MAC\"} 5\n"));
	assert_null(strstr(buf, "reason=\"ok\""));
}

static int parse(const char *s, struct http_req *r)
{
	return http_parse_request(s, strlen(s), r);
}

static void test_parse(void **state)
{
	static const char get[] = "GET /metrics HTTP/1.1\r\nHost: [::1]:9464\r\nAccept: */*\r\n\r\n";
	struct http_req r;

	(void)state;
	assert_int_equal(parse(get, &r), (int)strlen(get));
	assert_int_equal(r.method, HTTP_GET);
	assert_string_equal(r.path, "/metrics");
	/* cut anywhere before the end: more is needed, never an error */
	for (size_t n = 0; n < strlen(get); n++)
		assert_int_equal(http_parse_request(get, n, &r), 0);
	/* what follows the head is not its business */
	assert_int_equal(http_parse_request("GET / HTTP/1.0\n\nbody", 20, &r), 16);
	assert_string_equal(r.path, "/");
	assert_int_equal(parse("HEAD /metrics?x=1 HTTP/1.0\r\n\r\n", &r), 30);
	assert_int_equal(r.method, HTTP_HEAD);
	assert_string_equal(r.path, "/metrics");
	assert_true(parse("POST /metrics HTTP/1.1\r\n\r\n", &r) > 0);
	assert_int_equal(r.method, HTTP_OTHER);
	/* refused */
	assert_int_equal(parse("\x01GET", &r), -EBADMSG);
	assert_int_equal(parse("GET/metrics HTTP/1.1\r\n\r\n", &r), -EBADMSG);
	assert_int_equal(parse(" GET / HTTP/1.1\r\n", &r), -EBADMSG);
	assert_int_equal(parse("GET /metrics\r\n\r\n", &r), -EBADMSG);
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &r), -EBADMSG);
	assert_int_equal(parse("GET /metrics HTTP/1.1 x\r\n\r\n", &r), -EBADMSG);
	assert_int_equal(parse("GET /a\tb HTTP/1.1\r\n\r\n", &r), -EBADMSG);
	assert_int_equal(parse("GET ?x=1 HTTP/1.1\r\n\r\n", &r), -EBADMSG); /* fuzz_http found it */
	assert_int_equal(parse("GET / HTTP/1.1\r\nno colon\r\n\r\n", &r), -EBADMSG);
	assert_int_equal(parse("GET / HTTP/1.1\r\n folded: x\r\n\r\n", &r), -EBADMSG);
	assert_int_equal(parse("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", &r), -EBADMSG);
	assert_int_equal(parse("GET / HTTP/1.1\r\nA b", &r), -EBADMSG); /* before its end */
	assert_int_equal(parse("GET / HTTP/1.1\r\nA: b", &r), 0);
	{
		char longer[400];

		snprintf(longer, sizeof(longer), "GET /%0300d HTTP/1.1\r\n\r\n", 0);
		assert_int_equal(parse(longer, &r), -E2BIG);
	}
}

/* ---- the server, on a loopback socket, driven by its loop ---- */

static void fill(void *ctx, struct strbuf *sb)
{
	unsigned *n = ctx;

	/* larger than the first buffer: the server must grow it */
	for (unsigned i = 0; i < *n; i++)
		mx_sample(sb, "glm_t", NULL, NULL, i);
}

struct client {
	struct evloop *l;
	int fd;
	char rx[4 << 20];
	size_t len;
};

static void on_client(void *arg)
{
	struct client *c = arg;
	ssize_t n = read(c->fd, c->rx + c->len, sizeof(c->rx) - 1 - c->len);

	if (n <= 0) {
		ev_unwatch(c->l, c->fd);
		evloop_stop(c->l, 0);
		return;
	}
	c->len += (size_t)n;
	c->rx[c->len] = '\0';
}

static void on_timeout(void *arg)
{
	evloop_stop(arg, -ETIMEDOUT);
}

/* slow_ms: the client reads nothing for that long, through a small
 * receive buffer: the server must wait for room, from its loop */
static void ask_slow(struct evloop *l, const struct sockaddr_in6 *a, const char *req, struct client *c, unsigned slow_ms)
{
	struct ev_timer t;
	int small = 4096;

	c->l = l;
	c->len = 0;
	c->fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	if (slow_ms)
		setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	assert_int_equal(connect(c->fd, (const struct sockaddr *)a, sizeof(*a)), 0);
	assert_int_equal(write(c->fd, req, strlen(req)), (ssize_t)strlen(req));
	if (slow_ms) {
		ev_timer_init(&t, "test", on_timeout, l);
		ev_timer_in(l, &t, slow_ms);
		assert_int_equal(evloop_run(l), -ETIMEDOUT); /* the server ran meanwhile */
	}
	assert_int_equal(ev_watch(l, c->fd, on_client, c), 0);
	ev_timer_init(&t, "test", on_timeout, l);
	ev_timer_in(l, &t, 3000);
	assert_int_equal(evloop_run(l), 0);
	ev_timer_stop(&t);
	close(c->fd);
}

static void ask(struct evloop *l, const struct sockaddr_in6 *a, const char *req, struct client *c)
{
	ask_slow(l, a, req, c, 0);
}

static void test_server(void **state)
{
	static struct client c;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t alen = sizeof(a);
	struct metrics_http *m;
	struct evloop *l;
	unsigned n = 10000;
	int fd;

	(void)state;
	/* a free port: bind to 0, read it, let it go */
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		skip();
	getsockname(fd, (struct sockaddr *)&a, &alen);
	close(fd);
	assert_int_equal(evloop_new(&l), 0);
	assert_int_equal(metrics_http_start(&m, l, &a, fill, &n), 0);
	ask(l, &a, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &c);
	assert_non_null(strstr(c.rx, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(c.rx, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(c.rx, "Connection: close\r\n"));
	assert_non_null(strstr(c.rx, "\r\n\r\nglm_t 0\n"));
	assert_non_null(strstr(c.rx, "glm_t 9999\n"));
	/* a slow reader still gets all of it, the rest sent as room comes */
	n = 250000; /* 3 MB: more than loopback takes at once */
	ask_slow(l, &a, "GET /metrics HTTP/1.1\r\n\r\n", &c, 300);
	assert_non_null(strstr(c.rx, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(c.rx, "glm_t 249999\n"));
	n = 10000;
	ask(l, &a, "HEAD /metrics HTTP/1.1\r\n\r\n", &c);
	assert_non_null(strstr(c.rx, "HTTP/1.1 200 OK\r\n"));
	assert_null(strstr(c.rx, "glm_t"));
	ask(l, &a, "GET / HTTP/1.1\r\n\r\n", &c);
	assert_non_null(strstr(c.rx, "HTTP/1.1 404 Not Found\r\n"));
	ask(l, &a, "DELETE /metrics HTTP/1.1\r\n\r\n", &c);
	assert_non_null(strstr(c.rx, "HTTP/1.1 405 Method Not Allowed\r\n"));
	ask(l, &a, "\x16\x03\x01", &c); /* a TLS hello */
	assert_non_null(strstr(c.rx, "HTTP/1.1 400 Bad Request\r\n"));
	metrics_http_free(m);
	evloop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_gauge),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_drops),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
