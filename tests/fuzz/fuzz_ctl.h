/* The control-socket harnesses' one step: the input as what a client
 * sends on a daemon's control socket, served by lib/ctl.c's
 * ctl_serve_conn (the line read, split and handed to the daemon's
 * handler, the reply written) over a socketpair, the reply read and
 * dropped. Any bytes: a reply or a clean refusal, never a crash. */
#ifndef GLM_FUZZ_CTL_H
#define GLM_FUZZ_CTL_H
#include "ctl.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static inline void fuzz_ctl(const uint8_t *data, size_t size, ctl_fn fn, void *ctx)
{
	int sv[2], big = 8 << 20;
	char buf[65536];

	if (size > GLM_CTL_MAXREQ + 64)
		size = GLM_CTL_MAXREQ + 64;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	/* room for the whole request and any reply: neither side waits */
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	if (size && write(sv[0], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[0], SHUT_WR);
	ctl_serve_conn(sv[1], fn, ctx);
	while (read(sv[0], buf, sizeof(buf)) > 0)
		;
	close(sv[0]);
}
#endif
