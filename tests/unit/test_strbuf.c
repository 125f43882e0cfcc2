/* lib/strbuf.c: appends that fit, the one that does not (dropped whole,
 * the overflow sticky from then on), the edges (exactly full, cap 0 and
 * 1), and that the buffer is NUL-terminated whatever happened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "strbuf.h"

static void test_appends(void **state)
{
	struct strbuf sb;
	char buf[32];

	(void)state;
	sb_init(&sb, buf, sizeof(buf));
	assert_true(sb_ok(&sb));
	assert_string_equal(buf, "");
	sb_printf(&sb, "%s=%d", "id", 42);
	sb_putc(&sb, ' ');
	sb_printf(&sb, "%%%02X", 0xc3);
	assert_true(sb_ok(&sb));
	assert_string_equal(buf, "id=42 %C3");
	assert_int_equal(sb.len, strlen(buf));
}

static void test_overflow_is_sticky(void **state)
{
	struct strbuf sb;
	char buf[8];

	(void)state;
	sb_init(&sb, buf, sizeof(buf));
	sb_printf(&sb, "abcd");
	/* does not fit: dropped whole, not cut */
	sb_printf(&sb, "efgh");
	assert_false(sb_ok(&sb));
	assert_string_equal(buf, "abcd");
	assert_int_equal(sb.len, 4);
	/* what would fit now is dropped too: the result is already wrong */
	sb_printf(&sb, "e");
	sb_putc(&sb, 'f');
	assert_false(sb_ok(&sb));
	assert_string_equal(buf, "abcd");
	/* sb_init starts over */
	sb_init(&sb, buf, sizeof(buf));
	assert_true(sb_ok(&sb));
	assert_string_equal(buf, "");
}

static void test_edges(void **state)
{
	struct strbuf sb;
	char buf[4], one[1] = { 'x' };

	(void)state;
	/* cap - 1 characters fit, the NUL takes the last byte */
	sb_init(&sb, buf, sizeof(buf));
	sb_printf(&sb, "ab");
	sb_putc(&sb, 'c');
	assert_true(sb_ok(&sb));
	assert_string_equal(buf, "abc");
	sb_putc(&sb, 'd');
	assert_false(sb_ok(&sb));
	assert_string_equal(buf, "abc");

	sb_init(&sb, buf, sizeof(buf));
	sb_printf(&sb, "abcd");
	assert_false(sb_ok(&sb));
	assert_string_equal(buf, "");

	/* room for the NUL only: the empty string is fine, nothing more */
	sb_init(&sb, one, sizeof(one));
	assert_true(sb_ok(&sb));
	assert_int_equal(one[0], '\0');
	sb_printf(&sb, "%s", "");
	assert_true(sb_ok(&sb));
	sb_putc(&sb, 'a');
	assert_false(sb_ok(&sb));
	assert_int_equal(one[0], '\0');

	/* no buffer at all: overflowed from the start, never written */
	sb_init(&sb, NULL, 0);
	assert_false(sb_ok(&sb));
	sb_printf(&sb, "x");
	sb_putc(&sb, 'y');
	assert_false(sb_ok(&sb));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_overflow_is_sticky),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
