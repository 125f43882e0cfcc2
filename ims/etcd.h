/* A small client of etcd's v3 API through its JSON gateway (HTTP/1.1 POSTs
 * of JSON bodies to /v3/...), on libcurl's multi interface and json-c.
 *
 * Requests run in blocking rounds: etcd_run() sends every call of a round
 * at once (one connection each, kept alive between rounds) and returns
 * when all have an answer or the round's deadline passed, so a batch of
 * N updates costs one round trip, not N. A call that fails on one
 * endpoint (refused, reset, timed out, or an etcd error that says the
 * member cannot serve: no leader, request timed out) is tried on the next
 * endpoint, within the same deadline; the endpoint that answered stays
 * the current one.
 *
 * One watch runs beside the rounds on the same multi handle: its
 * connection is serviced while a round waits, and by the daemon's event
 * loop in between (the socket is watched for input; a once-a-second timer
 * catches what a socket event cannot, such as a reconnect). Every message
 * of the watch stream (one JSON object per line) reaches the callback. */
#ifndef IMS_ETCD_H
#define IMS_ETCD_H
#include "evloop.h"
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define ETCD_MAX_ENDPOINTS 8
#define ETCD_DEFAULT_TIMEOUT_MS 2000
#define ETCD_DEFAULT_PREFIX "/glm/"

struct etcd_conf {
	char *endpoint[ETCD_MAX_ENDPOINTS];   /* http://[addr]:port or https://... */
	unsigned nendpoints;
	char *prefix;                          /* key prefix, default ETCD_DEFAULT_PREFIX */
	char *cacert, *cert, *key;             /* TLS: CA bundle, client certificate and key */
	char *user, *password_file;            /* etcd authentication (the file holds the password) */
	uint32_t timeout_ms;                   /* one round's deadline */
};

struct etcd_call {
	const char *path;      /* "/v3/kv/txn" */
	char *body;            /* JSON; the caller's */
	/* results */
	json_object *resp;     /* the parsed answer (put by etcd_call_done), or NULL */
	int err;               /* 0, or -errno-like: -ETIMEDOUT, -ECONNREFUSED, -EPROTO, -EIO */
	char why[400];         /* for the log when err */
	/* etcd_run's own */
	void *h;
	char *out;
	size_t outlen, outcap;
	unsigned tried;        /* endpoints tried */
	unsigned endpoint;     /* the endpoint of the current attempt */
	char curlerr[256];     /* libcurl's own words (CURL_ERROR_SIZE), e.g. the TLS alert */
};

/* One message of the watch stream: {"result": {...}} or {"error": ...}. */
typedef void (*etcd_watch_fn)(void *ctx, json_object *msg);
/* The watch ended (the connection broke or etcd closed it): the owner
 * reads the mappings again and watches from the revision of that read. */
typedef void (*etcd_watch_end_fn)(void *ctx, const char *why);

struct etcd_stats {
	uint64_t calls, errors, failovers, rounds, watch_restarts;
	uint64_t round_ns_total;     /* summed round time */
};

struct etcd;

int etcd_new(const struct etcd_conf *conf, struct evloop *loop, struct etcd **out);
void etcd_free(struct etcd *e);

/* Run the calls of one round; returns how many failed. */
unsigned etcd_run(struct etcd *e, struct etcd_call *calls, unsigned n);
void etcd_call_done(struct etcd_call *c);

/* Start (or restart) the watch: POST /v3/watch with body, then drive it
 * until etcd says it was created or the deadline passes. 0 or -errno. */
int etcd_watch_start(struct etcd *e, const char *body, etcd_watch_fn fn, etcd_watch_end_fn end, void *ctx);
void etcd_watch_stop(struct etcd *e);
bool etcd_watching(const struct etcd *e);

/* Where we talk to now, and the last error, for stats and the log. */
const char *etcd_endpoint(const struct etcd *e);
const char *etcd_last_error(const struct etcd *e);
const struct etcd_stats *etcd_stats(const struct etcd *e);

/* JSON helpers: base64 of bytes (into out, NUL-terminated; returns out) and
 * back (returns the length, or -1). */
char *etcd_b64(const void *in, size_t len, char *out, size_t cap);
long etcd_unb64(const char *in, void *out, size_t cap);
/* json-c getters for etcd's answers, where int64s are strings. */
json_object *etcd_get(json_object *o, const char *k);
int64_t etcd_get_i64(json_object *o, const char *k);
/* o[k] if it is an array (*n its length), else NULL and *n = 0; and its
 * first element, or NULL. (json-c's array calls assume an array.) */
json_object *etcd_get_array(json_object *o, const char *k, size_t *n);
json_object *etcd_first(json_object *o, const char *k);

void etcd_conf_free(struct etcd_conf *c);
#endif
