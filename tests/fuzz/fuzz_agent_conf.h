/* The agent both agent harnesses run (fuzz_agent, fuzz_agent_ctl): its
 * keys and configuration, as glm-agentd.conf would give them, on the
 * addresses of the harness's namespace (fuzz_net.h). 0, or -1. */
#ifndef GLM_FUZZ_AGENT_CONF_H
#define GLM_FUZZ_AGENT_CONF_H
#include "fuzz_keys.h"
#include "fuzz_net.h"

static inline int fuzz_agent_conf(struct agentd *a)
{
	if (evloop_new(&a->loop) < 0 || fuzz_keyring(FUZZ_AGENT, &a->keys) < 0)
		return -1;
	a->key = keyring_find(&a->keys, FUZZ_AGENT);
	a->conf.listen = fuzz_sa("2001:db8:1::1", AGENT_PORT);
	a->conf.has_relay = true;
	a->conf.relay = fuzz_sa("2001:db8:2::1", AGENT_PORT);
	a->conf.ims.n = 1;
	a->conf.ims.addr[0] = fuzz_sa("2001:db8:c::5", 5300);
	a->conf.guest_port = 5301;
	a->conf.reception_timeout_ms = 100;
	return 0;
}
#endif
