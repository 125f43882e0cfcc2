/* Prometheus metrics for every daemon: the text exposition format 0.0.4
 * written into a bounded string builder, and a small read-only HTTP/1.1
 * server for "GET /metrics" run from the daemon's own event loop.
 *
 * HTTP, not node_exporter's textfile directory: a scraper reaches the
 * daemon directly, the numbers are as fresh as the scrape, and a host
 * needs no node_exporter nor a timer that rewrites a file. The server is
 * bounded: MX_CONNS connections at once, MX_REQ_MAX bytes of request head,
 * MX_CONN_MS from accept to the last byte of the answer, one answer then
 * close. Nothing here blocks: the answer is written as the socket takes
 * it, retried from a timer while the peer is slow.
 *
 * The writer's names follow Prometheus' conventions (the caller's job):
 * glm_ prefix, _total for counters, _seconds and _bytes in base units. */
#ifndef GLM_METRICS_H
#define GLM_METRICS_H
#include "strbuf.h"
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the exposition writer ---- */

/* "# HELP name help" and "# TYPE name type" (counter, gauge, histogram). */
void mx_family(struct strbuf *sb, const char *name, const char *type, const char *help);
/* One sample: name{lkey="lval"} v; lkey NULL for none. lval is escaped. */
void mx_sample(struct strbuf *sb, const char *name, const char *lkey, const char *lval, uint64_t v);
/* One sample with two labels. */
void mx_sample2(struct strbuf *sb, const char *name, const char *k1, const char *v1, const char *k2, const char *v2,
		uint64_t v);
void mx_sample_f(struct strbuf *sb, const char *name, const char *lkey, const char *lval, double v);
/* A family of one unlabelled sample. */
void mx_counter(struct strbuf *sb, const char *name, const char *help, uint64_t v);
void mx_gauge(struct strbuf *sb, const char *name, const char *help, uint64_t v);

/* A family NAME{reason="..."} of the message drops by parse error
 * (lib/wire.h's GLM_PE_MAX array, reasons named by glm_parse_err_name
 * with '_' for blanks); the caller may add samples of its own after. */
void mx_drops(struct strbuf *sb, const char *name, const uint64_t *drops);

/* A histogram with fixed upper bounds (ascending, +Inf implied). Buckets
 * are kept per interval and written cumulative, as the format wants. */
#define MX_HIST_MAX 16
struct mx_hist {
	const double *le;
	unsigned n;                      /* bounds in le, at most MX_HIST_MAX */
	uint64_t bucket[MX_HIST_MAX + 1]; /* [n]: above the last bound */
	uint64_t count;
	double sum;
};
/* Bounds for durations in seconds, 1 ms to 10 s. */
extern const double mx_seconds_le[];
extern const unsigned mx_seconds_n;
void mx_hist_init(struct mx_hist *h, const double *le, unsigned n);
void mx_hist_observe(struct mx_hist *h, double v);
/* The _bucket, _sum and _count samples (the family line is the caller's). */
void mx_hist_write(struct strbuf *sb, const char *name, const char *lkey, const char *lval, const struct mx_hist *h);

/* ---- the HTTP request parser (fuzzed: tests/fuzz/fuzz_http.c) ---- */

#define MX_REQ_MAX 4096
#define MX_PATH_MAX 256
enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER };
struct http_req {
	enum http_method method;
	char path[MX_PATH_MAX];          /* the target without its query */
};
/* The request head in buf[len]: request line and headers up to the empty
 * line, CRLF or bare LF. Returns the head's length once whole, 0 while
 * more is needed, -EBADMSG if it is not HTTP/1.x, -E2BIG if the target is
 * longer than MX_PATH_MAX - 1. Headers are checked for form and ignored. */
int http_parse_request(const char *buf, size_t len, struct http_req *r);

/* ---- the server ---- */

/* Write every metric into sb (the server retries with a larger buffer
 * when it overflows, up to MX_RESP_MAX). */
typedef void (*metrics_fn)(void *ctx, struct strbuf *sb);
struct evloop;
struct metrics_http;
#define MX_CONNS 4
#define MX_CONN_MS 2000
#define MX_RESP_MAX (4u << 20)
/* Listen on addr (the config's "metrics [ADDR]:PORT") from loop. */
int metrics_http_start(struct metrics_http **out, struct evloop *loop, const struct sockaddr_in6 *addr,
		       metrics_fn fn, void *ctx);
void metrics_http_free(struct metrics_http *m);

/* The config line "metrics [ADDR]:PORT" (argv[0], argv[1]): the address
 * must name a port; errors as FILE:LINE. */
struct conf_pos;
int metrics_conf(const struct conf_pos *pos, int argc, char **argv, struct sockaddr_in6 *out);
#endif
