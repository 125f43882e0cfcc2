/* lib/hookreq.c: the hook's request as glm-prepare writes it and
 * glm-agentd reads it. The wire text of a sample, names of every kind
 * round trip, the longest request fits HOOKREQ_MAX (and the control
 * socket's buffer), each refusal says what is wrong in printable ASCII,
 * and a refused request leaves nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ctl.h"
#include "hookreq.h"
#include "unit.h"
#include <errno.h>

static struct hookreq r, r2;
static char err[256], line[HOOKREQ_MAX + 1];

static void sample(struct hookreq *h, enum hookreq_event ev)
{
	struct domxml *d = &h->dom;

	memset(h, 0, sizeof(*h));
	h->event = ev;
	strcpy(d->name, "web server \xc3\xbc-1");
	d->id = 4;
	d->nnics = 2;
	memcpy(d->nics[0].mac, "\x52\x54\x00\x12\x34\x56", 6);
	strcpy(d->nics[0].bridge, "br0");
	strcpy(d->nics[0].target, "vnet0");
	memcpy(d->nics[1].mac, "\x52\x54\x00\x12\x34\x57", 6);
	strcpy(d->nics[1].bridge, "br1");
	d->has_mobility = d->has_home = true;
	d->home = ip6("2001:db8:100::10");
	d->key_id = 10;
	d->has_relay = true;
	strcpy(d->relay, "[2001:db8:c::20]:5310");
	d->ngroups = 2;
	d->groups[0].group = ip6("ff3e::1234");
	d->groups[1].group = ip6("ff3e::5678");
	d->groups[1].source = ip6("2001:db8:c::30");
}

static int encode(const struct hookreq *h, size_t cap)
{
	struct strbuf sb;

	sb_init(&sb, line, cap);
	return hookreq_encode(h, &sb);
}

/* Encode h, decode it, and the result is h. */
static void assert_round_trip(const struct hookreq *h)
{
	assert_int_equal(encode(h, sizeof(line)), 0);
	if (hookreq_decode(line, &r2, err, sizeof(err)))
		fail_msg("'%s' refused: %s", line, err);
	assert_memory_equal(h, &r2, sizeof(*h));
}

static void test_wire_text(void **state)
{
	(void)state;
	sample(&r, HOOKREQ_STARTED);
	assert_int_equal(encode(&r, sizeof(line)), 0);
	assert_string_equal(line, "started domain=web%20server%20%C3%BC-1 id=4 "
				  "nics=52:54:00:12:34:56/br0/vnet0;52:54:00:12:34:57/br1 ha=2001:db8:100::10 key=10 "
				  "relay=[2001:db8:c::20]:5310 groups=ff3e::1234,ff3e::5678/2001:db8:c::30");
	assert_round_trip(&r);

	/* incoming with PREPARE; a NIC on no bridge is not sent */
	sample(&r, HOOKREQ_INCOMING);
	r.prepare = true;
	r.dom.id = -1;
	r.dom.nics[1].bridge[0] = '\0';
	r.dom.ngroups = 0;
	assert_int_equal(encode(&r, sizeof(line)), 0);
	assert_string_equal(line, "incoming domain=web%20server%20%C3%BC-1 nics=52:54:00:12:34:56/br0/vnet0 "
				  "ha=2001:db8:100::10 key=10 relay=[2001:db8:c::20]:5310 prepare=1");

	/* release names the instance, nothing else */
	sample(&r, HOOKREQ_RELEASE);
	assert_int_equal(encode(&r, sizeof(line)), 0);
	assert_string_equal(line, "release domain=web%20server%20%C3%BC-1 id=4");
	assert_int_equal(hookreq_decode(line, &r2, err, sizeof(err)), 0);
	assert_string_equal(r2.dom.name, r.dom.name);
	assert_int_equal(r2.dom.id, 4);
	assert_int_equal(r2.dom.nnics + r2.dom.ngroups + r2.dom.has_home + r2.dom.has_relay, 0);

	/* names glm always took go as they are; no NICs is "nics=" */
	memset(&r, 0, sizeof(r));
	r.event = HOOKREQ_STARTED;
	r.dom.id = -1;
	strcpy(r.dom.name, "vm-1.a+b:c@d_e");
	assert_int_equal(encode(&r, sizeof(line)), 0);
	assert_string_equal(line, "started domain=vm-1.a+b:c@d_e nics=");
	assert_round_trip(&r);
}

static void test_names_round_trip(void **state)
{
	static const char *const names[] = {
		"web server \xc3\xbc-1", "#2;a=b,50%/x?", "100%", "%41", "a'b <&> (c) [d] {e} |f| `g` $h ~i! ^j *k",
		" lead and trail ", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x96\xa5",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		sample(&r, HOOKREQ_INCOMING);
		memset(r.dom.name, 0, sizeof(r.dom.name));
		strcpy(r.dom.name, names[i]);
		assert_round_trip(&r);
		/* one word, printable ASCII, no comment sign for the tokenizer */
		for (const char *p = line; *p; p++)
			assert_true(*p > 0x20 || *p == ' ');
		assert_null(strchr(line, '#'));
		assert_null(strchr(line, 0x7f));
	}
	/* percent-encoding in either case of hex */
	assert_int_equal(hookreq_decode("release domain=%c3%BCx", &r, err, sizeof(err)), 0);
	assert_string_equal(r.dom.name, "\xc3\xbcx");
	assert_int_equal(r.dom.id, -1);
}

/* Every field at its widest: the request HOOKREQ_MAX is made for. */
static void test_longest(void **state)
{
	struct domxml *d = &r.dom;
	size_t len;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.event = HOOKREQ_INCOMING;
	r.prepare = true;
	for (int i = 0; i < 85; i++)
		memcpy(d->name + 3 * i, "\xe2\x82\xac", 3);
	d->id = INT32_MAX;
	d->nnics = DOMXML_MAX_NICS;
	for (unsigned i = 0; i < d->nnics; i++) {
		memcpy(d->nics[i].mac, "\xfe\xff\xff\xff\xff\xff", 6);
		d->nics[i].mac[5] = (uint8_t)i;
		strcpy(d->nics[i].bridge, "bridge-name-00x");
		strcpy(d->nics[i].target, "vnet-0123456-0x");
		d->nics[i].bridge[14] = d->nics[i].target[14] = (char)('a' + i);
	}
	d->has_mobility = d->has_home = d->has_relay = true;
	d->home = ip6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
	d->key_id = UINT32_MAX;
	strcpy(d->relay, "[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	d->ngroups = DOMXML_MAX_GROUPS;
	for (unsigned i = 0; i < d->ngroups; i++) {
		d->groups[i].group = ip6("ff3e:ffff:ffff:ffff:ffff:ffff:ffff:ff00");
		d->groups[i].group.s6_addr[15] = (uint8_t)i;
		d->groups[i].source = ip6("2001:db8:ffff:ffff:ffff:ffff:ffff:ff00");
		d->groups[i].source.s6_addr[15] = (uint8_t)i;
	}
	assert_round_trip(&r);
	len = strlen(line);
	print_message("longest request: %zu bytes (HOOKREQ_MAX %zu, GLM_CTL_MAXREQ %d)\n", len, (size_t)HOOKREQ_MAX,
		      GLM_CTL_MAXREQ);
	assert_true(len <= HOOKREQ_MAX);
	assert_true(len > 4096); /* what glm-prepare had, on its stack */
	assert_true(len + 1 < GLM_CTL_MAXREQ);
	/* one byte short: refused whole, sticky, never a cut request */
	assert_int_equal(encode(&r, len), -E2BIG);
	assert_true(strlen(line) < len);
	assert_int_equal(encode(&r, len + 1), 0);
}

static void test_refused(void **state)
{
	static const struct {
		const char *req, *want;
	} bad[] = {
		{ "", "empty request" },
		{ "arrive domain=x", "unknown request 'arrive'" },
		{ "release", "need domain=NAME" },
		{ "release domain=", "domain: empty" },
		{ "release domain=a b", "'b' is not one of domain= id=" },
		{ "release domain=a bogus=1", "'bogus=1' is not one of" },
		{ "release domain=a domain=b", "domain= given twice" },
		{ "release domain=a nics=", "release takes no nics=" },
		{ "started domain=a nics= prepare=1", "started takes no prepare=" },
		{ "release domain=a\x1b", "domain: byte 0x1b at 1 is not percent-encoded" },
		{ "release domain=a b\xc3\xbc", "'b?" "?' is not one of" },
		{ "release domain=a%0Ab", "domain: a control character (U+000A at byte 1)" },
		{ "release domain=a%00b", "domain: a control character (U+0000 at byte 1)" },
		{ "release domain=a%C2%85", "domain: a control character (U+0085 at byte 1)" },
		{ "release domain=a%C3", "domain: not UTF-8 (byte 0xc3 at byte 1)" },
		{ "release domain=a%", "domain: '%' at 1 is not followed by two hex digits" },
		{ "release domain=a%4", "domain: '%' at 1 is not followed by two hex digits" },
		{ "release domain=a%4g", "domain: '%' at 1 is not followed by two hex digits" },
		{ "release domain=a id=-1", "id: '-1' is not a domain id" },
		{ "release domain=a id=2147483648", "id: '2147483648' is not a domain id" },
		{ "incoming domain=a", "need nics=MAC/BRIDGE[/TAP];..." },
		{ "incoming domain=a nics=52:54:00:12:34:56", "nics: '52:54:00:12:34:56' is not MAC/BRIDGE[/TAP]" },
		{ "incoming domain=a nics=52:54:00:12:34:5/br0", "nics: '52:54:00:12:34:5' is not a unicast MAC" },
		{ "incoming domain=a nics=53:54:00:12:34:56/br0", "nics: '53:54:00:12:34:56' is not a unicast MAC" },
		{ "incoming domain=a nics=52:54:00:12:34:56/../x", "nics: '..' is not an interface name" },
		{ "incoming domain=a nics=52:54:00:12:34:56/br0/", "nics: '' is not an interface name" },
		{ "incoming domain=a nics=52:54:00:12:34:56/br0/a/b", "nics: 'a/b' is not an interface name" },
		{ "incoming domain=a nics=52:54:00:12:34:56/br0;", "nics: an empty entry" },
		{ "incoming domain=a nics=;52:54:00:12:34:56/br0", "nics: an empty entry" },
		{ "incoming domain=a nics=52:54:00:12:34:56/br0 ha=2001:db8::1", "need ha=ADDR and key=ID together" },
		{ "incoming domain=a nics= key=1", "need ha=ADDR and key=ID together" },
		{ "incoming domain=a nics= ha=fe80::1 key=1", "ha: fe80::1: link-local" },
		{ "incoming domain=a nics= ha=nope key=1", "ha: 'nope' is not an IPv6 address" },
		{ "incoming domain=a nics= ha=2001:db8::1 key=0", "key: '0' is not a key id" },
		{ "incoming domain=a nics= relay=2001:db8::1", "relay: '2001:db8::1' is not [IPv6-address]:port" },
		{ "incoming domain=a nics= relay=[::1]:5310", "relay: [::1]:5310: the loopback address" },
		{ "incoming domain=a nics= groups=ff02::1", "groups: ff02::1: link-local scope" },
		{ "incoming domain=a nics= groups=ff3f::1", "groups: ff3f::1: reserved multicast scope" },
		{ "incoming domain=a nics= groups=2001:db8::1", "groups: 2001:db8::1: not a multicast group" },
		{ "incoming domain=a nics= groups=ff3e::1/ff3e::2", "groups: source ff3e::2: a multicast address" },
		{ "incoming domain=a nics= groups=ff3e::1/x", "groups: source 'x' is not an IPv6 address" },
		{ "incoming domain=a nics= groups=ff3e::1,,ff3e::2", "groups: an empty entry" },
		{ "incoming domain=a nics= prepare=yes", "prepare: 'yes' is not 0 or 1" },
		{ "incoming a b c d e f g h i j k l m n o p", "more than 16 words" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0xa5, sizeof(r));
		if (!hookreq_decode(bad[i].req, &r, err, sizeof(err)))
			fail_msg("'%s' accepted", bad[i].req);
		if (!strstr(err, bad[i].want))
			fail_msg("'%s': \"%s\" does not contain \"%s\"", bad[i].req, err, bad[i].want);
		for (const char *p = err; *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
		assert_true(r.dom.name[0] == '\0' && r.dom.nnics == 0 && r.event == 0);
	}
	/* '"' and '\' are taken like any other character (glm-agentd
	 * escapes names in its JSON status) */
	assert_int_equal(hookreq_decode("release domain=a%22b%5C", &r, err, sizeof(err)), 0);
	assert_string_equal(r.dom.name, "a\"b\\");
}

static void test_limits(void **state)
{
	char big[HOOKREQ_MAX + 64], *p = big;

	(void)state;
	/* 65 groups, or 64 written twice (once is kept) */
	p += sprintf(p, "incoming domain=a nics= groups=");
	for (int i = 0; i < 65; i++)
		p += sprintf(p, "%sff3e::%x", i ? "," : "", i + 1);
	assert_int_equal(hookreq_decode(big, &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "groups: more than 64");
	p = big + sprintf(big, "incoming domain=a nics= groups=");
	for (int i = 0; i < 128; i++)
		p += sprintf(p, "%sff3e::%x/2001:db8::1", i ? "," : "", i % 64 + 1);
	assert_int_equal(hookreq_decode(big, &r, err, sizeof(err)), 0);
	assert_int_equal(r.dom.ngroups, 64);
	/* 17 NICs */
	p = big + sprintf(big, "started domain=a nics=");
	for (int i = 0; i < 17; i++)
		p += sprintf(p, "%s52:54:00:00:00:%02x/br0", i ? ";" : "", i);
	assert_int_equal(hookreq_decode(big, &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "nics: more than 16");
	/* a name of 256 bytes */
	p = big + sprintf(big, "release domain=");
	memset(p, 'x', 256);
	p[256] = '\0';
	assert_int_equal(hookreq_decode(big, &r, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "domain: longer than 255 bytes");
	p[255] = '\0';
	assert_int_equal(hookreq_decode(big, &r, err, sizeof(err)), 0);
	/* a line longer than any request */
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(hookreq_decode(big, &r, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "longer than"));
}

/* The agent gets words the control socket split; the same request. */
static void test_args(void **state)
{
	char a0[] = "incoming", a1[] = "nics=52:54:00:12:34:56/br0", a2[] = "domain=x%20y", a3[] = "prepare=1";
	char *argv[] = { a0, a1, a2, a3 };

	(void)state;
	assert_int_equal(hookreq_decode_args(4, argv, &r, err, sizeof(err)), 0);
	assert_int_equal(hookreq_decode("incoming domain=x%20y\tnics=52:54:00:12:34:56/br0  prepare=1\n", &r2, err,
					sizeof(err)),
			 0);
	assert_memory_equal(&r, &r2, sizeof(r));
	assert_string_equal(r.dom.name, "x y");
	assert_true(r.prepare && !r.dom.has_mobility && r.dom.nnics == 1);
	assert_int_equal(hookreq_decode_args(0, argv, &r, err, sizeof(err)), -EINVAL);
	/* no room for a message is no problem */
	assert_int_equal(hookreq_decode_args(1, argv, &r, NULL, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_text),
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_longest),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
