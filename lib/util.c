/* Clocks, sequence numbers, sockets and address formatting shared by all. */
#include "util.h"
#include <linux/sock_diag.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t seq_next(void)
{
	static uint64_t last;
	uint64_t v = realtime_ns();

	if (v <= last)
		v = last + 1;
	last = v;
	return v;
}

int udp6_socket(const struct sockaddr_in6 *bind_to)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* No SO_REUSEADDR: a second daemon on the same port must fail, not
	 * silently take half the traffic. */
	if (bind_to) {
		if (bind(fd, (const struct sockaddr *)bind_to, sizeof(*bind_to)) < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
	}
	return fd;
}

void sock_bufsize(int fd, int opt_force, int opt, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, opt_force, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

void sock_rcvbuf(int fd, int bytes)
{
	sock_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
}

int sock_drops(int fd, uint32_t *drops)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mi);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &len) < 0)
		return -errno;
	if (len <= SK_MEMINFO_DROPS * sizeof(mi[0]))
		return -EOPNOTSUPP;
	*drops = mi[SK_MEMINFO_DROPS];
	return 0;
}

const char *mac_str(const uint8_t m[6], char out[MAC_STRLEN])
{
	snprintf(out, MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return out;
}

const char *a6(const struct in6_addr *a)
{
	static char buf[8][INET6_ADDRSTRLEN];
	static unsigned i;
	char *b = buf[i++ % 8];

	return inet_ntop(AF_INET6, a, b, INET6_ADDRSTRLEN);
}

const char *sa6(const struct sockaddr_in6 *sa)
{
	static char buf[4][INET6_ADDRSTRLEN + 16];
	static unsigned i;
	char *b = buf[i++ % 4];
	char a[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, &sa->sin6_addr, a, sizeof(a));
	snprintf(b, INET6_ADDRSTRLEN + 16, "[%s]:%u", a, ntohs(sa->sin6_port));
	return b;
}

bool in6_prefix_match(const struct in6_addr *a, const struct in6_addr *p, unsigned len)
{
	struct in6_addr x = *a;

	in6_prefix_apply(&x, len);
	return !memcmp(&x, p, sizeof(x));
}

void in6_prefix_apply(struct in6_addr *a, unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		if (len >= 8 * (i + 1))
			continue;
		if (len <= 8 * i)
			a->s6_addr[i] = 0;
		else
			a->s6_addr[i] &= (uint8_t)(0xff << (8 - (len - 8 * i)));
	}
}

int write_pidfile(const char *path)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	int n;

	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		int e = -errno;
		close(fd);
		return e;
	}
	close(fd);
	return 0;
}

int sendto_from(int fd, const void *msg, size_t len, const struct sockaddr_in6 *to, const struct in6_addr *src,
		int ifindex)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	union { char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr align; } c;
	struct msghdr mh = { .msg_name = (void *)to, .msg_namelen = sizeof(*to), .msg_iov = &iov, .msg_iovlen = 1 };

	if (src) {
		struct in6_pktinfo pi = { .ipi6_addr = *src, .ipi6_ifindex = (unsigned)ifindex };
		struct cmsghdr *cm;

		memset(&c, 0, sizeof(c));
		mh.msg_control = c.buf;
		mh.msg_controllen = sizeof(c.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	return sendmsg(fd, &mh, 0) < 0 ? -errno : 0;
}

/* The length of the UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 if it is not one: no overlong forms, no surrogates, nothing
 * above U+10FFFF. */
size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	uint32_t c;

	if (!len || len > n)
		return 0;
	c = len == 1 ? s[0] : s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}
