/* libFuzzer harness for imsd's control socket (ims/control.c: stats,
 * stats json, dump), through lib/ctl.c's ctl_serve_conn, on imsd set up
 * by its own imsd_setup() in a namespace of the harness's own with a
 * database holding a few mappings (stored by imsd's receive path from
 * sealed UPDATEs, as fuzz_imsd sends them). */
// link-daemon: imsd
#define main imsd_main
#include "../../ims/imsd.c"
#undef main
#include "fuzz_ctl.h"
#include "fuzz_net.h"
#include <sys/stat.h>

static struct imsd D = { .udp = -1, .ctl = -1 };
static char dir[64];

static void cleanup(void)
{
	char p[128];

	store_close(D.store);
	D.store = NULL;
	for (const char *const *f = (const char *const[]){ "imsd.db", "imsd.db-wal", "imsd.db-shm", "imsd.sock", NULL }; *f; f++) {
		snprintf(p, sizeof(p), "%s/%s", dir, *f);
		unlink(p);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const homes[] = { "2001:db8:100::1", "2001:db8:100::2" };
	struct fuzz_peers p = { 0 };
	struct evloop *l;

	(void)argc, (void)argv;
	fuzz_log_init("fuzz_imsd_ctl");
	fuzz_netns(NULL);
	snprintf(dir, sizeof(dir), "/dev/shm/fuzz_imsd_ctl.%d", (int)getpid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		exit(1);
	atexit(cleanup);
	ev_timer_init(&D.expiry, "expiry", on_expiry, &D);
	conf_defaults(&D.conf);
	D.conf.listen = fuzz_sa("2001:db8:1::1", IMSD_DEFAULT_PORT);
	if (asprintf(&D.conf.database, "%s/imsd.db", dir) < 0 || asprintf(&D.conf.control, "%s/imsd.sock", dir) < 0 ||
	    fuzz_keyring(FUZZ_IMS, &D.keys) < 0 || evloop_new(&l) < 0 || imsd_setup(&D, l) != 0)
		exit(1);
	close(D.ctl);
	D.ctl = -1;
	fuzz_peer_add(&p, "2001:db8:a::5", 5301);
	fuzz_peers_input(&p);
	for (unsigned i = 0; i < 2; i++) {
		struct fuzz_msg f = { .sender = FUZZ_GUEST };

		f.m.type = GLM_IMS_UPDATE;
		f.m.seq = p.seqs.base + i;
		GLM_SET(&f.m, ha, GLM_TLV_HA, fuzz_addr_n(i + 2));
		GLM_SET(&f.m, ma, GLM_TLV_MA, fuzz_addr_n(5));
		GLM_SET(&f.m, lifetime, GLM_TLV_LIFETIME, 3600);
		(void)homes;
		fuzz_peer_send(&p, &f, FUZZ_IMS, &D.conf.listen);
	}
	on_udp(&D);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_ctl(data, size, control_request, &D);
	return 0;
}
