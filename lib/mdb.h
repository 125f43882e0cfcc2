/* The kernel bridge's multicast database (MDB) through libmnl: a dump
 * (RTM_GETMDB), the events of RTNLGRP_MDB, and adding, replacing and
 * deleting entries (RTM_NEWMDB/RTM_DELMDB), IPv6 groups only.
 * glm-agentd learns which groups each VM port has joined from here, and
 * pins an incoming VM's port into its groups before the VM resumes.
 *
 * Kernel behaviour this relies on, measured on 6.18 (snooping bridge, veth
 * port, the peer joining with IPV6_JOIN_GROUP in another netns; test_mdb
 * and the experiments behind it):
 * - A PERMANENT entry can be added on a port that is enslaved but down
 *   (one RTM_NEWMDB event, proto static); a TEMP one is refused, -EINVAL
 *   "Port is in disabled state and entry is not permanent", until the
 *   bridge has enabled the port: that follows carrier through linkwatch,
 *   ~40-50 ms after `ip link set up`, not when the command returns.
 * - While a PERMANENT entry exists for (port, G), the device's own MLD
 *   reports and done messages for G emit NO RTNLGRP_MDB event at all
 *   (MLDv1 and MLDv2 snooping, with and without a querier). The VM's
 *   re-report after resume cannot be seen as an event while we pin it.
 * - NLM_F_REPLACE turns PERMANENT into TEMP on an up port (one NEWMDB event,
 *   state temp, proto stays static). The entry then ages: `bridge -s mdb
 *   show` shows the membership timer (mcast_membership_interval, 260 s by
 *   default) counting down, and each report from the port re-arms it,
 *   silently (no event). A leave deletes it like a learned entry; with no
 *   reports it expires with a RTM_DELMDB event.
 * - A join makes one RTM_NEWMDB (temp, proto kernel) 8-20 ms after
 *   IPV6_JOIN_GROUP (median 12 ms) with mcast_mld_version 1, the default;
 *   two identical ones ~40 us apart with mcast_mld_version 2 (the entry
 *   is created, then its filter mode set). Repeated reports: no event. A
 *   leave gives RTM_DELMDB 2.02-2.04 s later (last member count 2 x
 *   interval 1 s), querier or not.
 * - A port moved to another netns (or released with nomaster) loses every
 *   entry, permanent ones too: one RTM_DELMDB per entry ~4-7 ms after the
 *   move starts, carrying the old port ifindex (gone from this netns). A
 *   port going down loses its temp entries (DEL events), keeps permanent.
 * - The host's own membership appears with port == the bridge's ifindex.
 * - Dump replies come typed RTM_GETMDB with family 0; the kernel dumps
 *   every bridge whatever br_port_msg.ifindex says (mdb_dump filters).
 * - Deleting an entry that does not exist: -EINVAL, without kernel text. */
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
/* Read and decode every pending event (non-blocking): the number
 * delivered, or -ENOBUFS when the socket overran (dump again). */
int mdb_events_read(struct mdb *m, mdb_fn fn, void *ctx);
/* The one parser of RTM_NEWMDB/RTM_DELMDB messages (dump replies and
 * events), fuzzed: returns entries delivered or -EBADMSG. */
int mdb_decode(const void *buf, size_t len, mdb_fn fn, void *ctx);
/* Add an entry (state PERMANENT works on a port that is not up yet;
 * TEMP needs the port enabled by the bridge). replace: NLM_F_REPLACE,
 * e.g. to turn our permanent pin into an ordinary entry that ages with the
 * VM's reports; without it an existing entry is -EEXIST. Failures return
 * -errno and log "mdb: add ff3e::1234 on br0 port vnet0: <kernel text>". */
int mdb_add(struct mdb *m, int bridge, int port, const struct in6_addr *group, enum mdb_state state, bool replace);
int mdb_del(struct mdb *m, int bridge, int port, const struct in6_addr *group);
#endif
