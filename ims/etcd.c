/* etcd's v3 JSON gateway over libcurl's multi interface (see etcd.h). */
#include "etcd.h"
#include "log.h"
#include "util.h"
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WATCH_LINE_MAX (16u << 20)   /* one watch message; etcd's own limit is ~1.5 MB a request */
#define CALL_OUT_MAX (64u << 20)

struct etcd {
	const struct etcd_conf *conf;
	struct evloop *loop;
	CURLM *multi;
	unsigned cur;                  /* the endpoint that answered last */
	struct curl_slist *hdrs;
	bool need_auth;                /* conf->user: (re)authenticate before the next round */
	/* the watch */
	CURL *w;
	char *wbody;
	char *wbuf;
	size_t wlen, wcap;
	etcd_watch_fn wfn;
	etcd_watch_end_fn wend;
	void *wctx;
	int wfd;
	bool wcreated, wfailed;
	unsigned wendpoint;
	struct ev_timer tick;
	struct etcd_stats st;
	char lasterr[420];
};

char *etcd_b64(const void *in, size_t len, char *out, size_t cap)
{
	if (cap < sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL)) {
		if (cap)
			out[0] = 0;
		return out;
	}
	return sodium_bin2base64(out, cap, in, len, sodium_base64_VARIANT_ORIGINAL);
}

long etcd_unb64(const char *in, void *out, size_t cap)
{
	size_t n;

	if (sodium_base642bin(out, cap, in, strlen(in), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL))
		return -1;
	return (long)n;
}

json_object *etcd_get(json_object *o, const char *k)
{
	json_object *v;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

json_object *etcd_get_array(json_object *o, const char *k, size_t *n)
{
	json_object *v = etcd_get(o, k);

	if (!v || !json_object_is_type(v, json_type_array)) {
		*n = 0;
		return NULL;
	}
	*n = json_object_array_length(v);
	return v;
}

json_object *etcd_first(json_object *o, const char *k)
{
	size_t n;
	json_object *a = etcd_get_array(o, k, &n);

	return n ? json_object_array_get_idx(a, 0) : NULL;
}

/* etcd's int64 fields are JSON strings ("revision": "12"); absent = 0. */
int64_t etcd_get_i64(json_object *o, const char *k)
{
	json_object *v = etcd_get(o, k);

	if (!v)
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strtoll(json_object_get_string(v), NULL, 10);
	return json_object_get_int64(v);
}

void etcd_conf_free(struct etcd_conf *c)
{
	for (unsigned i = 0; i < c->nendpoints; i++)
		free(c->endpoint[i]);
	free(c->prefix);
	free(c->cacert);
	free(c->cert);
	free(c->key);
	free(c->user);
	free(c->password_file);
	memset(c, 0, sizeof(*c));
}

static void set_error(struct etcd *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct etcd *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->lasterr, sizeof(e->lasterr), fmt, ap);
	va_end(ap);
}

/* Append n bytes to *buf (len, cap), NUL-terminated, growing it by
 * doubling up to max: 0, or -1 (too large, or no memory). */
static int buf_append(char **buf, size_t *len, size_t *cap, const char *p, size_t n, size_t max)
{
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap : 1024;
		char *nb;

		while (nc < *len + n + 1)
			nc *= 2;
		if (nc > max || !(nb = realloc(*buf, nc)))
			return -1;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = 0;
	return 0;
}

static size_t call_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct etcd_call *c = arg;

	/* 0: curl fails the transfer (CURLE_WRITE_ERROR) */
	return buf_append(&c->out, &c->outlen, &c->outcap, p, sz * nm, CALL_OUT_MAX) ? 0 : sz * nm;
}

static int close_sock(void *arg, curl_socket_t fd)
{
	struct etcd *e = arg;

	if (fd == e->wfd) {
		ev_unwatch(e->loop, fd);
		e->wfd = -1;
	}
	return close(fd);
}

static void drive(struct etcd *e);

static void on_watch_fd(void *arg)
{
	drive(arg);
}

/* The watch's connection is always its own (never reused, never kept),
 * so its socket is the one opened here, and the loop watches it. */
static curl_socket_t open_watch_sock(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct etcd *e = arg;
	int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);

	(void)purpose;
	if (fd < 0)
		return CURL_SOCKET_BAD;
	if (e->wfd >= 0)
		ev_unwatch(e->loop, e->wfd);
	e->wfd = -1;
	if (ev_watch(e->loop, fd, on_watch_fd, e) == 0)
		e->wfd = fd;
	return fd;
}

static CURL *easy_new(struct etcd *e, unsigned ep, const char *path, const char *body, long timeout_ms)
{
	CURL *h = curl_easy_init();
	char url[512];

	if (!h)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", e->conf->endpoint[ep], path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_COPYPOSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, e->hdrs);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1000L);
	if (timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_sock);
	curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, e);
	if (e->conf->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, e->conf->cacert);
	if (e->conf->cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, e->conf->cert);
	if (e->conf->key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, e->conf->key);
	return h;
}

/* One attempt's time: what is left of the round, but short enough that
 * a member that hangs (cut off from its cluster) leaves time for the next. */
static long attempt_ms(const struct etcd *e, uint64_t deadline)
{
	uint64_t now = now_ns();
	long left = deadline > now ? (long)((deadline - now) / 1000000) : 0;
	long share = (long)e->conf->timeout_ms / (e->conf->nendpoints > 1 ? 2 : 1);

	if (left < 1)
		left = 1;
	return share < left ? (share < 50 ? 50 : share) : left;
}

static int call_start(struct etcd *e, struct etcd_call *c, unsigned ep, uint64_t deadline)
{
	CURL *h = easy_new(e, ep, c->path, c->body, attempt_ms(e, deadline));

	if (!h)
		return -ENOMEM;
	c->outlen = 0;
	if (c->out)
		c->out[0] = 0;
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, call_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	c->curlerr[0] = 0;
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curlerr);
	curl_easy_setopt(h, CURLOPT_PRIVATE, c);
	if (curl_multi_add_handle(e->multi, h) != CURLM_OK) {
		curl_easy_cleanup(h);
		return -ENOMEM;
	}
	c->h = h;
	c->endpoint = ep;
	c->tried++;
	e->st.calls++;
	return 0;
}

/* What a finished attempt says: 0, or an error in c->err/c->why. Returns
 * true if another endpoint might do better. */
static bool call_finish(struct etcd *e, struct etcd_call *c, CURLcode res)
{
	long http = 0;
	json_object *err;

	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &http);
	curl_multi_remove_handle(e->multi, c->h);
	curl_easy_cleanup(c->h);
	c->h = NULL;
	if (res != CURLE_OK) {
		c->err = res == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
			 : res == CURLE_COULDNT_CONNECT ? -ECONNREFUSED : -EIO;
		snprintf(c->why, sizeof(c->why), "%s: %s", e->conf->endpoint[c->endpoint],
			 c->curlerr[0] ? c->curlerr : curl_easy_strerror(res));
		return true;
	}
	c->resp = c->outlen ? json_tokener_parse(c->out) : NULL;
	err = etcd_get(c->resp, "error");
	if (http == 200 && c->resp && !err) {
		c->err = 0;
		return false;
	}
	c->err = -EPROTO;
	snprintf(c->why, sizeof(c->why), "%s: HTTP %ld%s%s", e->conf->endpoint[c->endpoint], http,
		 err ? ": " : "", err ? json_object_get_string(err) : "");
	json_object_put(c->resp);
	c->resp = NULL;
	/* 5xx: unavailable (no leader), deadline exceeded: the member, not the request */
	return http >= 500 || http == 0;
}

static void watch_line(struct etcd *e, char *line)
{
	json_object *o = json_tokener_parse(line);
	json_object *r;

	if (!o) {
		log_warnx("etcd watch: a message that is not JSON (%zu bytes): ignored", strlen(line));
		return;
	}
	r = etcd_get(o, "result");
	if (r && etcd_get(r, "created") && json_object_get_boolean(etcd_get(r, "created")))
		e->wcreated = true;
	if (e->wfn)
		e->wfn(e->wctx, o);
	json_object_put(o);
}

static size_t watch_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct etcd *e = arg;
	size_t n = sz * nm;
	char *nl, *start;

	if (buf_append(&e->wbuf, &e->wlen, &e->wcap, p, n, WATCH_LINE_MAX))
		return 0;
	start = e->wbuf;
	while ((nl = memchr(start, '\n', e->wlen - (size_t)(start - e->wbuf)))) {
		*nl = 0;
		if (nl > start)
			watch_line(e, start);
		start = nl + 1;
	}
	e->wlen -= (size_t)(start - e->wbuf);
	memmove(e->wbuf, start, e->wlen);
	return n;
}

static void watch_remove(struct etcd *e)
{
	if (!e->w)
		return;
	curl_multi_remove_handle(e->multi, e->w);
	curl_easy_cleanup(e->w); /* closes its socket: close_sock unwatches it */
	e->w = NULL;
	e->wlen = 0;
	e->wcreated = false;
}

static void watch_done(struct etcd *e, CURLcode res)
{
	char why[200];
	long http = 0;

	curl_easy_getinfo(e->w, CURLINFO_RESPONSE_CODE, &http);
	snprintf(why, sizeof(why), "%s: %s%s", e->conf->endpoint[e->wendpoint],
		 res != CURLE_OK ? curl_easy_strerror(res) : "the stream ended",
		 http && http != 200 ? " (HTTP error)" : "");
	watch_remove(e);
	e->wfailed = true;
	set_error(e, "watch: %s", why);
	if (e->wend)
		e->wend(e->wctx, why);
}

/* Handle what the multi handle finished; calls are finished by etcd_run
 * (marked done here with their result). */
static void drain_msgs(struct etcd *e, void (*on_call)(struct etcd *, struct etcd_call *, CURLcode, void *), void *arg)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(e->multi, &left))) {
		void *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		if (m->easy_handle == e->w) {
			watch_done(e, m->data.result);
			continue;
		}
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&priv);
		if (priv && on_call)
			on_call(e, priv, m->data.result, arg);
	}
}

static void drive(struct etcd *e)
{
	int running;

	curl_multi_perform(e->multi, &running);
	drain_msgs(e, NULL, NULL);
}

static void on_tick(void *arg)
{
	struct etcd *e = arg;

	drive(e);
	ev_timer_in(e->loop, &e->tick, 1000);
}

struct round {
	unsigned pending, failed, failovers;
	uint64_t deadline;
};

static void round_call_done(struct etcd *e, struct etcd_call *c, CURLcode res, void *arg)
{
	struct round *r = arg;
	bool retry = call_finish(e, c, res);

	if (!c->err) {
		e->cur = c->endpoint;
		r->pending--;
		return;
	}
	if (retry && c->tried < e->conf->nendpoints && now_ns() < r->deadline) {
		unsigned next = (c->endpoint + 1) % e->conf->nendpoints;

		log_info("etcd: %s; trying %s", c->why, e->conf->endpoint[next]);
		e->st.failovers++;
		r->failovers++;
		e->cur = next;
		if (call_start(e, c, next, r->deadline) == 0)
			return;
	}
	e->st.errors++;
	set_error(e, "%s", c->why);
	if (e->conf->user && strstr(c->why, "invalid auth token"))
		e->need_auth = true;
	r->failed++;
	r->pending--;
}

static int authenticate(struct etcd *e);

unsigned etcd_run(struct etcd *e, struct etcd_call *c, unsigned n)
{
	uint64_t t0 = now_ns();

	if (e->need_auth && strcmp(c[0].path, "/v3/auth/authenticate")) {
		e->need_auth = false;
		if (authenticate(e) < 0)
			log_warnx("etcd: %s", e->lasterr);
		else
			log_info("etcd: authenticated again as %s", e->conf->user);
	}
	struct round r = { .deadline = t0 + (uint64_t)e->conf->timeout_ms * 1000000 };
	int running;

	for (unsigned i = 0; i < n; i++) {
		c[i].resp = NULL;
		c[i].err = -EINPROGRESS;
		c[i].why[0] = 0;
		c[i].tried = 0;
		c[i].h = NULL;
		if (call_start(e, &c[i], e->cur, r.deadline)) {
			c[i].err = -ENOMEM;
			snprintf(c[i].why, sizeof(c[i].why), "out of memory");
			r.failed++;
			continue;
		}
		r.pending++;
	}
	while (r.pending) {
		uint64_t now;

		curl_multi_perform(e->multi, &running);
		drain_msgs(e, round_call_done, &r);
		if (!r.pending)
			break;
		now = now_ns();
		if (now >= r.deadline + 100000000ull) {
			/* curl's own timeouts should have ended them: a last resort */
			for (unsigned i = 0; i < n; i++)
				if (c[i].h) {
					curl_multi_remove_handle(e->multi, c[i].h);
					curl_easy_cleanup(c[i].h);
					c[i].h = NULL;
					c[i].err = -ETIMEDOUT;
					snprintf(c[i].why, sizeof(c[i].why), "no answer within %u ms", e->conf->timeout_ms);
					r.failed++;
					r.pending--;
				}
			break;
		}
		curl_multi_poll(e->multi, NULL, 0, 50, NULL);
	}
	e->st.rounds++;
	e->st.round_ns_total += now_ns() - t0;
	/* A member that calls fail on may be cut off from its cluster: its
	 * watch would go silent rather than end. Follow the calls. */
	if (e->w && e->wendpoint != e->cur && r.failovers) {
		char why[200];

		snprintf(why, sizeof(why), "%s: calls failed over to %s", e->conf->endpoint[e->wendpoint],
			 e->conf->endpoint[e->cur]);
		watch_remove(e);
		set_error(e, "watch: %s", why);
		if (e->wend)
			e->wend(e->wctx, why);
	}
	return r.failed;
}

void etcd_call_done(struct etcd_call *c)
{
	json_object_put(c->resp);
	c->resp = NULL;
	free(c->out);
	c->out = NULL;
	c->outlen = c->outcap = 0;
}

void etcd_watch_stop(struct etcd *e)
{
	watch_remove(e);
	e->wfn = NULL;
	e->wend = NULL;
	free(e->wbody);
	e->wbody = NULL;
}

bool etcd_watching(const struct etcd *e)
{
	return e->w && e->wcreated;
}

int etcd_watch_start(struct etcd *e, const char *body, etcd_watch_fn fn, etcd_watch_end_fn end, void *ctx)
{
	uint64_t deadline = now_ns() + (uint64_t)e->conf->timeout_ms * 1000000;
	unsigned ep = e->cur;
	char *b = strdup(body);

	if (!b)
		return -ENOMEM;
	etcd_watch_stop(e);
	e->wbody = b;
	e->wfn = fn;
	e->wend = end;
	e->wctx = ctx;
	for (unsigned tries = 0; tries < e->conf->nendpoints; tries++, ep = (ep + 1) % e->conf->nendpoints) {
		CURL *h = easy_new(e, ep, "/v3/watch", e->wbody, 0);
		int running;

		if (!h)
			return -ENOMEM;
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, e);
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_watch_sock);
		curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, e);
		/* a member that dies without a word (power, cable) is noticed */
		curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 2L);
		curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 1L);
		if (curl_multi_add_handle(e->multi, h) != CURLM_OK) {
			curl_easy_cleanup(h);
			return -ENOMEM;
		}
		e->w = h;
		e->wendpoint = ep;
		e->wcreated = e->wfailed = false;
		e->wlen = 0;
		/* the callbacks must not restart us while we are starting */
		etcd_watch_end_fn saved = e->wend;
		e->wend = NULL;
		while (e->w && !e->wcreated && now_ns() < deadline) {
			curl_multi_perform(e->multi, &running);
			drain_msgs(e, NULL, NULL);
			if (e->w && !e->wcreated)
				curl_multi_poll(e->multi, NULL, 0, 50, NULL);
		}
		e->wend = saved;
		if (e->w && e->wcreated) {
			e->cur = ep;
			return 0;
		}
		watch_remove(e);
		e->st.watch_restarts++;
		log_info("etcd: watch on %s not created (%s)%s", e->conf->endpoint[ep], e->lasterr,
			 tries + 1 < e->conf->nendpoints ? "; trying the next endpoint" : "");
		if (now_ns() >= deadline)
			break;
	}
	return -ETIMEDOUT;
}

const char *etcd_endpoint(const struct etcd *e)
{
	return e->conf->endpoint[e->cur];
}

const char *etcd_last_error(const struct etcd *e)
{
	return e->lasterr;
}

const struct etcd_stats *etcd_stats(const struct etcd *e)
{
	return &e->st;
}

static int read_password(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, out, cap - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	out[n] = 0;
	out[strcspn(out, "\r\n")] = 0;
	return 0;
}

static int hdrs_build(struct etcd *e, const char *auth)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");

	/* no "Expect: 100-continue" round trip before a larger body */
	if (h)
		h = curl_slist_append(h, "Expect:");
	/* a member that lost its leader says so at once ("no leader"), and
	 * ends a watch, instead of holding a request until etcd's own 7 s */
	if (h)
		h = curl_slist_append(h, "Grpc-Metadata-hasleader: true");
	if (h && auth)
		h = curl_slist_append(h, auth);
	if (!h)
		return -ENOMEM;
	curl_slist_free_all(e->hdrs);
	e->hdrs = h;
	return 0;
}

/* etcd authentication: the token goes into every request's headers.
 * etcd forgets a simple token after --auth-token-ttl (300 s) unused: a
 * call refused for it makes the next round authenticate again. */
static int authenticate(struct etcd *e)
{
	char pw[256], body[1024], hdr[600];
	struct etcd_call c = { .path = "/v3/auth/authenticate", .body = body };
	json_object *name, *pass, *req;
	const char *tok;
	int r;

	if ((r = read_password(e->conf->password_file, pw, sizeof(pw))) < 0) {
		set_error(e, "password file %s: %s", e->conf->password_file, strerror(-r));
		return r;
	}
	req = json_object_new_object();
	name = json_object_new_string(e->conf->user);
	pass = json_object_new_string(pw);
	json_object_object_add(req, "name", name);
	json_object_object_add(req, "password", pass);
	snprintf(body, sizeof(body), "%s", json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	sodium_memzero(pw, sizeof(pw));
	json_object_put(req);
	etcd_run(e, &c, 1);
	sodium_memzero(body, sizeof(body));
	tok = json_object_get_string(etcd_get(c.resp, "token"));
	if (c.err || !tok || !*tok || strlen(tok) > 500) {
		set_error(e, "authenticate as %s: %s", e->conf->user, c.err ? c.why : "no token");
		etcd_call_done(&c);
		return -EACCES;
	}
	snprintf(hdr, sizeof(hdr), "Authorization: %s", tok);
	etcd_call_done(&c);
	return hdrs_build(e, hdr);
}

int etcd_new(const struct etcd_conf *conf, struct evloop *loop, struct etcd **out)
{
	static bool inited;
	struct etcd *e;
	int r;

	*out = NULL;
	if (!conf->nendpoints)
		return -EINVAL;
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || sodium_init() < 0)
			return -ENOMEM;
		inited = true;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->conf = conf;
	e->loop = loop;
	e->wfd = -1;
	e->multi = curl_multi_init();
	if (!e->multi || hdrs_build(e, NULL) < 0) {
		etcd_free(e);
		return -ENOMEM;
	}
	curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, 64L);
	ev_timer_init(&e->tick, "etcd", on_tick, e);
	if (loop)
		ev_timer_in(loop, &e->tick, 1000);
	if (conf->user && (r = authenticate(e)) < 0) {
		log_warnx("etcd: %s", e->lasterr);
		etcd_free(e);
		return r;
	}
	*out = e;
	return 0;
}

void etcd_free(struct etcd *e)
{
	if (!e)
		return;
	ev_timer_stop(&e->tick);
	etcd_watch_stop(e);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	curl_slist_free_all(e->hdrs);
	free(e->wbuf);
	free(e);
}
