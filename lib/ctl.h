/* Control sockets: a daemon's unix stream socket and its CLI's client.
 * One request line (words split by conf_split), one reply:
 *   "ok\n" BODY        or        "error: MESSAGE\n"
 * The handler writes the body (or the error message) to out. */
#ifndef GLM_CTL_H
#define GLM_CTL_H
#include <stdio.h>

/* A request line, newline included: room for the hook's longest
 * (HOOKREQ_MAX, lib/hookreq.h); a longer one is refused, never cut. */
#define GLM_CTL_MAXREPLY (64u << 20) /* a reply longer is refused by ctl_request */
#define GLM_CTL_MAXREQ 8192
/* A daemon serves its control socket from its one loop, a connection at a
 * time: a client has GLM_CTL_REQUEST_MS from its accept to send the whole
 * request line, and GLM_CTL_REPLY_MS to take the whole reply once it is
 * ready. One that is slower is dropped and logged, so a stuck or trickling
 * client holds the loop for a bounded time, not for as long as it likes. */
#define GLM_CTL_REQUEST_MS 1000
#define GLM_CTL_REPLY_MS 1000

typedef int (*ctl_fn)(void *ctx, int argc, char **argv, FILE *out);

int ctl_listen(const char *path);
/* Accept one pending connection and serve its request. */
int ctl_serve(int lfd, ctl_fn fn, void *ctx);
/* Serve the request on a connection already accepted (or one end of a
 * socketpair), within the deadlines above; closes cfd. */
int ctl_serve_conn(int cfd, ctl_fn fn, void *ctx);
/* Send req and take the whole reply, all within timeout_ms: connecting
 * (waiting for room while the daemon's queue is full), the request and
 * the reply; *reply is malloc'ed (body or message). Returns 0 for "ok",
 * 1 for "error", -errno if the daemon could not be asked (-ETIMEDOUT: it
 * did not accept, take the request or answer in time). */
int ctl_request(const char *path, const char *req, char **reply, int timeout_ms);
#endif
