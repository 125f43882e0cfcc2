/* libFuzzer harness for the hook's request (lib/hookreq.c), the reader
 * glm-agentd runs on what arrives on its control socket: any bytes give a
 * request or a clean -EINVAL/-E2BIG with a message in printable ASCII,
 * never a crash; a request that decodes holds what its users rely on,
 * and re-encodes (within HOOKREQ_MAX, one printable line) to a request
 * that decodes to the same. */
#include "hookreq.h"
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void printable(const char *s)
{
	for (; *s; s++)
		assert(*s >= 0x20 && *s < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hookreq r, again;
	char err[256], line[HOOKREQ_MAX + 1], why[96], *in = malloc(size + 1);
	const struct domxml *d = &r.dom;
	struct strbuf sb;
	int rc;

	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	rc = hookreq_decode(in, &r, err, sizeof(err));
	free(in);
	if (rc) {
		assert(rc == -EINVAL || rc == -E2BIG);
		assert(err[0]);
		printable(err);
		return 0;
	}

	assert(strnlen(d->name, sizeof(d->name)) < sizeof(d->name));
	assert(!domxml_name_problem(d->name, strlen(d->name), why, sizeof(why)));
	assert(d->nnics <= DOMXML_MAX_NICS && d->ngroups <= DOMXML_MAX_GROUPS);
	for (unsigned i = 0; i < d->nnics; i++) {
		assert(domxml_ifname_ok(d->nics[i].bridge));
		assert(!d->nics[i].target[0] || domxml_ifname_ok(d->nics[i].target));
		assert(!(d->nics[i].mac[0] & 1));
	}
	for (unsigned i = 0; i < d->ngroups; i++)
		assert(!domxml_group_problem(&d->groups[i].group));
	assert(!d->has_home || !domxml_unicast_problem(&d->home));
	assert(r.event == HOOKREQ_INCOMING || !r.prepare);

	sb_init(&sb, line, sizeof(line));
	assert(hookreq_encode(&r, &sb) == 0);
	printable(line);
	assert(!strchr(line, '#'));
	rc = hookreq_decode(line, &again, err, sizeof(err));
	assert(rc == 0);
	assert(!memcmp(&r, &again, sizeof(r)));
	return 0;
}
