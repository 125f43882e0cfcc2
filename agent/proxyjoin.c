/* Proxy joins: the host's own membership of a group on a bridge (RFC 3678
 * MCAST_JOIN_GROUP / MCAST_JOIN_SOURCE_GROUP by the bridge's ifindex), so
 * the upstream router sends the group to this link before an incoming VM
 * can ask for it. A socket holds each group once; VMs share it by count. */
#include "agent_int.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static struct proxy_join *find(const struct agentd *a, int br, const struct in6_addr *g, const struct in6_addr *s)
{
	struct proxy_join key;

	memset(&key, 0, sizeof(key));
	key.group = *g;
	key.source = *s;
	return htab_find(&a->br[br].joins, &key);
}

static int membership(struct agentd *a, int br, const struct in6_addr *g, const struct in6_addr *s, bool join)
{
	struct sockaddr_in6 gs = { .sin6_family = AF_INET6, .sin6_addr = *g };
	struct sockaddr_in6 ss = { .sin6_family = AF_INET6, .sin6_addr = *s };
	int r;

	if (IN6_IS_ADDR_UNSPECIFIED(s)) {
		struct group_req gr = { .gr_interface = (uint32_t)a->br[br].ifindex };
		memcpy(&gr.gr_group, &gs, sizeof(gs));
		r = setsockopt(a->br[br].join_fd, IPPROTO_IPV6, join ? MCAST_JOIN_GROUP : MCAST_LEAVE_GROUP, &gr, sizeof(gr));
	} else {
		struct group_source_req gsr = { .gsr_interface = (uint32_t)a->br[br].ifindex };
		memcpy(&gsr.gsr_group, &gs, sizeof(gs));
		memcpy(&gsr.gsr_source, &ss, sizeof(ss));
		r = setsockopt(a->br[br].join_fd, IPPROTO_IPV6, join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP,
			       &gsr, sizeof(gsr));
	}
	return r < 0 ? -errno : 0;
}

int proxy_join(struct agentd *a, int br, const struct in6_addr *group, const struct in6_addr *source)
{
	struct proxy_join *j = find(a, br, group, source), key;
	int r;

	if (j) {
		j->refs++;
		return 0;
	}
	r = membership(a, br, group, source, true);
	if (r < 0) {
		log_warnx("join %s on %s: %s", a6(group), a->br[br].name, strerror(-r));
		return r;
	}
	memset(&key, 0, sizeof(key));
	key.group = *group;
	key.source = *source;
	if (!(j = htab_insert(&a->br[br].joins, &key, NULL))) {
		membership(a, br, group, source, false);
		log_warnx("join %s on %s: out of memory", a6(group), a->br[br].name);
		return -ENOMEM;
	}
	j->refs = 1;
	a->mx.proxy_joins++;
	log_info("proxy join %s%s%s on %s", IN6_IS_ADDR_UNSPECIFIED(source) ? "" : a6(source),
		 IN6_IS_ADDR_UNSPECIFIED(source) ? "" : ",", a6(group), a->br[br].name);
	return 0;
}

void proxy_leave(struct agentd *a, int br, const struct in6_addr *group, const struct in6_addr *source)
{
	struct proxy_join *j = find(a, br, group, source);
	int r;

	if (!j || --j->refs)
		return;
	htab_remove(&a->br[br].joins, j);
	r = membership(a, br, group, source, false);
	if (r < 0)
		log_warnx("leave %s on %s: %s", a6(group), a->br[br].name, strerror(-r));
	else
		log_info("proxy join of %s on %s left", a6(group), a->br[br].name);
}

unsigned proxy_joins(const struct agentd *a)
{
	size_t n = 0;

	for (unsigned i = 0; i < a->nbr; i++)
		n += htab_count(&a->br[i].joins);
	return (unsigned)n;
}
