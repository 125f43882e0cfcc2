/* The one event loop of glm's daemons (imsd, glm-agentd, matd), after
 * smcroute's socket.c/timer.c: modules register a file descriptor with a
 * callback, and own timer objects that they arm and stop themselves; the
 * loop runs until someone calls evloop_stop(). No module computes the
 * loop's next deadline: the loop takes it from the earliest armed timer.
 * Signals arrive through the loop too (a signalfd), so a handler is
 * ordinary code, not an async-signal context, and none is ever missed
 * between a check and the wait.
 *
 * A timer is a struct the owning object embeds (struct ev_timer t in a VM,
 * a relay session...), so it goes away with its owner: stop it first
 * (ev_timer_stop is a no-op on a stopped timer). Callbacks may arm, stop
 * and re-arm any timer and unwatch any descriptor, their own included.
 * Timers that come due are run once per loop turn; one re-armed for a time
 * already past runs in the next turn, after the descriptors that are ready.
 */
#ifndef GLM_EVLOOP_H
#define GLM_EVLOOP_H
#include <stdbool.h>
#include <stdint.h>

struct evloop;

typedef void (*ev_fd_fn)(void *arg);
typedef void (*ev_timer_fn)(void *arg);
typedef void (*ev_signal_fn)(int sig, void *arg);

struct ev_timer {
	struct ev_timer *next, **pprev;  /* in the loop's list, sorted by due_ns; pprev NULL: stopped */
	uint64_t due_ns;                  /* CLOCK_MONOTONIC */
	ev_timer_fn fn;
	void *arg;
	const char *name;                 /* for the log, e.g. "vm", "relay session" */
};

int evloop_new(struct evloop **out);
void evloop_free(struct evloop *l);

/* Watch fd for input (EPOLLIN); fn(arg) runs when it is readable. */
int ev_watch(struct evloop *l, int fd, ev_fd_fn fn, void *arg);
void ev_unwatch(struct evloop *l, int fd);

void ev_timer_init(struct ev_timer *t, const char *name, ev_timer_fn fn, void *arg);
/* Arm (or move) t to fire at due_ns, or after ms milliseconds. */
void ev_timer_at(struct evloop *l, struct ev_timer *t, uint64_t due_ns);
void ev_timer_in(struct evloop *l, struct ev_timer *t, uint64_t ms);
void ev_timer_stop(struct ev_timer *t);
static inline bool ev_timer_armed(const struct ev_timer *t) { return t->pprev != 0; }

/* Deliver sig through the loop (the signal is blocked for the process). */
int ev_signal(struct evloop *l, int sig, ev_signal_fn fn, void *arg);

/* Run until evloop_stop(); returns its code, or -errno if waiting failed. */
int evloop_run(struct evloop *l);
void evloop_stop(struct evloop *l, int code);
/* The time the current turn started (CLOCK_MONOTONIC ns). */
uint64_t evloop_now(const struct evloop *l);
/* How many timers are armed (for status and tests). */
unsigned evloop_timers(const struct evloop *l);
#endif
