/* Unit tests of keyrings (lib/keys.c): the line format, the pair keys and
 * roles, the 8 home
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
#include "unit_keys.h"

/* A one-line keyring for the file tests: node 7, a guest, alone. */
static const char *one_key(void)
{
	static char buf[512];

	unit_keyring_text(buf, sizeof(buf), 7, (const char *[]){ "7 guest home 2001:db8:100::10", NULL });
	return buf;
}

static void test_keyring(void **state)
{
	struct glm_keyring kr;
	struct in6_addr ha = ip6("2001:db8::10"), in_b = ip6("2001:db8:b::77");
	char good[2048], bad[2048], junk[512];
	const struct glm_key *k;

	(void)state;
	log_init("t", true, 0);
	unit_keyring_text(good, sizeof(good), 10,
			  (const char *[]){ "10 guest home 2001:db8::10", "11 agent prefix 2001:db8:b::/64", "12 ims", NULL });
	assert_int_equal(keyring_load_buf("t", good, strlen(good), &kr), 0);
	assert_int_equal(kr.n, 3);
	assert_int_equal(kr.self_id, 10);
	assert_true(keyring_self(&kr)->self);
	assert_non_null(keyring_find(&kr, 10));
	assert_null(keyring_find(&kr, 13));
	assert_true(key_owns_home(keyring_find(&kr, 10), &ha));
	assert_false(key_owns_home(keyring_find(&kr, 11), &ha));
	assert_true(key_serves(keyring_find(&kr, 11), &in_b));
	assert_false(key_serves(keyring_find(&kr, 11), &ha));
	/* whom to seal for: by address, else the only one of the role */
	assert_non_null(k = keyring_peer(&kr, GLM_ROLE_BIT(GLM_ROLE_AGENT), &in_b));
	assert_int_equal(k->id, 11);
	assert_int_equal(keyring_peer(&kr, GLM_ROLE_BIT(GLM_ROLE_IMS), &ha)->id, 12);
	assert_null(keyring_peer(&kr, GLM_ROLE_BIT(GLM_ROLE_GUEST), &ha)); /* only ourselves */
	assert_int_equal(k->local_id, 10);
	keyring_free(&kr);

	static const char *const broken[] = {
		"key 11 agent 00\n",                               /* short public key */
		"key 11 wizard PUB\n",                             /* unknown role */
		"kee 1 2\n",
		"key 11 agent PUB home nope\n",
		"key 11 agent PUB prefix 2001:db8::/129\n",
		"key 11 agent PUB\nkey 11 agent PUB\n",            /* twice */
		"private 10 00\n",
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		const char *pub = strstr(good, "key 11 agent ") + strlen("key 11 agent ");
		char p64[65];
		size_t n;

		memcpy(p64, pub, 64);
		p64[64] = 0;
		n = (size_t)snprintf(bad, sizeof(bad), "%s", good);
		for (const char *t = broken[i]; *t && n + 65 < sizeof(bad); )
			if (!strncmp(t, "PUB", 3)) {
				n += (size_t)snprintf(bad + n, sizeof(bad) - n, "%s", p64);
				t += 3;
			} else {
				bad[n++] = *t++;
			}
		bad[n] = 0;
		/* the appended line clashes with the good key 11 for some: use
		 * id 11's own line removed */
		char *dup = strstr(bad, "key 11 agent");
		char *eol = strchr(dup, '\n');
		memmove(dup, eol + 1, strlen(eol + 1) + 1);
		capture_begin();
		int r = keyring_load_buf("t", bad, strlen(bad), &kr);
		capture_end(junk, sizeof(junk));
		if (r >= 0)
			fail_msg("accepted: %s", broken[i]);
	}
	/* our own key: one private line, matching its public line */
	static const char *const self_broken[] = { "", "private 10 ", "private 9 " };
	for (size_t i = 0; i < 3; i++) {
		char *nl = strchr(good, '\n');
		uint8_t seed[GLM_KEY_LEN];
		char hex[65];

		unit_seed(9, seed);
		unit_hex(hex, seed, sizeof(seed));
		/* no private line; another node's seed under id 10; id 9 with no key line */
		snprintf(bad, sizeof(bad), "%s%s%s%s", self_broken[i], i ? hex : "", i ? "\n" : "", nl + 1);
		capture_begin();
		assert_true(keyring_load_buf("t", bad, strlen(bad), &kr) < 0);
		capture_end(junk, sizeof(junk));
	}
	/* two private lines */
	snprintf(bad, sizeof(bad), "%.*s%s", (int)(strchr(good, '\n') - good + 1), good, good);
	capture_begin();
	assert_true(keyring_load_buf("t", bad, strlen(bad), &kr) < 0);
	capture_end(junk, sizeof(junk));
}

/* The MAC key of a pair: both ends compute it, no third node can; a
 * message is taken only from a role that may send it, never under our
 * own id. */
static void test_pairwise(void **state)
{
	static const char *const nodes[] = { "1 agent prefix 2001:db8:a::/64", "2 guest home 2001:db8::2",
					     "3 guest home 2001:db8::3", NULL };
	struct glm_keyring a, g, h;
	struct glm_msg m = { .type = GLM_PREPARE, .seq = 5 }, in;
	const struct glm_key *k;
	uint8_t buf[512];
	ssize_t n;

	(void)state;
	log_init("t", true, 0);
	assert_int_equal(unit_keyring(&a, 1, nodes), 0);
	assert_int_equal(unit_keyring(&g, 2, nodes), 0);
	assert_int_equal(unit_keyring(&h, 3, nodes), 0);
	assert_memory_equal(keyring_find(&a, 2)->secret, keyring_find(&g, 1)->secret, GLM_KEY_LEN);
	assert_memory_not_equal(keyring_find(&a, 2)->secret, keyring_find(&a, 3)->secret, GLM_KEY_LEN);
	assert_memory_not_equal(keyring_find(&g, 3)->secret, keyring_find(&a, 3)->secret, GLM_KEY_LEN);

	/* agent 1 prepares guest 2: taken by 2, not by 3 */
	m.key_id = keyring_find(&a, 2)->local_id;
	assert_int_equal(m.key_id, 1);
	n = glm_msg_encode(&m, keyring_find(&a, 2)->secret, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(glm_msg_accept(&g, buf, (size_t)n, &in, &k), GLM_PE_OK);
	assert_int_equal(k->id, 1);
	assert_int_equal(glm_msg_accept(&h, buf, (size_t)n, &in, &k), GLM_PE_MAC);

	/* guest 3 with its own key, its MAC good, says PREPARE: wrong role */
	m.key_id = 3;
	n = glm_msg_encode(&m, keyring_find(&h, 2)->secret, buf, sizeof(buf));
	assert_int_equal(glm_msg_accept(&g, buf, (size_t)n, &in, &k), GLM_PE_ROLE);
	assert_null(k);
	/* ... but may send a BINDING_UPDATE */
	m.type = GLM_BINDING_UPDATE;
	n = glm_msg_encode(&m, keyring_find(&h, 2)->secret, buf, sizeof(buf));
	assert_int_equal(glm_msg_accept(&g, buf, (size_t)n, &in, &k), GLM_PE_OK);
	/* under the receiver's own id: nothing to check it with */
	m.key_id = 2;
	n = glm_msg_encode(&m, keyring_find(&h, 2)->secret, buf, sizeof(buf));
	assert_int_equal(glm_msg_accept(&g, buf, (size_t)n, &in, &k), GLM_PE_MAC);
	keyring_free(&a);
	keyring_free(&g);
	keyring_free(&h);
}

/* An agent's vouch for (HA, MA): good only from an agent, for an MA in its
 * prefixes, before not-after, for exactly that HA and MA. A PROOF token:
 * good for its key, HA and MA, in its minute and the next. */
static void test_vouch_proof(void **state)
{
	static const char *const nodes[] = { "1 agent prefix 2001:db8:b::/64", "2 guest home 2001:db8::2",
					     "3 ims", NULL };
	struct glm_keyring a, g, ims;
	struct in6_addr ha = ip6("2001:db8::2"), ma = ip6("2001:db8:b::5"), out = ip6("2001:db8:c::5");
	struct glm_vouch v;
	struct glm_proof p;
	uint8_t tok[16];
	uint64_t now = 1800000000;

	(void)state;
	log_init("t", true, 0);
	assert_int_equal(unit_keyring(&a, 1, nodes), 0);
	assert_int_equal(unit_keyring(&g, 2, nodes), 0);
	assert_int_equal(unit_keyring(&ims, 3, nodes), 0);
	glm_vouch_sign(&a, &ha, &ma, now + 60, &v);
	assert_int_equal(v.signer, 1);
	assert_int_equal(glm_vouch_check(&ims, &ha, &ma, &v, now), GLM_VOUCH_OK);
	assert_int_equal(glm_vouch_check(&ims, &ha, &ma, &v, now + 61), GLM_VOUCH_EXPIRED);
	assert_int_equal(glm_vouch_check(&ims, &ma, &ma, &v, now), GLM_VOUCH_BAD);     /* another HA */
	v.not_after++;
	assert_int_equal(glm_vouch_check(&ims, &ha, &ma, &v, now), GLM_VOUCH_BAD);     /* its time changed */
	glm_vouch_sign(&a, &ha, &out, now + 60, &v);
	assert_int_equal(glm_vouch_check(&ims, &ha, &out, &v, now), GLM_VOUCH_OUTSIDE);
	glm_vouch_sign(&g, &ha, &ma, now + 60, &v);                                       /* a guest's */
	assert_int_equal(glm_vouch_check(&ims, &ha, &ma, &v, now), GLM_VOUCH_NOT_AGENT);
	v.signer = 99;
	assert_int_equal(glm_vouch_check(&ims, &ha, &ma, &v, now), GLM_VOUCH_UNKNOWN);

	glm_proof_init(&p);
	glm_proof_make(&p, now, 2, &ha, &ma, tok);
	assert_true(glm_proof_check(&p, now, 2, &ha, &ma, tok));
	assert_true(glm_proof_check(&p, now + GLM_PROOF_PERIOD_S, 2, &ha, &ma, tok));
	assert_false(glm_proof_check(&p, now + 2 * GLM_PROOF_PERIOD_S, 2, &ha, &ma, tok));
	assert_false(glm_proof_check(&p, now, 3, &ha, &ma, tok));
	assert_false(glm_proof_check(&p, now, 2, &ha, &out, tok));
	tok[0] ^= 1;
	assert_false(glm_proof_check(&p, now, 2, &ha, &ma, tok));
	keyring_free(&a);
	keyring_free(&g);
	keyring_free(&ims);
}

/* "key 7 guest PUB home 2001:db8:100::1 ... home 2001:db8:100::N" */
static void homes_line(char *buf, size_t cap, unsigned n)
{
	char spec[1024];
	size_t len = (size_t)snprintf(spec, sizeof(spec), "7 guest");

	for (unsigned i = 1; i <= n; i++)
		len += (size_t)snprintf(spec + len, sizeof(spec) - len, " home 2001:db8:100::%x", i);
	unit_keyring_text(buf, cap, 7, (const char *[]){ spec, NULL });
}

/* glm-keys(5): at most 8 home addresses per key. Eight are 20 words on a
 * line, more than the tokenizer once took; a ninth is refused by the
 * keyring's own check, with the count in the message. */
static void test_eight_homes(void **state)
{
	struct glm_keyring kr;
	const struct glm_key *k;
	char line[2048], log[512];
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
	assert_string_equal(log, "t: t:2: key 7: more than 8 home addresses\n");
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
	const char *text = one_key();
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
	const char *path = keyfile("keys", one_key(), 0600);
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
	const char *path = keyfile("keys", one_key(), 0600);

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
 * keys, 200 kB, every one found (and 1999 pair keys derived). */
static void test_file_large(void **state)
{
	size_t cap = 2000 * 120, len = 0;
	char *text = malloc(cap), log[512];
	const char **specs = calloc(2001, sizeof(*specs));
	char (*spec)[16] = calloc(2000, sizeof(*spec));
	struct glm_keyring kr;
	const char *path;

	(void)state;
	assert_non_null(text);
	for (unsigned i = 1; i <= 2000; i++) {
		snprintf(spec[i - 1], sizeof(spec[0]), "%u guest", i);
		specs[i - 1] = spec[i - 1];
	}
	len = unit_keyring_text(text, cap, 1, specs);
	assert_true(len > 2000 * 64);
	path = keyfile("keys", text, 0600);
	free(text);
	free(specs);
	free(spec);
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
		cmocka_unit_test(test_keyring),	   cmocka_unit_test(test_pairwise), cmocka_unit_test(test_vouch_proof), cmocka_unit_test(test_eight_homes), cmocka_unit_test(test_file_mode),
		cmocka_unit_test(test_file_owner), cmocka_unit_test(test_file_kind),   cmocka_unit_test(test_file_large),
		cmocka_unit_test(test_file_unsized),
	};

	return cmocka_run_group_tests_name("keys", tests, dir_setup, dir_teardown);
}
