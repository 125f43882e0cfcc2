/* nftables through libnftnl + libmnl: the one table glm owns ("ip6 mat"),
 * its four address maps and the chains that rewrite with them. Every
 * change is an atomic batch; the table is removed whole on shutdown.
 *
 *   table ip6 mat {
 *     map self_ha2ma { type ipv6_addr : ipv6_addr }  # mobile node: HA -> current MA
 *     map self_ma2ha { type ipv6_addr : ipv6_addr }  # mobile node: every own MA -> HA
 *     map peer_ha2ma { type ipv6_addr : ipv6_addr }  # correspondent: peer HA -> peer MA
 *     map peer_ma2ha { type ipv6_addr : ipv6_addr }  # correspondent: peer MA(s) -> peer HA
 *     chain out { type route hook output priority raw;
 *       ip6 saddr set ip6 saddr map @self_ha2ma notrack
 *       ip6 daddr set ip6 daddr map @peer_ha2ma notrack }
 *     chain in { type filter hook prerouting priority raw;
 *       ip6 daddr set ip6 daddr map @self_ma2ha notrack
 *       ip6 saddr set ip6 saddr map @peer_ma2ha notrack
 *       icmpv6 type 1-4 @th,128,128 set @th,128,128 map @self_ma2ha counter notrack
 *       icmpv6 type 1-4 @th,256,128 set @th,256,128 map @peer_ma2ha counter notrack }
 *   }
 * Address writes carry the L4 pseudo-header checksum fix-up flag, so TCP
 * and UDP checksums stay valid. The last two rules: an ICMPv6 error
 * (types 1-4) about a packet we translated quotes it as it was on the
 * wire, with our MA as its source (@th,128,128: after the 8-byte ICMPv6
 * header, the quoted IPv6 header's saddr) or a mobile peer's MA as its
 * destination (@th,256,128); our socket has the HA, so the kernel would
 * drop the error (and PMTU discovery with it). The quoted address is put
 * back to the HA, the ICMPv6 checksum fixed incrementally (csum_type
 * inet at transport offset 2); an address in neither map is left alone. */
#ifndef GLM_NFT_H
#define GLM_NFT_H
#include <netinet/in.h>
#include <stdint.h>

#define MAT_NFT_MAX_PREFIXES 64 /* mat_nft_xlate_prefix, gw_nft_serve */

enum mat_map { MAT_SELF_HA2MA, MAT_SELF_MA2HA, MAT_PEER_HA2MA, MAT_PEER_MA2HA, MAT_MAP_COUNT };

struct mat_nft;

/* Open a netfilter socket; table is the table name ("mat" by default). */
int mat_nft_open(struct mat_nft **n, const char *table);
/* One batch: delete the table if present, create it with maps and chains.
 * Setup and teardown discard element changes queued and not committed. */
int mat_nft_setup(struct mat_nft *n);
/* Queue element changes, then commit them in one atomic batch.
 * Commit returns 0 or -errno; the kernel's error text is logged. If any
 * change fails nothing is applied: add of a key already mapped to another
 * value fails (-EEXIST; the same value is a no-op), del of a missing key
 * fails (-ENOENT); to replace, flush and add in the same batch. A batch
 * holds up to 1024 changes (-EMSGSIZE beyond). */
void mat_nft_flush(struct mat_nft *n, enum mat_map map);
void mat_nft_add(struct mat_nft *n, enum mat_map map, const struct in6_addr *key, const struct in6_addr *val);
void mat_nft_del(struct mat_nft *n, enum mat_map map, const struct in6_addr *key);
int mat_nft_commit(struct mat_nft *n);
/* Changes queued and not committed (a caller with many commits when it
 * nears the 1024). */
unsigned mat_nft_pending(const struct mat_nft *n);
/* Delete the table (shutdown). */
int mat_nft_teardown(struct mat_nft *n);
void mat_nft_close(struct mat_nft *n);
const char *mat_map_name(enum mat_map map);
/* With a home gateway (matd.conf(5) home-gateway), the mobile node's
 * source HA is rewritten only towards peers that translate; every other
 * peer sees the HA, which the gateway routes back to us:
 *     set xlate_peers { type ipv6_addr }
 *     chain out: ip6 daddr @xlate_peers ip6 saddr set ip6 saddr map @self_ha2ma notrack
 * mat_nft_per_peer(n, true) before mat_nft_setup builds it so;
 * mat_nft_xlate_peer queues a peer's add or removal (commit as above).
 * The hosts behind a site gateway translate too (the gateway does it for
 * them): mat_nft_xlate_prefix, after mat_nft_per_peer and before
 * mat_nft_setup, adds one rule per prefix to chain out, after the one above:
 *     ip6 daddr P/L ip6 saddr set ip6 saddr map @self_ha2ma notrack
 * (0, -EINVAL without per_peer, -ENOSPC past MAT_NFT_MAX_PREFIXES). */
#include <stdbool.h>
void mat_nft_per_peer(struct mat_nft *n, bool on);
void mat_nft_xlate_peer(struct mat_nft *n, const struct in6_addr *peer, bool add);
int mat_nft_xlate_prefix(struct mat_nft *n, const struct in6_addr *prefix, uint8_t len);

/* The host agent's table, on the same handle type (commit, teardown and
 * close as above):
 *   table bridge glm {
 *     map to_router { type ether_addr . ether_addr : ether_addr; flags timeout }
 *     chain pre { type filter hook prerouting priority dstnat;
 *       ether daddr set ether daddr . ether saddr map @to_router }
 *   }
 * An element (old router . VM : new router) sends the frames a VM that
 * just arrived still addresses to the router of the link it left to this
 * link's router, until the guest has switched or the element times out.
 * And relayed multicast, which the agent sends onto the bridge marked
 * BR_RELAY_MARK, leaves only by the VMs' ports, never by the uplink (it
 * would go up to the router and to every host on the link):
 *     set vm_ports { type iface_index }
 *     chain out { type filter hook output priority -300;
 *       meta mark BR_RELAY_MARK meta oif != @vm_ports drop }
 * br_nft_port() adds or removes a port.
 * RA guard (RFC 6105): a router advertisement that enters a bridge by one
 * of the ports in ra_untrusted (every port of a bridge with uplinks but
 * those) or in vm_ports is dropped, for the host and for the other ports
 * alike; the counters say how many were:
 *     set ra_untrusted { type iface_index }
 *     chain ra_guard { type filter hook prerouting priority -300;
 *       iif @ra_untrusted meta protocol ip6 icmpv6 type nd-router-advert counter drop
 *       iif @vm_ports meta protocol ip6 icmpv6 type nd-router-advert counter drop }
 * br_nft_ra_port() adds or removes a port, br_nft_ra_flush() empties the set. */
#define BR_RELAY_MARK 0x676c6d00u /* "glm\0" */
int br_nft_open(struct mat_nft **n);
int br_nft_setup(struct mat_nft *n);
void br_nft_redirect(struct mat_nft *n, const uint8_t src[6], const uint8_t old_dst[6], const uint8_t new_dst[6],
		     uint64_t timeout_ms);
void br_nft_unredirect(struct mat_nft *n, const uint8_t src[6], const uint8_t old_dst[6]);
void br_nft_port(struct mat_nft *n, uint32_t ifindex, bool add);
void br_nft_ra_port(struct mat_nft *n, uint32_t ifindex, bool add);
void br_nft_ra_flush(struct mat_nft *n);

/* The gateway's table (glm-gatewayd(8)), on the same handle type (commit,
 * pending, teardown and close as above):
 *   table ip6 glm_gw {
 *     map ha2ma { type ipv6_addr : ipv6_addr }
 *     map ma2ha { type ipv6_addr : ipv6_addr }   # the same mappings, reversed
 *     chain pre { type filter hook prerouting priority raw;
 *       icmpv6 type 1-4 @th,256,128 set @th,256,128 map @ma2ha counter notrack
 *       ip6 daddr set ip6 daddr map @ha2ma counter notrack accept
 *       ip6 daddr HOME/LEN counter reject with icmpv6 type addr-unreachable  # home gateway: per home prefix
 *       ip6 daddr P/L ip6 saddr set ip6 saddr map @ma2ha notrack           # site gateway: per served prefix
 *     }
 *     chain out { type route hook output priority raw;
 *       icmpv6 type 1-4 @th,256,128 set @th,256,128 map @ma2ha counter notrack
 *       ip6 daddr set ip6 daddr map @ha2ma counter notrack
 *     }
 *   }
 * A packet to a home address with a mapping leaves for its MA (the L4
 * checksum fixed as in the mat table); at a home gateway one to a home
 * address without is refused at once, never routed back to where the home
 * prefix points. A site gateway (gw_nft_serve called before gw_nft_setup,
 * once per prefix of the plain hosts behind it; 0 or -ENOSPC) has no
 * reject rules: the home prefix is not routed to it, a packet it cannot
 * translate goes on to the home gateway. It rewrites the source of a
 * mobile node's packets to its hosts from the MA back to the HA.
 * An ICMPv6 error (destination unreachable, packet too big, time
 * exceeded, parameter problem) about such a packet quotes it with the MA
 * as its destination (@th,256,128: after the 8-byte ICMPv6 header, the
 * quoted IPv6 header's daddr); the ma2ha rules put the HA back, so the
 * sender, whose socket is with the HA, takes it (PMTU discovery works).
 * The ICMPv6 checksum is fixed incrementally (csum_type inet, offset 2 of
 * the transport header); an MA not in the map leaves the error alone.
 * pre catches errors from routers beyond this one, out those this router
 * sends itself for a packet it rewrote and could not forward (too big
 * for the next link). out also sends what this router itself sends to a
 * mapped home address to the MA (rerouted: type route), its errors about
 * a guest's packets above all (a guest answers plain peers from its HA);
 * their first route lookup needs a route to the home prefix here that is
 * not a reject or blackhole one (a dummy interface: glm-gatewayd(8)).
 * gw_nft_map and gw_nft_unmap queue the change to both maps (two changes
 * each, of the 1024 a batch takes). An MA mapped for one HA cannot be
 * added for another: the commit fails with -EEXIST, nothing changed. */
int gw_nft_open(struct mat_nft **n, const char *table);
int gw_nft_serve(struct mat_nft *n, const struct in6_addr *prefix, uint8_t len);
int gw_nft_setup(struct mat_nft *n, const struct in6_addr *home, const uint8_t *home_len, unsigned nhome);
void gw_nft_map(struct mat_nft *n, const struct in6_addr *ha, const struct in6_addr *ma);
void gw_nft_unmap(struct mat_nft *n, const struct in6_addr *ha, const struct in6_addr *ma);
/* ma2ha alone: a mobile node's previous MA kept as an alias of its HA (add)
 * or dropped (see gateway/mappings.c). */
/* The packets and bytes the gateway's table translated, from its rules'
 * counters (a dump of the table's rules, read now): to_ma sums the two
 * ha2ma rules (prerouting and output), icmp the ICMPv6 errors whose
 * quoted header was turned back, rejected the home gateway's rejects. */
struct nft_counter_sum {
	uint64_t packets, bytes;
};
struct gw_nft_counters {
	struct nft_counter_sum to_ma, icmp, rejected;
};
int gw_nft_counters(struct mat_nft *n, struct gw_nft_counters *out);
void gw_nft_alias(struct mat_nft *n, const struct in6_addr *ma, const struct in6_addr *ha, bool add);
#endif
