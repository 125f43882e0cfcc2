/* libFuzzer harness for the Router Advertisement parser. */
#include "ndisc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ra_info ra;

	if (ra_parse(data, size, &ra) == 0 && ra.nprefixes > RA_MAX_PREFIXES)
		__builtin_trap();
	return 0;
}
