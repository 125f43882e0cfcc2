/* libFuzzer harness for ndisc_recv (lib/ndisc.c), what matd reads on its
 * NICs' raw ICMPv6 sockets: the input's first byte chooses how the
 * message is sent (from a link-local or a global source, hop limit 255
 * or not), the rest is the ICMPv6 message (the kernel fills in the
 * checksum), sent on lo in a namespace of the harness's own and read by
 * ndisc_recv on a socket from ndisc_socket(). What it takes must hold
 * what matd relies on. */
#include "fuzz_net.h"
#include "ndisc.h"
#include <assert.h>
#include <netinet/icmp6.h>

static int rx = -1, tx = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_log_init("fuzz_ndisc");
	fuzz_netns(NULL);
	rx = ndisc_socket("lo", 1);
	tx = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (rx < 0 || tx < 0)
		exit(1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in6 to = fuzz_sa("fe80::1", 0);
	struct in6_addr src;
	struct ndisc_msg m;
	unsigned bad = 0;
	uint8_t how;
	int hops, r;

	if (size < 1)
		return 0;
	how = data[0];
	to.sin6_scope_id = 1;
	src = fuzz_addr_n(how & 1 ? 17 : 8);            /* 2001:db8:1::1 or fe80::1 */
	hops = how & 2 ? how >> 2 : 255;
	setsockopt(tx, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops));
	if (sendto_from(tx, data + 1, size - 1, &to, &src, 1) < 0)
		return 0;
	while ((r = ndisc_recv(rx, &m, &bad)) >= 0) {
		if (r == 0)
			continue;
		assert(m.kind == NDISC_RA || m.kind == NDISC_ECHO_REPLY);
		if (m.kind == NDISC_RA) {
			assert(IN6_IS_ADDR_LINKLOCAL(&m.from) && m.ra.nprefixes <= RA_MAX_PREFIXES);
			for (unsigned i = 0; i < m.ra.nprefixes; i++)
				assert(m.ra.prefixes[i].len <= 128);
		}
	}
	return 0;
}
