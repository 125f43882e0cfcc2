/* A bounded string builder over a caller's buffer. Appends that do not
 * fit are dropped whole and the builder remembers it (sticky overflow):
 * a writer appends everything, then asks once with sb_ok whether the
 * result is whole, instead of checking every snprintf. The buffer always
 * holds a NUL-terminated prefix of what was appended, cut between two
 * appends, never inside one. */
#ifndef GLM_STRBUF_H
#define GLM_STRBUF_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t cap, len; /* len < cap: room for the NUL is kept */
	bool overflow;
};

/* Start over on buf[cap]; a cap of 0 is overflowed from the start. */
void sb_init(struct strbuf *sb, char *buf, size_t cap);
void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void sb_putc(struct strbuf *sb, char c);
/* Whether everything appended since sb_init is in the buffer. */
static inline bool sb_ok(const struct strbuf *sb) { return !sb->overflow; }
#endif
