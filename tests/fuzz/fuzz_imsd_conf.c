/* libFuzzer harness for imsd.conf (ims/config.c): whatever the bytes,
 * loading must return 0 or an error, never crash or leak. */
// link: ims/config.c ims/etcd.c
#include "../../ims/imsd.h"
#include "log.h"
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct imsd_conf c;

	if (!quiet) {
		log_init("fuzz_imsd_conf", false, 0); /* no stderr spam per input */
		quiet = 1;
	}
	conf_defaults(&c);
	conf_load_buf("fuzz.conf", (const char *)data, size, &c);
	conf_free(&c);
	return 0;
}
