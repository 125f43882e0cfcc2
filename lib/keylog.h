/* Refusals logged once per key per interval, not once per packet: a key
 * at its limit (relay sessions, subscriptions) that keeps asking would
 * otherwise fill the log at the rate it sends. Bounded: the key logged
 * longest ago gives up its slot. Zero-initialised it is empty. */
#ifndef GLM_KEYLOG_H
#define GLM_KEYLOG_H
#include <stdbool.h>
#include <stdint.h>

#define GLM_KEYLOG_SLOTS 64
#define GLM_KEYLOG_INTERVAL_NS (60ull * 1000000000ull)

struct glm_keylog {
	struct {
		uint32_t key_id;             /* 0: free (key ids start at 1) */
		uint64_t next_ns;            /* log again from then on */
		uint64_t suppressed;         /* refusals not logged since the last line */
	} k[GLM_KEYLOG_SLOTS];
};

/* A refusal of key_id at now (CLOCK_MONOTONIC ns): true if it is to be
 * logged, with *suppressed the refusals of that key not logged since its
 * last line; false if it is only to be counted. */
bool glm_keylog_due(struct glm_keylog *l, uint32_t key_id, uint64_t now, uint64_t *suppressed);
#endif
