/* libFuzzer harness for rtnl_events_decode, the parser of the rtnetlink
 * link/address event stream. Seeds in corpus/fuzz_rtnl_events are real
 * kernel messages (RTM_NEWLINK/DELLINK, RTM_NEWADDR/DELADDR, and a buffer
 * of several) captured from a veth pair in a scratch namespace. */
#include "rtnl.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void on_event(void *ctx, const struct rtnl_event *ev)
{
	/* Touch every field, so uninitialised or out-of-bounds data shows. */
	size_t *sum = ctx;

	*sum += (size_t)ev->kind + (size_t)ev->ifindex + strnlen(ev->ifname, sizeof(ev->ifname)) +
		ev->flags + ev->operstate + ev->link_event + ev->addr.s6_addr[15] + ev->plen +
		ev->scope + ev->ifa_flags;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sum = 0;
	void *buf;

	/* A netlink receive buffer is 4-byte aligned: give the parser one,
	 * exactly size bytes long so ASan sees any read past the end. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	rtnl_events_decode(buf, size, on_event, &sum);
	free(buf);
	return 0;
}
