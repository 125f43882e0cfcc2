/* imsd, the IP address Mapping Server: the state its parts share.
 *
 * imsd.c owns the loop and the process (options, signals, pid file);
 * config.c reads imsd.conf; requests.c turns a batch of datagrams into one
 * store transaction and its replies; subscribers.c keeps the subscribed
 * correspondents and pushes changes to them; sendq.c queues every outgoing
 * datagram until the batch's commit is done; control.c answers the unix
 * control socket. */
#ifndef IMSD_H
#define IMSD_H
#include "cookie.h"
#include "etcd.h"
#include "evloop.h"
#include "keylog.h"
#include "keys.h"
#include "metrics.h"
#include "store.h"
#include "wire.h"
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define IMSD_DEFAULT_CONF "/etc/glm/imsd.conf"
#define IMSD_DEFAULT_KEYRING "/etc/glm/keys"
#define IMSD_DEFAULT_DB "/var/lib/glm/imsd.db"
#define IMSD_DEFAULT_CTL "/run/glm/imsd.sock"
#define IMSD_DEFAULT_PORT 5300
#define IMSD_DEFAULT_MAX_LIFETIME 86400
#define IMSD_DEFAULT_SUB_LIFETIME 3600
#define IMSD_DEFAULT_DUMP_RATE 51200
#define IMSD_BATCH 64         /* datagrams per recvmmsg, i.e. per commit */
#define IMSD_MAX_SUBSCRIBERS 4096
/* The most subscriptions one key may hold: a key cannot take the whole
 * table (IMSD_MAX_SUBSCRIBERS) from the others. */
#define IMSD_SUBS_PER_KEY 16
#define IMSD_OUT_MAX 256      /* our own messages are small */

enum imsd_store_kind { IMSD_STORE_SQLITE, IMSD_STORE_ETCD };

struct imsd_conf {
	struct sockaddr_in6 listen;
	char *database, *keyring, *control;
	uint32_t max_lifetime, sub_lifetime;
	uint32_t dump_rate;             /* a new subscription's dump: mappings a second */
	enum imsd_store_kind store;
	struct etcd_conf etcd;        /* store etcd */
	bool has_metrics;
	struct sockaddr_in6 metrics;  /* 'metrics': GET /metrics there (lib/metrics.h) */
};

struct imsd_stats {
	uint64_t rx, updates_ok, updates_stale, updates_denied, updates_badreq, updates_failed, updates_prove;
	uint64_t updates_unavailable;  /* etcd: no member stored it (not answered) */
	uint64_t queries, subscribes, notifies_sent, send_errors;
	uint64_t subscribes_limited;   /* refused: the key held IMSD_SUBS_PER_KEY */
	uint64_t cookies_sent;         /* QUERY/SUBSCRIBE without a valid cookie: answered with one */
	uint64_t drop[GLM_PE_MAX];     /* by reason: unparsable, not authentic, not fresh, replayed */
	uint64_t drop_unexpected;
};

struct subscriber {
	struct sockaddr_in6 to;   /* where pushes go: source address, PORT or source port */
	struct in6_addr prefix;
	uint8_t prefix_len;
	uint32_t key_id;
	int64_t expires;          /* wall clock seconds */
};

/* A SUBSCRIBE's dump being sent (subscribers.c): the mappings of its
 * prefix as they were when it came, sorted by HA, sent dump-rate a second. */
struct dump {
	struct dump *next;
	struct sockaddr_in6 to;
	uint32_t key_id;
	struct mapping *m;
	size_t n, sent;
};

struct outmsg {
	struct sockaddr_in6 to;
	uint16_t len;
	uint8_t buf[IMSD_OUT_MAX];
};

struct sendq {
	struct outmsg *q;
	unsigned n, cap;
};

/* imsd's own options: each overrides its configuration line. */
struct imsd_overrides {
	const char *keyring, *db, *listen;
};

struct estore;

/* One received request, as requests.c and estore.c see it. */
struct rx {
	struct glm_msg m;
	const struct glm_key *key;
	const struct sockaddr_in6 *from;
	bool proven;         /* carried our cookie for its source */
};

/* One UPDATE of a batch, from its checks to its answer. */
struct update {
	const struct rx *r;
	struct mapping m;
	uint32_t lifetime;   /* granted */
	uint16_t status;
	bool was_live;       /* a live mapping existed before: a withdraw is news */
	bool unavailable;    /* etcd: not stored because no member could take it: no answer */
	uint64_t stored_seq; /* etcd: the seq found when refused as stale */
};

struct imsd {
	struct imsd_overrides overrides; /* -k -D -l */
	struct imsd_conf conf;
	struct glm_keyring keys;
	struct store *store;          /* store sqlite */
	struct estore *es;            /* store etcd */
	int udp;
	struct imsd_stats st;
	struct subscriber *subs;
	unsigned nsubs, subs_cap;
	struct dump *dumps;            /* being sent, paced by dump_timer */
	struct ev_timer dump_timer;
	uint64_t since;                /* CLOCK_REALTIME at set-up: nothing sent before is taken */
	/* the last seq taken per key for the requests that have no durable
	 * sequence of their own (QUERY, SUBSCRIBE); UPDATE has the one stored
	 * per home address */
	struct glm_replay kseq;
	struct glm_proof proof;       /* return-routability tokens for unvouched MAs */
	/* address validation: QUERY and SUBSCRIBE are served only with our
	 * cookie for their source; a key at its subscription limit is logged
	 * once a minute */
	struct glm_cookie_secret cookies;
	struct glm_keylog limit_log;
	struct sendq out;
	struct evloop *loop;
	struct ev_timer expiry;        /* the once-a-second sweep */
	int ctl;
	struct metrics_http *metrics;  /* conf.has_metrics */
	struct mx_hist store_write;    /* seconds per store write: a SQLite put, an etcd transaction round */
};

/* config.c */
void conf_defaults(struct imsd_conf *c);
int conf_load(const char *path, struct imsd_conf *c);
int conf_load_buf(const char *name, const char *buf, size_t len, struct imsd_conf *c);
void conf_free(struct imsd_conf *c);

/* requests.c: read and answer one batch; <0 only on a socket error. */
int requests_batch(struct imsd *d);
int64_t wall_now(void);

/* subscribers.c */
/* 0, -EDQUOT (key holds IMSD_SUBS_PER_KEY), -ENOSPC, -ENOMEM. */
int subs_add(struct imsd *d, const struct sockaddr_in6 *to, const struct glm_msg *req,
	     const struct glm_key *key, uint32_t lifetime);
/* Queue a NOTIFY of m (lifetime 0 = gone) to every subscriber whose prefix holds it. */
void subs_notify(struct imsd *d, const struct mapping *m, uint32_t lifetime);
void subs_expire(struct imsd *d, int64_t now);
/* A new subscription's dump of the mappings in prefix/len to `to`, sealed
 * for key: the first of them queued now, the rest paced (a receiver
 * cannot take a hundred thousand datagrams at once). 0 or the store's
 * error (-EIO, -ENOMEM). */
int subs_dump(struct imsd *d, const struct sockaddr_in6 *to, const struct glm_key *key,
	      const struct in6_addr *prefix, uint8_t len);
void subs_free(struct imsd *d);
/* The dumps' pace (dump_timer's function). */
void on_dump_timer(void *arg);
/* The once-a-second sweep: expire mappings in one transaction, then push. */
void expiry_tick(struct imsd *d);

/* estore.c: the mappings in etcd, and this frontend's watched cache of
 * them. estore_open never fails for etcd being away (it syncs when it
 * comes); it fails for a bad configuration or no memory. */
int estore_open(struct imsd *d);
void estore_close(struct imsd *d);
int estore_open_detached(struct imsd *d);
void estore_feed(struct imsd *d, const char *json);
/* The cached mapping for ha, live or not: 0 or -ENOENT. */
int estore_get(struct imsd *d, const struct in6_addr *ha, struct mapping *m);
/* The authoritative answer for a QUERY: the cache once synchronised,
 * else etcd itself. 0, -ENOENT, -EIO. */
int estore_query(struct imsd *d, const struct in6_addr *ha, struct mapping *m);
/* Write the checked updates (status GLM_ST_OK on entry) in one round of
 * etcd transactions; each ends OK, STALE (stored_seq) or unavailable. */
void estore_commit(struct imsd *d, struct update *u, unsigned n, int64_t now);
int estore_each_in_prefix(struct imsd *d, const struct in6_addr *prefix, unsigned len, int64_t now,
			  store_row_fn fn, void *ctx);
long estore_count(struct imsd *d, int64_t now);
void estore_tick(struct imsd *d);
/* For stats and status: key=value lines. */
struct printer;
void estore_status(struct imsd *d, struct printer *p);
unsigned estore_counters(struct imsd *d, const char **names, unsigned long long *v, unsigned cap);

/* sendq.c */
/* Seal m for the peer whose key is key (under our own id) and queue it
 * for to; counts a failure as a send error. */
void sendq_msg(struct imsd *d, const struct sockaddr_in6 *to, struct glm_msg *m, const struct glm_key *key);
void sendq_flush(struct imsd *d);
void sendq_free(struct sendq *q);

/* control.c */
int control_request(void *ctx, int argc, char **argv, FILE *out);

/* metrics.c: the Prometheus exposition (lib/metrics.h's metrics_fn). */
void imsd_metrics(void *ctx, struct strbuf *sb);
#endif
