/* The hook's request to glm-agentd (hookreq.h): its writer, used by
 * glm-prepare, and its reader, used by glm-agentd's control socket. The
 * reader takes nothing on trust: each key once, only the keys the event
 * has, every value checked by the domain XML parser's own rules, and a
 * message that quotes the input only as printable ASCII. */
#include "hookreq.h"
#include "conf.h"
#include "ctl.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* With its newline, within what the control socket reads (lib/ctl.c). */
_Static_assert(HOOKREQ_MAX + 1 < GLM_CTL_MAXREQ, "the longest hook request does not fit GLM_CTL_MAXREQ");

/* A request has 9 words at most; this bound was the tokenizer's before
 * keyring lines needed more, and stays the request's own. */
#define HOOKREQ_MAX_WORDS 16

static const char *const event_names[] = {
	[HOOKREQ_INCOMING] = "incoming",
	[HOOKREQ_STARTED] = "started",
	[HOOKREQ_RELEASE] = "release",
};

enum hookreq_key { K_DOMAIN, K_ID, K_NICS, K_HA, K_KEY, K_RELAY, K_GROUPS, K_PREPARE, K_COUNT };

#define EV_ALL ((1u << HOOKREQ_INCOMING) | (1u << HOOKREQ_STARTED) | (1u << HOOKREQ_RELEASE))
#define EV_ARRIVE ((1u << HOOKREQ_INCOMING) | (1u << HOOKREQ_STARTED))

/* Each key and the events that take it. */
static const struct {
	const char *name;
	unsigned events;
} keys[K_COUNT] = {
	[K_DOMAIN] = { "domain", EV_ALL },   [K_ID] = { "id", EV_ALL },
	[K_NICS] = { "nics", EV_ARRIVE },    [K_HA] = { "ha", EV_ARRIVE },
	[K_KEY] = { "key", EV_ARRIVE },      [K_RELAY] = { "relay", EV_ARRIVE },
	[K_GROUPS] = { "groups", EV_ARRIVE }, [K_PREPARE] = { "prepare", 1u << HOOKREQ_INCOMING },
};

const char *hookreq_event_name(enum hookreq_event ev)
{
	return (unsigned)ev < sizeof(event_names) / sizeof(event_names[0]) ? event_names[ev] : "?";
}

int hookreq_event_parse(const char *s, enum hookreq_event *ev)
{
	for (unsigned i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if (!strcmp(s, event_names[i])) {
			*ev = (enum hookreq_event)i;
			return 0;
		}
	return -EINVAL;
}

/* Name bytes that go as they are; the rest as %XX. */
static bool name_byte_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("_.+:@-", c));
}

static const char *ntop(const struct in6_addr *a, char buf[INET6_ADDRSTRLEN])
{
	return inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

int hookreq_encode(const struct hookreq *r, struct strbuf *sb)
{
	const struct domxml *d = &r->dom;
	char a[INET6_ADDRSTRLEN];
	const char *sep = "";

	sb_printf(sb, "%s domain=", hookreq_event_name(r->event));
	for (const unsigned char *p = (const unsigned char *)d->name; *p; p++)
		if (name_byte_plain(*p))
			sb_putc(sb, (char)*p);
		else
			sb_printf(sb, "%%%02X", *p);
	if (d->id >= 0)
		sb_printf(sb, " id=%d", d->id);
	if (r->event == HOOKREQ_RELEASE)
		return sb_ok(sb) ? 0 : -E2BIG;

	sb_printf(sb, " nics=");
	for (unsigned i = 0; i < d->nnics; i++) {
		const struct domxml_nic *n = &d->nics[i];

		if (!n->bridge[0])
			continue;
		sb_printf(sb, "%s%02x:%02x:%02x:%02x:%02x:%02x/%s", sep, n->mac[0], n->mac[1], n->mac[2], n->mac[3],
			  n->mac[4], n->mac[5], n->bridge);
		if (n->target[0])
			sb_printf(sb, "/%s", n->target);
		sep = ";";
	}
	if (d->has_home)
		sb_printf(sb, " ha=%s key=%u", ntop(&d->home, a), d->key_id);
	if (d->has_relay)
		sb_printf(sb, " relay=%s", d->relay);
	for (unsigned i = 0; i < d->ngroups; i++) {
		sb_printf(sb, "%s%s", i ? "," : " groups=", ntop(&d->groups[i].group, a));
		if (!IN6_IS_ADDR_UNSPECIFIED(&d->groups[i].source))
			sb_printf(sb, "/%s", ntop(&d->groups[i].source, a));
	}
	if (r->event == HOOKREQ_INCOMING && r->prepare)
		sb_printf(sb, " prepare=1");
	return sb_ok(sb) ? 0 : -E2BIG;
}

struct reader {
	char *err;
	size_t errlen;
};

static int fail(struct reader *rd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct reader *rd, const char *fmt, ...)
{
	va_list ap;

	if (rd->err && rd->errlen) {
		va_start(ap, fmt);
		vsnprintf(rd->err, rd->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* s[0..len) as a C string in buf[size], or NULL if it does not fit. */
static char *piece(const char *s, size_t len, char *buf, size_t size)
{
	if (len >= size)
		return NULL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int read_name(struct reader *rd, const char *v, struct domxml *d)
{
	char why[96];
	const char *problem;
	size_t n = 0;

	for (size_t i = 0; v[i]; i++) {
		int hi, lo;

		if (n == sizeof(d->name) - 1)
			return fail(rd, "domain: longer than %zu bytes", sizeof(d->name) - 1);
		if (name_byte_plain((unsigned char)v[i])) {
			d->name[n++] = v[i];
			continue;
		}
		if (v[i] != '%')
			return fail(rd, "domain: byte 0x%02x at %zu is not percent-encoded", (unsigned char)v[i], i);
		if ((hi = hexval(v[i + 1])) < 0 || (lo = hexval(v[i + 2])) < 0)
			return fail(rd, "domain: '%%' at %zu is not followed by two hex digits", i);
		d->name[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	d->name[n] = '\0';
	if ((problem = domxml_name_problem(d->name, n, why, sizeof(why))))
		return fail(rd, "domain: %s", problem);
	return 0;
}

/* The longest element of a list: "group/source" (a NIC is shorter). */
#define LIST_ELEM_MAX (2 * INET6_ADDRSTRLEN)

/* Calls one(rd, element, d) for each element of a sep-separated list;
 * an empty list has none, an empty element is an error. */
static int read_list(struct reader *rd, const char *key, const char *v, char sep, struct domxml *d,
		     int (*one)(struct reader *, const char *, struct domxml *))
{
	char buf[LIST_ELEM_MAX], shown[64];

	while (*v) {
		const char *end = strchr(v, sep);
		size_t len = end ? (size_t)(end - v) : strlen(v);
		int r;

		if (!len || (end && !end[1]))
			return fail(rd, "%s: an empty entry", key);
		if (!piece(v, len, buf, sizeof(buf)))
			return fail(rd, "%s: '%s' is too long", key, domxml_shown(v, shown, sizeof(shown)));
		if ((r = one(rd, buf, d)) < 0)
			return r;
		v += len + (end ? 1 : 0);
	}
	return 0;
}

static int read_nic(struct reader *rd, const char *s, struct domxml *d)
{
	char buf[LIST_ELEM_MAX], shown[64], *br, *tap;
	struct domxml_nic *n = &d->nics[d->nnics];

	if (d->nnics == DOMXML_MAX_NICS)
		return fail(rd, "nics: more than %d", DOMXML_MAX_NICS);
	strcpy(buf, s); /* read_list's pieces fit */
	br = strchr(buf, '/');
	if (!br)
		return fail(rd, "nics: '%s' is not MAC/BRIDGE[/TAP]", domxml_shown(s, shown, sizeof(shown)));
	*br++ = '\0';
	if ((tap = strchr(br, '/')))
		*tap++ = '\0';
	if (domxml_parse_mac(buf, n->mac) || (n->mac[0] & 1))
		return fail(rd, "nics: '%s' is not a unicast MAC", domxml_shown(buf, shown, sizeof(shown)));
	if (!domxml_ifname_ok(br) || (tap && !domxml_ifname_ok(tap)))
		return fail(rd, "nics: '%s' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)",
			    domxml_shown(domxml_ifname_ok(br) ? tap : br, shown, sizeof(shown)));
	strcpy(n->bridge, br);
	if (tap)
		strcpy(n->target, tap);
	d->nnics++;
	return 0;
}

static int read_group(struct reader *rd, const char *s, struct domxml *d)
{
	char buf[LIST_ELEM_MAX], shown[64], *src;
	struct domxml_group g = { 0 };
	const char *why;

	strcpy(buf, s); /* read_list's pieces fit */
	if ((src = strchr(buf, '/')))
		*src++ = '\0';
	if (parse_in6(buf, &g.group))
		return fail(rd, "groups: '%s' is not an IPv6 address", domxml_shown(buf, shown, sizeof(shown)));
	if ((why = domxml_group_problem(&g.group)))
		return fail(rd, "groups: %s: %s", buf, why);
	if (src && parse_in6(src, &g.source))
		return fail(rd, "groups: source '%s' is not an IPv6 address", domxml_shown(src, shown, sizeof(shown)));
	if (src && !IN6_IS_ADDR_UNSPECIFIED(&g.source) && (why = domxml_unicast_problem(&g.source)))
		return fail(rd, "groups: source %s: %s", src, why);
	/* once is enough, as in the domain XML */
	for (unsigned i = 0; i < d->ngroups; i++)
		if (!memcmp(&d->groups[i], &g, sizeof(g)))
			return 0;
	if (d->ngroups == DOMXML_MAX_GROUPS)
		return fail(rd, "groups: more than %d", DOMXML_MAX_GROUPS);
	d->groups[d->ngroups++] = g;
	return 0;
}

static int decode(struct reader *rd, int argc, char *const *argv, struct hookreq *r)
{
	const char *val[K_COUNT] = { 0 }, *why;
	struct domxml *d = &r->dom;
	char shown[64];
	uint32_t u;
	int rc;

	d->id = -1;
	if (argc < 1)
		return fail(rd, "empty request");
	if (hookreq_event_parse(argv[0], &r->event))
		return fail(rd, "unknown request '%s'", domxml_shown(argv[0], shown, sizeof(shown)));
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		unsigned k;

		for (k = 0; eq && k < K_COUNT; k++)
			if (strlen(keys[k].name) == (size_t)(eq - argv[i]) && !strncmp(argv[i], keys[k].name, (size_t)(eq - argv[i])))
				break;
		if (!eq || k == K_COUNT)
			return fail(rd, "'%s' is not one of domain= id= nics= ha= key= relay= groups= prepare=",
				    domxml_shown(argv[i], shown, sizeof(shown)));
		if (!(keys[k].events & (1u << r->event)))
			return fail(rd, "%s takes no %s=", event_names[r->event], keys[k].name);
		if (val[k])
			return fail(rd, "%s= given twice", keys[k].name);
		val[k] = eq + 1;
	}

	if (!val[K_DOMAIN])
		return fail(rd, "need domain=NAME");
	if ((rc = read_name(rd, val[K_DOMAIN], d)) < 0)
		return rc;
	if (val[K_ID]) {
		if (parse_u32(val[K_ID], 0, INT32_MAX, &u))
			return fail(rd, "id: '%s' is not a domain id", domxml_shown(val[K_ID], shown, sizeof(shown)));
		d->id = (int)u;
	}
	if (r->event == HOOKREQ_RELEASE)
		return 0;

	if (!val[K_NICS])
		return fail(rd, "need nics=MAC/BRIDGE[/TAP];...");
	if ((rc = read_list(rd, "nics", val[K_NICS], ';', d, read_nic)) < 0)
		return rc;
	if (!val[K_HA] != !val[K_KEY])
		return fail(rd, "need ha=ADDR and key=ID together");
	if (val[K_HA]) {
		if (parse_in6(val[K_HA], &d->home))
			return fail(rd, "ha: '%s' is not an IPv6 address", domxml_shown(val[K_HA], shown, sizeof(shown)));
		if ((why = domxml_unicast_problem(&d->home)))
			return fail(rd, "ha: %s: %s", val[K_HA], why);
		if (parse_u32(val[K_KEY], 1, UINT32_MAX, &d->key_id))
			return fail(rd, "key: '%s' is not a key id (1-4294967295)",
				    domxml_shown(val[K_KEY], shown, sizeof(shown)));
		d->has_home = true;
	}
	if (val[K_RELAY]) {
		struct in6_addr ra;

		if (strlen(val[K_RELAY]) >= sizeof(d->relay) || domxml_parse_relay(val[K_RELAY], &ra))
			return fail(rd, "relay: '%s' is not [IPv6-address]:port",
				    domxml_shown(val[K_RELAY], shown, sizeof(shown)));
		if ((why = domxml_unicast_problem(&ra)))
			return fail(rd, "relay: %s: %s", val[K_RELAY], why);
		strcpy(d->relay, val[K_RELAY]);
		d->has_relay = true;
	}
	if (val[K_GROUPS] && (rc = read_list(rd, "groups", val[K_GROUPS], ',', d, read_group)) < 0)
		return rc;
	if (val[K_PREPARE]) {
		if (strcmp(val[K_PREPARE], "0") && strcmp(val[K_PREPARE], "1"))
			return fail(rd, "prepare: '%s' is not 0 or 1", domxml_shown(val[K_PREPARE], shown, sizeof(shown)));
		r->prepare = val[K_PREPARE][0] == '1';
	}
	d->has_mobility = d->has_home || d->has_relay || d->ngroups;
	return 0;
}

int hookreq_decode_args(int argc, char *const *argv, struct hookreq *r, char *err, size_t errlen)
{
	struct reader rd = { err, errlen };
	int rc;

	memset(r, 0, sizeof(*r));
	if (err && errlen)
		err[0] = '\0';
	rc = decode(&rd, argc, argv, r);
	if (rc < 0)
		memset(r, 0, sizeof(*r));
	return rc;
}

int hookreq_decode(const char *line, struct hookreq *r, char *err, size_t errlen)
{
	struct reader rd = { err, errlen };
	char buf[HOOKREQ_MAX + 1], *argv[HOOKREQ_MAX_WORDS];
	size_t len = strlen(line);
	int argc;

	memset(r, 0, sizeof(*r));
	if (len >= sizeof(buf)) {
		fail(&rd, "longer than %zu bytes", HOOKREQ_MAX);
		return -E2BIG;
	}
	memcpy(buf, line, len + 1);
	argc = conf_split(buf, argv, HOOKREQ_MAX_WORDS);
	if (argc < 0) {
		fail(&rd, "more than %d words", HOOKREQ_MAX_WORDS);
		return -E2BIG;
	}
	return hookreq_decode_args(argc, argv, r, err, errlen);
}
