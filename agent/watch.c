/* glm-agentd's sockets in lib's event loop, and its two small helpers
 * every module uses: sending a sealed message, finding a bridge. Apart
 * from agentd.c so a test harness (tests/tools/relayagent.c) runs the
 * relay modules on the same code. */
#include "agentd.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* A module's socket: its callback takes the agent, so each registration
 * is a small record the loop calls back with. */
struct agentd_watcher {
	struct agentd_watcher *next;
	struct agentd *a;
	int fd;
	agentd_fd_fn fn;
	void *arg;
};

static void watcher_input(void *arg)
{
	struct agentd_watcher *w = arg;

	w->fn(w->a, w->arg);
}

int agentd_watch(struct agentd *a, int fd, agentd_fd_fn fn, void *arg)
{
	struct agentd_watcher *w = calloc(1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	*w = (struct agentd_watcher){ .next = a->watchers, .a = a, .fd = fd, .fn = fn, .arg = arg };
	r = ev_watch(a->loop, fd, watcher_input, w);
	if (r < 0) {
		free(w);
		return r;
	}
	a->watchers = w;
	return 0;
}

void agentd_unwatch(struct agentd *a, int fd)
{
	for (struct agentd_watcher **pp = &a->watchers; *pp;) {
		struct agentd_watcher *w = *pp;

		if (w->fd != fd) {
			pp = &w->next;
			continue;
		}
		ev_unwatch(a->loop, fd);
		*pp = w->next;
		free(w);
	}
}

void agentd_unwatch_all(struct agentd *a)
{
	while (a->watchers) {
		struct agentd_watcher *w = a->watchers;

		a->watchers = w->next;
		ev_unwatch(a->loop, w->fd);
		free(w);
	}
}

int agentd_send(struct agentd *a, const struct sockaddr_in6 *to, struct glm_msg *m, const struct glm_key *key)
{
	if (!key)
		return -ENOKEY;
	return glm_send_msg(a->udp, to, NULL, m, key);
}

int agentd_bridge_by_ifindex(const struct agentd *a, int ifindex)
{
	for (unsigned i = 0; i < a->nbr; i++)
		if (a->br[i].ifindex == ifindex)
			return (int)i;
	return -1;
}

