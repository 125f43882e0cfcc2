/* libFuzzer harness for the domain XML parser (lib/domxml.c): any bytes
 * give 0 or a clean -errno with a "domain XML: " message, never a crash, a
 * leak or output; and what it accepts must hold the promises callers rely
 * on (counts within bounds, strings terminated, interface names and the
 * like shell-safe, the domain name UTF-8 without control characters). */
#include "domxml.h"
#include <assert.h>
#include <errno.h>
#include <string.h>

static void check_str(const char *s, size_t size, const char *allowed)
{
	size_t n = strnlen(s, size);

	assert(n < size);
	for (size_t i = 0; i < n; i++)
		assert((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		       strchr(allowed, s[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct domxml d;
	char err[256];
	int r = domxml_parse((const char *)data, size, &d, err, sizeof(err));

	if (r) {
		assert(r == -EINVAL || r == -E2BIG || r == -ENOMEM);
		assert(!strncmp(err, "domain XML: ", 12));
		return 0;
	}
	assert(d.name[0] && d.nnics <= DOMXML_MAX_NICS && d.ngroups <= DOMXML_MAX_GROUPS);
	assert(d.has_mobility || (!d.has_home && !d.has_relay && !d.ngroups));
	assert(strnlen(d.name, sizeof(d.name)) < sizeof(d.name));
	assert(!domxml_name_problem(d.name, strlen(d.name), err, sizeof(err)));
	check_str(d.uuid, sizeof(d.uuid), "-");
	check_str(d.relay, sizeof(d.relay), "[]:.");
	for (unsigned i = 0; i < d.nnics; i++) {
		check_str(d.nics[i].bridge, sizeof(d.nics[i].bridge), "_.-");
		check_str(d.nics[i].target, sizeof(d.nics[i].target), "_.-");
	}
	for (unsigned i = 0; i < d.ngroups; i++)
		assert(d.groups[i].group.s6_addr[0] == 0xff);
	return 0;
}
