/* libFuzzer harness for the config tokenizer, the keyring parser and
 * matd's config file: any bytes give a clean error or a config, never a
 * crash. */
// link: guest-agent/config.c
#include "../../guest-agent/matd.h"
#include "keys.h"
#include "log.h"
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct matd_conf c;
	struct glm_keyring kr;
	static int once;

	if (!once++) {
		log_init("fuzz", false, 0);
	}
	if (keyring_load_buf("fuzz", (const char *)data, size, &kr) == 0)
		keyring_free(&kr);
	matd_conf_load_buf("fuzz", (const char *)data, size, &c);
	return 0;
}
