/* Once-per-key-per-interval logging of refusals (see keylog.h). */
#include "keylog.h"

bool glm_keylog_due(struct glm_keylog *l, uint32_t key_id, uint64_t now, uint64_t *suppressed)
{
	int slot = -1, free_slot = -1, oldest = -1;

	for (int i = 0; i < GLM_KEYLOG_SLOTS && slot < 0; i++) {
		if (l->k[i].key_id == key_id)
			slot = i;
		else if (!l->k[i].key_id && free_slot < 0)
			free_slot = i;
		else if (l->k[i].key_id && (oldest < 0 || l->k[i].next_ns < l->k[oldest].next_ns))
			oldest = i;
	}
	if (slot < 0) {
		slot = free_slot >= 0 ? free_slot : oldest;
		l->k[slot].key_id = key_id;
		l->k[slot].next_ns = 0;
		l->k[slot].suppressed = 0;
	}
	if (now < l->k[slot].next_ns) {
		l->k[slot].suppressed++;
		return false;
	}
	*suppressed = l->k[slot].suppressed;
	l->k[slot].suppressed = 0;
	l->k[slot].next_ns = now + GLM_KEYLOG_INTERVAL_NS;
	return true;
}
