/* libFuzzer harness for glm-agentd's handlers behind the MAC check, in
 * the agent role: the relay client (RELAY_RESPONSE, RELAYED_PACKET in
 * agent/relay_client.c) and an incoming VM's prepared move (REPLY,
 * PREPARE_ACK in agent/prepare.c). The input is a series of ops; a
 * message (fuzz_msg.h) is sealed with the test keys, sent by UDP from a
 * peer (the relay, the IMS, a guest's matd at its current MA) to the
 * agent's socket in a namespace of the harness's own, and taken by the
 * agent's real receive path (agentd.c's udp_input). Each input starts
 * from a fresh agent: two bridges (on lo: nothing leaves the namespace),
 * the relay client with sessions for three groups (their RELAY_REQUESTs
 * reach the relay peer, whose seqs an answer can echo), and two
 * migrating VMs whose preparation has begun (QUERY sent to the IMS peer).
 *
 * Ops: 0 message; 1 time passes (u8 x 10 ms) for the VMs' preparation
 * (prepare_timer: the PREPARE goes out to the current MA the REPLY
 * named); 2 a native packet of a group on a bridge (relay_client_native);
 * 3 libvirt resumed a VM (prepare_resumed). */
// link-daemon: agentd
#define main agentd_main
#include "../../agent/agentd.c"
#undef main
#include "fuzz_net.h"
#include "fuzz_agent_conf.h"

static struct agentd A = { .udp = -1, .ctl = -1 };
static struct agent_bridge BR[2];
static struct fuzz_peers P;
static FILE *devnull;

static void vm_add(const char *name, uint8_t mac_last, const char *home, const char *bridge)
{
	static struct domxml d;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	d.id = -1;
	d.nnics = 1;
	memcpy(d.nics[0].mac, (const uint8_t[6]){ 0x52, 0x54, 0, 0x12, 0x34, mac_last }, 6);
	snprintf(d.nics[0].bridge, sizeof(d.nics[0].bridge), "%s", bridge);
	d.has_mobility = d.has_home = true;
	inet_pton(AF_INET6, home, &d.home);
	d.key_id = FUZZ_GUEST;
	d.ngroups = 2;
	inet_pton(AF_INET6, "ff3e::1234", &d.groups[0].group);
	inet_pton(AF_INET6, "ff3e::1", &d.groups[1].group);
	inet_pton(AF_INET6, "2001:db8:5::1", &d.groups[1].source);
	vm_request(&A, VM_EV_INCOMING, &d, true, devnull);
}

static void agent_start(void)
{
	struct in6_addr g, s;

	A.since = realtime_ns();
	memset(BR, 0, sizeof(BR));
	for (unsigned i = 0; i < 2; i++) {
		snprintf(BR[i].name, sizeof(BR[i].name), "br%u", i);
		BR[i].ifindex = 1;
		BR[i].join_fd = BR[i].pkt_fd = BR[i].nd_fd = -1;
		BR[i].have_prefix = true;
		inet_pton(AF_INET6, i ? "2001:db8:c::" : "2001:db8:b::", &BR[i].prefix);
		inet_pton(AF_INET6, "fe80::1", &BR[i].router);
		BR[i].have_router_mac = true;
		memcpy(BR[i].router_mac, (const uint8_t[6]){ 0x52, 0x54, 0, 0, 0, 1 }, 6);
		htab_init(&BR[i].joins, sizeof(struct proxy_join), PROXY_JOIN_KEY);
		htab_init(&BR[i].seen, sizeof(struct reception_seen), RECEPTION_SEEN_KEY);
	}
	A.br = BR;
	A.nbr = 2;
	if (relay_client_init(&A) < 0) {
		fprintf(stderr, "fuzz_agent: relay_client_init failed\n");
		exit(1);
	}
	inet_pton(AF_INET6, "ff3e::1234", &g);
	relay_client_want(&A, 0, &g, NULL, NULL);
	relay_client_want(&A, 1, &g, NULL, NULL);
	inet_pton(AF_INET6, "ff3e::1", &g);
	inet_pton(AF_INET6, "2001:db8:5::1", &s);
	relay_client_want(&A, 0, &g, &s, NULL);
	inet_pton(AF_INET6, "ff05::2", &g);
	relay_client_want(&A, 1, &g, NULL, NULL);
	vm_add("vm1", 0x56, "2001:db8:100::1", "br0");
	vm_add("vm2", 0x57, "2001:db8:100::3", "br1");
}

static void agent_stop(void)
{
	vm_release_all(&A);
	while (A.nvms)
		vm_release_all(&A);
	relay_client_free(&A);
	for (unsigned i = 0; i < 2; i++) {
		htab_free(&BR[i].joins);
		htab_free(&BR[i].seen);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_log_init("fuzz_agent");
	fuzz_netns(NULL);
	devnull = fopen("/dev/null", "w");
	if (!devnull || fuzz_agent_conf(&A) < 0)
		exit(1);
	A.conf.session_timeout_s = 30;
	A.udp = udp6_socket(&A.conf.listen);
	if (A.udp < 0 || mdbwatch_init(&A) < 0) /* as agentd_setup(): the MDB watch */
		exit(1);
	fuzz_peer_add(&P, "2001:db8:2::1", AGENT_PORT);   /* the relay */
	fuzz_peer_add(&P, "2001:db8:c::5", 5300);         /* the IMS */
	fuzz_peer_add(&P, "2001:db8:a::5", 5301);         /* a guest's matd, at its current MA */
	fuzz_peer_add(&P, "2001:db8:d::7", AGENT_PORT);   /* someone else */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	static struct fuzz_msg f;
	uint64_t later = 0;
	unsigned ops = 0;

	fuzz_peers_input(&P);
	agent_start();
	fuzz_peers_drain(&P);
	while (in.n && ops++ < 128) {
		uint8_t op = fuzz_u8(&in);

		switch (op % 4) {
		case 0:
			fuzz_msg_read(&in, &P.seqs, &f);
			if (fuzz_peer_send(&P, &f, FUZZ_AGENT, &A.conf.listen) == 0)
				udp_input(&A, NULL);
			break;
		case 1:
			later += (uint64_t)fuzz_u8(&in) * 10000000ull;
			for (unsigned i = 0; i < A.nvms; i++)
				prepare_timer(&A, A.vms[i], now_ns() + later);
			break;
		case 2: {
			struct fuzz_msg pk;
			unsigned br = fuzz_u8(&in) % 2;

			/* a PACKET TLV's bytes are the native packet */
			memset(&pk, 0, sizeof(pk));
			pk.m.group = fuzz_addr(&in);
			pk.m.present = 1u << GLM_TLV_PACKET | 1u << GLM_TLV_GROUP;
			{
				struct fuzz_in sub = in;
				uint8_t kind = fuzz_u8(&sub), len = fuzz_u8(&sub);
				size_t o = 0;

				if (kind & 1) {
					struct in6_addr src = fuzz_addr(&sub);

					memset(pk.pkt, 0, 40);
					pk.pkt[0] = 0x60;
					pk.pkt[5] = len;
					pk.pkt[6] = 17;
					memcpy(pk.pkt + 8, &src, 16);
					memcpy(pk.pkt + 24, &pk.m.group, 16);
					o = 40;
				}
				fuzz_bytes(&sub, pk.pkt + o, len);
				in = sub;
				relay_client_native(&A, (int)br, pk.pkt, o + len);
			}
			break;
		}
		case 3:
			if (A.nvms)
				prepare_resumed(&A, A.vms[fuzz_u8(&in) % A.nvms]);
			break;
		}
		fuzz_peers_drain(&P);
	}
	agent_stop();
	return 0;
}
