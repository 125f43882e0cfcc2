/* libFuzzer harness for what imsd reads in etcd's answers (ims/estore.c):
 * the input is one JSON text as the JSON gateway would send it, taken as
 * a watch message (events applied to the cache, pushes to a subscriber),
 * as a transaction's answer (the s/HA value it read) and as a range's
 * (its kvs). Whatever the bytes: no crash, no leak, the cache bounded.
 * json-c parses; this checks glm's use of what it returns (a "kvs" that
 * is not an array, a value that is not base64, a key outside the prefix,
 * a mapping with a bad MA). */
// link-daemon: imsd
#include "../../ims/imsd.h"
#include "log.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct imsd D = { .udp = -1, .ctl = -1 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	char *s;

	if (!init) {
		log_init("fuzz_etcd_answer", false, 0);
		conf_defaults(&D.conf);
		D.conf.etcd.prefix = strdup("/glm/");
		if (!D.conf.etcd.prefix || evloop_new(&D.loop) < 0 || estore_open_detached(&D) < 0)
			abort();
		init = 1;
	}
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	estore_feed(&D, s);
	free(s);
	if (estore_count(&D, 0) > 4096) {
		estore_close(&D);
		if (estore_open_detached(&D) < 0)
			abort();
	}
	D.out.n = 0;
	return 0;
}
