/* libFuzzer harness for imsd's requests behind the MAC check (UPDATE,
 * QUERY, SUBSCRIBE in ims/requests.c, the pushes of subscribers.c, the
 * store): the input is a series of messages (fuzz_msg.h), sealed with
 * the test keys so they pass glm_msg_accept(), sent by UDP from the
 * peers to imsd's own socket in a namespace of the harness's own, and
 * taken by imsd's real receive path (on_udp: requests_batch, one
 * recvmmsg batch per FLUSH, so several updates share a transaction).
 * imsd is set up as imsd_setup() sets it up. Opening a database costs
 * more than a thousand inputs, so the store lives on over 4096 inputs
 * (then imsd is started anew on a new one); what else a request leaves
 * (subscribers, the per-key replay memory) is cleared for every input.
 * Every input's seqs are above those of the inputs before it, so what
 * an earlier input stored never makes a later one stale.
 *
 * Ops: 0 message, 1 flush (imsd reads its batch), 2 the expiry sweep. */
// link-daemon: imsd
#define main imsd_main
#include "../../ims/imsd.c"
#undef main
#include "fuzz_net.h"
#include <sys/stat.h>

static struct imsd D = { .udp = -1, .ctl = -1 };
static struct evloop *L;
static struct fuzz_peers P;
static char dir[64], db[96];

static void imsd_start(void)
{
	conf_defaults(&D.conf);
	D.conf.listen = fuzz_sa("2001:db8:1::1", IMSD_DEFAULT_PORT);
	D.conf.database = strdup(db);
	if (asprintf(&D.conf.control, "%s/imsd.sock", dir) < 0 || fuzz_keyring(FUZZ_IMS, &D.keys) < 0 ||
	    imsd_setup(&D, L) != 0) {
		fprintf(stderr, "fuzz_imsd: imsd_setup failed\n");
		exit(1);
	}
}

static void imsd_stop(void)
{
	char p[128];

	imsd_cleanup(&D);
	imsd_free(&D);
	memset(&D, 0, sizeof(D));
	D.udp = D.ctl = -1;
	ev_timer_init(&D.expiry, "expiry", on_expiry, &D);
	unlink(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	unlink(p);
}

static void cleanup(void)
{
	if (D.store)
		imsd_stop();
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_log_init("fuzz_imsd");
	fuzz_netns(NULL);
	/* the database on a tmpfs: imsd's fsync per batch costs nothing */
	snprintf(dir, sizeof(dir), "/dev/shm/fuzz_imsd.%d", (int)getpid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(dir, sizeof(dir), "/tmp/fuzz_imsd.%d", (int)getpid());
		mkdir(dir, 0700);
	}
	snprintf(db, sizeof(db), "%s/imsd.db", dir);
	atexit(cleanup);
	if (evloop_new(&L) < 0)
		exit(1);
	ev_timer_init(&D.expiry, "expiry", on_expiry, &D);
	fuzz_peer_add(&P, "2001:db8:d::7", 5301);
	fuzz_peer_add(&P, "2001:db8:a::5", 5301);
	fuzz_peer_add(&P, "2001:db8:b::1", 5310);
	fuzz_peer_add(&P, "::1", 40000);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct fuzz_msg f;
	unsigned ops = 0, queued = 0;

	static unsigned inputs;

	if (inputs++ % 4096 == 0) {
		if (D.store)
			imsd_stop();
		imsd_start();
	}
	D.nsubs = 0;
	memset(&D.kseq, 0, sizeof(D.kseq));
	fuzz_peers_input(&P);
	while (in.n && ops++ < 128) {
		switch (fuzz_u8(&in) % 3) {
		case 0:
			fuzz_msg_read(&in, &P.seqs, &f);
			queued += fuzz_peer_send(&P, &f, FUZZ_IMS, &D.conf.listen) == 0;
			break;
		case 1:
			on_udp(&D);
			queued = 0;
			fuzz_peers_drain(&P);
			break;
		case 2:
			expiry_tick(&D);
			fuzz_peers_drain(&P);
			break;
		}
	}
	if (queued)
		on_udp(&D);
	fuzz_peers_drain(&P);
	return 0;
}
