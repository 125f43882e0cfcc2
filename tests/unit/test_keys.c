/* Unit tests of keyrings (lib/keys.c): the line format, the 8 home
 * addresses glm-keys(5) promises a key, and the checks made on a keyring
 * file before it is read, as OpenSSH makes them on a private key: a file that
 * its group or others may read or change, one owned by another user, a
 * symbolic link or no regular file is refused, and the message says why. */
#include "keys.h"
#include "log.h"
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "unit.h"

#define HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static void test_keyring(void **state)
{
	struct glm_keyring kr;
	struct in6_addr ha = { .s6_addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x10 } };
	const char good[] = "# keys\nkey 10 " HEX " home 2001:db8::10\n"
			    "key 11 ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	const char *bad[] = { "key 0 00\n", "key 10 zz\n", "kee 1 2\n", "key 10 " HEX " home nope\n",
			      "key 10 " HEX "\nkey 10 " HEX "\n" };

	(void)state;
	log_init("t", true, 0);
	assert_int_equal(keyring_load_buf("t", good, sizeof(good) - 1, &kr), 0);
	assert_int_equal(kr.n, 2);
	assert_non_null(keyring_find(&kr, 10));
	assert_null(keyring_find(&kr, 12));
	assert_true(key_owns_home(keyring_find(&kr, 10), &ha));
	assert_false(key_owns_home(keyring_find(&kr, 11), &ha));
	keyring_free(&kr);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(keyring_load_buf("t", bad[i], strlen(bad[i]), &kr) < 0);
}

/* "key 7 HEX home 2001:db8:100::1 ... home 2001:db8:100::N" */
static void homes_line(char *buf, size_t cap, unsigned n)
{
	size_t len = (size_t)snprintf(buf, cap, "key 7 %s", HEX);

	for (unsigned i = 1; i <= n; i++)
		len += (size_t)snprintf(buf + len, cap - len, " home 2001:db8:100::%x", i);
	snprintf(buf + len, cap - len, "\n");
}

/* glm-keys(5): at most 8 home addresses per key. Eight are 19 words on a
 * line, more than the tokenizer once took; a ninth is refused by the
 * keyring's own check, with the count in the message. */
static void test_eight_homes(void **state)
{
	struct glm_keyring kr;
	const struct glm_key *k;
	char line[1024], log[512];
	struct in6_addr ha;

	(void)state;
	log_init("t", true, 0);
	homes_line(line, sizeof(line), GLM_KEY_MAX_HOMES);
	capture_begin();
	int r = keyring_load_buf("t", line, strlen(line), &kr);
	capture_end(log, sizeof(log));
	if (r)
		fail_msg("8 homes refused: %s", log);
	assert_non_null(k = keyring_find(&kr, 7));
	assert_int_equal(k->nhomes, 8);
	for (unsigned i = 1; i <= 8; i++) {
		ha = ip6("2001:db8:100::1");
		ha.s6_addr[15] = (uint8_t)i;
		assert_true(key_owns_home(k, &ha));
	}
	keyring_free(&kr);

	homes_line(line, sizeof(line), GLM_KEY_MAX_HOMES + 1);
	capture_begin();
	assert_int_equal(keyring_load_buf("t", line, strlen(line), &kr), -EINVAL);
	capture_end(log, sizeof(log));
	assert_string_equal(log, "t: t:1: key 7: more than 8 home addresses\n");
	assert_int_equal(kr.n, 0);
	assert_null(kr.keys);
}

static char dir[] = "/tmp/glm-unit-keys-XXXXXX";

static int dir_setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int dir_teardown(void **state)
{
	(void)state;
	return run(NULL, 0, "rm -rf '%s'", dir);
}

/* Write DIR/NAME with mode, return its path. */
static const char *keyfile(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

/* keyring_load of path: its result, the log lines in log. */
static int load(const char *path, char *log, size_t cap)
{
	struct glm_keyring kr = { .n = 99 };
	int r;

	capture_begin();
	r = keyring_load(path, &kr);
	capture_end(log, cap);
	if (r == 0)
		keyring_free(&kr);
	else
		assert_int_equal(kr.n, 0);
	return r;
}

static void test_file_mode(void **state)
{
	static const struct {
		mode_t mode;
		const char *why; /* NULL: accepted */
	} cases[] = {
		{ 0600, NULL },
		{ 0400, NULL },
		{ 0644, "mode 0644 is readable by others: chmod 600 it" },
		{ 0640, "mode 0640 is readable by its group: chmod 600 it" },
		{ 0620, "mode 0620 is writable by its group: chmod 600 it" },
		{ 0602, "mode 0602 is writable by others: chmod 600 it" },
		{ 0660, "mode 0660 is readable by its group: chmod 600 it" },
		{ 0604, "mode 0604 is readable by others: chmod 600 it" },
		{ 0610, "mode 0610 is executable by its group: chmod 600 it" },
	};
	const char text[] = "key 7 " HEX " home 2001:db8:100::10\n";
	char log[512], want[512];

	(void)state;
	log_init("t", true, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = keyfile("keys", text, cases[i].mode);
		int r = load(path, log, sizeof(log));

		if (!cases[i].why) {
			if (r)
				fail_msg("mode %04o refused: %s", cases[i].mode, log);
			assert_string_equal(log, "");
			continue;
		}
		snprintf(want, sizeof(want), "t: keyring %s: %s\n", path, cases[i].why);
		if (r != -EPERM)
			fail_msg("mode %04o: %d, not -EPERM (%s)", cases[i].mode, r, log);
		assert_string_equal(log, want);
	}
}

/* Owned by the user the program runs as, or refused: only root can give a
 * file away to show it. */
static void test_file_owner(void **state)
{
	const char *path = keyfile("keys", "key 7 " HEX "\n", 0600);
	char log[512], want[512];

	(void)state;
	if (geteuid() != 0)
		skip(); /* chown to another user needs root */
	log_init("t", true, 0);
	assert_int_equal(chown(path, 65534, 65534), 0);
	snprintf(want, sizeof(want), "t: keyring %s: owned by uid 65534, but this program runs as uid 0: chown 0 it\n",
		 path);
	assert_int_equal(load(path, log, sizeof(log)), -EPERM);
	assert_string_equal(log, want);
	/* both wrong: both said, in one go */
	assert_int_equal(chmod(path, 0644), 0);
	snprintf(want, sizeof(want),
		 "t: keyring %s: owned by uid 65534, but this program runs as uid 0: chown 0 it\n"
		 "t: keyring %s: mode 0644 is readable by others: chmod 600 it\n",
		 path, path);
	assert_int_equal(load(path, log, sizeof(log)), -EPERM);
	assert_string_equal(log, want);
}

/* A symbolic link is refused even to a good file: the file read is the
 * one named. So are a directory, a FIFO (not waited on) and no file. */
static void test_file_kind(void **state)
{
	char link[256], fifo[256], none[256], log[512], want[512];
	const char *path = keyfile("keys", "key 7 " HEX "\n", 0600);

	(void)state;
	log_init("t", true, 0);
	assert_int_equal(load(path, log, sizeof(log)), 0);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	snprintf(want, sizeof(want), "t: keyring %s: a symbolic link: name the file itself\n", link);
	assert_int_equal(load(link, log, sizeof(log)), -ELOOP);
	assert_string_equal(log, want);

	snprintf(want, sizeof(want), "t: keyring %s: not a regular file\n", dir);
	assert_int_equal(load(dir, log, sizeof(log)), -EINVAL);
	assert_string_equal(log, want);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	snprintf(want, sizeof(want), "t: keyring %s: not a regular file\n", fifo);
	assert_int_equal(load(fifo, log, sizeof(log)), -EINVAL);
	assert_string_equal(log, want);

	snprintf(none, sizeof(none), "%s/none", dir);
	snprintf(want, sizeof(want), "t: keyring %s: No such file or directory\n", none);
	assert_int_equal(load(none, log, sizeof(log)), -ENOENT);
	assert_string_equal(log, want);
}

/* A keyring larger than any first guess at its size is read whole: 2000
 * keys, 160 kB, every one found. */
static void test_file_large(void **state)
{
	size_t cap = 2000 * 100, len = 0;
	char *text = malloc(cap), log[512];
	struct glm_keyring kr;
	const char *path;

	(void)state;
	assert_non_null(text);
	for (unsigned i = 1; i <= 2000; i++)
		len += (size_t)snprintf(text + len, cap - len, "key %u %s\n", i, HEX);
	path = keyfile("keys", text, 0600);
	free(text);
	log_init("t", true, 0);
	capture_begin();
	int r = keyring_load(path, &kr);
	capture_end(log, sizeof(log));
	if (r)
		fail_msg("refused: %s", log);
	assert_int_equal(kr.n, 2000);
	for (unsigned i = 1; i <= 2000; i++)
		assert_non_null(keyring_find(&kr, i));
	keyring_free(&kr);
	assert_int_equal(kr.n, 0);
	assert_null(kr.keys);
}

/* A file whose size fstat does not tell is read whole all the same: the
 * buffer grows from one byte. /proc/self/environ is such a file, ours and
 * mode 0400; its NUL separators make it no keyring, said at line 1. */
static void test_file_unsized(void **state)
{
	struct stat st;
	char log[512];

	(void)state;
	if (stat("/proc/self/environ", &st) || st.st_size != 0 || !getenv("PATH"))
		skip(); /* no /proc, or an empty environment */
	log_init("t", true, 0);
	assert_int_equal(load("/proc/self/environ", log, sizeof(log)), -EINVAL);
	assert_non_null(strstr(log, "t: /proc/self/environ:"));
	assert_non_null(strstr(log, ": NUL byte\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyring),	   cmocka_unit_test(test_eight_homes), cmocka_unit_test(test_file_mode),
		cmocka_unit_test(test_file_owner), cmocka_unit_test(test_file_kind),   cmocka_unit_test(test_file_large),
		cmocka_unit_test(test_file_unsized),
	};

	return cmocka_run_group_tests_name("keys", tests, dir_setup, dir_teardown);
}
