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

#define MAX_JOINS 256

static struct join {
	int br;
	struct in6_addr group, source;
	unsigned refs;
} joins[MAX_JOINS];

static struct join *find(int br, const struct in6_addr *g, const struct in6_addr *s)
{
	for (int i = 0; i < MAX_JOINS; i++)
		if (joins[i].refs && joins[i].br == br && !memcmp(&joins[i].group, g, 16) && !memcmp(&joins[i].source, s, 16))
			return &joins[i];
	return NULL;
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
	struct join *j = find(br, group, source);
	int r;

	if (j) {
		j->refs++;
		return 0;
	}
	for (int i = 0; i < MAX_JOINS; i++) {
		if (joins[i].refs)
			continue;
		r = membership(a, br, group, source, true);
		if (r < 0) {
			log_warnx("join %s on %s: %s", a6(group), a->br[br].name, strerror(-r));
			return r;
		}
		joins[i] = (struct join){ .br = br, .group = *group, .source = *source, .refs = 1 };
		log_info("proxy join %s%s%s on %s", IN6_IS_ADDR_UNSPECIFIED(source) ? "" : a6(source),
			 IN6_IS_ADDR_UNSPECIFIED(source) ? "" : ",", a6(group), a->br[br].name);
		return 0;
	}
	log_warnx("join %s on %s: more than %d proxy joins", a6(group), a->br[br].name, MAX_JOINS);
	return -ENOSPC;
}

void proxy_leave(struct agentd *a, int br, const struct in6_addr *group, const struct in6_addr *source)
{
	struct join *j = find(br, group, source);
	int r;

	if (!j || --j->refs)
		return;
	r = membership(a, br, group, source, false);
	if (r < 0)
		log_warnx("leave %s on %s: %s", a6(group), a->br[br].name, strerror(-r));
	else
		log_info("proxy join of %s on %s left", a6(group), a->br[br].name);
}

unsigned proxy_joins(const struct agentd *a)
{
	unsigned n = 0;

	(void)a;
	for (int i = 0; i < MAX_JOINS; i++)
		n += joins[i].refs > 0;
	return n;
}
