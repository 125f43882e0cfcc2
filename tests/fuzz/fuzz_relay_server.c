/* libFuzzer harness for the relay's handlers behind the MAC check
 * (RELAY_REQUEST, RELAY_STOP in agent/relay_server.c) and its packet
 * path: the input is a series of ops; a message (fuzz_msg.h) is sealed
 * with the test keys, sent by UDP from a peer (an agent) to the relay's
 * socket in a namespace of the harness's own, and taken by glm-agentd's
 * real receive path (agentd.c's udp_input) in the relay role. A captured
 * packet is an IPv6 packet written on lo (whose copy coming back in is
 * what the relay's packet socket captures), then read by the relay's own
 * receive (rs_on_packets, as its socket's callback: the BPF filter, checks, checksum completion,
 * the RELAYED_PACKETs to the agents, which the peers take). The groups
 * are joined on lo: no MLD leaves the namespace. The relay is set up
 * once (relay_server_init: its packet socket, 4 MB of receive buffers);
 * each input starts with its sessions ended and its replay memory empty.
 *
 * Ops: 0 message; 1 a packet on lo (group, kind, length, payload as
 * fuzz_msg.h's PACKET). */
// link-daemon: agentd
#define main agentd_main
#include "../../agent/agentd.c"
#undef main
/* compiled in, not linked: its capture callback is static */
#include "../../agent/relay_server.c"
#include "fuzz_net.h"
#include <linux/if_ether.h>
#include <linux/if_packet.h>

static struct agentd A = { .udp = -1, .ctl = -1 };
static struct fuzz_peers P;
static int pkt_out = -1;

static void packet_on_lo(struct fuzz_in *in)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IPV6), .sll_ifindex = 1,
				  .sll_halen = 6 };
	struct fuzz_msg f;
	size_t len, o = 0;
	uint8_t kind;

	f.m.group = fuzz_addr(in);
	kind = fuzz_u8(in);
	len = fuzz_u8(in);
	if (kind & 2)
		len <<= 2;
	if (kind & 1) {
		struct in6_addr src = fuzz_addr(in);

		memset(f.pkt, 0, 40);
		f.pkt[0] = 0x60;
		f.pkt[4] = (uint8_t)(len >> 8);
		f.pkt[5] = (uint8_t)len;
		f.pkt[6] = kind & 8 ? 58 : 17;
		f.pkt[7] = 1;
		memcpy(f.pkt + 8, &src, 16);
		memcpy(f.pkt + 24, &f.m.group, 16);
		o = 40;
		if (kind & 16 && len >= 8) {
			/* UDP, its length right and its checksum left to offload */
			f.pkt[44] = (uint8_t)(len >> 8);
			f.pkt[45] = (uint8_t)len;
		}
	}
	fuzz_bytes(in, f.pkt + o + (kind & 16 && len >= 8 ? 6 : 0), len - (kind & 16 && len >= 8 ? 6 : 0));
	relay_group_mac(&f.m.group, ll.sll_addr);
	if (sendto(pkt_out, f.pkt, o + len, 0, (struct sockaddr *)&ll, sizeof(ll)) < 0)
		return;
	rs_on_packets(&A, A.relay_server);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_log_init("fuzz_relay_server");
	fuzz_netns(NULL);
	if (evloop_new(&A.loop) < 0 || fuzz_keyring(FUZZ_RELAY, &A.keys) < 0)
		exit(1);
	A.key = keyring_find(&A.keys, FUZZ_RELAY);
	A.conf.relay_role = true;
	snprintf(A.conf.relay_ifname, sizeof(A.conf.relay_ifname), "lo");
	A.conf.listen = fuzz_sa("2001:db8:1::1", AGENT_PORT);
	A.conf.session_timeout_s = 30;
	A.udp = udp6_socket(&A.conf.listen);
	pkt_out = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (A.udp < 0 || pkt_out < 0)
		exit(1);
	fuzz_peer_add(&P, "2001:db8:b::1", AGENT_PORT);   /* agents */
	fuzz_peer_add(&P, "2001:db8:d::7", AGENT_PORT);
	fuzz_peer_add(&P, "2001:db8:b::9", 40000);
	fuzz_peer_add(&P, "::1", AGENT_PORT);
	A.since = realtime_ns();
	if (relay_server_init(&A) < 0) {
		fprintf(stderr, "fuzz_relay_server: relay_server_init failed\n");
		exit(1);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct fuzz_msg f;
	unsigned ops = 0;

	fuzz_peers_input(&P);
	while (in.n && ops++ < 128) {
		switch (fuzz_u8(&in) % 2) {
		case 0:
			fuzz_msg_read(&in, &P.seqs, &f);
			if (fuzz_peer_send(&P, &f, FUZZ_RELAY, &A.conf.listen) == 0)
				udp_input(&A, NULL);
			break;
		case 1:
			packet_on_lo(&in);
			break;
		}
		fuzz_peers_drain(&P);
	}
	while (A.relay_server->nsess)
		rs_end(&A, A.relay_server, A.relay_server->nsess - 1, "end of input");
	memset(&A.relay_server->seen, 0, sizeof(A.relay_server->seen));
	return 0;
}
