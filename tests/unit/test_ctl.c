/* Unit tests of the control channel's server side (lib/ctl.c), driven over
 * a socketpair: a request and its reply, and the deadlines that keep one
 * client from holding a daemon's single loop (a client that trickles its
 * request a byte at a time, one that never reads its reply). */
#include "ctl.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "unit.h"

struct calls {
	int n;
	size_t body;  /* bytes of body to write */
	int result;
};

static int handler(void *ctx, int argc, char **argv, FILE *out)
{
	struct calls *c = ctx;

	c->n++;
	if (c->result)
		fprintf(out, "no such thing as '%s'", argv[0]);
	else if (c->body)
		for (size_t i = 0; i < c->body; i++)
			fputc('x', out);
	else
		fprintf(out, "argc=%d first=%s\n", argc, argv[0]);
	return c->result;
}

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

/* Everything the server end sent, until it closed. */
static size_t slurp(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return len;
}

static void test_request_and_reply(void **state)
{
	struct calls c = { 0 };
	char reply[256];
	int sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(write(sv[0], "stats format=json\n", 18), 18);
	assert_int_equal(ctl_serve_conn(sv[1], handler, &c), 0);
	slurp(sv[0], reply, sizeof(reply));
	assert_string_equal(reply, "ok\nargc=2 first=stats\n");
	assert_int_equal(c.n, 1);
	close(sv[0]);

	c = (struct calls){ .result = -1 };
	pair(sv);
	assert_int_equal(write(sv[0], "bogus", 5), 5);
	shutdown(sv[0], SHUT_WR); /* EOF ends a request as well as a newline does */
	assert_int_equal(ctl_serve_conn(sv[1], handler, &c), 0);
	slurp(sv[0], reply, sizeof(reply));
	assert_string_equal(reply, "error: no such thing as 'bogus'\n");
	close(sv[0]);
}

/* A request that comes in a few pieces within the deadline is served. */
static void test_request_in_pieces(void **state)
{
	struct calls c = { 0 };
	char reply[256];
	int sv[2];
	pid_t pid;

	(void)state;
	pair(sv);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *parts[] = { "st", "at", "s\n" };
		for (int i = 0; i < 3; i++) {
			if (write(sv[0], parts[i], 2) != 2)
				_exit(1);
			usleep(100 * 1000);
		}
		_exit(0);
	}
	assert_int_equal(ctl_serve_conn(sv[1], handler, &c), 0);
	assert_int_equal(c.n, 1);
	slurp(sv[0], reply, sizeof(reply));
	assert_string_equal(reply, "ok\nargc=1 first=stats\n");
	close(sv[0]);
	waitpid(pid, NULL, 0);
}

/* One byte every 200 ms for 3 s: each byte comes well within any per-read
 * timeout, but the request as a whole does not come within its deadline.
 * The server gives up after GLM_CTL_REQUEST_MS, answers nothing, calls no
 * handler and says so in the log, naming the client. */
static void test_trickling_client_dropped(void **state)
{
	struct calls c = { 0 };
	char log[1024], reply[64];
	uint64_t t0;
	double ms;
	int sv[2];
	pid_t pid;

	(void)state;
	pair(sv);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		close(sv[1]);
		for (int i = 0; i < 15; i++) {
			if (write(sv[0], "s", 1) != 1)
				_exit(0); /* dropped */
			usleep(200 * 1000);
		}
		_exit(1);
	}
	log_init("test_ctl", true, 0);
	capture_begin();
	t0 = now_ns();
	assert_int_equal(ctl_serve_conn(sv[1], handler, &c), 0);
	ms = ns_to_ms(now_ns() - t0);
	capture_end(log, sizeof(log));
	print_message("served in %.0f ms; log: %s", ms, log);
	assert_true(ms >= GLM_CTL_REQUEST_MS - 50 && ms < GLM_CTL_REQUEST_MS + 300);
	assert_int_equal(c.n, 0);
	assert_non_null(strstr(log, "control: client pid "));
	assert_non_null(strstr(log, " too slow: no request line after "));
	/* the server end is closed, nothing was answered */
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	assert_true(read(sv[0], reply, sizeof(reply)) <= 0);
	close(sv[0]);
	waitpid(pid, NULL, 0);
}

/* A client that asks for a large reply and never reads it: the reply
 * cannot fit in the socket buffer, and the server gives up on it after
 * GLM_CTL_REPLY_MS instead of blocking forever. */
static void test_reply_not_read(void **state)
{
	struct calls c = { .body = 2 << 20 };
	char log[1024];
	uint64_t t0;
	double ms;
	int sv[2];

	(void)state;
	pair(sv);
	assert_int_equal(write(sv[0], "dump\n", 5), 5);
	log_init("test_ctl", true, 0);
	alarm(10); /* the old code blocks here forever: fail, do not hang */
	capture_begin();
	t0 = now_ns();
	assert_int_equal(ctl_serve_conn(sv[1], handler, &c), 0);
	ms = ns_to_ms(now_ns() - t0);
	capture_end(log, sizeof(log));
	alarm(0);
	print_message("served in %.0f ms; log: %s", ms, log);
	assert_int_equal(c.n, 1);
	assert_true(ms >= GLM_CTL_REPLY_MS - 50 && ms < GLM_CTL_REPLY_MS + 500);
	assert_non_null(strstr(log, " too slow: reply not taken after "));
	close(sv[0]);
}

/* A reply of several MiB reaches ctl_request whole (it was cut at 1 MiB,
 * silently: glmctl status --json of an agent with 500 VMs did not parse). */
static void test_long_reply_whole(void **state)
{
	struct calls c = { .body = 3 << 20 };
	char dir[] = "/tmp/glm-test-ctl.XXXXXX", path[64], *reply = NULL;
	int lfd, status;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	lfd = ctl_listen(path);
	assert_true(lfd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int cfd = accept(lfd, NULL, NULL);
		_exit(cfd >= 0 && ctl_serve_conn(cfd, handler, &c) == 0 ? 0 : 1);
	}
	assert_int_equal(ctl_request(path, "dump", &reply, 10000), 0);
	assert_non_null(reply);
	assert_int_equal(strlen(reply), 3 << 20);
	assert_true(reply[0] == 'x' && reply[(3 << 20) - 1] == 'x');
	free(reply);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_and_reply),
		cmocka_unit_test(test_request_in_pieces),
		cmocka_unit_test(test_trickling_client_dropped),
		cmocka_unit_test(test_reply_not_read),
		cmocka_unit_test(test_long_reply_whole),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
