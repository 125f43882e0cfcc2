/* The IMS addresses a client knows, and the one it talks to now.
 *
 * Several imsd frontends over one store (DESIGN.md "The IMS when one
 * machine is not enough") answer for the same mappings; a client (matd,
 * glm-agentd, the gateway) is given their addresses and talks to one at a
 * time. When its own retransmissions decide that one does not answer, it
 * moves to the next (in the configured order, round the list), logs it,
 * and sends what was in flight there unchanged: an update keeps its
 * sequence number, so a set of frontends sharing one store takes it once.
 *
 * A message from any of the addresses is from "our IMS" (a late answer of
 * the one we left is still authentic); what belongs to one IMS only (its
 * cookie for our address, its subscription's pushes) is taken from the
 * current one only. */
#ifndef GLM_IMSSET_H
#define GLM_IMSSET_H
#include "conf.h"
#include "print.h"
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define IMS_SET_MAX 8

struct ims_set {
	unsigned n;
	unsigned cur;                    /* index of the IMS we talk to */
	struct sockaddr_in6 addr[IMS_SET_MAX];
	uint64_t failovers;
};

/* "ims ADDR..." (argv[0] the keyword): each word ADDR, [ADDR] or
 * [ADDR]:PORT (defport otherwise), appended to s. The line may be given
 * again to add more. All or nothing: on an error (a bad address, one given
 * twice, more than IMS_SET_MAX in all) s is unchanged and the error is
 * reported as FILE:LINE. */
int conf_ims_set(const struct conf_pos *pos, int argc, char **argv, uint16_t defport, struct ims_set *s);
/* The IMS to send to (NULL if none is configured). */
const struct sockaddr_in6 *ims_set_current(const struct ims_set *s);
/* Is from (address and port) one of ours? */
bool ims_set_has(const struct ims_set *s, const struct sockaddr_in6 *from);
/* Is from the IMS we talk to now? */
bool ims_set_is_current(const struct ims_set *s, const struct sockaddr_in6 *from);
/* The current IMS did not answer what for tries tries: move to the next
 * and log it. false (nothing changes) with a single IMS. */
bool ims_set_failover(struct ims_set *s, const char *what, unsigned tries);
/* Text "ims: CUR" and, with several, " (of A B, failovers N)", no newline;
 * JSON "ims": CUR, "ims_all": [A, B], "ims_failovers": N. */
void ims_set_print(const struct ims_set *s, struct printer *p);
#endif
