/* libFuzzer harness for the config tokenizer, the keyring parser, matd's
 * config file, glm-agentd's and glm-gatewayd's: any bytes give a clean
 * error or a config, never a crash. */
// link: guest-agent/config.c
// link: agent/config.c
// link: gateway/config.c
#include "../../guest-agent/matd.h"
#include "../../agent/agent_int.h"
#include "../../gateway/gatewayd.h"
#include "keys.h"
#include "log.h"
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct matd_conf c;
	static struct agent_conf ac;
	static struct gw_conf gc;
	struct glm_keyring kr;
	static int once;

	if (!once++) {
		log_init("fuzz", false, 0);
	}
	if (keyring_load_buf("fuzz", (const char *)data, size, &kr) == 0)
		keyring_free(&kr);
	matd_conf_load_buf("fuzz", (const char *)data, size, &c);
	if (agent_conf_load_buf("fuzz", (const char *)data, size, &ac) == 0)
		agent_conf_free(&ac);
	gw_conf_load_buf("fuzz", (const char *)data, size, &gc);
	return 0;
}
