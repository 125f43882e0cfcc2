/* The kernel bridge's multicast database (MDB) through libmnl: a dump
 * (RTM_GETMDB), the events of RTNLGRP_MDB, and adding, replacing and
 * deleting entries (RTM_NEWMDB/RTM_DELMDB), IPv6 groups only.
 * glm-agentd learns which groups each VM port has joined from here, and
 * pins an incoming VM's port into its groups before the VM resumes. */
#ifndef GLM_MDB_H
#define GLM_MDB_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mdb;

enum mdb_state { MDB_ENTRY_TEMP = 0, MDB_ENTRY_PERMANENT = 1 }; /* MDB_TEMPORARY, MDB_PERMANENT */

struct mdb_entry {
	int bridge;                /* bridge ifindex */
	int port;                  /* port ifindex (== bridge for the host's own membership) */
	struct in6_addr group;
	struct in6_addr source;    /* :: for (*, G) */
	enum mdb_state state;
	uint8_t proto;             /* RTPROT_KERNEL (learned from a report), RTPROT_STATIC (added) */
	bool deleted;              /* events: RTM_DELMDB */
};

typedef void (*mdb_fn)(void *ctx, const struct mdb_entry *e);

/* events: subscribe to RTNLGRP_MDB (mdb_fd() is then the event socket). */
int mdb_open(struct mdb **m, bool events);
void mdb_close(struct mdb *m);
int mdb_fd(const struct mdb *m);
/* Dump every IPv6 entry of bridge (0 = all bridges). */
int mdb_dump(struct mdb *m, int bridge, mdb_fn fn, void *ctx);
/* Read and decode every pending event (non-blocking). */
int mdb_events_read(struct mdb *m, mdb_fn fn, void *ctx);
/* The one parser of RTM_NEWMDB/RTM_DELMDB messages (dump replies and
 * events), fuzzed: returns entries delivered or -EBADMSG. */
int mdb_decode(const void *buf, size_t len, mdb_fn fn, void *ctx);
/* Add an entry (state PERMANENT works on a port that is not up yet;
 * TEMP needs the port up). replace: NLM_F_REPLACE, e.g. to turn our
 * permanent pin into an ordinary entry that ages with the VM's reports. */
int mdb_add(struct mdb *m, int bridge, int port, const struct in6_addr *group, enum mdb_state state, bool replace);
int mdb_del(struct mdb *m, int bridge, int port, const struct in6_addr *group);
#endif
