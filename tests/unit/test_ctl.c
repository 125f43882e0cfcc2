/* Unit tests of the control channel (lib/ctl.c). The server side, driven
 * over a socketpair: a request and its reply, and the deadlines that keep
 * one client from holding a daemon's single loop (a client that trickles
 * its request a byte at a time, one that never reads its reply). The
 * client side, ctl_request, against a listener: a long reply, and one
 * deadline for the whole request even when the daemon does not accept. */
#include "ctl.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* The forked server exited 0; its listener and scratch directory go. */
static void server_done(pid_t pid, int lfd, const char *path, const char *dir)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

/* A reply of 1.5 MiB reaches ctl_request whole (it was cut at 1 MiB,
 * silently: glmctl status --json of an agent with 500 VMs did not parse). */
static void test_long_reply_whole(void **state)
{
	struct calls c = { .body = (3 << 20) / 2 };
	char dir[] = "/tmp/glm-test-ctl.XXXXXX", path[64], *reply = NULL;
	int lfd;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	lfd = ctl_listen(path);
	assert_true(lfd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* ctl_listen's socket is non-blocking: wait for the connection
		 * (an accept before the parent's connect fails with EAGAIN) */
		struct pollfd pf = { .fd = lfd, .events = POLLIN };
		int cfd = poll(&pf, 1, 30000) == 1 ? accept(lfd, NULL, NULL) : -1;
		_exit(cfd >= 0 && ctl_serve_conn(cfd, handler, &c) == 0 ? 0 : 1);
	}
	/* a deadline a loaded sanitizer build meets (10 s was missed once) */
	assert_int_equal(ctl_request(path, "dump", &reply, 30000), 0);
	assert_non_null(reply);
	assert_int_equal(strlen(reply), (3 << 20) / 2);
	assert_true(reply[0] == 'x' && reply[(3 << 20) / 2 - 1] == 'x');
	free(reply);
	server_done(pid, lfd, path, dir);
}

/* A listener that never accepts, as a daemon whose loop is stuck looks to
 * a client (lib/ctl.c listens with a queue of 128; a queue of 0 here, which
 * the kernel lets hold one connection). With held, its queue is full: one
 * connection waits in it, *held is its client end. */
static int stuck_listener(const char *path, int *held)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(lfd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	if (held) {
		*held = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		assert_int_equal(connect(*held, (struct sockaddr *)&sun, sizeof(sun)), 0);
	}
	return lfd;
}

/* The daemon never accepts: ctl_request gives up at its deadline with
 * -ETIMEDOUT, whether its connection waits in the queue for a reply (the
 * first) or finds the queue full (the next ones: a connection given up
 * stays in the queue). It blocked in connect() for ever, and the libvirt
 * hook held libvirt with it. */
static void test_request_not_accepted(void **state)
{
	char dir[] = "/tmp/glm-test-ctl.XXXXXX", path[64], *reply = NULL;
	uint64_t t0;
	double ms;
	int lfd, r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	lfd = stuck_listener(path, NULL);
	alarm(10); /* the old code blocks in connect() for ever: fail, do not hang */
	for (int i = 0; i < 3; i++) {
		t0 = now_ns();
		r = ctl_request(path, "status", &reply, 300);
		ms = ns_to_ms(now_ns() - t0);
		print_message("request %d: %s after %.0f ms\n", i + 1, strerror(-r), ms);
		assert_int_equal(r, -ETIMEDOUT);
		assert_null(reply);
		assert_true(ms >= 295 && ms < 300 + 200);
	}
	alarm(0);
	close(lfd);
	unlink(path);
	rmdir(dir);
}

/* The queue is full for a moment (a burst of hooks, the loop busy): the
 * request waits for room within its deadline and is served, as a
 * blocking connect() would have been, instead of failing at once. */
static void test_request_waits_for_room(void **state)
{
	char dir[] = "/tmp/glm-test-ctl.XXXXXX", path[64], *reply = NULL;
	struct calls c = { 0 };
	int lfd, held;
	uint64_t t0;
	double ms;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	lfd = stuck_listener(path, &held);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int cfd;

		/* busy for 150 ms, then the connection that held the queue
		 * (dropped) and ours (served) */
		close(held);
		usleep(150 * 1000);
		cfd = accept(lfd, NULL, NULL);
		if (cfd < 0)
			_exit(1);
		close(cfd);
		cfd = accept(lfd, NULL, NULL);
		_exit(cfd >= 0 && ctl_serve_conn(cfd, handler, &c) == 0 && c.n == 1 ? 0 : 1);
	}
	close(held);
	alarm(10);
	t0 = now_ns();
	assert_int_equal(ctl_request(path, "stats", &reply, 2000), 0);
	ms = ns_to_ms(now_ns() - t0);
	alarm(0);
	print_message("served after %.0f ms\n", ms);
	assert_string_equal(reply, "argc=1 first=stats\n");
	assert_true(ms >= 100 && ms < 1000);
	free(reply);
	server_done(pid, lfd, path, dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_and_reply),
		cmocka_unit_test(test_request_in_pieces),
		cmocka_unit_test(test_trickling_client_dropped),
		cmocka_unit_test(test_reply_not_read),
		cmocka_unit_test(test_long_reply_whole),
		cmocka_unit_test(test_request_not_accepted),
		cmocka_unit_test(test_request_waits_for_room),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
