/* libFuzzer harness for mdb_decode, the parser of the bridge MDB messages
 * (RTM_GETMDB dump replies, RTM_NEWMDB/RTM_DELMDB notifications). Seeds in
 * corpus/fuzz_mdb are real kernel buffers captured from a snooping bridge
 * in a scratch namespace: a dump with host, permanent, learned (*,G),
 * (S,G) with a source list and IPv4 entries, and the events of add,
 * join, leave and delete. */
#include "mdb.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void on_entry(void *ctx, const struct mdb_entry *e)
{
	/* Touch every field, so uninitialised or out-of-bounds data shows. */
	size_t *sum = ctx;

	*sum += (size_t)e->bridge + (size_t)e->port + e->group.s6_addr[0] + e->group.s6_addr[15] +
		e->source.s6_addr[0] + e->source.s6_addr[15] + e->state + e->proto + e->deleted;
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
	mdb_decode(buf, size, on_entry, &sum);
	free(buf);
	return 0;
}
