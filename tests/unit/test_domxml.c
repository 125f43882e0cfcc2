/* lib/domxml.c: the sample domains in tests/data (good, no metadata, every
 * hostile one), generated monsters (10 MB, nesting 10000 deep) and small
 * inline documents for each validation rule. Every failure must be
 * -EINVAL/-E2BIG with a message that names the line or the element, and
 * must leave *d zeroed. Run from the top of the tree (make check-unit). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "domxml.h"
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/xmlerror.h>

static struct domxml d;
static char err[512];

static char *slurp(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	/* __FILE__ is tests/unit/test_domxml.c: the data is next door. */
	snprintf(path, sizeof(path), "%.*sdata/%s", (int)(strlen(__FILE__) - strlen("unit/test_domxml.c")), __FILE__,
		 name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run from the top of the tree)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int parse_file(const char *name)
{
	size_t len;
	char *buf = slurp(name, &len);
	int r = domxml_parse(buf, len, &d, err, sizeof(err));

	free(buf);
	return r;
}

static int parse_str(const char *s)
{
	return domxml_parse(s, strlen(s), &d, err, sizeof(err));
}

static void assert_zeroed(void)
{
	static const struct domxml zero;

	assert_memory_equal(&d, &zero, sizeof(d));
}

/* Expect -EINVAL, a message with `want` in it, and nothing returned. */
#define assert_refused(r, want)                                                          \
	do {                                                                             \
		assert_int_equal((r), -EINVAL);                                          \
		if (!strstr(err, (want)))                                                \
			fail_msg("message \"%s\" does not contain \"%s\"", err, (want)); \
		assert_true(!strncmp(err, "domain XML: ", 12));                          \
		assert_zeroed();                                                         \
	} while (0)

static const char *ip(const struct in6_addr *a)
{
	static char buf[4][INET6_ADDRSTRLEN];
	static int i;

	return inet_ntop(AF_INET6, a, buf[i++ % 4], INET6_ADDRSTRLEN);
}

/* A minimal domain: one NIC, the given extra devices and metadata body. */
static char doc[1 << 16];
static const char *dom(const char *devices, const char *mobility)
{
	snprintf(doc, sizeof(doc),
		 "<domain type='qemu'>\n<name>t</name>\n<uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>\n"
		 "<metadata>%s%s%s</metadata>\n<devices>\n%s\n</devices>\n</domain>\n",
		 mobility ? "<glm:mobility xmlns:glm='urn:x-glm:mobility:1'>\n" : "", mobility ? mobility : "",
		 mobility ? "</glm:mobility>" : "",
		 devices ? devices
			 : "<interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br0'/>"
			   "<target dev='vnet0'/></interface>");
	return doc;
}

static void test_good(void **state)
{
	(void)state;
	assert_int_equal(parse_file("domain-glm.xml"), 0);
	assert_string_equal(d.name, "vm1");
	assert_string_equal(d.uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
	assert_int_equal(d.nnics, 2);
	assert_memory_equal(d.nics[0].mac, "\x52\x54\x00\x12\x34\x56", 6);
	assert_memory_equal(d.nics[1].mac, "\x52\x54\x00\x12\x34\x57", 6);
	assert_string_equal(d.nics[0].bridge, "br0");
	assert_string_equal(d.nics[1].bridge, "br0");
	assert_string_equal(d.nics[0].target, "vnet0");
	assert_string_equal(d.nics[1].target, "vnet1");
	assert_true(d.has_mobility);
	assert_true(d.has_home);
	assert_string_equal(ip(&d.home), "2001:db8:100::10");
	assert_int_equal(d.key_id, 10);
	assert_true(d.has_relay);
	assert_string_equal(d.relay, "[2001:db8:c::20]:5310");
	assert_int_equal(d.ngroups, 2);
	assert_string_equal(ip(&d.groups[0].group), "ff3e::1234");
	assert_string_equal(ip(&d.groups[0].source), "::");
	assert_string_equal(ip(&d.groups[1].group), "ff3e::5678");
	assert_string_equal(ip(&d.groups[1].source), "2001:db8:c::30");
	assert_string_equal(err, "");
}

static void test_plain(void **state)
{
	(void)state;
	assert_int_equal(parse_file("domain-plain.xml"), 0);
	assert_string_equal(d.name, "plain");
	assert_int_equal(d.nnics, 2);
	assert_false(d.has_mobility);
	assert_false(d.has_home);
	assert_false(d.has_relay);
	assert_int_equal(d.ngroups, 0);
}

static void test_example(void **state)
{
	size_t len;
	char *buf;

	(void)state;
	/* etc/ is two levels up from tests/unit: the operators' example must parse. */
	buf = slurp("../../etc/domain-example.xml", &len);
	assert_int_equal(domxml_parse(buf, len, &d, err, sizeof(err)), 0);
	free(buf);
	assert_true(d.has_mobility && d.has_home && d.nnics >= 1);
}

static void test_hostile_files(void **state)
{
	static const struct {
		const char *file, *want;
	} c[] = {
		{ "bad-billion-laughs.xml", "line 2: <!DOCTYPE> is not allowed" },
		{ "bad-xxe.xml", "line 2: <!DOCTYPE> is not allowed" },
		{ "bad-external-dtd.xml", "line 2: <!DOCTYPE> is not allowed" },
		{ "bad-undeclared-entity.xml", "line 2: Entity 'xxe' not defined" },
		{ "bad-noname.xml", "<domain> has no <name>" },
		{ "bad-mac.xml", "<mac address='52:54:00:12:34:5z'>: not a MAC address" },
		{ "bad-group-unicast.xml", "line 10: <glm:group address='2001:db8::5678'>: not a multicast group" },
		{ "bad-group-linklocal.xml", "<glm:group address='ff02::1'>: link-local scope" },
		{ "bad-ifname-slash.xml", "<target dev='../../etc'>: not an interface name" },
		{ "bad-ifname-space.xml", "<source bridge='br0 ; reboot'>: not an interface name" },
		{ "bad-keyid.xml", "<glm:home key-id='0'>: not a key id" },
		{ "bad-relay.xml", "<glm:relay address='2001:db8:c::20:5310'>: not [IPv6-address]:port" },
		{ "bad-truncated.xml", "Premature end of data" },
		{ "bad-garbage.xml", "line 1: Start tag expected" },
		{ "bad-empty.xml", "empty input" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int r;

		memset(&d, 0xa5, sizeof(d));
		r = parse_file(c[i].file);
		print_message("%s: %s\n", c[i].file, err);
		assert_refused(r, c[i].want);
	}
}

/* <domain id='N'>: the runtime id libvirt gives an instance on its host */
static void test_instance_id(void **state)
{
	static const char *bad[] = { "x", "", "4294967296", "-2", "+5", " 5", "2147483648" };
	char xml[256];

	(void)state;
	assert_int_equal(domxml_parse("<domain><name>a</name></domain>", 31, &d, err, sizeof(err)), 0);
	assert_int_equal(d.id, -1);
	snprintf(xml, sizeof(xml), "<domain type='qemu' id='7'><name>a</name></domain>");
	assert_int_equal(domxml_parse(xml, strlen(xml), &d, err, sizeof(err)), 0);
	assert_int_equal(d.id, 7);
	snprintf(xml, sizeof(xml), "<domain id='-1'><name>a</name></domain>");
	assert_int_equal(domxml_parse(xml, strlen(xml), &d, err, sizeof(err)), 0);
	assert_int_equal(d.id, -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(xml, sizeof(xml), "<domain id='%s'><name>a</name></domain>", bad[i]);
		assert_int_equal(domxml_parse(xml, strlen(xml), &d, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "not a domain id"));
	}
}

static void test_too_large(void **state)
{
	size_t n = 10u << 20;
	char *buf = malloc(n);

	(void)state;
	assert_non_null(buf);
	memset(buf, 'A', n);
	memcpy(buf, "<domain><name>x</name><description>", 35);
	assert_int_equal(domxml_parse(buf, n, &d, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "larger than 4194304 bytes"));
	assert_int_equal(domxml_parse(buf, DOMXML_MAX_BYTES + 1, &d, err, sizeof(err)), -E2BIG);
	/* Exactly at the cap is parsed (and fails as unterminated, not as large). */
	assert_int_equal(domxml_parse(buf, DOMXML_MAX_BYTES, &d, err, sizeof(err)), -EINVAL);
	free(buf);
}

static char *nested(unsigned depth)
{
	/* <domain><name>x</name> then depth-1 more levels of <a>. */
	size_t n = 64 + 7 * (size_t)depth;
	char *buf = malloc(n), *p = buf;

	assert_non_null(buf);
	p += sprintf(p, "<domain><name>x</name>");
	for (unsigned i = 1; i < depth; i++)
		p += sprintf(p, "<a>");
	for (unsigned i = 1; i < depth; i++)
		p += sprintf(p, "</a>");
	sprintf(p, "</domain>");
	return buf;
}

static void test_depth(void **state)
{
	char *buf;

	(void)state;
	buf = nested(10000);
	assert_refused(parse_str(buf), "elements nested deeper than 128");
	free(buf);
	buf = nested(DOMXML_MAX_DEPTH + 1);
	assert_refused(parse_str(buf), "nested deeper");
	free(buf);
	buf = nested(DOMXML_MAX_DEPTH);
	assert_int_equal(parse_str(buf), 0);
	assert_string_equal(d.name, "x");
	free(buf);
}

static void test_empty_and_odd_input(void **state)
{
	(void)state;
	assert_refused(domxml_parse("", 0, &d, err, sizeof(err)), "empty input");
	assert_refused(domxml_parse(NULL, 0, &d, err, sizeof(err)), "empty input");
	assert_refused(parse_str("   \n\n"), "line ");
	assert_refused(domxml_parse("<domain><name>a\0b</name></domain>", 32, &d, err, sizeof(err)), "line 1:");
	assert_refused(parse_str("<domain><name>x</name>"), "line 1:");
	assert_refused(parse_str("<other><name>x</name></other>"), "line 1: root element is <other>, not <domain>");
	assert_refused(parse_str("<d:domain xmlns:d='urn:x'><name>x</name></d:domain>"), "not <domain>");
	assert_refused(parse_str("<domain><name>x</name><name>y</name></domain>"), "more than one <name>");
	assert_refused(parse_str("<domain><name></name></domain>"), "<name></name>: empty");
	assert_refused(parse_str("<domain><name>x</name><uuid>nope</uuid></domain>"), "<uuid>nope</uuid>: not a UUID");
	assert_refused(parse_str("<domain><name>x</name><uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0ff</uuid></domain>"),
		       "not a UUID");
	/* A PI, a comment, CDATA, an XML declaration and &amp; are all fine. */
	assert_int_equal(parse_str("<?xml version='1.0' encoding='UTF-8'?>\n<!-- c --><?pi x?>"
				   "<domain><name><![CDATA[a.b]]>_c&#x2d;d</name>"
				   "<uuid>4DEA22B31D52D8F32516782E98AB3FA0</uuid></domain>"),
			 0);
	assert_string_equal(d.name, "a.b_c-d");
	assert_string_equal(d.uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
	assert_int_equal(parse_str("<domain><name>x</name></domain>"), 0);
	assert_string_equal(d.uuid, "");
	assert_int_equal(d.nnics, 0);
}

/* Any name libvirt takes, '"' and '\\' included (glm-agentd escapes
 * names in its JSON status), but control characters (no place in a log
 * line). Refusals name the code point and where it is. */
static void test_names(void **state)
{
	static const char *const good[] = {
		"web server \xc3\xbc-1", "a'b", "#2;a=b,50%/x?", "<&>", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x96\xa5",
		" lead and trail ", "\xc2\xa0nbsp", "a\"b", "a\\b", "\\\"",
	};
	static const struct {
		const char *xml, *want;
	} bad[] = {
		{ "a&#10;b", "<name>a?b</name>: a control character (U+000A at byte 1)" },
		{ "a&#9;b", "a control character (U+0009 at byte 1)" },
		{ "a&#13;b", "a control character (U+000D at byte 1)" },
		{ "ab&#127;", "a control character (U+007F at byte 2)" },
		{ "ab&#x85;", "<name>ab?" "?</name>: a control character (U+0085 at byte 2)" },
		{ "&#x9b;[2J", "a control character (U+009B at byte 0)" },
	};
	char xml[600], name[300];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char esc[100], *p = esc;

		/* the XML needs < & > written as entities */
		for (const char *c = good[i]; *c; c++)
			p += sprintf(p, "%s", *c == '<' ? "&lt;" : *c == '&' ? "&amp;" : *c == '>' ? "&gt;" : (char[2]){ *c, 0 });
		snprintf(xml, sizeof(xml), "<domain><name>%s</name></domain>", esc);
		if (parse_str(xml))
			fail_msg("'%s' refused: %s", good[i], err);
		assert_string_equal(d.name, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(xml, sizeof(xml), "<domain><name>%s</name></domain>", bad[i].xml);
		assert_refused(parse_str(xml), bad[i].want);
	}
	/* 255 bytes is the most, in any script */
	memset(name, 0, sizeof(name));
	for (int i = 0; i < 85; i++)
		memcpy(name + 3 * i, "\xe2\x82\xac", 3);
	snprintf(xml, sizeof(xml), "<domain><name>%s</name></domain>", name);
	assert_int_equal(parse_str(xml), 0);
	assert_int_equal(strlen(d.name), 255);
	snprintf(xml, sizeof(xml), "<domain><name>%sx</name></domain>", name);
	assert_refused(parse_str(xml), "longer than 255 bytes");
}

/* The name rule on its own, as lib/hookreq.c uses it on decoded bytes:
 * anything that is not UTF-8 and a NUL are refused too. */
static void test_name_problem(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		const char *want;
	} cases[] = {
		{ "ok", 2, NULL },
		{ "", 0, "empty" },
		{ "a\0b", 3, "a control character (U+0000 at byte 1)" },
		{ "a\xc3", 2, "not UTF-8 (byte 0xc3 at byte 1)" },
		{ "a\xc3(", 3, "not UTF-8 (byte 0xc3 at byte 1)" },
		{ "\xc0\xaf", 2, "not UTF-8 (byte 0xc0 at byte 0)" },          /* overlong '/' */
		{ "\xe0\x80\xaf", 3, "not UTF-8 (byte 0xe0 at byte 0)" },     /* overlong '/' */
		{ "\xed\xa0\x80", 3, "not UTF-8 (byte 0xed at byte 0)" },     /* a surrogate */
		{ "\xf4\x90\x80\x80", 4, "not UTF-8 (byte 0xf4 at byte 0)" }, /* above U+10FFFF */
		{ "\xff", 1, "not UTF-8 (byte 0xff at byte 0)" },
		{ "\x80", 1, "not UTF-8 (byte 0x80 at byte 0)" },
		{ "\xf4\x8f\xbf\xbf", 4, NULL }, /* U+10FFFF */
		{ "\xef\xbf\xbd", 3, NULL },      /* U+FFFD */
		{ "a\"b\\", 4, NULL },         /* glm-agentd escapes them in JSON */
	};
	char why[96];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = domxml_name_problem(cases[i].s, cases[i].len, why, sizeof(why));

		if (!cases[i].want)
			assert_null(got);
		else if (!got || strcmp(got, cases[i].want))
			fail_msg("case %zu: \"%s\", not \"%s\"", i, got ? got : "(none)", cases[i].want);
	}
	assert_string_equal(domxml_name_problem("x", 256, why, sizeof(why)), "longer than 255 bytes");
}

static void test_nics(void **state)
{
	char many[8192] = "";

	(void)state;
	assert_int_equal(parse_str(dom("<interface type='network'><mac address='52:54:00:AB:cd:EF'/>"
				       "<source network='default' bridge='virbr0'/></interface>"
				       "<interface type='user'><mac address='52:54:00:00:00:02'/></interface>"
				       "<interface type='bridge'><mac address='52:54:00:00:00:03'/>"
				       "<source bridge='a_very-long.15x'/><target dev='x'/></interface>",
				       NULL)),
			 0);
	assert_int_equal(d.nnics, 3);
	assert_memory_equal(d.nics[0].mac, "\x52\x54\x00\xab\xcd\xef", 6);
	assert_string_equal(d.nics[0].bridge, "virbr0");
	assert_string_equal(d.nics[0].target, "");
	assert_string_equal(d.nics[1].bridge, "");
	assert_string_equal(d.nics[2].bridge, "a_very-long.15x");
	assert_string_equal(d.nics[2].target, "x");

	assert_refused(parse_str(dom("<interface type='bridge'><source bridge='br0'/></interface>", NULL)),
		       "line 6: <interface> has no <mac>");
	assert_refused(parse_str(dom("<interface type='bridge'><mac address='52:54:00:00:00:01'/>"
				     "<mac address='52:54:00:00:00:02'/></interface>",
				     NULL)),
		       "more than one <mac>");
	assert_refused(parse_str(dom("<interface type='bridge'><mac/></interface>", NULL)), "<mac> has no address");
	assert_refused(parse_str(dom("<interface type='bridge'><mac address='53:54:00:00:00:01'/></interface>", NULL)),
		       "a multicast MAC");
	assert_refused(parse_str(dom("<interface type='bridge'><mac address='52-54-00-00-00-01'/></interface>", NULL)),
		       "not a MAC address");
	assert_refused(parse_str(dom("<interface type='bridge'><mac address='52:54:00:00:00:01:02'/></interface>", NULL)),
		       "not a MAC address");
	assert_refused(parse_str(dom("<interface type='bridge'><mac address='52:54:00:00:00:1'/></interface>", NULL)),
		       "not a MAC address");
	assert_refused(parse_str(dom("<interface type='bridge'><mac address='52:54:00:00:00:01'/>"
				     "<source bridge='a_very-long.16xy'/></interface>",
				     NULL)),
		       "<source bridge='a_very-long.16xy'>: not an interface name");
	assert_refused(parse_str(dom("<interface type='bridge'><mac address='52:54:00:00:00:01'/>"
				     "<source bridge=''/></interface>",
				     NULL)),
		       "not an interface name");
	assert_refused(parse_str(dom("<interface type='bridge'><mac address='52:54:00:00:00:01'/>"
				     "<target dev='..'/></interface>",
				     NULL)),
		       "not an interface name");
	assert_refused(parse_str(dom("<interface type='bridge'><mac address='52:54:00:00:00:01'/>"
				     "<target dev='v&#233;'/></interface>",
				     NULL)),
		       "<target dev='v\?\?'>");
	assert_refused(parse_str(dom("<interface type='bridge'><mac address='52:54:00:00:00:01'/>"
				     "<target dev='a'/><target dev='b'/></interface>",
				     NULL)),
		       "more than one <target>");

	for (int i = 0; i <= DOMXML_MAX_NICS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 "<interface type='bridge'><mac address='52:54:00:00:00:%02x'/></interface>\n", i);
	assert_refused(parse_str(dom(many, NULL)), "more than 16 <interface> elements");
	*strrchr(many, '<') = '\0';
	*strrchr(many, '<') = '\0';
	*strrchr(many, '<') = '\0';
	assert_int_equal(parse_str(dom(many, NULL)), 0);
	assert_int_equal(d.nnics, DOMXML_MAX_NICS);
}

static void test_metadata(void **state)
{
	char many[16384] = "";

	(void)state;
	/* Any prefix bound to our namespace is ours; other namespaces are ignored. */
	assert_int_equal(parse_str("<domain><name>x</name><metadata><other:x xmlns:other='urn:other'/>"
				   "<m:mobility xmlns:m='urn:x-glm:mobility:1'><m:home address='2001:db8::1' "
				   "key-id='4294967295'/><other:y xmlns:other='urn:other'/>text<m:group "
				   "address='FF05::1:3' source='::'/><m:group address='ff05::1:3'/></m:mobility>"
				   "</metadata></domain>"),
			 0);
	assert_true(d.has_mobility);
	assert_int_equal(d.key_id, 4294967295u);
	assert_int_equal(d.ngroups, 1); /* the duplicate is dropped */
	assert_string_equal(ip(&d.groups[0].group), "ff05::1:3");
	assert_false(d.has_relay);

	/* As virsh metadata --key glm --set '<mobility><home .../></mobility>'
	 * stores it: the children are in no namespace. */
	assert_int_equal(parse_str("<domain><name>x</name><metadata><glm:mobility xmlns:glm='urn:x-glm:mobility:1'>"
				   "<home address='2001:db8::1' key-id='7'/><group address='ff3e::1'/>"
				   "<relay address='[2001:db8::2]:5310'/></glm:mobility></metadata></domain>"),
			 0);
	assert_true(d.has_home && d.has_relay);
	assert_int_equal(d.key_id, 7);
	assert_int_equal(d.ngroups, 1);
	assert_refused(parse_str("<domain><name>x</name><metadata><glm:mobility xmlns:glm='urn:x-glm:mobility:1'>"
				 "<hom address='2001:db8::1'/></glm:mobility></metadata></domain>"),
		       "unknown element <glm:hom>");
	/* A default namespace on the element works the same. */
	assert_int_equal(parse_str("<domain><name>x</name><metadata><mobility xmlns='urn:x-glm:mobility:1'>"
				   "<group address='ff3e::1'/></mobility></metadata></domain>"),
			 0);
	assert_int_equal(d.ngroups, 1);

	/* Empty mobility element: managed, nothing else yet. */
	assert_int_equal(parse_str(dom(NULL, "")), 0);
	assert_true(d.has_mobility);
	assert_false(d.has_home);
	/* Another version of the namespace, or outside <metadata>: not ours. */
	assert_int_equal(parse_str("<domain><name>x</name><metadata><glm:mobility xmlns:glm='urn:x-glm:mobility:2'>"
				   "<glm:home/></glm:mobility></metadata></domain>"),
			 0);
	assert_false(d.has_mobility);
	assert_int_equal(parse_str("<domain><name>x</name><glm:mobility xmlns:glm='urn:x-glm:mobility:1'/></domain>"),
			 0);
	assert_false(d.has_mobility);

	assert_refused(parse_str("<domain><name>x</name><metadata><glm:mobility/></metadata></domain>"),
		       "Namespace prefix glm on mobility is not defined");
	assert_refused(parse_str("<domain><name>x</name><metadata><glm:mobility xmlns:glm='urn:x-glm:mobility:1'/>"
				 "<glm:mobility xmlns:glm='urn:x-glm:mobility:1'/></metadata></domain>"),
		       "more than one <glm:mobility>");
	assert_refused(parse_str(dom(NULL, "<glm:grop address='ff3e::1'/>")), "line 5: unknown element <glm:grop>");

	assert_refused(parse_str(dom(NULL, "<glm:home key-id='1'/>")), "<glm:home> has no address");
	assert_refused(parse_str(dom(NULL, "<glm:home address='2001:db8::1'/>")), "<glm:home> has no key-id");
	assert_refused(parse_str(dom(NULL, "<glm:home address='2001:db8::1' key-id='1'/><glm:home address='2001:db8::2' "
					   "key-id='1'/>")),
		       "more than one <glm:home>");
	assert_refused(parse_str(dom(NULL, "<glm:home address='192.0.2.1' key-id='1'/>")),
		       "<glm:home address='192.0.2.1'>: not an IPv6 address");
	assert_refused(parse_str(dom(NULL, "<glm:home address='ff3e::1' key-id='1'/>")), "a multicast address");
	assert_refused(parse_str(dom(NULL, "<glm:home address='fe80::1' key-id='1'/>")), "link-local");
	assert_refused(parse_str(dom(NULL, "<glm:home address='::' key-id='1'/>")), "the unspecified address");
	assert_refused(parse_str(dom(NULL, "<glm:home address='::1' key-id='1'/>")), "the loopback address");
	assert_refused(parse_str(dom(NULL, "<glm:home address='2001:db8::1' key-id='4294967296'/>")), "not a key id");
	assert_refused(parse_str(dom(NULL, "<glm:home address='2001:db8::1' key-id='-1'/>")), "not a key id");
	assert_refused(parse_str(dom(NULL, "<glm:home address='2001:db8::1' key-id='1x'/>")), "not a key id");
	assert_refused(parse_str(dom(NULL, "<glm:home address='2001:db8::1' key-id=''/>")), "not a key id");

	assert_int_equal(parse_str(dom(NULL, "<glm:relay address='[2001:db8::20]:1'/>")), 0);
	assert_string_equal(d.relay, "[2001:db8::20]:1");
	assert_refused(parse_str(dom(NULL, "<glm:relay/>")), "<glm:relay> has no address");
	assert_refused(parse_str(dom(NULL, "<glm:relay address='[2001:db8::20]'/>")), "not [IPv6-address]:port");
	assert_refused(parse_str(dom(NULL, "<glm:relay address='[2001:db8::20]:0'/>")), "not [IPv6-address]:port");
	assert_refused(parse_str(dom(NULL, "<glm:relay address='[2001:db8::20]:65536'/>")), "not [IPv6-address]:port");
	assert_refused(parse_str(dom(NULL, "<glm:relay address='[2001:db8::20]:5310x'/>")), "not [IPv6-address]:port");
	assert_refused(parse_str(dom(NULL, "<glm:relay address='[fe80::1%br0]:5310'/>")), "not [IPv6-address]:port");
	assert_refused(parse_str(dom(NULL, "<glm:relay address='[relay.example]:5310'/>")), "not [IPv6-address]:port");
	assert_refused(parse_str(dom(NULL, "<glm:relay address='[ff3e::1]:5310'/>")), "a multicast address");
	assert_refused(parse_str(dom(NULL, "<glm:relay address='[::1]:1'/><glm:relay address='[::1]:1'/>")),
		       "the loopback address");
	assert_refused(parse_str(dom(NULL, "<glm:relay address='[2001:db8::1]:1'/><glm:relay address='[::1]:1'/>")),
		       "more than one <glm:relay>");

	assert_refused(parse_str(dom(NULL, "<glm:group/>")), "<glm:group> has no address");
	assert_refused(parse_str(dom(NULL, "<glm:group address='ff3e::1 '/>")), "not an IPv6 address");
	assert_refused(parse_str(dom(NULL, "<glm:group address='ff01::1'/>")), "interface-local scope");
	assert_refused(parse_str(dom(NULL, "<glm:group address='ff32::1'/>")), "<glm:group address='ff32::1'>: link-local");
	assert_refused(parse_str(dom(NULL, "<glm:group address='ff30::1'/>")), "reserved multicast scope");
	assert_refused(parse_str(dom(NULL, "<glm:group address='ff3e::1' source='ff3e::2'/>")),
		       "<glm:group source='ff3e::2'>: a multicast address");
	assert_refused(parse_str(dom(NULL, "<glm:group address='ff3e::1' source='x'/>")),
		       "<glm:group source='x'>: not an IPv6 address");

	for (int i = 0; i <= DOMXML_MAX_GROUPS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "<glm:group address='ff3e::%x'/>\n", i + 1);
	assert_refused(parse_str(dom(NULL, many)), "more than 64 <glm:group> elements");
	*strrchr(many, '<') = '\0';
	assert_int_equal(parse_str(dom(NULL, many)), 0);
	assert_int_equal(d.ngroups, DOMXML_MAX_GROUPS);
}

static void test_hostile_values_are_shown_safely(void **state)
{
	char v[600];

	(void)state;
	memset(v, 'x', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	snprintf(doc, sizeof(doc), "<domain><name>%s</name></domain>", v);
	assert_refused(parse_str(doc), "xxx...</name>: longer than 255 bytes");
	assert_true(strlen(err) < 200);
	assert_refused(parse_str(dom(NULL, "<glm:group address='&#9;red&#127;'/>")), "address='?red?'");
}

static int handler_calls;
static void my_handler(void *ctx, xmlErrorPtr e)
{
	(void)ctx;
	(void)e;
	handler_calls++;
}

/* glm-agentd shares the process with libvirt, which has its own handler. */
static void test_error_handler_restored(void **state)
{
	char small[24];

	(void)state;
	xmlSetStructuredErrorFunc(&handler_calls, my_handler);
	assert_refused(parse_str("<domain><name>x</nam></domain>"), "line 1:");
	assert_int_equal(handler_calls, 0);
	assert_ptr_equal(xmlStructuredError, my_handler);
	assert_ptr_equal(xmlStructuredErrorContext, &handler_calls);
	xmlSetStructuredErrorFunc(NULL, NULL);

	/* A short or missing err buffer is not a problem. */
	assert_int_equal(domxml_parse("<x/>", 4, &d, small, sizeof(small)), -EINVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_int_equal(domxml_parse("<x/>", 4, &d, NULL, 0), -EINVAL);
	assert_int_equal(domxml_parse("<x/>", 4, &d, small, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_hostile_files),
		cmocka_unit_test(test_instance_id),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_empty_and_odd_input),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_name_problem),
		cmocka_unit_test(test_nics),
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_hostile_values_are_shown_safely),
		cmocka_unit_test(test_error_handler_restored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
