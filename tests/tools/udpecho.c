/* udpecho: a bare UDP echo server, the baseline of bench/ims: it sends
 * every datagram back to where it came from, in batches (recvmmsg,
 * sendmmsg) as imsd reads and answers its own, and does nothing else, so
 * what a load generator measures against it is the generator and the
 * path, not a server.
 *
 *   udpecho [ADDR]:PORT     until SIGTERM or SIGINT */
#include "conf.h"
#include "util.h"
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#define BATCH 64
#define BUF 2048

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][BUF];
	struct sockaddr_in6 sa, from[BATCH];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct sigaction act = { .sa_handler = on_signal };
	int fd, one = 1;

	if (argc != 2 || parse_sockaddr6(argv[1], 0, &sa) || !sa.sin6_port) {
		fprintf(stderr, "usage: udpecho [ADDR]:PORT\n");
		return EX_USAGE;
	}
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "udpecho: %s: %s\n", argv[1], strerror(errno));
		return EX_UNAVAILABLE;
	}
	while (!stop) {
		int n;

		memset(mm, 0, sizeof(mm));
		for (unsigned i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], BUF };
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, mm, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "udpecho: receive: %s\n", strerror(errno));
			return EX_IOERR;
		}
		for (int i = 0; i < n; i++)
			iov[i].iov_len = mm[i].msg_len;
		if (sendmmsg(fd, mm, (unsigned)n, 0) < 0 && errno != EINTR)
			fprintf(stderr, "udpecho: send: %s\n", strerror(errno));
	}
	close(fd);
	return 0;
}
