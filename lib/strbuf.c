/* The bounded string builder (strbuf.h). */
#include "strbuf.h"
#include <stdio.h>

void sb_init(struct strbuf *sb, char *buf, size_t cap)
{
	sb->buf = buf;
	sb->cap = cap;
	sb->len = 0;
	sb->overflow = cap == 0;
	if (cap)
		buf[0] = '\0';
}

void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap)
{
	int n;

	if (sb->overflow)
		return;
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	if (n < 0 || (size_t)n >= sb->cap - sb->len) {
		/* vsnprintf wrote a cut piece: take it back */
		sb->buf[sb->len] = '\0';
		sb->overflow = true;
		return;
	}
	sb->len += (size_t)n;
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vprintf(sb, fmt, ap);
	va_end(ap);
}

void sb_putc(struct strbuf *sb, char c)
{
	if (sb->overflow)
		return;
	if (sb->len + 1 >= sb->cap) {
		sb->overflow = true;
		return;
	}
	sb->buf[sb->len++] = c;
	sb->buf[sb->len] = '\0';
}
