/* libFuzzer harness for matd's handlers behind the MAC check: the mobile
 * node's (PREPARE, RESUMED, IMS_ACK, BINDING_ACK in guest-agent/mobile.c)
 * and the correspondent's (BINDING_UPDATE, NOTIFY, REPLY in
 * correspondent.c). The input is a series of messages (fuzz_msg.h), each
 * sealed with the test keys, sent by UDP from a peer (a host agent, the
 * IMS, a correspondent) to matd's socket in a namespace of the
 * harness's own, and taken by matd's real receive path (matd.c's
 * udp_input). matd is the real one, set up once (fuzz_matd_setup.h),
 * and idle (its first solicitation given up) when fuzzing starts.
 *
 * Ops: even, a message; odd, a turn of matd's own loop (the timers that
 * came due: retransmissions, the handover's deadlines). */
// link-daemon: matd
#include "fuzz_matd_setup.h"

static struct fuzz_peers P;
static struct sockaddr_in6 to;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_matd_start("fuzz_matd");
	to = fuzz_sa("2001:db8:a::9", MATD_DEFAULT_PORT);
	fuzz_peer_add(&P, "2001:db8:b::1", 5310);   /* a host agent */
	fuzz_peer_add(&P, "2001:db8:c::5", 5300);   /* the IMS */
	fuzz_peer_add(&P, "2001:db8:d::7", 5301);   /* the correspondents */
	fuzz_peer_add(&P, "2001:db8:b::9", 5301);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct fuzz_msg f;
	unsigned ops = 0;

	fuzz_peers_input(&P);
	while (in.n && ops++ < 64) {
		if (fuzz_u8(&in) & 1) {
			fuzz_matd_turn(0);
		} else {
			fuzz_msg_read(&in, &P.seqs, &f);
			if (fuzz_peer_send(&P, &f, FUZZ_GUEST, &to) == 0)
				udp_input(&D);
		}
		fuzz_peers_drain(&P);
	}
	return 0;
}
