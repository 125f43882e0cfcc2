/* A client's IMS addresses and its failover between them: see imsset.h. */
#include "imsset.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <string.h>

static bool same_sockaddr(const struct sockaddr_in6 *a, const struct sockaddr_in6 *b)
{
	return !memcmp(&a->sin6_addr, &b->sin6_addr, 16) && a->sin6_port == b->sin6_port;
}

int conf_ims_set(const struct conf_pos *pos, int argc, char **argv, uint16_t defport, struct ims_set *s)
{
	struct sockaddr_in6 a[IMS_SET_MAX];
	unsigned n = s->n;
	int r;

	if (argc < 2)
		return conf_err(pos, "usage: %s ADDR|[ADDR]:PORT... (at most %d in all)", argv[0], IMS_SET_MAX);
	for (int i = 1; i < argc; i++) {
		char *word[2] = { argv[0], argv[i] };
		struct sockaddr_in6 sa;

		if ((r = conf_sockaddr6(pos, 2, word, defport, &sa)) < 0)
			return r;
		for (unsigned k = 0; k < n; k++)
			if (same_sockaddr(k < s->n ? &s->addr[k] : &a[k - s->n], &sa))
				return conf_err(pos, "%s %s given twice", argv[0], sa6(&sa));
		if (n == IMS_SET_MAX)
			return conf_err(pos, "at most %d IMS addresses (%s %s is one too many)", IMS_SET_MAX,
					argv[0], argv[i]);
		a[n++ - s->n] = sa;
	}
	memcpy(&s->addr[s->n], a, (n - s->n) * sizeof(a[0]));
	s->n = n;
	return 0;
}

const struct sockaddr_in6 *ims_set_current(const struct ims_set *s)
{
	return s->n ? &s->addr[s->cur] : NULL;
}

bool ims_set_has(const struct ims_set *s, const struct sockaddr_in6 *from)
{
	for (unsigned i = 0; i < s->n; i++)
		if (same_sockaddr(&s->addr[i], from))
			return true;
	return false;
}

bool ims_set_is_current(const struct ims_set *s, const struct sockaddr_in6 *from)
{
	return s->n && same_sockaddr(&s->addr[s->cur], from);
}

bool ims_set_failover(struct ims_set *s, const char *what, unsigned tries)
{
	unsigned old = s->cur;

	if (s->n < 2)
		return false;
	s->cur = (s->cur + 1) % s->n;
	s->failovers++;
	log_warnx("IMS %s not answering after %u tries (%s), failing over to %s", sa6(&s->addr[old]), tries, what,
		  sa6(&s->addr[s->cur]));
	return true;
}

void ims_set_print(const struct ims_set *s, struct printer *p)
{
	if (!s->n) {
		print_null(p, "ims");
		print_text(p, "ims: none");
		return;
	}
	print_str(p, "ims", "ims: %s", sa6(&s->addr[s->cur]));
	print_text(p, "%s", s->n > 1 ? " (of" : "");
	print_open_array(p, "ims_all");
	for (unsigned i = 0; i < s->n; i++)
		print_str(p, "ims", s->n > 1 ? " %s" : NULL, sa6(&s->addr[i]));
	print_close_array(p);
	print_u64(p, "ims_failovers", s->n > 1 ? ", failovers %llu)" : NULL, s->failovers);
}
