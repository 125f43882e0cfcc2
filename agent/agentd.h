/* glm-agentd: the per-host agent (and, with "role relay", the relay).
 * This header is the state its modules share. The event loop is lib's
 * (evloop.h); modules register their sockets with agentd_watch(), and
 * each object with a deadline owns its timer: a VM (vm.c), a relay client
 * session (relay_client.c), a relay server session (relay_server.c). No
 * module computes the loop's deadline.
 *
 *   agentd.c        main, loop, UDP dispatch
 *   config.c        glm-agentd.conf
 *   bridges.c       the bridges: RAs, the nftables table bridge glm
 *   raguard.c       RA guard: which ports' router advertisements are dropped
 *   control.c       unix control socket (helpers, glmctl)
 *   mdbwatch.c      groups per VM port from the bridge MDB
 *   vm.c, group.c   the VMs; a group's state machine (pure, unit-tested)
 *   proxyjoin.c     proxy joins, MDB pins, the VM's own report
 *   reception.c     is the native stream arriving on the bridge?
 *   relay_client.c  RELAY_REQUEST/STOP, RELAYED_PACKET -> bridge (hop limit 1)
 *   relay_server.c  relay role: join for remote agents, forward batched
 *   prepare.c       PREPARE for an incoming VM's matd
 *   migrations.c    the recent migrations, one summary each */
#ifndef GLM_AGENTD_H
#define GLM_AGENTD_H
#include "evloop.h"
#include "htab.h"
#include "imsset.h"
#include "keys.h"
#include "mdb.h"
#include "metrics.h"
#include "print.h"
#include "wire.h"
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define AGENT_PORT 5310
/* VMs, their groups and the bridges are growable tables. A VM's groups
 * come from its domain XML (at most DOMXML_MAX_GROUPS) and from the
 * bridge's MDB, which the kernel bounds (mcast_hash_max, 4096 by
 * default): the per-VM limit is that bound. */
#define AGENT_MAX_GROUPS 4096        /* per VM */
#define AGENT_ENDED_MAX 32
#define AGENT_MIGRATIONS_MAX 64      /* glmctl migrations: the last ones kept */
#define MIGRATION_SETTLE_MS 30000    /* a migration not settled by then is recorded as it is */

struct agentd;
struct relay_client;
struct relay_server;
struct ra_guard;
typedef void (*agentd_fd_fn)(struct agentd *a, void *arg);

#define AGENT_MAX_UPLINKS 4

/* "bridge NAME uplink PORT...": router advertisements are believed from
 * the uplinks only (RA guard); without, they are refused from the VMs'
 * taps only. */
struct agent_conf_bridge {
	char name[IF_NAMESIZE];
	unsigned nuplinks;
	char uplinks[AGENT_MAX_UPLINKS][IF_NAMESIZE];
};

struct agent_conf {
	bool relay_role;                 /* "role relay" */
	unsigned nbridges;
	struct agent_conf_bridge *bridges; /* malloc'ed; agent_conf_free() */
	struct sockaddr_in6 listen;
	bool has_relay;
	struct sockaddr_in6 relay;       /* default relay (the domain XML may name another) */
	struct ims_set ims;              /* 'ims' lines; the one asked now (lib/imsset.h) */
	uint32_t key_id;
	char keyring[256];
	char control[256];
	uint32_t reception_timeout_ms;   /* proxy join -> ask the relay if nothing came */
	uint32_t session_timeout_s;      /* relay: drop sessions whose agent went silent */
	char relay_ifname[IF_NAMESIZE];  /* relay role: where to join groups */
	uint16_t guest_port;             /* matd's port, for PREPARE */
	bool use_libvirt;                /* record groups in domain metadata */
	char libvirt_uri[256];
	bool has_metrics;
	struct sockaddr_in6 metrics;     /* 'metrics [ADDR]:PORT': GET /metrics there (lib/metrics.h) */
};

/* What only the metrics count (the rest they read where it is kept):
 * cumulative, never reset. Hook calls by event (lib/hookreq.h's enum
 * hookreq_event) and whether they were refused. */
#define AGENT_HOOK_EVENTS 3
struct agent_counters {
	uint64_t hook_calls[AGENT_HOOK_EVENTS][2]; /* [event][0: ok, 1: refused] */
	struct mx_hist hook_seconds[AGENT_HOOK_EVENTS];
	uint64_t proxy_joins;            /* joins made (a VM's group, on its bridge) */
	uint64_t flood_holds;            /* ports whose flooding was held for a migration */
	uint64_t relay_requests;         /* relay sessions asked for (relay client) */
	uint64_t relay_packets, relay_bytes; /* packets re-sent on a bridge from a relay */
};

struct agent_bridge {
	char name[IF_NAMESIZE];
	int ifindex;
	uint8_t mac[6];
	int join_fd;                     /* UDP socket holding proxy joins on this bridge */
	int pkt_fd;                      /* AF_PACKET on the bridge: native arrivals, injection */
	bool have_prefix;                /* learned from RAs on the bridge */
	struct in6_addr prefix, router;
	bool have_router_mac;            /* the RA's source link-layer address */
	uint8_t router_mac[6];
	int nd_fd;                       /* ICMPv6 on the bridge: RAs in, RS and echo out (bridges.c) */
	struct htab joins;               /* proxyjoin.c: (group, source) -> our membership's count */
	struct htab seen;                /* reception.c: group -> when it last arrived natively */
};

/* A VM's group at this agent. Its stream's lifecycle is one state (the
 * enum below, moved by agent/group.c only, each move logged by name):
 *
 *   wanted --join--> proxy-joined --native stream--> native
 *                        | reception-timeout, nothing came
 *                        v
 *   relay-failed <--> relay-asked --relayed packets--> relayed
 *   (retried with     (a reference on        (native stream: -> native,
 *    backoff)          the relay session)      the reference dropped)
 *
 * The other facts are about different things and change on other events,
 * so they stay apart from the state: proxy_joined is our membership on
 * the bridge, held from the join until the stream arrives natively and
 * the VM has reported (so in native it may be either way; a VM that
 * started here goes from wanted to native with none);
 * pinned is our MDB entry on the VM's port (forwarding to the port, not
 * arrival on the bridge: a VM is pinned whether its stream is native or
 * relayed); own_report is the VM's own membership seen on its port. A
 * report says the VM wants the group, never that the stream arrives: it
 * moves no state. A group the VM leaves is dropped (vm_mdb_entry), so
 * there is no "left" state; the relay is never asked while the stream is
 * native, and a native stream ends any relaying. */
enum group_state {
	GROUP_WANTED,        /* the VM is a member; nothing held for its stream here */
	GROUP_PROXY_JOINED,  /* our join holds it on the bridge; waiting reception-timeout */
	GROUP_NATIVE,        /* the stream arrives natively */
	GROUP_RELAY_ASKED,   /* nothing by the timeout: the relay asked, nothing relayed yet */
	GROUP_RELAYED,       /* relayed packets arrive and go onto the bridge */
	GROUP_RELAY_FAILED,  /* nothing by the timeout and the relay could not be asked */
	GROUP_STATE_MAX
};

struct vm_group {
	struct in6_addr group, source;
	enum group_state state;
	bool proxy_joined;               /* our join on the bridge, held for this VM */
	bool pinned;                     /* our permanent MDB entry on the VM's port */
	bool pin_stuck;                  /* it could be neither handed back nor removed: until release */
	bool own_report;                 /* the VM's own report seen on its port here */
	bool ask_warned;                 /* "nothing relayed" logged */
	int relay_err;                   /* relay-failed: why (-errno) */
	uint32_t retry_ms;               /* relay-failed: the next backoff */
	uint64_t due_ns;                 /* the state's deadline, UINT64_MAX if none */
	uint64_t joined_ns, native_ns, own_report_ns, relay_ns, relayed_ns;
};

enum vm_state { VM_INCOMING, VM_RUNNING, VM_OUTGOING };

/* An incoming VM's prepared move (prepare.c, which logs each move by name):
 *
 *   none --migrate begin--> checking --MA unused, current MA known--> sending
 *                             |  (echo to the MA for 30 ms;           | PREPARE,
 *                             |   QUERY the IMS)                      | retransmitted
 *                             +--> not-needed (same subnet)           v
 *   failed <-- 3 s, refused, no RA/IMS/unused MA ------------------ acked
 *                                                                     | the VM resumed
 *                                                                     v
 *                                                                   resumed (RESUMED x2)
 */
enum prepare_state {
	PREPARE_NONE,        /* not asked for (a domain started here, no home address) */
	PREPARE_CHECKING,    /* choosing the MA (unused?) and asking the IMS where the guest is */
	PREPARE_SENDING,     /* PREPARE sent to matd at its current MA, until acknowledged */
	PREPARE_ACKED,       /* matd holds the new MA; waiting for the guest to resume here */
	PREPARE_RESUMED,     /* RESUMED sent to matd at the new MA */
	PREPARE_NOT_NEEDED,  /* the guest's MA is in this bridge's prefix already */
	PREPARE_FAILED,      /* the guest finds its network by RS/RA */
	PREPARE_STATE_MAX
};

#define AGENT_MAX_PORTS 4

struct vm_port {
	char name[IF_NAMESIZE];          /* target dev (tap); "" until libvirt named it */
	int ifindex;                     /* 0 until the tap exists */
	uint8_t mac[6];
	int mld_fd;                      /* the VM's own MLD reports on this port, -1 if not watched */
	bool flood_held;                 /* multicast/broadcast flooding off until the VM resumes */
	int nft_ifindex;                 /* the ifindex in table bridge glm's vm_ports, 0 if none */
};

struct agent_vm {
	struct agentd *agentd;           /* for its timer */
	struct ev_timer timer;           /* armed for the VM's next deadline (vm_arm) */
	char name[256];
	enum vm_state state;
	int bridge;                      /* index in agentd.br[] */
	unsigned nports;
	struct vm_port ports[AGENT_MAX_PORTS];
	bool has_home;
	struct in6_addr home;
	uint32_t key_id;
	struct sockaddr_in6 relay;
	bool has_relay;
	unsigned ngroups, groups_cap;
	struct vm_group *groups;         /* malloc'ed, grown by vm_group_add() */
	uint64_t incoming_ns;            /* the incoming request */
	bool migrating;                  /* arriving by migration (hook: migrate begin) */
	bool pin_deferred;               /* pin at libvirt's RESUMED event */
	uint64_t started_ns;             /* the tap exists (hook "started") */
	int instance_id;                 /* libvirt's id of the instance started here, -1 */
	/* PREPARE (prepare.c): its state, and facts of the checking state */
	enum prepare_state prepare;
	bool ma_checked;                 /* checking: no echo answered the MA in CHECK_NS */
	bool have_current_ma;            /* checking: the IMS told the guest's current MA */
	struct in6_addr current_ma, prepared_ma;
	uint64_t query_seq, prepare_next_ns, prepare_sent_ns, prepare_deadline_ns;
	/* every PREPARE has a seq of its own (matd takes each seq once): an
	 * ack to any of the last PREPARE_SEQS tries is taken */
#define PREPARE_SEQS 8
	uint64_t prepare_seq[PREPARE_SEQS];
	unsigned prepare_tries;
	double prepare_rtt_ms;
	uint16_t echo_id;
	unsigned ma_tries;
	unsigned query_cookies;          /* QUERYs sent again at once on the IMS's COOKIE */
	unsigned query_tries;            /* QUERYs unanswered at the current IMS */
	unsigned query_failovers;        /* IMSes left for silence during this preparation */
	uint64_t check_deadline_ns, query_next_ns;
	unsigned resumed_sent;           /* RESUMED messages sent to matd */
	uint64_t resumed_next_ns;
	/* frames to the router of the link it came from go to ours (bridges.c) */
	bool redirected;
	uint8_t old_router_mac[6];
	uint64_t redirect_until_ns;
	/* this migration's record (migrations.c) */
	uint64_t mig_wall_s;             /* CLOCK_REALTIME seconds at its incoming request */
	unsigned mig_joins;              /* proxy joins made for it */
	bool mig_recorded;               /* settled (or given up on): logged and in the ring */
};

/* A migration into this host, summed up once it settles (migrations.c). */
enum migration_outcome {
	MIGRATION_IN_PROGRESS,
	MIGRATION_SETTLED,               /* running here, every stream arriving, PREPARE done */
	MIGRATION_TIMED_OUT,             /* not settled MIGRATION_SETTLE_MS after it began */
	MIGRATION_RELEASED,              /* released before it settled */
	MIGRATION_OUTCOME_MAX
};

struct migration {
	char name[256];
	enum migration_outcome outcome;
	uint64_t wall_s;                 /* when it began, CLOCK_REALTIME seconds */
	double total_ms;                 /* incoming -> settled */
	double hook_ms;                  /* the hook's incoming -> started; -1 if none */
	unsigned groups, proxy_joins, native, relayed, relay_failed;
	double native_ms, relayed_ms;    /* the slowest group's proxy join -> stream; -1 if none */
	enum prepare_state prepare;
	double prepare_rtt_ms;           /* -1 if not acknowledged */
	bool has_from;
	struct in6_addr from_ma;         /* the guest's MA before, as the IMS told */
};

struct migration_log {
	struct migration rec[AGENT_MIGRATIONS_MAX]; /* a ring, the newest before next */
	unsigned next, n;
};

struct agentd {
	struct agent_conf conf;
	struct glm_keyring keys;
	const struct glm_key *key;
	struct mdb *mdb;
	int udp, ctl;
	struct evloop *loop;
	struct agentd_watcher *watchers; /* agentd_watch() registrations */
	unsigned nbr;
	struct agent_bridge *br;         /* nbr, one per configured bridge (bridges_init) */
	unsigned nvms, vms_cap;
	struct agent_vm **vms;           /* each VM allocated on its own: its address is stable */
	struct {                         /* instances that ended here, newest last (vm.c) */
		char name[256];
		int id;
	} ended[AGENT_ENDED_MAX];
	unsigned ended_next;
	struct migration_log migrations; /* migrations.c */
	struct agent_libvirt *lv;        /* libvirt.c's state; NULL without libvirt-uri */
	struct relay_client *relay_client; /* relay_client.c's state */
	struct relay_server *relay_server; /* relay_server.c's state */
	struct mat_nft *nft;             /* table bridge glm; NULL if nftables is unusable */
	struct ra_guard *ra_guard;       /* raguard.c's state; NULL if no bridge has uplinks */
	uint64_t since;                  /* CLOCK_REALTIME at set-up: nothing sent before is taken */
	uint64_t rx, drops[GLM_PE_MAX], refused;
	struct agent_counters mx;
	struct metrics_http *metrics;    /* conf.has_metrics */
	/* the IMS's last cookie for our address (prepare.c's QUERYs echo it) */
	uint8_t ims_cookie[GLM_COOKIE_LEN];
	bool have_ims_cookie;
};

/* metrics.c: the Prometheus exposition (lib/metrics.h's metrics_fn). */
void agent_metrics(void *ctx, struct strbuf *sb);
/* relay_server.c: the relay role's part of it. */
void relay_server_metrics(struct agentd *a, struct strbuf *sb);
unsigned relay_client_sessions(const struct agentd *a);

/* agentd.c */
int agentd_watch(struct agentd *a, int fd, agentd_fd_fn fn, void *arg);
void agentd_unwatch(struct agentd *a, int fd);
void agentd_unwatch_all(struct agentd *a);
int agentd_send(struct agentd *a, const struct sockaddr_in6 *to, struct glm_msg *m, const struct glm_key *key);
int agentd_bridge_by_ifindex(const struct agentd *a, int ifindex);

/* relay_client.c: one relay session per (group, source) on this host,
 * shared by every VM that needs it (reference counted). */
int relay_client_init(struct agentd *a);
void relay_client_free(struct agentd *a);
/* A VM on bridge needs group relayed from relay: take a reference.
 * -EINVAL: a group, source or relay address no relay session can have;
 * -ENOBUFS: RC_MAX_SESSIONS reached; -EDESTADDRREQ: no relay at all. */
int relay_client_want(struct agentd *a, int bridge, const struct in6_addr *group, const struct in6_addr *source,
		      const struct sockaddr_in6 *relay);
void relay_client_release(struct agentd *a, int bridge, const struct in6_addr *group, const struct in6_addr *source);
/* fn(a, bridge, group, source) runs on the first packet re-sent on bridge
 * after each relay_client_want(): the stream does come by relay. */
typedef void (*relay_flow_fn)(struct agentd *a, int bridge, const struct in6_addr *group, const struct in6_addr *source);
void relay_client_on_flow(struct agentd *a, relay_flow_fn fn);
/* RELAY_RESPONSE, RELAYED_PACKET and COOKIE from a relay. */
void relay_client_msg(struct agentd *a, const struct glm_msg *m, const struct glm_key *key,
		      const struct sockaddr_in6 *from);
/* A native packet for group arrived on bridge (reception.c): duplicates of
 * it coming by relay are dropped, and the session is stopped. */
void relay_client_native(struct agentd *a, int bridge, const uint8_t *pkt, size_t len);
void relay_client_status(struct agentd *a, struct printer *p);

/* relay_server.c: the relay role. */
int relay_server_init(struct agentd *a);
void relay_server_free(struct agentd *a);
void relay_server_msg(struct agentd *a, const struct glm_msg *m, const struct glm_key *key,
		      const struct sockaddr_in6 *from);
void relay_server_status(struct agentd *a, struct printer *p);
#endif
