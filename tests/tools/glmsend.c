/* glmsend: send one glm message of any type and print the answer. For
 * tests of every daemon's receive path: authentic, forged (--forge flips a
 * MAC byte), replayed (--seq N twice, or --save FILE, then the same bytes
 * again with --replay FILE) or from a key the receiver must not trust;
 * --from [ADDR]:PORT sends from an address this host does not have (a
 * forged source: IPV6_FREEBIND), as an attacker who wants the answer to
 * go to someone else would.
 * KEYRING is the sender's own (its private line says who sends); KEYID
 * names the receiver's key, the one the message is sealed for; --vouch
 * adds the sender's VOUCH for the ha= and ma= given, as an agent's
 * PREPARE carries it (glm-keys(5)); --as ID puts another node's id in
 * the header, as an impostor would, the MAC made with our own pair key.
 *   glmsend -s [ADDR]:PORT -k KEYRING -i KEYID [--seq N] [--forge] [-t MS]
 *           [--from [ADDR]:PORT] [--save FILE] TYPE [ha=A] [ma=A] [router=A]
 *           [group=A] [source=A] [prefix=P/L] [lifetime=N] [status=N] [port=N] [update_seq=N]
 *   glmsend -s [ADDR]:PORT -k KEYRING [-t MS] [--from [ADDR]:PORT] --replay FILE
 * TYPE is a message name as glm_msg_type_name() prints it (UPDATE,
 * BINDING_UPDATE, PREPARE, ...). Prints "TYPE status=... seq=..." for the
 * answer; exit 0 answered with status ok, 1 answered otherwise, 2 no
 * answer, 64 usage. A COOKIE answer (glm-keys(5) ADDRESS VALIDATION) is
 * not printed: the message goes again at once with the cookie, as a node
 * sends it; --save then keeps that second message. */
#include "conf.h"
#include "keys.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int set_tlv(struct glm_msg *m, const char *kv)
{
	const char *v = strchr(kv, '=');
	uint32_t n;

	if (!v)
		return -1;
	v++;
#define ADDR(name, field, tlv) \
	if (!strncmp(kv, name "=", strlen(name) + 1)) { \
		if (parse_in6(v, &m->field)) return -1; \
		m->present |= 1u << tlv; return 0; }
	ADDR("ha", ha, GLM_TLV_HA)
	ADDR("ma", ma, GLM_TLV_MA)
	ADDR("router", router, GLM_TLV_ROUTER)
	ADDR("group", group, GLM_TLV_GROUP)
	ADDR("source", source, GLM_TLV_SOURCE)
#undef ADDR
	if (!strncmp(kv, "prefix=", 7)) {
		if (parse_prefix6(v, &m->prefix, &m->prefix_len))
			return -1;
		m->present |= 1u << GLM_TLV_PREFIX;
		return 0;
	}
	if (!strncmp(kv, "update_seq=", 11)) {
		char *end;
		unsigned long long u;

		errno = 0;
		u = strtoull(v, &end, 10);
		if (errno || end == v || *end)
			return -1;
		GLM_SET(m, update_seq, GLM_TLV_UPDATE_SEQ, u);
		return 0;
	}
	if (parse_u32(v, 0, UINT32_MAX, &n))
		return -1;
	if (!strncmp(kv, "lifetime=", 9))
		GLM_SET(m, lifetime, GLM_TLV_LIFETIME, n);
	else if (!strncmp(kv, "status=", 7) && n <= 0xffff)
		GLM_SET(m, status, GLM_TLV_STATUS, (uint16_t)n);
	else if (!strncmp(kv, "port=", 5) && n <= 0xffff)
		GLM_SET(m, port, GLM_TLV_PORT, (uint16_t)n);
	else
		return -1;
	return 0;
}

/* Encode and seal m into buf (a flipped MAC byte with forge; as hex into
 * save too). The length, or -1. */
static ssize_t seal(const struct glm_msg *m, const struct glm_key *key, bool forge, const char *save, uint8_t *buf,
		    size_t cap)
{
	ssize_t n = glm_msg_encode(m, key->secret, buf, cap);
	FILE *f;

	if (n < 0)
		return -1;
	if (forge)
		buf[n - 1] ^= 0x01;
	if (!save)
		return n;
	f = fopen(save, "w");
	for (ssize_t i = 0; f && i < n; i++)
		fprintf(f, "%02x", buf[i]);
	if (!f || fclose(f)) {
		perror(save);
		return -1;
	}
	return n;
}

/* What --save wrote: the sealed message as hex. Its length, or -1. */
static ssize_t load_hex(const char *path, uint8_t *buf, size_t cap)
{
	static char hex[2 * GLM_MSG_MAX + 2];
	FILE *f = fopen(path, "r");
	size_t len;

	if (!f) {
		perror(path);
		return -1;
	}
	len = fread(hex, 1, sizeof(hex) - 1, f);
	fclose(f);
	while (len && (hex[len - 1] == '\n' || hex[len - 1] == ' '))
		len--;
	hex[len] = 0;
	if (!len || len % 2 || len / 2 > cap || parse_hex(hex, buf, len / 2)) {
		fprintf(stderr, "glmsend: %s: not a message in hex\n", path);
		return -1;
	}
	return (ssize_t)(len / 2);
}

int main(int argc, char **argv)
{
	static const struct option o[] = { { "seq", required_argument, 0, 'q' }, { "forge", no_argument, 0, 'F' },
					   { "save", required_argument, 0, 'S' }, { "replay", required_argument, 0, 'R' },
					   { "from", required_argument, 0, 'f' }, { "vouch", no_argument, 0, 'v' },
					   { "as", required_argument, 0, 'a' },
					   { "help", no_argument, 0, 'h' }, { 0 } };
	const char *server = NULL, *keyring = NULL, *save = NULL, *replay = NULL, *from = NULL;
	struct sockaddr_in6 src;
	uint32_t key_id = 0, timeout = 1000;
	unsigned long long seq = 0;
	bool forge = false, vouch = false;
	uint32_t as = 0;
	struct sockaddr_in6 to;
	struct glm_keyring kr;
	const struct glm_key *key = NULL;
	struct glm_msg m = { 0 };
	uint8_t buf[GLM_MSG_MAX];
	ssize_t n;
	int c, fd = -1, t, ret;

	log_init("glmsend", true, 0);
	while ((c = getopt_long(argc, argv, "s:k:i:t:h", o, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'k': keyring = optarg; break;
		case 'i': if (parse_u32(optarg, 1, UINT32_MAX, &key_id)) return 64; break;
		case 't': if (parse_u32(optarg, 1, 60000, &timeout)) return 64; break;
		case 'q': seq = strtoull(optarg, NULL, 10); break;
		case 'F': forge = true; break;
		case 'S': save = optarg; break;
		case 'R': replay = optarg; break;
		case 'f': from = optarg; break;
		case 'v': vouch = true; break;
		case 'a': if (parse_u32(optarg, 1, UINT32_MAX, &as)) return 64; break;
		default:
			fprintf(stderr, "usage: glmsend -s [ADDR]:PORT -k KEYRING -i KEYID [--seq N] [--forge] [--save FILE] "
					"[-t MS] [--from [ADDR]:PORT] [--vouch] [--as ID] TYPE [tlv=value]...\n"
					"       glmsend -s [ADDR]:PORT -k KEYRING [-t MS] [--from [ADDR]:PORT] --replay FILE\n");
			return c == 'h' ? 0 : 64;
		}
	}
	if (from && parse_sockaddr6(from, 0, &src)) {
		fprintf(stderr, "glmsend: --from wants [ADDR]:PORT\n");
		return 64;
	}
	if (replay) {
		if (!server || !keyring || parse_sockaddr6(server, 0, &to) || !to.sin6_port) {
			fprintf(stderr, "glmsend: need -s [ADDR]:PORT -k KEYRING --replay FILE\n");
			return 64;
		}
		if ((n = load_hex(replay, buf, sizeof(buf))) < 0 || keyring_load(keyring, &kr) < 0)
			return 64;
		goto send;
	}
	if (!server || !keyring || !key_id || optind >= argc || parse_sockaddr6(server, 0, &to) || !to.sin6_port) {
		fprintf(stderr, "glmsend: need -s [ADDR]:PORT -k KEYRING -i KEYID TYPE\n");
		return 64;
	}
	for (t = 1; t <= GLM_MSG_TYPE_MAX; t++)
		if (!strcasecmp(argv[optind], glm_msg_type_name((unsigned)t)))
			break;
	if (t > GLM_MSG_TYPE_MAX) {
		fprintf(stderr, "glmsend: unknown message type '%s'\n", argv[optind]);
		return 64;
	}
	m.type = (uint8_t)t;
	for (int i = optind + 1; i < argc; i++)
		if (set_tlv(&m, argv[i])) {
			fprintf(stderr, "glmsend: bad field '%s'\n", argv[i]);
			return 64;
		}
	if (keyring_load(keyring, &kr) < 0)
		return 64;
	key = keyring_find(&kr, key_id);
	if (!key || key->self) {
		fprintf(stderr, "glmsend: no peer key %u in %s\n", key_id, keyring);
		keyring_free(&kr);
		return 64;
	}
	/* --vouch: our own (an agent's) word for (ha, ma), as in a PREPARE */
	if (vouch) {
		if (!GLM_HAS(&m, GLM_TLV_HA) || !GLM_HAS(&m, GLM_TLV_MA)) {
			fprintf(stderr, "glmsend: --vouch needs ha= and ma=\n");
			keyring_free(&kr);
			return 64;
		}
		glm_vouch_sign(&kr, &m.ha, &m.ma, realtime_ns() / 1000000000ull + GLM_VOUCH_LIFETIME_S, &m.vouch);
		m.present |= 1u << GLM_TLV_VOUCH;
	}
	/* --as ID: claim to be another node, with the only MAC keys we have */
	m.key_id = as ? as : key->local_id;
	m.seq = seq ? seq : seq_next();
	if ((n = seal(&m, key, forge, save, buf, sizeof(buf))) < 0) {
		ret = 64;
		goto out;
	}
send:
	fd = udp6_socket(NULL);
	if (fd >= 0 && from) {
		int one = 1;

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			perror("glmsend: --from");
			ret = 2;
			goto out;
		}
	}
	for (int round = 0;; round++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		const struct glm_key *rk;
		struct glm_msg r;
		enum glm_parse_err e;

		if (fd < 0 || sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) != n) {
			perror("glmsend: send");
			ret = 2;
			goto out;
		}
		if (poll(&p, 1, (int)timeout) <= 0) {
			printf("no answer\n");
			ret = 2;
			goto out;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		e = n > 0 ? glm_msg_accept(&kr, buf, (size_t)n, &r, &rk) : GLM_PE_SHORT;
		if (e != GLM_PE_OK) {
			printf("bad answer: %s\n", glm_parse_err_name(e));
			ret = 1;
			goto out;
		}
		/* prove our address as a node would: the request again at
		 * once with the cookie (a new seq); --save keeps this one */
		if (r.type == GLM_COOKIE && GLM_HAS(&r, GLM_TLV_COOKIE) && !replay && round == 0 && r.seq == m.seq) {
			memcpy(m.cookie, r.cookie, GLM_COOKIE_LEN);
			m.present |= 1u << GLM_TLV_COOKIE;
			m.seq = seq ? m.seq + 1 : seq_next();
			if ((n = seal(&m, key, forge, save, buf, sizeof(buf))) < 0) {
				ret = 64;
				goto out;
			}
			continue;
		}
		printf("%s status=%s seq=%llu\n", glm_msg_type_name(r.type),
		       GLM_HAS(&r, GLM_TLV_STATUS) ? glm_status_name(r.status) : "none", (unsigned long long)r.seq);
		ret = GLM_HAS(&r, GLM_TLV_STATUS) && r.status != GLM_ST_OK ? 1 : 0;
		break;
	}
out:
	if (fd >= 0)
		close(fd);
	keyring_free(&kr);
	return ret;
}
