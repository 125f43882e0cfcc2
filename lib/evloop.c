/* The daemons' event loop: epoll for descriptors, a sorted intrusive list
 * of timer objects, a signalfd for signals. See evloop.h for the contract.
 *
 * A watched descriptor's slot is named in its epoll event by index and
 * generation, so an event already fetched for a descriptor that a callback
 * unwatched earlier in the same batch is recognised and dropped, even if
 * the slot was reused meanwhile. */
#include "evloop.h"
#include "log.h"
#include "util.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define EV_MAX_SIGNALS 8
#define EV_BATCH 64
/* Turns in a row with a timer already due: past this, a module keeps
 * re-arming a timer in the past and the loop says which. */
#define EV_SPIN_WARN 10000

struct ev_watch {
	int fd;                  /* -1: free */
	uint32_t gen;
	ev_fd_fn fn;
	void *arg;
};

struct evloop {
	int epfd, sigfd;
	struct ev_watch *w;
	unsigned nw, capw;
	struct ev_timer *timers;         /* sorted by due_ns */
	sigset_t sigs;
	struct {
		int sig;
		ev_signal_fn fn;
		void *arg;
	} sig[EV_MAX_SIGNALS];
	unsigned nsig;
	bool running;
	int code;
	uint64_t now;
};

int evloop_new(struct evloop **out)
{
	struct evloop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->sigfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int e = -errno;
		free(l);
		return e;
	}
	sigemptyset(&l->sigs);
	l->now = now_ns();
	*out = l;
	return 0;
}

void evloop_free(struct evloop *l)
{
	if (!l)
		return;
	while (l->timers)
		ev_timer_stop(l->timers);
	if (l->sigfd >= 0)
		close(l->sigfd);
	close(l->epfd);
	free(l->w);
	free(l);
}

int ev_watch(struct evloop *l, int fd, ev_fd_fn fn, void *arg)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned i;

	if (fd < 0 || !fn)
		return -EINVAL;
	for (i = 0; i < l->nw; i++)
		if (l->w[i].fd < 0)
			break;
	if (i == l->nw) {
		if (l->nw == l->capw) {
			unsigned cap = l->capw ? l->capw * 2 : 16;
			struct ev_watch *nw = realloc(l->w, cap * sizeof(*nw));

			if (!nw)
				return -ENOMEM;
			l->w = nw;
			l->capw = cap;
		}
		l->w[l->nw++] = (struct ev_watch){ .fd = -1 };
	}
	ev.data.u64 = (uint64_t)(l->w[i].gen + 1) << 32 | i;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	l->w[i].gen++;
	l->w[i].fd = fd;
	l->w[i].fn = fn;
	l->w[i].arg = arg;
	return 0;
}

void ev_unwatch(struct evloop *l, int fd)
{
	for (unsigned i = 0; i < l->nw; i++)
		if (l->w[i].fd == fd) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
			l->w[i].fd = -1;
			l->w[i].fn = NULL;
		}
}

void ev_timer_init(struct ev_timer *t, const char *name, ev_timer_fn fn, void *arg)
{
	*t = (struct ev_timer){ .fn = fn, .arg = arg, .name = name };
}

void ev_timer_stop(struct ev_timer *t)
{
	if (!t->pprev)
		return;
	if (t->next)
		t->next->pprev = t->pprev;
	*t->pprev = t->next;
	t->next = NULL;
	t->pprev = NULL;
}

void ev_timer_at(struct evloop *l, struct ev_timer *t, uint64_t due_ns)
{
	struct ev_timer **pp = &l->timers;

	ev_timer_stop(t);
	/* after every timer due at the same time: first armed, first run */
	while (*pp && (*pp)->due_ns <= due_ns)
		pp = &(*pp)->next;
	t->due_ns = due_ns;
	t->next = *pp;
	if (*pp)
		(*pp)->pprev = &t->next;
	*pp = t;
	t->pprev = pp;
}

void ev_timer_in(struct evloop *l, struct ev_timer *t, uint64_t ms)
{
	ev_timer_at(l, t, now_ns() + ms * 1000000ull);
}

unsigned evloop_timers(const struct evloop *l)
{
	unsigned n = 0;

	for (const struct ev_timer *t = l->timers; t; t = t->next)
		n++;
	return n;
}

uint64_t evloop_now(const struct evloop *l)
{
	return l->now;
}

static void signal_input(void *arg)
{
	struct evloop *l = arg;
	struct signalfd_siginfo si;

	while (read(l->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		for (unsigned i = 0; i < l->nsig; i++)
			if (l->sig[i].sig == (int)si.ssi_signo)
				l->sig[i].fn((int)si.ssi_signo, l->sig[i].arg);
}

int ev_signal(struct evloop *l, int sig, ev_signal_fn fn, void *arg)
{
	int fd, r;

	if (l->nsig == EV_MAX_SIGNALS)
		return -ENOSPC;
	sigaddset(&l->sigs, sig);
	if (sigprocmask(SIG_BLOCK, &l->sigs, NULL) < 0)
		return -errno;
	fd = signalfd(l->sigfd, &l->sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (l->sigfd < 0) {
		l->sigfd = fd;
		r = ev_watch(l, fd, signal_input, l);
		if (r < 0)
			return r;
	}
	l->sig[l->nsig].sig = sig;
	l->sig[l->nsig].fn = fn;
	l->sig[l->nsig].arg = arg;
	l->nsig++;
	return 0;
}

void evloop_stop(struct evloop *l, int code)
{
	l->running = false;
	l->code = code;
}

/* Run every timer due by now, once: they are moved to a list of their own
 * first, so one that its callback re-arms waits for the next turn. */
static void run_timers(struct evloop *l, uint64_t now)
{
	struct ev_timer *due = NULL, **tail = &due;

	while (l->timers && l->timers->due_ns <= now) {
		struct ev_timer *t = l->timers;

		ev_timer_stop(t);
		*tail = t;
		t->pprev = tail;
		tail = &t->next;
	}
	while (due && l->running) {
		struct ev_timer *t = due;

		ev_timer_stop(t);
		t->fn(t->arg);
	}
	while (due)
		ev_timer_stop(due);
}

int evloop_run(struct evloop *l)
{
	struct epoll_event evs[EV_BATCH];
	unsigned spin = 0;

	l->running = true;
	l->code = 0;
	while (l->running) {
		int timeout = -1, n;

		l->now = now_ns();
		if (l->timers) {
			uint64_t due = l->timers->due_ns;

			if (due <= l->now) {
				timeout = 0;
				if (++spin == EV_SPIN_WARN)
					log_warnx("event loop: timer '%s' due again at once %u turns in a row",
						  l->timers->name ? l->timers->name : "?", spin);
			} else {
				uint64_t ms = (due - l->now + 999999) / 1000000;

				timeout = ms > 60000 ? 60000 : (int)ms;
				spin = 0;
			}
		}
		n = epoll_wait(l->epfd, evs, EV_BATCH, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && l->running; i++) {
			uint32_t idx = (uint32_t)evs[i].data.u64, gen = (uint32_t)(evs[i].data.u64 >> 32);

			if (idx < l->nw && l->w[idx].fd >= 0 && l->w[idx].gen == gen)
				l->w[idx].fn(l->w[idx].arg);
		}
		l->now = now_ns();
		if (l->running)
			run_timers(l, l->now);
	}
	return l->code;
}
