/* libFuzzer harness for the metrics server's HTTP request parser
 * (lib/metrics.c, http_parse_request), the reader every daemon with a
 * 'metrics' line runs on bytes from the network: any bytes give a head
 * length, "need more" or a clean -EBADMSG/-E2BIG, never a crash nor a
 * read past the end; a complete head stays complete, with the same
 * answer, whatever follows it, and every prefix of it needs more or is
 * refused as it is (no prefix is taken as a whole request); the path is
 * a NUL-terminated string of visible ASCII. */
#include "metrics.h"
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req r, again;
	char *buf = malloc(size + 1);
	int n, m;

	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	/* exactly size bytes: ASan sees a read past the end */
	n = http_parse_request(buf, size, &r);
	assert(n == 0 || n == -EBADMSG || n == -E2BIG || (n > 0 && (size_t)n <= size));
	if (n > 0) {
		size_t plen = strlen(r.path);

		assert(plen > 0 && plen < sizeof(r.path));
		for (size_t i = 0; i < plen; i++)
			assert(r.path[i] > ' ' && r.path[i] < 0x7f && r.path[i] != '?');
		assert(r.method == HTTP_GET || r.method == HTTP_HEAD || r.method == HTTP_OTHER);
		/* the head alone: the same answer */
		m = http_parse_request(buf, (size_t)n, &again);
		assert(m == n && again.method == r.method && !strcmp(again.path, r.path));
		/* a prefix is never a whole request */
		for (size_t k = 0; k < (size_t)n; k += 1 + (size_t)n / 64) {
			m = http_parse_request(buf, k, &again);
			assert(m <= 0);
		}
	}
	free(buf);
	return 0;
}
