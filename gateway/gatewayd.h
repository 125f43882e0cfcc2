/* glm-gatewayd, the home or site gateway: the state its parts share.
 *
 * glm-gatewayd.c owns the process (options, loop, signals, the UDP and
 * control sockets); config.c reads gatewayd.conf; mappings.c keeps the
 * home addresses' current MAs, fed by the IMS subscription (lib/imssub.c)
 * and, at a site gateway, by the mobile nodes' binding updates (binding.c),
 * and mirrors them into the kernel's maps (lib/nft.c, table ip6 glm_gw),
 * where every packet is translated: nothing per packet happens here. */
#ifndef GLM_GATEWAYD_H
#define GLM_GATEWAYD_H
#include "evloop.h"
#include "htab.h"
#include "imsset.h"
#include "imssub.h"
#include "keys.h"
#include "metrics.h"
#include "nft.h"
#include "wire.h"
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define GW_DEFAULT_CONF "/etc/glm/gatewayd.conf"
#define GW_DEFAULT_CTL "/run/glm/gatewayd.sock"
#define GW_DEFAULT_TABLE "glm_gw"
#define GW_DEFAULT_PORT 5302
#define GW_IMS_PORT 5300
#define GW_MAX_HOME IMS_SUB_MAX_PREFIXES
#define GW_MAX_SITE 16
#define GW_MAX_SERVE 16
#define GW_DEFAULT_SUB_LIFETIME 600
#define GW_DEFAULT_MAX_MAPPINGS 1000000
#define GW_DEFAULT_RCVBUF (4 << 20)

struct gw_conf {
	char keyring[256];
	uint32_t key_id;
	struct ims_set ims;          /* 'ims' lines; the one subscribed at (lib/imsset.h) */
	struct sockaddr_in6 listen;
	unsigned nhome, nsite, nserve;  /* nserve > 0: a site gateway */
	struct in6_addr home[GW_MAX_HOME], site[GW_MAX_SITE], serve[GW_MAX_SERVE];
	uint8_t home_len[GW_MAX_HOME], site_len[GW_MAX_SITE], serve_len[GW_MAX_SERVE];
	char table[32];
	char control[256];
	uint32_t sub_lifetime;       /* asked of the IMS for each subscription */
	uint32_t max_mappings;
	uint32_t rcvbuf;             /* 'receive-buffer': the UDP socket's, bytes */
	bool has_metrics;
	struct sockaddr_in6 metrics;  /* 'metrics [ADDR]:PORT': GET /metrics there (lib/metrics.h) */
};

/* One home address's current MA, as the kernel's map holds it. */
struct gw_mapping {
	struct in6_addr ha;          /* the key: first in the struct */
	struct in6_addr ma;
	struct in6_addr prev_ma;     /* the MA before the last move, still in ma2ha (has_prev) */
	bool has_prev;
	uint64_t update_seq;         /* the mobile node's: older news is stale */
	uint64_t expires_ns;         /* CLOCK_MONOTONIC */
};

/* An IMS push waiting for the end of its burst (gw_push, gw_flush). */
struct gw_pending {
	struct in6_addr ha, ma;
	uint64_t seq;                /* the mobile node's update seq */
	uint32_t lifetime;           /* 0: withdrawn */
};

/* Pushes to the kernel in one batch: a move is up to 4 changes, and a
 * batch takes 1024 (lib/nft.h). */
#define GW_PENDING_MAX 255

struct gw_stats {
	uint64_t rx, drops[GLM_PE_MAX];
	uint64_t not_ims;            /* authentic, but not from one of our IMSes' key and address */
	uint64_t pushes;             /* mappings pushed or dumped by the IMS */
	uint64_t added, moved, withdrawn, expired, stale;
	uint64_t refused_site;       /* MA outside every site-prefix: never installed */
	uint64_t refused_home;       /* HA outside every home-prefix */
	uint64_t full;               /* max-mappings reached */
	uint64_t nft_errors;         /* batches the kernel refused: nothing changed */
	uint64_t bu_rx;              /* binding updates (site gateway) */
	uint64_t bu_prove;           /* answered with a PROVE token: MA not vouched for */
	uint64_t bu_refused;         /* malformed, not the HA's owner's, or not a site gateway */
	uint64_t rx_lost;            /* datagrams the kernel dropped: our receive buffer was full */
	uint64_t resubscribes;       /* subscription rounds for the whole state again, after such a loss */
};

struct gw {
	struct gw_conf conf;
	const char *socket_override; /* -s */
	struct glm_keyring keys;
	struct mat_nft *nft;
	struct ims_sub sub;
	struct htab maps;            /* struct gw_mapping by HA */
	struct gw_pending pending[GW_PENDING_MAX];
	unsigned npending;           /* pushes not yet in the kernel: only inside on_udp */
	struct evloop *loop;
	struct ev_timer sweep;       /* once a second: expired mappings out, receive losses checked */
	uint32_t sock_drops;         /* the UDP socket's drop count at the last sweep */
	bool lost;                   /* datagrams lost since the last round for the whole state */
	int udp, ctl;
	uint64_t since;              /* CLOCK_REALTIME at set-up: nothing sent before is taken */
	struct glm_proof proof;      /* our return-routability tokens (binding updates) */
	struct gw_stats st;
	struct metrics_http *metrics; /* conf.has_metrics */
};

/* metrics.c: the Prometheus exposition (lib/metrics.h's metrics_fn). */
void gw_metrics(void *ctx, struct strbuf *sb);

/* config.c */
void gw_conf_defaults(struct gw_conf *c);
int gw_conf_load(const char *path, struct gw_conf *c);
int gw_conf_load_buf(const char *name, const char *buf, size_t len, struct gw_conf *c);

/* mappings.c */
void gw_maps_init(struct gw *g);
void gw_maps_free(struct gw *g);
/* A push from the IMS (imssub.h's ims_sub_push_fn): queued, in the
 * kernel at the next gw_flush (or once GW_PENDING_MAX wait). */
void gw_push(void *ctx, const struct glm_msg *m);
/* The pushes queued, to the kernel in one batch (the newest news per HA;
 * one by one if the kernel refuses the batch). */
void gw_flush(struct gw *g);
/* One mapping from either source; a glm_status (OK, STALE, DENIED, INTERNAL). */
int gw_apply(struct gw *g, const struct in6_addr *ha, const struct in6_addr *ma, uint64_t seq, uint32_t lifetime,
	     const char *via);
/* The sweep: expired mappings out of the kernel, then out of memory. */
void gw_expire(struct gw *g, uint64_t now);
bool gw_in_site(const struct gw_conf *c, const struct in6_addr *a);
bool gw_in_home(const struct gw_conf *c, const struct in6_addr *a);

/* binding.c: a mobile node's BINDING_UPDATE, sent to us from `from` to
 * our address local (unspecified if unknown) */
void gw_binding_update(struct gw *g, const struct glm_msg *m, const struct glm_key *key,
		       const struct in6_addr *local, const struct sockaddr_in6 *from);
#endif
