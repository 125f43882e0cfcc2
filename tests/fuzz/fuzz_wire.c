/* libFuzzer harness for the wire format parser: whatever parses must
 * re-encode to a message that parses to the same fields and verifies. */
#include "keys.h"
#include "wire.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[GLM_KEY_LEN] = { 1, 2, 3 };
	static uint8_t out[GLM_MSG_MAX];
	struct glm_msg m, m2;
	ssize_t n;

	if (glm_msg_parse(data, size, &m) != GLM_PE_OK)
		return 0;
	glm_msg_verify(data, size, key);
	n = glm_msg_encode(&m, key, out, sizeof(out));
	if (n < 0)
		abort();
	if (glm_msg_parse(out, (size_t)n, &m2) != GLM_PE_OK || glm_msg_verify(out, (size_t)n, key) != GLM_PE_OK)
		abort();
	if (m.present != m2.present || m.type != m2.type || m.seq != m2.seq || m.key_id != m2.key_id ||
	    memcmp(&m.ha, &m2.ha, 16) || m.lifetime != m2.lifetime || m.packet_len != m2.packet_len ||
	    (m.packet_len && memcmp(m.packet, m2.packet, m.packet_len)))
		abort();
	return 0;
}
