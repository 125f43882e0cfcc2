/* The request the libvirt hook's helper (glm-prepare) sends to glm-agentd's
 * control socket, written and read here, side by side. One line:
 *
 *   incoming|started|release domain=NAME [id=N] [nics=MAC/BRIDGE[/TAP];...]
 *            [ha=ADDR key=ID] [relay=[ADDR]:PORT] [groups=G[/S],...] [prepare=1]
 *
 * NAME is percent-encoded: every byte outside A-Z a-z 0-9 _ . + : @ - is
 * written %XX, so a name with blanks, '#', '=' or UTF-8 letters is one word
 * and the line stays printable ASCII; the names glm always took look as
 * they did. incoming and started need nics (it may be empty: NICs on no
 * bridge are not sent); release takes domain and id only; prepare goes
 * with incoming only. id names libvirt's instance (<domain id='N'>).
 *
 * The reader checks every value as the domain XML parser does
 * (lib/domxml.h): it runs in glm-agentd, and the control socket is the
 * trust boundary. A request decodes to what was encoded. */
#ifndef GLM_HOOKREQ_H
#define GLM_HOOKREQ_H
#include "domxml.h"
#include "strbuf.h"
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>

enum hookreq_event { HOOKREQ_INCOMING, HOOKREQ_STARTED, HOOKREQ_RELEASE };

struct hookreq {
	enum hookreq_event event;
	bool prepare;      /* incoming: also PREPARE the guest's matd */
	struct domxml dom; /* name, id, nics, home and key, relay, groups; uuid unused */
};

/* The longest request, newline excluded: every field at its widest, the
 * name all %XX. */
#define HOOKREQ__ADDR (INET6_ADDRSTRLEN - 1)
#define HOOKREQ_MAX                                                                                                    \
	(sizeof("incoming") - 1 + sizeof(" domain=") - 1 + 3 * (sizeof(((struct domxml *)0)->name) - 1) +                \
	 sizeof(" id=2147483647") - 1 +                                                                                 \
	 sizeof(" nics=") - 1 + DOMXML_MAX_NICS * (sizeof("aa:bb:cc:dd:ee:ff//;") - 1 + 2 * (IF_NAMESIZE - 1)) +         \
	 sizeof(" ha=") - 1 + HOOKREQ__ADDR + sizeof(" key=4294967295") - 1 +                                           \
	 sizeof(" relay=") - 1 + sizeof(((struct domxml *)0)->relay) - 1 +                                             \
	 sizeof(" groups=") - 1 + DOMXML_MAX_GROUPS * (2 * HOOKREQ__ADDR + sizeof("/,") - 1) + sizeof(" prepare=1") - 1)

const char *hookreq_event_name(enum hookreq_event ev);
/* "incoming", "started", "release"; returns 0 or -EINVAL. */
int hookreq_event_parse(const char *s, enum hookreq_event *ev);

/* Append r's request line (no newline) to sb: 0, or -E2BIG if sb was too
 * small (then sb holds a cut request that must not be sent). A buffer of
 * HOOKREQ_MAX + 1 bytes is always enough for a request that decodes. */
int hookreq_encode(const struct hookreq *r, struct strbuf *sb);

/* Read a request line, or its words as the control socket split them
 * (conf_split, lib/ctl.c). Returns 0, or -EINVAL/-E2BIG with a message in
 * err (printable ASCII, whatever the input) and *r zeroed. */
int hookreq_decode(const char *line, struct hookreq *r, char *err, size_t errlen);
int hookreq_decode_args(int argc, char *const *argv, struct hookreq *r, char *err, size_t errlen);
#endif
