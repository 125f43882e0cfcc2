/* The one tokenizer for config files and control requests, and the value
 * parsers (numbers, IPv6 addresses and prefixes, socket addresses, hex)
 * that every program shares. */
#include "conf.h"
#include "log.h"
#include "util.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int conf_split(char *line, char **argv, int max)
{
	int argc = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0' || *p == '#')
			break;
		if (argc == max)
			return -E2BIG;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '#')
			p++;
		if (*p == '#') {
			*p = '\0';
			break;
		}
		if (*p)
			*p++ = '\0';
	}
	return argc;
}

int conf_err(const struct conf_pos *pos, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s:%u: %s", pos->file, pos->line, msg);
	return -EINVAL;
}

static int conf_one_line(const struct conf_pos *pos, char *line, conf_line_fn fn, void *ctx)
{
	const unsigned char *u = (const unsigned char *)line;
	size_t len = strlen(line), n;
	char *argv[GLM_CONF_MAXARGS];
	bool comment = false;
	uint32_t cp;
	int argc;

	/* A comment is the operator's own words, in any language: UTF-8 is
	 * taken there; the rest of a line is printable ASCII. A control
	 * character is refused anywhere: it has no business in a file a
	 * terminal shows, nor in the log line that would quote it. */
	for (size_t i = 0; i < len; i += n) {
		n = 1;
		comment |= u[i] == '#';
		if (u[i] == '\t' || u[i] == '\r' || (u[i] >= 0x20 && u[i] < 0x7f))
			continue;
		if (u[i] < 0x80)
			return conf_err(pos, "control character 0x%02x at column %zu", u[i], i + 1);
		if (!comment)
			return conf_err(pos, "byte 0x%02x at column %zu: only comments may hold non-ASCII text", u[i], i + 1);
		if (!(n = utf8_char(u + i, len - i, &cp)))
			return conf_err(pos, "byte 0x%02x at column %zu is not UTF-8", u[i], i + 1);
		if (cp >= 0x80 && cp < 0xa0)
			return conf_err(pos, "control character U+%04X at column %zu", (unsigned)cp, i + 1);
	}
	argc = conf_split(line, argv, GLM_CONF_MAXARGS);
	if (argc == -E2BIG)
		return conf_err(pos, "more than %d words on a line", GLM_CONF_MAXARGS);
	if (argc == 0)
		return 0;
	return fn(ctx, pos, argc, argv);
}

int conf_parse_buf(const char *name, const char *buf, size_t len, conf_line_fn fn, void *ctx)
{
	struct conf_pos pos = { .file = name, .line = 0 };
	char line[GLM_CONF_MAXLINE];
	size_t i = 0;
	int r = 0;

	while (i < len) {
		size_t n = 0;

		pos.line++;
		while (i < len && buf[i] != '\n') {
			if (buf[i] == '\0') {
				r = conf_err(&pos, "NUL byte");
				goto cleanup;
			}
			if (n + 1 >= sizeof(line)) {
				r = conf_err(&pos, "line longer than %d bytes", GLM_CONF_MAXLINE - 1);
				goto cleanup;
			}
			line[n++] = buf[i++];
		}
		i++; /* the newline */
		line[n] = '\0';
		if ((r = conf_one_line(&pos, line, fn, ctx)) < 0)
			goto cleanup;
	}
	r = 0;
cleanup:
	/* the line may have been a keyring's, with its secret */
	explicit_bzero(line, sizeof(line));
	return r;
}

int conf_parse_file(const char *path, conf_line_fn fn, void *ctx)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, len = 0;
	int r;

	if (!f) {
		r = -errno;
		log_warn("%s", path);
		return r;
	}
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > (1u << 24)) {
				fclose(f);
				free(buf);
				log_warnx("%s: file larger than 16 MiB", path);
				return -EFBIG;
			}
			char *nb = realloc(buf, cap);
			if (!nb) {
				fclose(f);
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	r = conf_parse_buf(path, buf ? buf : "", len, fn, ctx);
	free(buf);
	return r;
}

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

int parse_in6(const char *s, struct in6_addr *out)
{
	return inet_pton(AF_INET6, s, out) == 1 ? 0 : -EINVAL;
}

int parse_prefix6(const char *s, struct in6_addr *addr, uint8_t *len)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash;
	uint32_t l = 128;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (parse_u32(slash + 1, 0, 128, &l))
			return -EINVAL;
	}
	if (parse_in6(buf, addr))
		return -EINVAL;
	/* Host bits must be zero: "2001:db8::1/64" is a typo, not a prefix. */
	for (unsigned i = l; i < 128; i++)
		if (addr->s6_addr[i / 8] & (0x80 >> (i % 8)))
			return -EINVAL;
	*len = (uint8_t)l;
	return 0;
}

/* Does bare text s (no brackets) read both as one address and as an
 * address followed by ":PORT"? "2001:db8:c::5:5300" does: 2001:db8:c::5
 * port 5300, or the address ending in :5300 (only "::" lets a group go
 * missing, so only such addresses can). "2001:db8:c::5300" does not:
 * "2001:db8:c:" is no address. If so, the address part goes to addr and
 * the port to *port. */
static bool bare_addr_port(const char *s, char addr[INET6_ADDRSTRLEN], uint32_t *port)
{
	const char *colon = strrchr(s, ':');
	struct in6_addr a;
	uint32_t p;
	size_t n;

	if (!colon || !strstr(s, "::") || parse_u32(colon + 1, 1, 65535, &p))
		return false;
	n = (size_t)(colon - s);
	if (n >= INET6_ADDRSTRLEN)
		return false;
	memcpy(addr, s, n);
	addr[n] = '\0';
	if (parse_in6(addr, &a) || parse_in6(s, &a))
		return false;
	*port = p;
	return true;
}

int parse_sockaddr6(const char *s, uint16_t defport, struct sockaddr_in6 *out)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 16], addr[INET6_ADDRSTRLEN];
	char *host = buf, *pct;
	uint32_t port = defport;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (!close)
			return -EINVAL;
		*close = '\0';
		host = buf + 1;
		if (close[1] == ':') {
			if (parse_u32(close + 2, 1, 65535, &port))
				return -EINVAL;
		} else if (close[1]) {
			return -EINVAL;
		}
	} else if (bare_addr_port(s, addr, &port)) {
		return -EINVAL;
	}
	pct = strchr(host, '%');
	if (pct) {
		*pct = '\0';
		out->sin6_scope_id = if_nametoindex(pct + 1);
		if (!out->sin6_scope_id)
			return -ENODEV;
	}
	if (parse_in6(host, &out->sin6_addr))
		return -EINVAL;
	out->sin6_port = htons((uint16_t)port);
	return 0;
}

int conf_sockaddr6(const struct conf_pos *pos, int argc, char **argv, uint16_t defport, struct sockaddr_in6 *out)
{
	char addr[INET6_ADDRSTRLEN];
	uint32_t port;
	int r;

	if (argc != 2)
		return conf_err(pos, "usage: %s ADDR | [ADDR]:PORT", argv[0]);
	if (argv[1][0] != '[' && bare_addr_port(argv[1], addr, &port))
		return conf_err(pos, "'%s %s' is ambiguous: write [%s]:%u for port %u, or [%s] for the address",
				argv[0], argv[1], addr, port, port, argv[1]);
	r = parse_sockaddr6(argv[1], defport, out);
	if (r == -ENODEV)
		return conf_err(pos, "%s %s: no such interface", argv[0], argv[1]);
	if (r < 0)
		return conf_err(pos, "bad %s address '%s' (expected ADDR or [ADDR]:PORT)", argv[0], argv[1]);
	return 0;
}

int parse_hex(const char *s, uint8_t *out, size_t len)
{
	if (strlen(s) != len * 2)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]))
			return -EINVAL;
		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return 0;
}

const char *conf_arg(int argc, char **argv, const char *key)
{
	size_t kl = strlen(key);

	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], key, kl) && argv[i][kl] == '=')
			return argv[i] + kl + 1;
	return NULL;
}
