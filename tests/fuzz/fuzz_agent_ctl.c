/* libFuzzer harness for glm-agentd's control socket (agent/control.c:
 * the hook's requests incoming/started/release, decoded again by
 * lib/hookreq.c, then vm.c's handling of them; status, stats), through
 * lib/ctl.c's ctl_serve_conn, on an agent with two bridges (on lo, in a
 * namespace of the harness's own: the joins and pins the requests cause
 * stay there), its relay client and its MDB watch, as agentd_setup()
 * leaves a running agent. The VMs a request made are released
 * after each input. */
// link-daemon: agentd
#include "../../agent/agent_int.h"
#include "fuzz_ctl.h"
#include "fuzz_net.h"
#include "fuzz_agent_conf.h"

static struct agentd A = { .udp = -1, .ctl = -1 };
static struct agent_bridge BR[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_log_init("fuzz_agent_ctl");
	fuzz_netns(NULL);
	if (fuzz_agent_conf(&A) < 0)
		exit(1);
	A.udp = udp6_socket(&A.conf.listen);
	for (unsigned i = 0; i < 2; i++) {
		snprintf(BR[i].name, sizeof(BR[i].name), "br%u", i);
		BR[i].ifindex = 1;
		BR[i].join_fd = BR[i].pkt_fd = BR[i].nd_fd = -1;
		BR[i].have_prefix = true;
		inet_pton(AF_INET6, i ? "2001:db8:c::" : "2001:db8:b::", &BR[i].prefix);
		inet_pton(AF_INET6, "fe80::1", &BR[i].router);
		htab_init(&BR[i].joins, sizeof(struct proxy_join), PROXY_JOIN_KEY);
		htab_init(&BR[i].seen, sizeof(struct reception_seen), RECEPTION_SEEN_KEY);
	}
	A.br = BR;
	A.nbr = 2;
	/* what agentd_setup() sets up for the agent role (bridges_init
	 * aside: the bridges above stand in for it) */
	if (A.udp < 0 || relay_client_init(&A) < 0 || mdbwatch_init(&A) < 0)
		exit(1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_ctl(data, size, agent_ctl_handler, &A);
	vm_release_all(&A);
	return 0;
}
