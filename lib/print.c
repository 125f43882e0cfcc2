/* The text-or-JSON printer (print.h). The JSON is compact, one line per
 * outermost container; the text is whatever the callers' formats say. A
 * text format is checked against the value's type before it is used: the
 * formats cannot be checked at compile time (NULL means "no text"), and a
 * wrong one would otherwise read the value as another type. */
#include "print.h"
#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum conv { CONV_STR, CONV_UINT, CONV_ULL, CONV_DOUBLE };

void print_init(struct printer *p, FILE *out, bool json)
{
	*p = (struct printer){ .out = out, .json = json };
}

/* Whether fmt has at most one conversion and that one takes a value of
 * type c: flags, width and precision as digits only ('*' and '$' take
 * arguments of their own). */
static bool fmt_takes(const char *fmt, enum conv c)
{
	static const char *const mods[] = { [CONV_STR] = "", [CONV_UINT] = "", [CONV_ULL] = "ll", [CONV_DOUBLE] = "" };
	static const char *const convs[] = { [CONV_STR] = "s", [CONV_UINT] = "uxXo", [CONV_ULL] = "uxXo",
					     [CONV_DOUBLE] = "fFeEgGaA" };
	unsigned n = 0;

	for (const char *f = fmt; (f = strchr(f, '%'));) {
		size_t mod;

		if (*++f == '%') {
			f++;
			continue;
		}
		if (n++)
			return false;
		f += strspn(f, "-+ #0'");
		f += strspn(f, "0123456789");
		if (*f == '.')
			f += 1 + strspn(f + 1, "0123456789");
		mod = strspn(f, "hlLqjzt");
		/* %lf is a double too */
		if ((mod != strlen(mods[c]) || strncmp(f, mods[c], mod)) && !(c == CONV_DOUBLE && mod == 1 && *f == 'l'))
			return false;
		f += mod;
		if (!*f || !strchr(convs[c], *f))
			return false;
	}
	return true;
}

/* The text form of one value, passed as the type c stands for. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void text_value(struct printer *p, const char *fmt, enum conv c, ...)
{
	va_list ap;

	if (p->json || !fmt)
		return;
	if (!fmt_takes(fmt, c)) {
		p->bad = true;
		fprintf(p->out, "<bad format \"%s\">", fmt);
		return;
	}
	va_start(ap, c);
	vfprintf(p->out, fmt, ap);
	va_end(ap);
}
#pragma GCC diagnostic pop

void print_text(struct printer *p, const char *fmt, ...)
{
	va_list ap;

	if (p->json)
		return;
	va_start(ap, fmt);
	vfprintf(p->out, fmt, ap);
	va_end(ap);
}

/* The length of the valid UTF-8 sequence at s (overlong forms, surrogates
 * and code points past U+10FFFF are not), 0 if there is none. Stops at a
 * NUL: it is no continuation byte. */
static unsigned utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	unsigned n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (unsigned i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static void json_string(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned n;

	putc('"', out);
	while (*s) {
		if (*s == '"' || *s == '\\') {
			putc('\\', out);
			putc(*s++, out);
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(out, "\\u%04x", *s++);
		} else if ((n = utf8_len(s))) {
			fwrite(s, 1, n, out);
			s += n;
		} else {
			fputs("\\ufffd", out);
			s++;
		}
	}
	putc('"', out);
}

/* Before a JSON member: the comma, and the key unless in an array. */
static void member(struct printer *p, const char *key)
{
	uint32_t bit;

	if (!p->depth)
		return;
	bit = 1u << (p->depth - 1);
	if (p->has_members & bit)
		putc(',', p->out);
	p->has_members |= bit;
	if (p->in_array & bit)
		return;
	if (!key)
		p->bad = true;
	json_string(p->out, key ? key : "");
	putc(':', p->out);
}

/* Whether the value goes to JSON: the printer is in JSON and the value
 * has a key. Writes what comes before it. */
static bool json_member(struct printer *p, const char *key)
{
	if (!p->json || !key)
		return false;
	member(p, key);
	return true;
}

static void open_container(struct printer *p, const char *key, bool array)
{
	if (!p->json)
		return;
	if (p->depth == PRINT_MAX_DEPTH) {
		p->bad = true;
		return;
	}
	member(p, key);
	putc(array ? '[' : '{', p->out);
	p->depth++;
	p->has_members &= ~(1u << (p->depth - 1));
	if (array)
		p->in_array |= 1u << (p->depth - 1);
	else
		p->in_array &= ~(1u << (p->depth - 1));
}

static void close_container(struct printer *p, bool array)
{
	if (!p->json)
		return;
	if (!p->depth || !(p->in_array & (1u << (p->depth - 1))) != !array) {
		p->bad = true;
		return;
	}
	putc(array ? ']' : '}', p->out);
	if (!--p->depth)
		putc('\n', p->out);
}

void print_open_object(struct printer *p, const char *key)
{
	open_container(p, key, false);
}

void print_close_object(struct printer *p)
{
	close_container(p, false);
}

void print_open_array(struct printer *p, const char *key)
{
	open_container(p, key, true);
}

void print_close_array(struct printer *p)
{
	close_container(p, true);
}

void print_str(struct printer *p, const char *key, const char *fmt, const char *s)
{
	size_t n = 0;
	char *esc, *e;

	if (json_member(p, key)) {
		if (s)
			json_string(p->out, s);
		else
			fputs("null", p->out);
	}
	if (p->json || !fmt || !s)
		return;
	for (const char *c = s; *c; c++)
		n += (unsigned char)*c < 0x20 || *c == 0x7f;
	if (!n) {
		text_value(p, fmt, CONV_STR, s);
		return;
	}
	/* control characters as \xNN */
	e = esc = malloc(strlen(s) + 3 * n + 1);
	if (!esc) {
		text_value(p, fmt, CONV_STR, "?");
		return;
	}
	for (const unsigned char *c = (const unsigned char *)s; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			e += sprintf(e, "\\x%02x", *c);
		else
			*e++ = (char)*c;
	*e = '\0';
	text_value(p, fmt, CONV_STR, esc);
	free(esc);
}

void print_addr(struct printer *p, const char *key, const char *fmt, const struct in6_addr *a)
{
	char b[INET6_ADDRSTRLEN];

	print_str(p, key, fmt, a ? inet_ntop(AF_INET6, a, b, sizeof(b)) : NULL);
}

void print_uint(struct printer *p, const char *key, const char *fmt, unsigned v)
{
	if (json_member(p, key))
		fprintf(p->out, "%u", v);
	text_value(p, fmt, CONV_UINT, v);
}

void print_u64(struct printer *p, const char *key, const char *fmt, uint64_t v)
{
	if (json_member(p, key))
		fprintf(p->out, "%llu", (unsigned long long)v);
	text_value(p, fmt, CONV_ULL, (unsigned long long)v);
}

/* JSON: 15 significant digits, as many as a double is sure to hold, so
 * that arithmetic's last-bit noise (26.845980403000002) does not show. */
void print_float(struct printer *p, const char *key, const char *fmt, double v)
{
	if (json_member(p, key)) {
		if (isfinite(v))
			fprintf(p->out, "%.15g", v);
		else
			fputs("null", p->out);
	}
	text_value(p, fmt, CONV_DOUBLE, v);
}

void print_bool(struct printer *p, const char *key, const char *fmt, bool v)
{
	if (json_member(p, key))
		fputs(v ? "true" : "false", p->out);
	if (!p->json && fmt && v)
		fputs(fmt, p->out);
}

void print_null(struct printer *p, const char *key)
{
	if (json_member(p, key))
		fputs("null", p->out);
}
