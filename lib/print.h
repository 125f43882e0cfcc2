/* One printer for the text and the JSON form of a status or stats reply,
 * after iproute2's print_string(PRINT_ANY, "port", " port %s", ...): each
 * field is one call naming its JSON key and its text format, and the
 * printer writes whichever form it was set up for. JSON commas, nesting
 * and string escaping are the printer's business, never the caller's.
 *
 * In every print_* call:
 *   key   the JSON member name; NULL: the value has no JSON form (text
 *         only). Inside a JSON array the key is not printed (array
 *         elements have none) but still has to be non-NULL.
 *   fmt   the text form, a printf format taking the value with the one
 *         conversion named for each function; NULL: no text form (JSON
 *         only). A format that does not take that type is not used: the
 *         text shows <bad format "FMT"> and print_ok() turns false.
 * Strings are escaped in both forms: in JSON '"', '\' and control
 * characters, and invalid UTF-8 as U+FFFD (valid UTF-8 passes); in text
 * control characters as \xNN, so a name never reaches a terminal raw.
 *
 * Objects and arrays exist in JSON only: opening and closing them prints
 * nothing in text, and closing the outermost one ends the JSON line. */
#ifndef GLM_PRINT_H
#define GLM_PRINT_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define PRINT_MAX_DEPTH 32

struct printer {
	FILE *out;
	bool json;
	bool bad;	      /* sticky: a bad format or unbalanced nesting */
	unsigned depth;	      /* containers open */
	uint32_t in_array;    /* bit d-1: the container at depth d is an array */
	uint32_t has_members; /* bit d-1: it has a member, the next needs a comma */
};

void print_init(struct printer *p, FILE *out, bool json);
static inline bool print_is_json(const struct printer *p) { return p->json; }
/* Whether every call so far was well formed (formats, nesting). */
static inline bool print_ok(const struct printer *p) { return !p->bad; }

/* JSON only: key is the member name inside an object (NULL at the top
 * and inside arrays). */
void print_open_object(struct printer *p, const char *key);
void print_close_object(struct printer *p);
void print_open_array(struct printer *p, const char *key);
void print_close_array(struct printer *p);

/* Text only, printf-like: labels, separators, newlines. */
void print_text(struct printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* fmt takes %s. A NULL s is null in JSON and prints nothing in text. */
void print_str(struct printer *p, const char *key, const char *fmt, const char *s);
/* fmt takes %s, the address as inet_ntop writes it; NULL as for print_str. */
void print_addr(struct printer *p, const char *key, const char *fmt, const struct in6_addr *a);
/* fmt takes %u (or %x, %o). */
void print_uint(struct printer *p, const char *key, const char *fmt, unsigned v);
/* fmt takes %llu (or %llx, %llo). */
void print_u64(struct printer *p, const char *key, const char *fmt, uint64_t v);
/* fmt takes %f, %e, %g or %a with any precision; JSON has the value to 15
 * significant digits (%.15g), and null for NaN and infinity. */
void print_float(struct printer *p, const char *key, const char *fmt, double v);
/* fmt is plain text, printed when v is true (", pinned"): a flag shows in
 * text only when it is set; JSON always has true or false. */
void print_bool(struct printer *p, const char *key, const char *fmt, bool v);
/* JSON only: "key":null (a member that is absent in text). */
void print_null(struct printer *p, const char *key);
#endif
