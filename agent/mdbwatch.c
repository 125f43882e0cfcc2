/* Which groups each VM port has joined, from the kernel bridge's multicast
 * database: one dump at start and for every new tap, then RTNLGRP_MDB
 * events (lib/mdb.c), never by sniffing. */
#include "agent_int.h"
#include "log.h"
#include <errno.h>
#include <string.h>

struct port_filter {
	struct agentd *a;
	int port;
};

static void on_entry(void *ctx, const struct mdb_entry *e)
{
	vm_mdb_entry(ctx, e);
}

static void on_port_entry(void *ctx, const struct mdb_entry *e)
{
	struct port_filter *f = ctx;

	if (e->port == f->port)
		vm_mdb_entry(f->a, e);
}

static void events(struct agentd *a, void *arg)
{
	(void)arg;
	if (mdb_events_read(a->mdb, on_entry, a) == -ENOBUFS) {
		/* Events were lost: the dump is the truth. */
		for (unsigned i = 0; i < a->nbr; i++)
			mdb_dump(a->mdb, a->br[i].ifindex, on_entry, a);
	}
}

int mdbwatch_init(struct agentd *a)
{
	int r = mdb_open(&a->mdb, true);

	if (r < 0)
		return log_warnx("bridge MDB: %s", strerror(-r)), r;
	for (unsigned i = 0; i < a->nbr; i++)
		mdb_dump(a->mdb, a->br[i].ifindex, on_entry, a);
	return agentd_watch(a, mdb_fd(a->mdb), events, NULL);
}

void mdbwatch_port(struct agentd *a, int br, int port_ifindex)
{
	struct port_filter f = { a, port_ifindex };

	mdb_dump(a->mdb, a->br[br].ifindex, on_port_entry, &f);
}

void mdbwatch_free(struct agentd *a)
{
	if (a->mdb)
		mdb_close(a->mdb);
	a->mdb = NULL;
}
