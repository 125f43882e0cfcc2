/* The domain XML parser: libvirt hands the hook a domain's XML on stdin and
 * glm-agentd reads it from virDomainGetXMLDesc; both come here. libxml2 is
 * run so that the document can do nothing but be read: no network, no DTD
 * loading, no entity substitution, a DOCTYPE of any kind refused outright
 * (libvirt never writes one, and it is the door to billion-laughs and
 * external entities), a byte cap before parsing and a nesting cap enforced
 * while parsing, so a hostile document costs at most DOMXML_MAX_BYTES of
 * input. Values are then taken with XPath and each is validated, so what
 * leaves this file is what it claims to be; the domain name is nearly any
 * UTF-8 (domxml_name_problem), so it is quoted where it goes into shell
 * (glm-domxml) and encoded in the hook's request (lib/hookreq.c).
 * libxml2 never prints: its first error is caught with its line and becomes
 * the caller's message. */
#include "domxml.h"
#include "conf.h"
#include "util.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

/* No NOENT (entity substitution), no DTDLOAD/DTDATTR/DTDVALID, no XINCLUDE,
 * no HUGE (keeps libxml2's own limits on text and names). */
#define DOMXML_PARSE_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA | \
			   XML_PARSE_BIG_LINES)

struct domxml_state {
	char *err;
	size_t errlen;
	int rc; /* first error's code; 0 while none */
};

static void silent(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

const char *domxml_shown(const char *s, char *buf, size_t size)
{
	size_t i, n = 0;

	for (i = 0; s[i] && n + 4 < size; i++)
		buf[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i]) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* Record the first error only: it is the cause, the rest are consequences. */
static int fail(struct domxml_state *st, int rc, long line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(struct domxml_state *st, int rc, long line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (st->rc)
		return st->rc;
	st->rc = rc;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (st->err && st->errlen) {
		if (line > 0)
			snprintf(st->err, st->errlen, "domain XML: line %ld: %s", line, msg);
		else
			snprintf(st->err, st->errlen, "domain XML: %s", msg);
	}
	return rc;
}

static void on_xml_error(void *data, xmlErrorPtr e)
{
	struct domxml_state *st = data;
	char msg[200], buf[200];
	size_t n;

	if (!e || e->level < XML_ERR_ERROR || st->rc)
		return;
	/* libxml2's messages end in "\n" and may quote the input. */
	snprintf(msg, sizeof(msg), "%s", e->message && *e->message ? e->message : "not well-formed");
	n = strlen(msg);
	while (n && isspace((unsigned char)msg[n - 1]))
		msg[--n] = '\0';
	fail(st, e->code == XML_ERR_NO_MEMORY ? -ENOMEM : -EINVAL, e->line, "%s", domxml_shown(msg, buf, sizeof(buf)));
}

static struct domxml_state *sax_state(void *ctx)
{
	return ((xmlParserCtxtPtr)ctx)->_private;
}

/* libvirt never writes a DOCTYPE; refusing it before its internal subset
 * is read means no entity is ever declared, let alone expanded. */
static void sax_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	xmlParserCtxtPtr ctxt = ctx;

	(void)name;
	(void)ext;
	fail(sax_state(ctx), -EINVAL, xmlSAX2GetLineNumber(ctx),
	     "<!DOCTYPE> is not allowed (no DTD, %s)",
	     sys ? "no external entities" : "no entity declarations");
	xmlStopParser(ctxt);
}

static void sax_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix, const xmlChar *URI,
			      int nb_namespaces, const xmlChar **namespaces, int nb_attributes, int nb_defaulted,
			      const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = ctx;

	/* nameNr counts the open elements, not yet this one. */
	if (ctxt->nameNr >= DOMXML_MAX_DEPTH) {
		fail(sax_state(ctx), -EINVAL, xmlSAX2GetLineNumber(ctx), "elements nested deeper than %d",
		     DOMXML_MAX_DEPTH);
		xmlStopParser(ctxt);
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, URI, nb_namespaces, namespaces, nb_attributes, nb_defaulted,
			      attributes);
}

static void init_once(void)
{
	xmlInitParser();
}

static long line_of(const xmlNode *n)
{
	return n ? xmlGetLineNo(n) : 0;
}

/* An element's attribute as a C string, or NULL; caller frees with xmlFree. */
static char *attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetNoNsProp(n, (const xmlChar *)name);
}

/* XPath from node `at`; NULL and st->rc set if libxml2 ran out of memory. */
static xmlNodeSetPtr xp(struct domxml_state *st, xmlXPathContextPtr xc, xmlNodePtr at, const char *expr,
			xmlXPathObjectPtr *obj)
{
	xc->node = at;
	*obj = xmlXPathEvalExpression((const xmlChar *)expr, xc);
	if (!*obj || (*obj)->type != XPATH_NODESET) {
		xmlXPathFreeObject(*obj);
		*obj = NULL;
		fail(st, -ENOMEM, 0, "XPath %s failed", expr);
		return NULL;
	}
	return (*obj)->nodesetval;
}

static int nodes_nr(xmlNodeSetPtr ns)
{
	return ns ? ns->nodeNr : 0;
}

bool domxml_ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n >= IF_NAMESIZE || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

int domxml_parse_mac(const char *s, uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef";

	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		const char *hi = strchr(hex, tolower((unsigned char)s[3 * i]));
		const char *lo = strchr(hex, tolower((unsigned char)s[3 * i + 1]));

		if (!s[3 * i] || !s[3 * i + 1] || !hi || !lo || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)((hi - hex) << 4 | (lo - hex));
	}
	return 0;
}

/* libvirt takes nearly any name (its QEMU driver refuses only a newline):
 * glm takes every UTF-8 name but those with a control character, which
 * has no business in a log line. '"' and '\' are fine: glm-agentd's JSON
 * status escapes them, shell output is single-quoted. */
const char *domxml_name_problem(const char *s, size_t len, char *why, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;

	if (len == 0)
		return "empty";
	if (len >= sizeof(((struct domxml *)0)->name)) {
		snprintf(why, size, "longer than %zu bytes", sizeof(((struct domxml *)0)->name) - 1);
		return why;
	}
	for (size_t i = 0, n; i < len; i += n) {
		if (!(n = utf8_char(p + i, len - i, &c)))
			snprintf(why, size, "not UTF-8 (byte 0x%02x at byte %zu)", p[i], i);
		else if (c < 0x20 || (c >= 0x7f && c < 0xa0))
			snprintf(why, size, "a control character (U+%04X at byte %zu)", (unsigned)c, i);
		else
			continue;
		return why;
	}
	return NULL;
}

/* Canonical 8-4-4-4-12 lowercase; libvirt also accepts 32 bare hex digits. */
static int parse_uuid(const char *s, char out[37])
{
	size_t n = 0;

	for (; *s; s++) {
		if (*s == '-')
			continue;
		if (!isxdigit((unsigned char)*s) || n >= 36)
			return -EINVAL;
		if (n == 8 || n == 13 || n == 18 || n == 23)
			out[n++] = '-';
		out[n++] = (char)tolower((unsigned char)*s);
	}
	out[n] = '\0';
	return n == 36 ? 0 : -EINVAL;
}

const char *domxml_unicast_problem(const struct in6_addr *a)
{
	if (IN6_IS_ADDR_UNSPECIFIED(a))
		return "the unspecified address";
	if (IN6_IS_ADDR_LOOPBACK(a))
		return "the loopback address";
	if (IN6_IS_ADDR_MULTICAST(a))
		return "a multicast address";
	if (IN6_IS_ADDR_LINKLOCAL(a))
		return "link-local, not reachable from another subnet";
	return NULL;
}

const char *domxml_group_problem(const struct in6_addr *g)
{
	if (!IN6_IS_ADDR_MULTICAST(g))
		return "not a multicast group";
	switch (g->s6_addr[1] & 0x0f) {
	case 0x0:
	case 0xf: return "reserved multicast scope";
	case 0x1: return "interface-local scope, cannot follow a VM to another host";
	case 0x2: return "link-local scope, cannot follow a VM across subnets";
	}
	return NULL;
}

int domxml_parse_relay(const char *s, struct in6_addr *a)
{
	char host[INET6_ADDRSTRLEN];
	const char *close;
	uint32_t port;
	size_t n;

	if (s[0] != '[' || !(close = strchr(s, ']')) || close[1] != ':')
		return -EINVAL;
	n = (size_t)(close - s - 1);
	if (n == 0 || n >= sizeof(host) || strlen(close + 2) > 5)
		return -EINVAL;
	memcpy(host, s + 1, n);
	host[n] = '\0';
	if (inet_pton(AF_INET6, host, a) != 1)
		return -EINVAL;
	return parse_u32(close + 2, 1, 65535, &port);
}

static int parse_nic(struct domxml_state *st, xmlXPathContextPtr xc, xmlNodePtr iface, struct domxml_nic *nic)
{
	static const struct {
		const char *elem, *attr;
	} names[] = { { "source", "bridge" }, { "target", "dev" } };
	xmlXPathObjectPtr o;
	xmlNodeSetPtr ns;
	char *v, buf[64];
	int r = 0;

	ns = xp(st, xc, iface, "mac", &o);
	if (!ns && st->rc)
		return st->rc;
	if (nodes_nr(ns) != 1) {
		r = fail(st, -EINVAL, line_of(iface), "<interface> has %s <mac>", nodes_nr(ns) ? "more than one" : "no");
	} else if (!(v = attr(ns->nodeTab[0], "address"))) {
		r = fail(st, -EINVAL, line_of(ns->nodeTab[0]), "<mac> has no address");
	} else {
		if (domxml_parse_mac(v, nic->mac))
			r = fail(st, -EINVAL, line_of(ns->nodeTab[0]),
				 "<mac address='%s'>: not a MAC address (six hex pairs, e.g. 52:54:00:12:34:56)",
				 domxml_shown(v, buf, sizeof(buf)));
		else if (nic->mac[0] & 1)
			r = fail(st, -EINVAL, line_of(ns->nodeTab[0]), "<mac address='%s'>: a multicast MAC",
				 domxml_shown(v, buf, sizeof(buf)));
		xmlFree(v);
	}
	xmlXPathFreeObject(o);
	if (r)
		return r;

	for (size_t i = 0; i < 2; i++) {
		char *dst = i ? nic->target : nic->bridge;

		ns = xp(st, xc, iface, names[i].elem, &o);
		if (!ns && st->rc)
			return st->rc;
		if (nodes_nr(ns) > 1) {
			r = fail(st, -EINVAL, line_of(iface), "<interface> has more than one <%s>", names[i].elem);
		} else if (nodes_nr(ns) == 1 && (v = attr(ns->nodeTab[0], names[i].attr))) {
			if (!domxml_ifname_ok(v))
				r = fail(st, -EINVAL, line_of(ns->nodeTab[0]),
					 "<%s %s='%s'>: not an interface name (1-15 of A-Z a-z 0-9 _ . -)",
					 names[i].elem, names[i].attr, domxml_shown(v, buf, sizeof(buf)));
			else
				strcpy(dst, v);
			xmlFree(v);
		}
		xmlXPathFreeObject(o);
		if (r)
			return r;
	}
	return 0;
}

static int parse_home(struct domxml_state *st, xmlNodePtr n, struct domxml *d)
{
	char *a = attr(n, "address"), *k = attr(n, "key-id"), buf[64];
	const char *why;
	int r = 0;

	if (d->has_home)
		r = fail(st, -EINVAL, line_of(n), "more than one <glm:home>");
	else if (!a)
		r = fail(st, -EINVAL, line_of(n), "<glm:home> has no address");
	else if (parse_in6(a, &d->home))
		r = fail(st, -EINVAL, line_of(n), "<glm:home address='%s'>: not an IPv6 address",
			 domxml_shown(a, buf, sizeof(buf)));
	else if ((why = domxml_unicast_problem(&d->home)))
		r = fail(st, -EINVAL, line_of(n), "<glm:home address='%s'>: %s", domxml_shown(a, buf, sizeof(buf)), why);
	else if (!k)
		r = fail(st, -EINVAL, line_of(n), "<glm:home> has no key-id");
	else if (parse_u32(k, 1, UINT32_MAX, &d->key_id))
		r = fail(st, -EINVAL, line_of(n), "<glm:home key-id='%s'>: not a key id (1-4294967295)",
			 domxml_shown(k, buf, sizeof(buf)));
	else
		d->has_home = true;
	xmlFree(a);
	xmlFree(k);
	return r;
}

static int parse_relay_elem(struct domxml_state *st, xmlNodePtr n, struct domxml *d)
{
	char *a = attr(n, "address"), buf[64];
	struct in6_addr ra;
	const char *why;
	int r = 0;

	if (d->has_relay)
		r = fail(st, -EINVAL, line_of(n), "more than one <glm:relay>");
	else if (!a)
		r = fail(st, -EINVAL, line_of(n), "<glm:relay> has no address");
	else if (strlen(a) >= sizeof(d->relay) || domxml_parse_relay(a, &ra))
		r = fail(st, -EINVAL, line_of(n), "<glm:relay address='%s'>: not [IPv6-address]:port",
			 domxml_shown(a, buf, sizeof(buf)));
	else if ((why = domxml_unicast_problem(&ra)))
		r = fail(st, -EINVAL, line_of(n), "<glm:relay address='%s'>: %s", domxml_shown(a, buf, sizeof(buf)), why);
	else {
		strcpy(d->relay, a);
		d->has_relay = true;
	}
	xmlFree(a);
	return r;
}

static int parse_group(struct domxml_state *st, xmlNodePtr n, struct domxml *d)
{
	char *a = attr(n, "address"), *s = attr(n, "source"), buf[64];
	struct domxml_group g = { 0 };
	const char *why;
	int r = 0;

	if (!a) {
		r = fail(st, -EINVAL, line_of(n), "<glm:group> has no address");
	} else if (parse_in6(a, &g.group)) {
		r = fail(st, -EINVAL, line_of(n), "<glm:group address='%s'>: not an IPv6 address",
			 domxml_shown(a, buf, sizeof(buf)));
	} else if ((why = domxml_group_problem(&g.group))) {
		r = fail(st, -EINVAL, line_of(n), "<glm:group address='%s'>: %s", domxml_shown(a, buf, sizeof(buf)), why);
	} else if (s && parse_in6(s, &g.source)) {
		r = fail(st, -EINVAL, line_of(n), "<glm:group source='%s'>: not an IPv6 address",
			 domxml_shown(s, buf, sizeof(buf)));
	} else if (s && !IN6_IS_ADDR_UNSPECIFIED(&g.source) && (why = domxml_unicast_problem(&g.source))) {
		r = fail(st, -EINVAL, line_of(n), "<glm:group source='%s'>: %s", domxml_shown(s, buf, sizeof(buf)), why);
	} else {
		/* glm-agentd may record a group twice across restarts: one is enough. */
		for (unsigned i = 0; i < d->ngroups; i++)
			if (!memcmp(&d->groups[i], &g, sizeof(g)))
				goto out;
		if (d->ngroups >= DOMXML_MAX_GROUPS)
			r = fail(st, -EINVAL, line_of(n), "more than %d <glm:group> elements", DOMXML_MAX_GROUPS);
		else
			d->groups[d->ngroups++] = g;
	}
out:
	xmlFree(a);
	xmlFree(s);
	return r;
}

static int parse_mobility(struct domxml_state *st, xmlNodePtr mob, struct domxml *d)
{
	int r = 0;

	d->has_mobility = true;
	for (xmlNodePtr n = mob->children; n && !r; n = n->next) {
		const char *name = (const char *)n->name;
		char buf[64];

		/* virDomainSetMetadata puts only the top element in our namespace
		 * and leaves unprefixed children in none: those are ours too.
		 * Other namespaces' elements are theirs; ours must be known. */
		if (n->type != XML_ELEMENT_NODE ||
		    (n->ns && !xmlStrEqual(n->ns->href, (const xmlChar *)GLM_XMLNS)))
			continue;
		if (!strcmp(name, "home"))
			r = parse_home(st, n, d);
		else if (!strcmp(name, "relay"))
			r = parse_relay_elem(st, n, d);
		else if (!strcmp(name, "group"))
			r = parse_group(st, n, d);
		else
			r = fail(st, -EINVAL, line_of(n), "unknown element <glm:%s> in <glm:mobility>",
				 domxml_shown(name, buf, sizeof(buf)));
	}
	return r;
}

static int parse_doc(struct domxml_state *st, xmlDocPtr doc, struct domxml *d)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	xmlXPathContextPtr xc = NULL;
	xmlXPathObjectPtr o = NULL;
	xmlNodeSetPtr ns;
	char *v = NULL, buf[64], whybuf[96];
	const char *why;
	int r = 0;

	if (!root)
		return fail(st, -EINVAL, 0, "no root element");
	if (root->ns || strcmp((const char *)root->name, "domain"))
		return fail(st, -EINVAL, line_of(root), "root element is <%s>, not <domain>",
			    domxml_shown((const char *)root->name, buf, sizeof(buf)));
	d->id = -1;
	if ((v = attr(root, "id"))) {
		uint32_t id;
		/* a running domain's id; libvirt writes -1 for none */
		if (strcmp(v, "-1") && (parse_u32(v, 0, INT32_MAX, &id) || !isdigit((unsigned char)v[0]))) {
			r = fail(st, -EINVAL, line_of(root), "<domain id='%s'>: not a domain id", domxml_shown(v, buf, sizeof(buf)));
			goto cleanup;
		}
		if (strcmp(v, "-1"))
			d->id = (int)id;
		xmlFree(v);
		v = NULL;
	}
	xc = xmlXPathNewContext(doc);
	if (!xc || xmlXPathRegisterNs(xc, (const xmlChar *)"glm", (const xmlChar *)GLM_XMLNS)) {
		r = fail(st, -ENOMEM, 0, "cannot set up XPath");
		goto cleanup;
	}

	ns = xp(st, xc, root, "/domain/name", &o);
	if (!ns && st->rc) {
		r = st->rc;
		goto cleanup;
	}
	if (nodes_nr(ns) != 1) {
		r = fail(st, -EINVAL, line_of(root), "<domain> has %s <name>", nodes_nr(ns) ? "more than one" : "no");
		goto cleanup;
	}
	v = (char *)xmlNodeGetContent(ns->nodeTab[0]);
	if (!v || (why = domxml_name_problem(v, strlen(v), whybuf, sizeof(whybuf)))) {
		r = fail(st, -EINVAL, line_of(ns->nodeTab[0]), "<name>%s</name>: %s",
			 domxml_shown(v ? v : "", buf, sizeof(buf)), v ? why : "empty");
		goto cleanup;
	}
	strcpy(d->name, v);
	xmlFree(v);
	v = NULL;
	xmlXPathFreeObject(o);

	ns = xp(st, xc, root, "/domain/uuid", &o);
	if (!ns && st->rc) {
		r = st->rc;
		goto cleanup;
	}
	if (nodes_nr(ns) > 1) {
		r = fail(st, -EINVAL, line_of(root), "<domain> has more than one <uuid>");
		goto cleanup;
	}
	if (nodes_nr(ns) == 1) {
		v = (char *)xmlNodeGetContent(ns->nodeTab[0]);
		if (!v || parse_uuid(v, d->uuid)) {
			r = fail(st, -EINVAL, line_of(ns->nodeTab[0]), "<uuid>%s</uuid>: not a UUID",
				 domxml_shown(v ? v : "", buf, sizeof(buf)));
			goto cleanup;
		}
		xmlFree(v);
		v = NULL;
	}
	xmlXPathFreeObject(o);

	/* Every interface, whatever its type: NIC n here is NIC n in the guest
	 * config; bridge is filled where libvirt names one (bridge, network). */
	ns = xp(st, xc, root, "/domain/devices/interface", &o);
	if (!ns && st->rc) {
		r = st->rc;
		goto cleanup;
	}
	if (nodes_nr(ns) > DOMXML_MAX_NICS) {
		r = fail(st, -EINVAL, line_of(ns->nodeTab[DOMXML_MAX_NICS]), "more than %d <interface> elements",
			 DOMXML_MAX_NICS);
		goto cleanup;
	}
	for (int i = 0; i < nodes_nr(ns); i++) {
		/* parse_nic moves the context node; the outer set stays ours. */
		r = parse_nic(st, xc, ns->nodeTab[i], &d->nics[i]);
		if (r)
			goto cleanup;
		d->nnics++;
	}
	xmlXPathFreeObject(o);

	ns = xp(st, xc, root, "/domain/metadata/glm:mobility", &o);
	if (!ns && st->rc) {
		r = st->rc;
		goto cleanup;
	}
	if (nodes_nr(ns) > 1)
		r = fail(st, -EINVAL, line_of(ns->nodeTab[1]), "more than one <glm:mobility>");
	else if (nodes_nr(ns) == 1)
		r = parse_mobility(st, ns->nodeTab[0], d);

cleanup:
	xmlFree(v);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(xc);
	return r;
}

int domxml_parse(const char *buf, size_t len, struct domxml *d, char *err, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct domxml_state st = { .err = err, .errlen = errlen };
	xmlStructuredErrorFunc old_serror;
	xmlGenericErrorFunc old_error;
	void *old_sctx, *old_ctx;
	xmlParserCtxtPtr ctxt = NULL;
	xmlDocPtr doc = NULL;
	int r;

	memset(d, 0, sizeof(*d));
	if (err && errlen)
		err[0] = '\0';
	if (len > DOMXML_MAX_BYTES)
		return fail(&st, -E2BIG, 0, "larger than %u bytes, refused unread", DOMXML_MAX_BYTES);
	if (!buf || len == 0)
		return fail(&st, -EINVAL, 0, "empty input");
	pthread_once(&once, init_once);

	/* libxml2's handlers are per thread: take them for this call only, so
	 * nothing reaches stderr and libvirt's own handlers (same process in
	 * glm-agentd) are back as they were afterwards. */
	old_serror = xmlStructuredError;
	old_sctx = xmlStructuredErrorContext;
	old_error = xmlGenericError;
	old_ctx = xmlGenericErrorContext;
	xmlSetStructuredErrorFunc(&st, on_xml_error);
	xmlSetGenericErrorFunc(NULL, silent);

	ctxt = xmlNewParserCtxt();
	if (!ctxt) {
		r = fail(&st, -ENOMEM, 0, "out of memory");
		goto cleanup;
	}
	ctxt->_private = &st;
	ctxt->sax->internalSubset = sax_internal_subset;
	ctxt->sax->startElementNs = sax_start_element;
	/* Forced UTF-8: libvirt writes nothing else, and no iconv is reached. */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, "domain.xml", "UTF-8", DOMXML_PARSE_OPTS);
	if (st.rc) {
		r = st.rc;
		goto cleanup;
	}
	if (!doc || !ctxt->wellFormed || !ctxt->nsWellFormed) {
		r = fail(&st, -EINVAL, 0, "not well-formed");
		goto cleanup;
	}
	r = parse_doc(&st, doc, d);

cleanup:
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	xmlSetStructuredErrorFunc(old_sctx, old_serror);
	xmlSetGenericErrorFunc(old_ctx, old_error);
	if (r)
		memset(d, 0, sizeof(*d));
	return r;
}
