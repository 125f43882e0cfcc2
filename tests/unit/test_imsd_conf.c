/* Unit tests of imsd.conf's parser (ims/config.c): the store lines (sqlite
 * and etcd) as they are read and refused, each error as FILE:LINE (or
 * FILE: for what holds across lines). */
// link: ims/config.c ims/etcd.c
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "../../ims/imsd.h"
#include "log.h"
#include "unit.h"

static int load(const char *text, struct imsd_conf *c, char *msg, size_t size)
{
	int r;

	conf_free(c);
	conf_defaults(c);
	capture_begin();
	r = conf_load_buf("t.conf", text, strlen(text), c);
	capture_end(msg, size);
	return r;
}

static void test_stores(void **state)
{
	struct imsd_conf c = { 0 };
	char msg[512];

	(void)state;
	assert_int_equal(load("database /var/lib/glm/x.db\n", &c, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.store, IMSD_STORE_SQLITE);
	assert_int_equal(c.etcd.timeout_ms, ETCD_DEFAULT_TIMEOUT_MS);
	assert_int_equal(c.dump_rate, IMSD_DEFAULT_DUMP_RATE);
	assert_int_equal(load("dump-rate 200\n", &c, msg, sizeof(msg)), 0);
	assert_int_equal(c.dump_rate, 200);
	assert_int_equal(load("store etcd\n"
			      "etcd-endpoints http://[2001:db8:e::1]:2379 https://etcd-2.example:2379\n"
			      "etcd-prefix /glm/site1/\netcd-timeout 500\n"
			      "etcd-cacert /etc/ca.pem\netcd-cert /etc/c.pem\netcd-key /etc/k.pem\n"
			      "etcd-user glm\netcd-password-file /etc/glm/pw\n", &c, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(c.store, IMSD_STORE_ETCD);
	assert_int_equal(c.etcd.nendpoints, 2);
	assert_string_equal(c.etcd.endpoint[0], "http://[2001:db8:e::1]:2379");
	assert_string_equal(c.etcd.endpoint[1], "https://etcd-2.example:2379");
	assert_string_equal(c.etcd.prefix, "/glm/site1/");
	assert_int_equal(c.etcd.timeout_ms, 500);
	assert_string_equal(c.etcd.user, "glm");
	assert_string_equal(c.etcd.key, "/etc/k.pem");
	conf_free(&c);
	assert_null(c.etcd.endpoint[0]);
	assert_int_equal(c.etcd.nendpoints, 0);
}

static void test_refused(void **state)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "store etcd\n", "t: t.conf: 'store etcd' needs 'etcd-endpoints'\n" },
		{ "store mysql\n", "t: t.conf:1: unknown store 'mysql' (sqlite or etcd)\n" },
		{ "etcd-endpoints http://[::1]:2379\n", "t: t.conf:1: 'etcd-endpoints' without 'store etcd'\n" },
		{ "store etcd\netcd-endpoints ftp://[::1]:2379\n",
		  "t: t.conf:2: bad etcd endpoint 'ftp://[::1]:2379' (http://HOST:PORT or https://HOST:PORT)\n" },
		{ "store etcd\netcd-endpoints http://[::1]:2379/v3\n",
		  "t: t.conf:2: bad etcd endpoint 'http://[::1]:2379/v3' (http://HOST:PORT or https://HOST:PORT)\n" },
		{ "store etcd\netcd-endpoints http://\n",
		  "t: t.conf:2: bad etcd endpoint 'http://' (http://HOST:PORT or https://HOST:PORT)\n" },
		{ "store etcd\netcd-endpoints http://a:1 http://a:1\n", "t: t.conf:2: etcd endpoint 'http://a:1' given twice\n" },
		{ "store etcd\netcd-endpoints\n", "t: t.conf:2: 'etcd-endpoints' takes 1 to 8 URLs\n" },
		{ "store etcd\netcd-endpoints http://a:1 http://a:2 http://a:3 http://a:4 http://a:5 http://a:6 "
		  "http://a:7 http://a:8 http://a:9\n", "t: t.conf:2: 'etcd-endpoints' takes 1 to 8 URLs\n" },
		{ "store etcd\netcd-endpoints http://a:1\ndatabase /x.db\n",
		  "t: t.conf:3: 'database' with 'store etcd': the mappings are in etcd\n" },
		{ "store etcd\netcd-endpoints http://a:1\netcd-prefix glm\n",
		  "t: t.conf:3: bad etcd-prefix 'glm' (starts with '/', at most 100 bytes)\n" },
		{ "store etcd\netcd-endpoints http://a:1\netcd-user glm\n",
		  "t: t.conf: 'etcd-user' and 'etcd-password-file' go together\n" },
		{ "store etcd\netcd-endpoints http://a:1\netcd-key /k\n", "t: t.conf: 'etcd-cert' and 'etcd-key' go together\n" },
		{ "store etcd\netcd-endpoints http://a:1\netcd-timeout 10\n",
		  "t: t.conf:3: bad etcd-timeout '10' (milliseconds, 100 to 60000)\n" },
		{ "store etcd\nstore etcd\n", "t: t.conf:2: 'store' already set on line 1\n" },
		{ "dump-rate 199\n", "t: t.conf:1: bad dump-rate '199' (mappings a second to one subscriber, 200 to 10000000)\n" },
		{ "dump-rate fast\n", "t: t.conf:1: bad dump-rate 'fast' (mappings a second to one subscriber, 200 to 10000000)\n" },
	};
	struct imsd_conf c = { 0 };
	char msg[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(load(bad[i].text, &c, msg, sizeof(msg)), 0);
		assert_string_equal(msg, bad[i].msg);
	}
	conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stores),
		cmocka_unit_test(test_refused),
	};

	log_init("t", true, 0);
	return cmocka_run_group_tests_name("imsd_conf", tests, NULL, NULL);
}
