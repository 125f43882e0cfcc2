/* matd: the MAT node. One daemon for both roles: the mobile node (a home
 * address kept for applications, stateless HA<->MA translation, move
 * detection, IMS update, correspondent notification) and the
 * correspondent (translation of mobile peers' HA<->MA, filled by binding
 * updates and the IMS). This header is the state both halves share. */
#ifndef GLM_MATD_H
#define GLM_MATD_H
#include "evloop.h"
#include "imsset.h"
#include "imssub.h"
#include "keys.h"
#include "metrics.h"
#include "nft.h"
#include "ndisc.h"
#include "print.h"
#include "rtnl.h"
#include "wire.h"
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MATD_MAX_NICS 2
#define MATD_MAX_CNS 16
#define MATD_MAX_PEERS 256
#define MATD_MAX_HOME_PREFIXES 8
#define MATD_DEFAULT_PORT 5301
#define MATD_IMS_PORT 5300
#define MATD_ROUTE_METRIC 16

/* The phases of a handover measured for the metrics (mobile.c, finish()). */
enum ho_phase { HO_DETECT_TO_USABLE, HO_USABLE_TO_IMS, HO_IMS_RTT, HO_CN_RTT, HO_TOTAL, HO_PHASES };

struct matd_conf {
	bool mobile;                 /* home-address given */
	struct in6_addr ha;
	unsigned nnics;
	char nics[MATD_MAX_NICS][IF_NAMESIZE];
	struct ims_set ims;          /* 'ims' lines; which one we talk to now (lib/imsset.h) */
	uint32_t key_id;
	char keyring[256];
	struct sockaddr_in6 listen;
	unsigned ncns;
	struct sockaddr_in6 cns[MATD_MAX_CNS];
	unsigned nhome;
	struct in6_addr home[MATD_MAX_HOME_PREFIXES];
	uint8_t home_len[MATD_MAX_HOME_PREFIXES];
	uint32_t lifetime;
	char table[32];
	unsigned debounce_ms;        /* a NOTIFY_PEERS this close to the previous one repeats it */
	bool home_gateway;           /* the home prefix is routed to a gateway: only peers that
				      * translate (correspondents, mobile peers) see the MA */
	bool has_metrics;
	struct sockaddr_in6 metrics; /* 'metrics [ADDR]:PORT': GET /metrics there (lib/metrics.h) */
};

struct nic {
	struct matd *matd;           /* for its neighbour discovery socket's callback */
	char name[IF_NAMESIZE];
	int ifindex;
	uint8_t mac[6];
	int ndfd;
	bool carrier;
	uint32_t down_count;
};

/* The phases of DESIGN.md "What is measured", for one handover. */
struct handover_record {
	unsigned id;
	bool prepared, ok;
	char nic[IF_NAMESIZE];
	char trigger[24];
	struct in6_addr from_ma, to_ma;
	double detect_to_usable_ms, usable_to_ims_ms, ims_rtt_ms, cn_rtt_ms, total_ms;
	unsigned cns_acked, cns;
	uint64_t finished_ns;
};

/* A handover's lifecycle, logged by name (mobile.c, ho_state_names[]):
 *   idle -> probe     a move noticed, prepared: echo the prepared router
 *   idle -> solicit   a move noticed, not prepared (or the probe unanswered): RS
 *   probe|solicit|idle -> ims-update   the link confirmed (idle: the agent's
 *                     RESUMED): switched, IMS and binding updates sent
 *   ims-update -> notify   the IMS acked (or given up on): waiting for the
 *                     correspondents' acks
 *   notify -> idle    done (finish); probe/solicit -> idle: no move */
enum ho_state { HO_IDLE, HO_PROBE, HO_SOLICIT, HO_IMS, HO_NOTIFY, HO_STATE_MAX };

/* The HA's established TCP sessions at a move, listed once (tcpkick.c) */
#define KICK_MAX 256
struct kick_list {
	bool loaded;
	unsigned n;
	struct {
		struct in6_addr src, dst; /* local, remote */
		uint16_t sport, dport; /* network order */
		bool done;
	} c[KICK_MAX];
};

struct cn_state {                    /* one correspondent during a handover */
	struct matd *matd;           /* for its timer */
	struct ev_timer timer;       /* the next retransmission, or the end of the last wait: armed
				      * while the binding update is pending (not acked, not given up) */
	uint64_t sent_ns, next_ns;
	unsigned tries;
	bool acked;
	double rtt_ms;
	bool has_proof;              /* it asked us to prove the MA: sent with this token */
	uint8_t proof[16];
};

struct prepared {
	bool valid;
	int nic;                     /* index in matd.nic[] */
	struct in6_addr prefix, router, ma;
	uint8_t plen;
	bool has_router_mac;         /* from the agent's PREPARE */
	uint8_t router_mac[6];
	bool has_vouch;              /* the preparing agent's VOUCH for (HA, ma) */
	struct glm_vouch vouch;
};

struct peer {                        /* correspondent role: a mobile peer */
	struct in6_addr ha, ma, prev_ma;
	bool has_prev;
	uint64_t seq;
	uint64_t expires_ns;
	struct matd *matd;           /* for its timer */
	struct ev_timer timer;       /* at expires_ns (correspondent.c: stopped before the slot is overwritten) */
};

struct matd {
	struct matd_conf conf;
	struct glm_keyring keys;
	const struct glm_key *key;
	struct rtnl *rtnl;
	struct mat_nft *nft;
	int udp, ctl;
	struct evloop *loop;
	const char *sock;                /* the control socket (-s) */

	/* mobile node */
	unsigned nnics;
	struct nic nic[MATD_MAX_NICS];
	int active;                  /* nic index currently carrying traffic */
	bool have_ma;
	struct in6_addr ma, prev_ma, router;
	bool have_prev_ma;
	bool have_router_mac;        /* the router's MAC, told to the next host's agent */
	uint8_t router_mac[6];
	uint8_t ma_plen;
	struct prepared prep;
	struct {                     /* work after a switch, see post_switch() */
		bool pending, route, prefix_route, has_router_mac;
		bool output;                 /* output to the MA, old one off its NIC */
		int nic, old_nic;
		struct in6_addr old;
		bool del_old;
		struct ev_timer timer;       /* while pending: POST_SWITCH_DELAY_NS after the switch */
		struct in6_addr router, ma;
		uint8_t router_mac[6];
	} post;
	bool yielding;               /* SCHED_IDLE while a prepared move is pending */
	struct ev_timer yield_timer; /* while yielding: back to SCHED_OTHER at YIELD_MAX_NS */
	struct {                     /* what the self maps hold now */
		bool valid;
		bool has_out;
		struct in6_addr out;
		unsigned nin;
		struct in6_addr in[4];
	} self;
	struct {
		enum ho_state state;
		bool prepared;
		int nic;
		char trigger[24];
		struct in6_addr new_ma, router;
		uint8_t plen;
		bool has_router_mac;
		uint8_t router_mac[6];
		uint64_t t_event, t_usable, t_ims_sent, t_ims_ack, t_done;
		uint64_t ims_seq, next_ns, deadline_ns;
		unsigned ims_failovers;      /* IMSes left for silence during this update */
		bool has_vouch, has_proof;   /* carried by the update and binding updates */
		struct glm_vouch vouch;
		uint8_t proof[16];           /* the IMS's token for new_ma (status PROVE) */
		unsigned tries;
		uint16_t echo_id;
		struct ev_timer timer;       /* the state's next_ns/deadline_ns (ho_arm) */
		struct cn_state cn[MATD_MAX_CNS];
	} ho;
	struct kick_list kick;       /* listed at PREPARE (else at the switch), used up by the move */
	struct handover_record last;
	unsigned handovers, handovers_incomplete;
	/* each handover's phases, as in its log line (enum ho_phase) */
	struct mx_hist ho_phase[HO_PHASES];
	uint64_t refresh_ns;         /* next IMS lifetime refresh (0: none yet) */
	struct ev_timer refresh_timer; /* at refresh_ns; one due during a handover waits for its end */
	uint64_t last_notify_ns;     /* the last IFLA_EVENT_NOTIFY_PEERS */
	uint64_t ims_refresh_seq;
	bool ma_has_vouch;           /* the VOUCH for the current MA, for its refreshes */
	struct glm_vouch ma_vouch;
	int kick_fd;                 /* raw TCP socket, tcpkick.c */
	int inject_fd;               /* raw IPv6 socket (header included), tcpkick.c */
	uint64_t kick_rng;

	/* correspondent */
	unsigned npeers;
	struct peer peers[MATD_MAX_PEERS];
	struct ims_sub sub;          /* the IMS subscription to the home prefixes (lib/imssub.c) */
	uint64_t query_seq;          /* the query outstanding (0: none) */
	struct in6_addr query_ha;    /* what it asks for: sent again on a COOKIE */

	uint64_t since;                  /* CLOCK_REALTIME at set-up: nothing sent before is taken */
	struct glm_replay agent_seq;     /* PREPARE and RESUMED: the last seq taken per host agent's key */
	struct glm_proof proof;          /* our return-routability tokens (correspondent role) */

	/* counters */
	uint64_t rx, drops[GLM_PE_MAX], stale, refused, bu_rx, bu_prove, notify_rx, ra_bad;
	struct metrics_http *metrics;    /* conf.has_metrics */
};

/* metrics.c: the Prometheus exposition (lib/metrics.h's metrics_fn). */
void matd_metrics(void *ctx, struct strbuf *sb);

/* config.c */
int matd_conf_load(const char *path, struct matd_conf *c);
int matd_conf_load_buf(const char *name, const char *buf, size_t len, struct matd_conf *c);

/* matd.c */
int matd_send(struct matd *d, const struct sockaddr_in6 *to, const struct in6_addr *src,
	      struct glm_msg *m, const struct glm_key *key);
const char *matd_json_addr(const struct in6_addr *a);
/* The key we seal for the current IMS, and for the correspondent at addr
 * (NULL: none in the keyring). */
const struct glm_key *matd_ims_key(const struct matd *d);
/* Is key the key of one of our IMSes? (its answers may come from any) */
bool matd_is_ims_key(const struct matd *d, const struct glm_key *key);
const struct glm_key *matd_peer_key(const struct matd *d, const struct in6_addr *addr);
/* Does the peer at addr translate (a correspondent, or a mobile peer's
 * HA)? Without a home gateway every peer is taken to. */
bool matd_peer_translates(const struct matd *d, const struct in6_addr *addr);

/* mobile.c */
int mobile_start(struct matd *d);
void mobile_stop(struct matd *d);
void mobile_link_event(struct matd *d, const struct rtnl_event *ev);
void mobile_ndisc(struct matd *d, int nic);
void mobile_msg(struct matd *d, const struct glm_msg *m, const struct glm_key *key,
		const struct sockaddr_in6 *from);
int mobile_prepare(struct matd *d, const char *ifname, const struct in6_addr *prefix, uint8_t plen,
		   const struct in6_addr *router, const struct in6_addr *ma, FILE *err);
void mobile_unprepare(struct matd *d);
int mobile_check_link(struct matd *d, const char *trigger);
void mobile_status(struct matd *d, struct printer *p);

/* correspondent.c */
int corr_start(struct matd *d);
void corr_stop(struct matd *d);
/* local: the address m was sent to (unspecified if unknown); a binding
 * update is acked from it, as the mobile node takes acks only from the
 * address it sent to. */
void corr_msg(struct matd *d, const struct glm_msg *m, const struct glm_key *key, const struct in6_addr *local,
	      const struct sockaddr_in6 *from);
int corr_query(struct matd *d, const struct in6_addr *ha);
void corr_status(struct matd *d, struct printer *p);
/* tcpkick.c: tcp_kick_open() at start (the raw socket); tcp_kick_list()
 * lists the HA's established TCP sessions into d->kick unless listed
 * already (returns how many, or -errno); tcp_kick() sends one
 * out-of-window segment, from the new MA, on each of them with peer
 * (NULL: with any peer) not asked yet for this move, so each peer sends
 * its ACK again, to the new MA. Returns how many were sent, or -errno. */
int tcp_kick_open(struct matd *d);
int tcp_kick_list(struct matd *d);
int tcp_kick(struct matd *d, const struct in6_addr *from, const struct in6_addr *peer);
/* The correspondent's side of it: once a mobile peer's binding moved, an
 * out-of-window segment from its HA injected into our own stack on each
 * of our established TCP sessions with it, so our TCP sends its ACK at
 * once (to the new MA), before the peer even heard of our binding ack. */
int tcp_kick_peer(struct matd *d, const struct in6_addr *ha);
#endif
