/* Line-oriented configuration and control-request parsing. One tokenizer
 * for every config file and for matctl's requests: '#' starts a comment,
 * words are separated by blanks, at most GLM_CONF_MAXARGS words a line.
 * Errors are reported as "FILE:LINE: message". */
#ifndef GLM_CONF_H
#define GLM_CONF_H
#include <stddef.h>

/* The longest line of any file is a keyring's key with its 8 home
 * addresses, 19 words (keys.c checks that one more home still fits). */
#define GLM_CONF_MAXARGS 40
#define GLM_CONF_MAXLINE 1024

struct conf_pos {
	const char *file;
	unsigned line;
};

/* Called once per non-empty line; return 0 to go on, <0 to stop. */
typedef int (*conf_line_fn)(void *ctx, const struct conf_pos *pos, int argc, char **argv);

/* Split a NUL-terminated line in place. Returns argc, or -E2BIG. */
int conf_split(char *line, char **argv, int max);
/* Parse a whole file; returns 0, or -errno / the callback's error. */
int conf_parse_file(const char *path, conf_line_fn fn, void *ctx);
/* Parse a buffer (for tests and fuzzing): same rules as a file. */
int conf_parse_buf(const char *name, const char *buf, size_t len, conf_line_fn fn, void *ctx);
/* Print "FILE:LINE: message" through the log, return -EINVAL. */
int conf_err(const struct conf_pos *pos, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The value of "key=value" among a control request's words (argv[1..]). */
const char *conf_arg(int argc, char **argv, const char *key);

/* Value parsers shared by config files and CLIs. Return 0 or -EINVAL. */
#include <netinet/in.h>
#include <stdint.h>
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);
int parse_in6(const char *s, struct in6_addr *out);
int parse_prefix6(const char *s, struct in6_addr *addr, uint8_t *len);
/* "[addr]:port", "[addr]" or "addr" (port = defport), "addr%ifname" for
 * link-local. A bare "addr:N" that reads both as an address and as an
 * address with a port (2001:db8:c::5:5300) is refused: brackets must say
 * which is meant. */
int parse_sockaddr6(const char *s, uint16_t defport, struct sockaddr_in6 *out);
/* A setting "KEY ADDR" (argv[0], argv[1]) read with parse_sockaddr6, every
 * error reported as FILE:LINE (the ambiguous form with both readings). */
int conf_sockaddr6(const struct conf_pos *pos, int argc, char **argv, uint16_t defport, struct sockaddr_in6 *out);
int parse_hex(const char *s, uint8_t *out, size_t len);
#endif
