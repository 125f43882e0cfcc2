/* libFuzzer harness for the MLD report parser. */
#include "mld.h"

static void nop(void *ctx, const struct mld_record *r) { (void)ctx; (void)r; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mld_parse_report(data, size, nop, 0);
	return 0;
}
