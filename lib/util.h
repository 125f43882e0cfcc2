/* Small shared helpers: clocks, sequence numbers, UDP sockets, address text. */
#ifndef GLM_UTIL_H
#define GLM_UTIL_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

uint64_t now_ns(void);            /* CLOCK_MONOTONIC */
uint64_t realtime_ns(void);       /* CLOCK_REALTIME: the clock of the wire's sequence numbers */
static inline double ns_to_ms(uint64_t ns) { return (double)ns / 1e6; }
/* Strictly increasing across calls and across restarts: wall-clock based
 * (CLOCK_REALTIME in ns), which is what receivers check a message's
 * freshness against (glm_seq_fresh() in wire.h). */
uint64_t seq_next(void);

/* A non-blocking UDP socket bound to addr (may be NULL for any, port 0). */
int udp6_socket(const struct sockaddr_in6 *bind_to);
/* A socket buffer of bytes: opt_force (SO_RCVBUFFORCE, SO_SNDBUFFORCE)
 * beyond net.core.[rw]mem_max where we may (CAP_NET_ADMIN), else opt, as
 * large as the limit allows. */
void sock_bufsize(int fd, int opt_force, int opt, int bytes);
/* sock_bufsize for the receive buffer. */
void sock_rcvbuf(int fd, int bytes);
/* The datagrams the kernel dropped for fd so far (a full receive buffer
 * above all; SO_MEMINFO): 0 or -errno. */
int sock_drops(int fd, uint32_t *drops);

/* inet_ntop into a static rotating buffer: for log lines only. */
/* The length of the UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 if it is not one: no overlong forms, no surrogates, nothing
 * above U+10FFFF. */
size_t utf8_char(const unsigned char *s, size_t n, uint32_t *cp);
const char *a6(const struct in6_addr *a);
const char *sa6(const struct sockaddr_in6 *sa);
/* A MAC as aa:bb:cc:dd:ee:ff into out; returns out. */
#define MAC_STRLEN 18
const char *mac_str(const uint8_t m[6], char out[MAC_STRLEN]);
bool in6_prefix_match(const struct in6_addr *a, const struct in6_addr *p, unsigned len);
void in6_prefix_apply(struct in6_addr *a, unsigned len);

int write_pidfile(const char *path);

/* sendmsg to `to`, from source address src (IPV6_PKTINFO; NULL: the
 * kernel's choice) out of ifindex (0: by route). Returns 0 or -errno. */
#include <stddef.h>
int sendto_from(int fd, const void *msg, size_t len, const struct sockaddr_in6 *to, const struct in6_addr *src,
		int ifindex);
#endif
