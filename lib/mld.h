/* MLD reports as they leave a VM's port: the one parser (MLDv1 and MLDv2
 * reports inside an IPv6 packet with its Hop-by-Hop header), fuzzed, and a
 * packet socket that sees only those reports on one port. glm-agentd uses
 * it to see a migrated VM's own report at the destination, the moment its
 * proxy join and MDB pin may be let go; which groups a VM has joined is
 * learned from the bridge's MDB, not from here. */
#ifndef GLM_MLD_H
#define GLM_MLD_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mld_record {
	struct in6_addr group;
	bool join;               /* false: the report leaves the group */
};

typedef void (*mld_fn)(void *ctx, const struct mld_record *r);

/* Parse a whole IPv6 packet; calls fn per group record. Returns the number
 * of records, 0 if the packet is not an MLD report, -EBADMSG if malformed. */
int mld_parse_report(const uint8_t *pkt, size_t len, mld_fn fn, void *ctx);
/* AF_PACKET socket on ifindex receiving only MLD reports sent by the
 * device behind it (PACKET_OUTGOING excluded), non-blocking. */
int mld_socket(int ifindex);
#endif
