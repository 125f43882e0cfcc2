/* lib/cli.c: the usage text is generated from the command table (every
 * command, its arguments and help, in the table's order); dispatch calls
 * the command's fn with its own argv; -j before and --json after the
 * command both turn JSON on; sysexits codes for no command, an unknown
 * one, a command's -1 (its usage line) and a daemon that is not there;
 * "help" is every CLI's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>
#include <cmocka.h>
#include "cli.h"
#include "unit.h"

static int calls, last_argc;
static char last_arg1[64];

static int cmd_echo(int argc, char **argv)
{
	calls++;
	last_argc = argc;
	snprintf(last_arg1, sizeof(last_arg1), "%s", argc > 1 ? argv[1] : "");
	return 0;
}

static int cmd_one_arg(int argc, char **argv)
{
	(void)argv;
	calls++;
	return argc == 2 ? EX_DATAERR : -1;
}

static const struct cli_cmd cmds[] = {
	{ "first", cmd_echo, "", "the first command" },
	{ "second", cmd_one_arg, "ARG", "takes one ARG" },
};

static struct cli mk(void)
{
	struct cli c = { "testctl", "testd", "/nonexistent/testd.sock", false, cmds, 2 };

	calls = 0;
	return c;
}

static int go(struct cli *c, int n, const char **argv)
{
	return cli_main(c, n, (char **)argv);
}

static void test_usage(void **state)
{
	struct cli c = mk();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	cli_usage(&c, f);
	fclose(f);
	assert_non_null(strstr(buf, "Usage: testctl [-s SOCKET] [-j] COMMAND [ARGS]\n"));
	assert_non_null(strstr(buf, "  first\n      the first command\n  second ARG\n      takes one ARG\n  help\n"));
	assert_non_null(strstr(buf, "testd's control socket (default /nonexistent/testd.sock)"));
	assert_true(strstr(buf, "  first\n") < strstr(buf, "  second ARG\n"));
	free(buf);
}

static void test_dispatch(void **state)
{
	struct cli c = mk();
	const char *a1[] = { "testctl", "first", "x" };
	const char *a2[] = { "testctl", "-j", "first" };
	const char *a3[] = { "testctl", "first", "--json" };

	(void)state;
	assert_int_equal(go(&c, 3, a1), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(last_argc, 2);
	assert_string_equal(last_arg1, "x");
	assert_false(cli_json());

	c = mk();
	assert_int_equal(go(&c, 3, a2), 0);
	assert_true(cli_json());
	assert_int_equal(last_argc, 1);

	c = mk();
	assert_int_equal(go(&c, 3, a3), 0);
	assert_true(cli_json());
	assert_int_equal(last_argc, 1);
	assert_string_equal(cli_prog(), "testctl");
}

static void test_errors(void **state)
{
	struct cli c = mk();
	const char *none[] = { "testctl" };
	const char *unknown[] = { "testctl", "third" };
	const char *bad[] = { "testctl", "second" };
	const char *good[] = { "testctl", "second", "y" };
	const char *badopt[] = { "testctl", "-x", "first" };
	const char *help[] = { "testctl", "help" };

	(void)state;
	assert_int_equal(go(&c, 1, none), EX_USAGE);
	assert_int_equal(go(&c, 2, unknown), EX_USAGE);
	assert_int_equal(calls, 0);
	assert_int_equal(go(&c, 2, bad), EX_USAGE);
	assert_int_equal(go(&c, 3, good), EX_DATAERR);
	assert_int_equal(calls, 2);
	assert_int_equal(go(&c, 3, badopt), EX_USAGE);
	assert_int_equal(go(&c, 2, help), EX_OK);
}

static void test_unreachable(void **state)
{
	(void)state;
	assert_int_equal(cli_request("testctl", "testd", "/nonexistent/testd.sock", "status"), EX_UNAVAILABLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
