/* glm-keys: make a node's key pair and its keyring line, and check a
 * keyring as a daemon would read it (glm-keys(8), glm-keys(5)).
 *
 *   glm-keys genkey ID                  private line, fresh, on stdout
 *   glm-keys pubkey ROLE [home A].. [prefix P/L]..   < private line
 *   glm-keys check FILE                 load FILE as the daemons do
 *
 * Exit codes (sysexits.h): 0 done, 64 usage, 65 bad input, 78 the
 * keyring was refused, 71 no randomness. */
#include "conf.h"
#include "keys.h"
#include "log.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

static void hex(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

static int usage_to(FILE *f, int code)
{
	fprintf(f, "usage: glm-keys genkey ID\n"
			"       glm-keys pubkey ROLE [home ADDR]... [prefix ADDR/LEN]...  < private-line\n"
			"       glm-keys check KEYRING\n"
			"       glm-keys -h | --help | -V | --version\n"
			"ROLE: guest, agent, ims or gateway (glm-keys(5))\n");
	return code;
}

static int usage(void)
{
	return usage_to(stderr, EX_USAGE);
}

static int cmd_genkey(int argc, char **argv)
{
	uint8_t seed[GLM_KEY_LEN];
	uint32_t id;
	struct stat st;

	if (argc != 2 || parse_u32(argv[1], 1, UINT32_MAX, &id))
		return usage();
	/* a private key only into a file no one else can read */
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
		fprintf(stderr, "glm-keys: warning: stdout is a file of mode %04o: chmod 600 it (umask 077)\n",
			(unsigned)(st.st_mode & 07777));
	randombytes_buf(seed, sizeof(seed));
	printf("private %u ", id);
	hex(stdout, seed, sizeof(seed));
	printf("\n");
	sodium_memzero(seed, sizeof(seed));
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

/* Read "private ID HEX64" from stdin. */
static int read_private(uint32_t *id, uint8_t seed[GLM_KEY_LEN])
{
	char line[256], *w[4];
	int n, r = EX_DATAERR;

	if (!fgets(line, sizeof(line), stdin)) {
		fprintf(stderr, "glm-keys: pubkey: expected a 'private ID KEY' line on stdin (glm-keys genkey)\n");
		return EX_DATAERR;
	}
	n = conf_split(line, w, 4);
	if (n == 3 && !strcmp(w[0], "private") && !parse_u32(w[1], 1, UINT32_MAX, id) &&
	    !parse_hex(w[2], seed, GLM_KEY_LEN))
		r = 0;
	else
		fprintf(stderr, "glm-keys: pubkey: stdin is not a 'private ID KEY' line\n");
	sodium_memzero(line, sizeof(line));
	return r;
}

static int cmd_pubkey(int argc, char **argv)
{
	uint8_t seed[GLM_KEY_LEN], pub[GLM_PUB_LEN];
	struct glm_key k;
	struct conf_pos pos = { "arguments", 1 };
	char *words[GLM_CONF_MAXARGS];
	char pubhex[2 * GLM_PUB_LEN + 1], idbuf[16];
	uint32_t id;
	int r;

	if (argc < 2 || argc + 2 > GLM_CONF_MAXARGS)
		return usage();
	if ((r = read_private(&id, seed)) != 0)
		return r;
	glm_key_public(seed, pub);
	sodium_memzero(seed, sizeof(seed));
	for (int i = 0; i < GLM_PUB_LEN; i++)
		snprintf(pubhex + 2 * i, 3, "%02x", pub[i]);
	snprintf(idbuf, sizeof(idbuf), "%u", id);
	/* the line as a keyring would read it, checked by the same parser */
	words[0] = "key";
	words[1] = idbuf;
	words[2] = argv[1];
	words[3] = pubhex;
	for (int i = 2; i < argc; i++)
		words[i + 2] = argv[i];
	memset(&k, 0, sizeof(k));
	if (keyring_parse_key_line(&pos, argc + 2, words, &k) < 0)
		return EX_USAGE;
	for (int i = 0; i < argc + 2; i++)
		printf("%s%s", i ? " " : "", words[i]);
	printf("\n");
	return fflush(stdout) == 0 ? 0 : EX_IOERR;
}

static int cmd_check(int argc, char **argv)
{
	struct glm_keyring kr;
	const struct glm_key *self;
	unsigned by_role[GLM_ROLE_MAX] = { 0 };

	if (argc != 2)
		return usage();
	if (keyring_load(argv[1], &kr) < 0)
		return EX_CONFIG;
	self = keyring_self(&kr);
	for (unsigned i = 0; i < kr.n; i++)
		if (!kr.keys[i].self)
			by_role[kr.keys[i].role]++;
	printf("%s: this node is key %u (%s); peers:", argv[1], self->id, glm_role_name(self->role));
	for (unsigned r = GLM_ROLE_GUEST; r < GLM_ROLE_MAX; r++)
		printf(" %u %s", by_role[r], glm_role_name(r));
	printf("\n");
	keyring_free(&kr);
	return 0;
}

int main(int argc, char **argv)
{
	log_init("glm-keys", true, 0);
	if (sodium_init() < 0) {
		fprintf(stderr, "glm-keys: libsodium failed to initialise\n");
		return EX_OSERR;
	}
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return usage_to(stdout, 0);
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		return printf("glm-keys %s\n", GLM_VERSION) < 0 ? EX_IOERR : 0;
	if (!strcmp(argv[1], "genkey"))
		return cmd_genkey(argc - 1, argv + 1);
	if (!strcmp(argv[1], "pubkey"))
		return cmd_pubkey(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	return usage();
}
