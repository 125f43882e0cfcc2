/* The handler harnesses' network: a namespace of the fuzzer's own (so
 * what a daemon sends, joins or injects stays in it: nothing reaches a
 * real network, no port of another program on this machine is hit), its
 * loopback up with the test addresses on it (2001:db8::/32 only), and
 * the peers, UDP sockets that send the harness's messages to the daemon
 * and take what it sends back (their seqs are remembered, so the next
 * message can answer them). */
#ifndef GLM_FUZZ_NET_H
#define GLM_FUZZ_NET_H
#include "fuzz_msg.h"
#include "log.h"
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* Into a new network namespace (as root; else in a user namespace too),
 * lo up, these addresses on it; extra: more ip(8) commands, one per line,
 * e.g. interfaces the daemon needs. Exits if it cannot: a handler
 * harness never runs in the machine's own network. */
static inline void fuzz_netns(const char *extra)
{
	static const char *const addrs[] = {
		"2001:db8:1::1", "2001:db8:2::1", "2001:db8:c::5", "2001:db8:a::5", "2001:db8:b::1",
		"2001:db8:d::7", "2001:db8:b::9", "2001:db8:a::7",
	};
	char cmd[4096];
	int o;

	if (unshare(CLONE_NEWNET) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		fprintf(stderr, "fuzz: no network namespace of our own (%s): not fuzzing in this one\n",
			strerror(errno));
		exit(1);
	}
	o = snprintf(cmd, sizeof(cmd), "set -e; exec >/dev/null; ip link set lo up; "
		     "ip -6 addr add fe80::1/64 dev lo nodad; ");
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		o += snprintf(cmd + o, sizeof(cmd) - (size_t)o, "ip -6 addr add %s/128 dev lo nodad; ", addrs[i]);
	if (extra)
		o += snprintf(cmd + o, sizeof(cmd) - (size_t)o, "%s", extra);
	if (o >= (int)sizeof(cmd) || system(cmd) != 0) {
		fprintf(stderr, "fuzz: setting up the namespace failed: %s\n", cmd);
		exit(1);
	}
}

/* Quiet, unless FUZZ_LOG is set: then the daemon's log, debug included,
 * on stderr (to see why an input goes no further). */
static inline void fuzz_log_init(const char *name)
{
	log_init(name, getenv("FUZZ_LOG") != NULL, getenv("FUZZ_LOG") ? 1 : 0);
}

static inline struct sockaddr_in6 fuzz_sa(const char *addr, uint16_t port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port) };

	inet_pton(AF_INET6, addr, &sa.sin6_addr);
	return sa;
}

#define FUZZ_MAX_PEERS 8
struct fuzz_peers {
	unsigned n;
	int fd[FUZZ_MAX_PEERS];
	struct sockaddr_in6 sa[FUZZ_MAX_PEERS];
	struct fuzz_seqs seqs;
	uint64_t sent, got;
};

/* A peer at addr:port (an address fuzz_netns put on lo). */
static inline void fuzz_peer_add(struct fuzz_peers *p, const char *addr, uint16_t port)
{
	struct sockaddr_in6 sa = fuzz_sa(addr, port);
	int fd = udp6_socket(&sa);

	if (fd < 0 || p->n == FUZZ_MAX_PEERS) {
		fprintf(stderr, "fuzz: peer [%s]:%u: %s\n", addr, port, fd < 0 ? strerror(-fd) : "too many");
		exit(1);
	}
	p->fd[p->n] = fd;
	p->sa[p->n++] = sa;
}

/* Take what the daemon sent to the peers; remember their seqs. */
static inline void fuzz_peers_drain(struct fuzz_peers *p)
{
	uint8_t buf[GLM_MSG_MAX];
	struct glm_msg m;

	for (unsigned i = 0; i < p->n; i++) {
		ssize_t n;

		while ((n = recv(p->fd[i], buf, sizeof(buf), MSG_DONTWAIT)) >= 0) {
			p->got++;
			if (glm_msg_parse(buf, (size_t)n, &m) == GLM_PE_OK)
				fuzz_seqs_saw(&p->seqs, &m);
		}
	}
}

/* Seal f for receiver and send it from its peer to the daemon at to.
 * 0, or -1 if it could not be encoded (nothing sent). */
static inline int fuzz_peer_send(struct fuzz_peers *p, struct fuzz_msg *f, enum fuzz_node receiver,
				 const struct sockaddr_in6 *to)
{
	uint8_t buf[GLM_MSG_MAX];
	ssize_t n = fuzz_msg_seal(f, receiver, buf, sizeof(buf));

	if (n < 0)
		return -1;
	if (sendto(p->fd[f->peer % p->n], buf, (size_t)n, 0, (const struct sockaddr *)to, sizeof(*to)) < 0)
		return -1;
	p->sent++;
	return 0;
}

/* The start of an input: a seq base from the clock, after the daemon's
 * start (its `since`). */
static inline void fuzz_peers_input(struct fuzz_peers *p)
{
	fuzz_peers_drain(p);
	p->seqs.nseen = 0;
	p->seqs.base = realtime_ns();
}
#endif
