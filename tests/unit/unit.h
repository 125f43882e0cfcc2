/* What the kernel-facing unit tests share: the private network namespace
 * flag (each test binary unshares one at start), a shell runner, stderr
 * capture to check the kernel's error text in our log lines, and IPv6
 * literals. Include after cmocka.h. */
#ifndef GLM_UNIT_H
#define GLM_UNIT_H
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define UNIT_UNUSED __attribute__((unused))

UNIT_UNUSED static bool in_netns;

#define need_netns()                                                          \
	do {                                                                  \
		if (!in_netns)                                                \
			skip();                                               \
	} while (0)

UNIT_UNUSED static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;

	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/* Run a shell command, its output (and stderr) into out; returns the exit status. */
static int run(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4), unused));
static int run(char *out, size_t size, const char *fmt, ...)
{
	char cmd[1024];
	char sink[512];
	va_list ap;
	size_t n;
	FILE *f;
	int st;

	strcpy(cmd, "{ ");
	va_start(ap, fmt);
	vsnprintf(cmd + 2, sizeof(cmd) - 16, fmt, ap);
	va_end(ap);
	strcat(cmd, "; } 2>&1");
	f = popen(cmd, "r");
	assert_non_null(f);
	if (out && size) {
		n = fread(out, 1, size - 1, f);
		out[n] = '\0';
	}
	while (fread(sink, 1, sizeof(sink), f) > 0)
		;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int capture_fd = -1, saved_stderr = -1;
UNIT_UNUSED static void capture_begin(void)
{
	char path[] = "/tmp/glm-unit-log-XXXXXX";

	fflush(stderr);
	capture_fd = mkstemp(path);
	assert_true(capture_fd >= 0);
	unlink(path);
	saved_stderr = dup(2);
	dup2(capture_fd, 2);
}

UNIT_UNUSED static void capture_end(char *out, size_t size)
{
	ssize_t len;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	len = pread(capture_fd, out, size - 1, 0);
	out[len > 0 ? len : 0] = '\0';
	close(capture_fd);
}
#endif
