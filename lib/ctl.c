/* Unix-socket control channel shared by the daemons and their CLIs. */
#include "ctl.h"
#include "conf.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int ctl_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

int ctl_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd, r = ctl_addr(path, &sun);

	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	/* room for a host's hooks all at once (libvirt runs one per domain
	 * and migration: an evacuation is dozens); 16 made a burst past ~20
	 * wait in ctl_request's retries */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 128) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Milliseconds from now to deadline (a now_ns() time), rounded up; 0 once
 * it has passed. */
static int ms_until(uint64_t deadline)
{
	uint64_t now = now_ns();

	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

/* Read until newline (stop_at_nl) or EOF, or until cap - 1 bytes. One
 * deadline for the whole, however the bytes are spread: a peer that
 * trickles them cannot push it back. *len is what arrived, also on
 * failure. Returns 0 or -errno (-ETIMEDOUT). */
static int read_all(int fd, char *buf, size_t cap, uint64_t deadline, bool stop_at_nl, size_t *len)
{
	int r = 0;

	*len = 0;
	while (*len + 1 < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n = recv(fd, buf + *len, cap - 1 - *len, MSG_DONTWAIT);

		if (n > 0) {
			bool nl = stop_at_nl && memchr(buf + *len, '\n', (size_t)n);

			*len += (size_t)n;
			if (nl)
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			r = -errno;
			break;
		}
		n = poll(&p, 1, ms_until(deadline));
		if (n == 0) {
			r = -ETIMEDOUT;
			break;
		}
		if (n < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
	}
	buf[*len] = '\0';
	return r;
}

/* Write all of p by the deadline; *done counts what went. Returns 0 or
 * -errno (-ETIMEDOUT, -EPIPE when the peer has gone). */
static int write_all(int fd, const char *p, size_t len, uint64_t deadline, size_t *done)
{
	while (len) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			*done += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		n = poll(&pf, 1, ms_until(deadline));
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

/* "client pid 1234 (uid 0)": whom a log line is about. */
static const char *peer_name(int fd, char *buf, size_t size)
{
	struct ucred uc;
	socklen_t l = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &l) < 0)
		snprintf(buf, size, "client (unknown)");
	else
		snprintf(buf, size, "client pid %d (uid %u)", (int)uc.pid, (unsigned)uc.uid);
	return buf;
}

/* The reply: "ok\n" BODY, or "error: " MESSAGE "\n". */
static int write_reply(int fd, int result, const char *body, size_t blen, uint64_t deadline, size_t *done)
{
	int r;

	*done = 0;
	if (result == 0) {
		r = write_all(fd, "ok\n", 3, deadline, done);
		return r ? r : write_all(fd, body, blen, deadline, done);
	}
	r = write_all(fd, "error: ", 7, deadline, done);
	if (!r)
		r = write_all(fd, body, blen, deadline, done);
	if (!r && (!blen || body[blen - 1] != '\n'))
		r = write_all(fd, "\n", 1, deadline, done);
	return r;
}

int ctl_serve(int lfd, ctl_fn fn, void *ctx)
{
	int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (cfd < 0)
		return errno == EAGAIN ? 0 : -errno;
	return ctl_serve_conn(cfd, fn, ctx);
}

int ctl_serve_conn(int cfd, ctl_fn fn, void *ctx)
{
	char req[GLM_CTL_MAXREQ], *argv[GLM_CONF_MAXARGS], *body = NULL, who[64];
	uint64_t t0 = now_ns();
	size_t len, blen = 0;
	int argc, r, e;
	bool cut;
	FILE *out;

	e = read_all(cfd, req, sizeof(req), t0 + GLM_CTL_REQUEST_MS * 1000000ull, true, &len);
	if (e == -ETIMEDOUT) {
		log_warnx("control: %s too slow: no request line after %u ms (%zu bytes), dropped",
			  peer_name(cfd, who, sizeof(who)), GLM_CTL_REQUEST_MS, len);
		r = 0;
		goto cleanup;
	}
	if (e < 0) {
		log_warnx("control: %s gave up after %zu bytes: %s", peer_name(cfd, who, sizeof(who)), len,
			  strerror(-e));
		r = 0;
		goto cleanup;
	}
	/* a line that fills the buffer is cut: refused, never served cut */
	cut = len == sizeof(req) - 1 && !memchr(req, '\n', len);
	req[strcspn(req, "\n")] = '\0';
	out = open_memstream(&body, &blen);
	if (!out) {
		r = -ENOMEM;
		goto cleanup;
	}
	argc = cut ? -E2BIG : conf_split(req, argv, GLM_CONF_MAXARGS);
	if (cut) {
		fprintf(out, "request longer than %d bytes", GLM_CTL_MAXREQ - 2);
		r = -EINVAL;
	} else if (argc <= 0) {
		fprintf(out, "empty or overlong request");
		r = -EINVAL;
	} else {
		r = fn(ctx, argc, argv, out);
	}
	fclose(out);
	/* The handler's own time is not the client's: the reply gets its
	 * own deadline, so one that is never read cannot hold us either. */
	e = write_reply(cfd, r, body, blen, now_ns() + GLM_CTL_REPLY_MS * 1000000ull, &len);
	if (e == -ETIMEDOUT)
		log_warnx("control: %s too slow: reply not taken after %u ms (%zu of %zu bytes), dropped",
			  peer_name(cfd, who, sizeof(who)), GLM_CTL_REPLY_MS, len, blen);
	else if (e < 0)
		log_warnx("control: %s gave up before the reply (%zu of %zu bytes): %s",
			  peer_name(cfd, who, sizeof(who)), len, blen, strerror(-e));
	r = 0;
cleanup:
	free(body);
	close(cfd);
	return r;
}

/* Connect fd (non-blocking) to sun by the deadline. A blocking connect()
 * to a listener whose queue is full waits, with no bound, until it
 * accepts: a daemon whose loop is stuck (a queue of 16, which the kernel
 * lets hold 17) held every client from the 18th on, and libvirt with the
 * hook. Non-blocking, AF_UNIX connects at once or
 * fails: EAGAIN when the queue is full, and no poll() waits for room (an
 * unconnected socket polls writable at once), so it is tried again after
 * a nap of 1, 2, 4 ... 16 ms until the deadline. A daemon busy for a
 * moment (a burst of hooks) is then reached within the deadline, as it
 * was before; one that never accepts gets -ETIMEDOUT, as one that never
 * answers does. */
static int connect_by(int fd, const struct sockaddr_un *sun, uint64_t deadline)
{
	int nap = 1, left;

	while (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0) {
		if (errno != EAGAIN)
			return -errno;
		left = ms_until(deadline);
		if (!left)
			return -ETIMEDOUT;
		poll(NULL, 0, nap < left ? nap : left);
		if (nap < 16)
			nap *= 2;
	}
	return 0;
}

int ctl_request(const char *path, const char *req, char **reply, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct sockaddr_un sun;
	size_t cap = 1 << 20, n = 0;
	char *buf = NULL;
	int fd, r = ctl_addr(path, &sun);

	*reply = NULL;
	if (r)
		return r;
	/* one deadline for the whole: connect, request, reply */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect_by(fd, &sun, deadline);
	if (r)
		goto cleanup;
	r = write_all(fd, req, strlen(req), deadline, &n);
	if (!r)
		r = write_all(fd, "\n", 1, deadline, &n);
	if (r)
		goto cleanup;
	shutdown(fd, SHUT_WR);
	/* the whole reply within timeout_ms, as for the daemon's side; the
	 * buffer grows with it (a host's status is megabytes at hundreds of
	 * VMs), never cut short: too long is an error */
	n = 0;
	for (;;) {
		size_t got;
		char *b = realloc(buf, cap);

		if (!b) {
			r = -ENOMEM;
			goto cleanup;
		}
		buf = b;
		r = read_all(fd, buf + n, cap - n, deadline, false, &got);
		n += got;
		if (r)
			goto cleanup;
		if (n + 1 < cap)
			break;
		if (cap >= GLM_CTL_MAXREPLY) {
			r = -EMSGSIZE;
			goto cleanup;
		}
		cap *= 2;
	}
	if (!strncmp(buf, "ok\n", 3)) {
		memmove(buf, buf + 3, n - 2);
		r = 0;
	} else if (!strncmp(buf, "error: ", 7)) {
		memmove(buf, buf + 7, n - 6);
		r = 1;
	} else {
		r = -EPROTO;
		goto cleanup;
	}
	*reply = buf;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return r;
}
