/* libvirt domain XML, as glm reads it: the domain's name and UUID, its
 * NICs (MAC, bridge, target dev) and glm's own <metadata> element:
 *
 *   <metadata>
 *     <glm:mobility xmlns:glm="urn:x-glm:mobility:1">
 *       <glm:home address="2001:db8:100::10" key-id="10"/>
 *       <glm:relay address="[2001:db8:c::20]:5310"/>
 *       <glm:group address="ff3e::1234"/>
 *       <glm:group address="ff3e::5678" source="2001:db8:c::30"/>
 *     </glm:mobility>
 *   </metadata>
 *
 * One parser (libxml2 + XPath), no network access, no entity expansion,
 * bounded size and depth; every value is validated before it is returned.
 * Interface names, MACs, addresses and the relay may be printed as they
 * are; the domain name is any UTF-8 but control characters, so it is
 * quoted, escaped or encoded wherever it goes (lib/hookreq.h, the agent's
 * JSON status). */
#ifndef GLM_DOMXML_H
#define GLM_DOMXML_H
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GLM_XMLNS "urn:x-glm:mobility:1"
#define DOMXML_MAX_BYTES (4u << 20)
#define DOMXML_MAX_NICS 16
#define DOMXML_MAX_GROUPS 64
/* Deep enough for long <backingStore> chains, far below libxml2's 256. */
#define DOMXML_MAX_DEPTH 128

struct domxml_nic {
	uint8_t mac[6];
	char bridge[IF_NAMESIZE];  /* "" if not a bridge interface */
	char target[IF_NAMESIZE];  /* "" before libvirt named the tap */
};

struct domxml_group {
	struct in6_addr group, source; /* source :: = any */
};

struct domxml {
	char name[256];
	int id;                        /* <domain id='N'>: libvirt's runtime id on this host, -1 if none */
	char uuid[37];
	unsigned nnics;
	struct domxml_nic nics[DOMXML_MAX_NICS];
	bool has_mobility;             /* the glm metadata element is present */
	bool has_home;
	struct in6_addr home;
	uint32_t key_id;
	bool has_relay;
	char relay[64];                /* "[addr]:port" as written, validated */
	unsigned ngroups;
	struct domxml_group groups[DOMXML_MAX_GROUPS];
};

/* Parse; returns 0, or -EINVAL/-E2BIG/-ENOMEM with a message in err. */
int domxml_parse(const char *buf, size_t len, struct domxml *d, char *err, size_t errlen);

/* The parser's checks, for the other readers of these values (the hook's
 * request, lib/hookreq.c). A *_problem function returns NULL when the
 * value is fine, else why it is not, in words for a message. */
/* A domain name of len bytes (NULs included); why[size] may hold the answer. */
const char *domxml_name_problem(const char *s, size_t len, char *why, size_t size);
/* 1-15 of A-Z a-z 0-9 _ . - and not "." or "..". */
bool domxml_ifname_ok(const char *s);
/* Six hex pairs separated by ':'; returns 0 or -EINVAL. */
int domxml_parse_mac(const char *s, uint8_t mac[6]);
/* A unicast address a VM or relay can be found at from another subnet. */
const char *domxml_unicast_problem(const struct in6_addr *a);
/* A group that can follow a VM across subnets (scope 3 or wider). */
const char *domxml_group_problem(const struct in6_addr *g);
/* "[addr]:port", nothing else (no zone, no name, port required). */
int domxml_parse_relay(const char *s, struct in6_addr *a);
/* A hostile value for a message: printable ASCII, '?' for anything else,
 * cut with "..." to fit buf[size]; returns buf. */
const char *domxml_shown(const char *s, char *buf, size_t size);
#endif
