/* libFuzzer harness for matd's control socket (matd.c's ctl_handler:
 * status, stats, prepare, unprepare, handover, query), on the real matd
 * of fuzz_matd_setup.h, through lib/ctl.c's ctl_serve_conn. */
// link-daemon: matd
#include "fuzz_matd_setup.h"
#include "fuzz_ctl.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_matd_start("fuzz_matd_ctl");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_ctl(data, size, ctl_handler, &D);
	return 0;
}
