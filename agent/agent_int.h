/* Interfaces between glm-agentd's own modules (the relay modules use
 * agentd.h only). */
#ifndef GLM_AGENT_INT_H
#define GLM_AGENT_INT_H
#include "agentd.h"
#include "domxml.h"
#include <stddef.h>

/* config.c: 0, or -EINVAL with FILE:LINE logged (c freed). */
int agent_conf_load(const char *path, struct agent_conf *c);
int agent_conf_load_buf(const char *name, const char *buf, size_t len, struct agent_conf *c);
void agent_conf_free(struct agent_conf *c);

/* bridges.c: resolve the managed bridges; their RA-learned prefix. */
/* Each configured bridge exists, is a bridge and snoops MLD, and each of
 * its uplinks is a port of it; otherwise "CONFIG: bridge NAME: why" for
 * each, and the first -errno. */
int agent_check_bridges(const struct agent_conf *c, const char *config_path);
int bridges_init(struct agentd *a);
void bridges_free(struct agentd *a);
int bridge_by_name(const struct agentd *a, const char *name);
int bridge_echo(struct agentd *a, int br, const struct in6_addr *dst, uint16_t id);
/* Until the guest has switched routers (at most BRIDGE_REDIRECT_MS), frames
 * from vm to old_router are delivered to this bridge's router instead. */
#define BRIDGE_REDIRECT_MS 30000
void bridge_redirect(struct agentd *a, struct agent_vm *vm, const uint8_t old_router[6]);
void bridge_unredirect(struct agentd *a, struct agent_vm *vm);
void bridge_vm_ports(struct agentd *a, struct agent_vm *vm, bool keep);

/* raguard.c: the ports of the bridges with uplinks, but those, in the
 * nftables set ra_untrusted, kept up to date from link events (a->nft
 * set up first). Logs, for every bridge, how its RAs are guarded. */
int raguard_init(struct agentd *a);
void raguard_free(struct agentd *a);

/* proxyjoin.c: host memberships on a bridge, counted per (group, source),
 * in the bridge's joins table. */
struct proxy_join {
	struct in6_addr group, source;   /* the key */
	unsigned refs;
};
#define PROXY_JOIN_KEY offsetof(struct proxy_join, refs)
int proxy_join(struct agentd *a, int br, const struct in6_addr *group, const struct in6_addr *source);
void proxy_leave(struct agentd *a, int br, const struct in6_addr *group, const struct in6_addr *source);
unsigned proxy_joins(const struct agentd *a);

/* reception.c: native multicast seen arriving on a bridge, per group in
 * the bridge's seen table (at most RECEPTION_MAX groups: older ones are
 * swept out to make room). */
struct reception_seen {
	struct in6_addr group;           /* the key */
	uint64_t last_ns;
};
#define RECEPTION_SEEN_KEY offsetof(struct reception_seen, last_ns)
#define RECEPTION_MAX 16384
int reception_init(struct agentd *a, int br);
bool reception_seen(const struct agentd *a, int br, const struct in6_addr *group, uint64_t since_ns);

/* vm.c: the VMs this host holds or is about to receive. */
/* RUNNING: a domain found running through libvirt (agent restart, or a
 * start whose hook we missed): its ports and groups are learned, nothing
 * is joined or pinned. */
enum vm_event { VM_EV_INCOMING, VM_EV_STARTED, VM_EV_RELEASE, VM_EV_RUNNING, VM_EV_RESUMED };
int vm_request(struct agentd *a, enum vm_event ev, const struct domxml *d, bool prepare, FILE *out);
void vm_native(struct agentd *a, int br, const struct in6_addr *group);
void vm_resumed(struct agentd *a, const char *name);
void vm_mdb_entry(struct agentd *a, const struct mdb_entry *e);
/* Arm vm's timer for its next deadline (its groups', pins', flood hold's,
 * PREPARE's): after anything that moved one. */
void vm_arm(struct agentd *a, struct agent_vm *vm);
void vm_release_all(struct agentd *a);
void vm_status(struct agentd *a, struct printer *p);
struct agent_vm *vm_find(struct agentd *a, const char *name);

/* migrations.c: vm is arriving by migration (begin), may have settled
 * (check: logs its summary and keeps it once), is released (released);
 * migration_deadline is when it is given up on, for vm_arm. */
void migration_begin(struct agentd *a, struct agent_vm *vm);
void migration_check(struct agentd *a, struct agent_vm *vm, uint64_t now);
uint64_t migration_deadline(const struct agent_vm *vm);
void migration_released(struct agentd *a, struct agent_vm *vm);
void migrations_print(struct agentd *a, struct printer *p);

/* group.c: a group's state machine (agentd.h draws it). group_event()
 * moves g->state, logging the move by name, keeps g's timestamps and its
 * deadline g->due_ns, and returns what the caller must do (GROUP_DO_*).
 * vm names the VM in the log. */
enum group_event {
	GROUP_EV_JOINED,       /* our proxy join holds it; arg: reception-timeout in ms */
	GROUP_EV_NATIVE,       /* the stream arrives natively on the bridge */
	GROUP_EV_REPORT,       /* the VM's own report on its port */
	GROUP_EV_DUE,          /* g->due_ns has come */
	GROUP_EV_RELAY_TAKEN,  /* relay_client_want() took a reference */
	GROUP_EV_RELAY_FAILED, /* it could not; arg: -errno */
	GROUP_EV_RELAYED,      /* relayed packets arrive */
};
#define GROUP_DO_ASK_RELAY 0x01u   /* relay_client_want(), then RELAY_TAKEN or RELAY_FAILED */
#define GROUP_DO_DROP_RELAY 0x02u  /* relay_client_release() */
#define GROUP_DO_LEAVE 0x04u       /* proxy_leave() */
#define GROUP_DO_WARN_SILENT 0x08u /* log: the relay sent nothing in GROUP_ASK_WARN_MS */
#define GROUP_DO_LOG_FAILURE 0x10u /* log g->relay_err: a new reason */
#define GROUP_ASK_WARN_MS 2000
#define GROUP_RETRY_MIN_MS 1000
#define GROUP_RETRY_MAX_MS 30000
const char *group_state_name(enum group_state s);
void group_init(struct vm_group *g, const struct in6_addr *group, const struct in6_addr *source);
unsigned group_event(struct vm_group *g, const char *vm, enum group_event ev, uint64_t now, int arg);
/* In a state that holds a reference on a relay session. */
bool group_holds_relay(const struct vm_group *g);

/* prepare.c: PREPARE for an incoming VM's matd. */
const char *prepare_state_name(enum prepare_state s);
void prepare_start(struct agentd *a, struct agent_vm *vm);
void prepare_msg(struct agentd *a, const struct glm_msg *m, const struct glm_key *key, const struct sockaddr_in6 *from);
void prepare_echo_reply(struct agentd *a, int br, const struct in6_addr *from, uint16_t id);
/* libvirt resumed the VM here: tell its matd at once (it would otherwise
 * learn it from QEMU's announcement, 50 ms later). */
void prepare_resumed(struct agentd *a, struct agent_vm *vm);
void prepare_timer(struct agentd *a, struct agent_vm *vm, uint64_t now);
uint64_t prepare_deadline(const struct agent_vm *vm);

/* mdbwatch.c: groups per VM port from the bridge MDB. */
int mdbwatch_init(struct agentd *a);
void mdbwatch_free(struct agentd *a);
void mdbwatch_port(struct agentd *a, int br, int port_ifindex);

/* libvirt.c: record a VM's groups in its live metadata. */
void libvirt_init(struct agentd *a);
void libvirt_free(struct agentd *a);
void libvirt_record(struct agentd *a, const struct agent_vm *vm);

/* control.c */
int agent_ctl_handler(void *ctx, int argc, char **argv, FILE *out);
#endif
