/* Unit tests of the daemons' event loop: timers run in due order, a timer
 * re-armed or stopped from a callback (its own or another's) behaves, a
 * descriptor unwatched while its event is pending is not called, signals
 * arrive through the loop, and no timer owned by a freed object runs. */
#include "evloop.h"
#include "util.h"
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

struct rec {
	struct evloop *l;
	char order[32];
	unsigned n;
};

struct obj {
	struct rec *r;
	char tag;
	struct ev_timer t;
	struct obj *other;   /* stop this one when we run */
	unsigned rearm;      /* re-arm ourselves this many times */
	bool stop_loop;
};

static void obj_fire(void *arg)
{
	struct obj *o = arg;

	o->r->order[o->r->n++] = o->tag;
	if (o->other)
		ev_timer_stop(&o->other->t);
	if (o->rearm) {
		o->rearm--;
		ev_timer_in(o->r->l, &o->t, 1);
	}
	if (o->stop_loop)
		evloop_stop(o->r->l, 7);
}

static void test_timers_in_order(void **state)
{
	struct rec r = { 0 };
	struct obj a = { .r = &r, .tag = 'a' }, b = { .r = &r, .tag = 'b' }, c = { .r = &r, .tag = 'c' }, d = { .r = &r, .tag = 'd' };
	uint64_t now;

	assert_int_equal(evloop_new(&r.l), 0);
	ev_timer_init(&a.t, "a", obj_fire, &a);
	ev_timer_init(&b.t, "b", obj_fire, &b);
	ev_timer_init(&c.t, "c", obj_fire, &c);
	ev_timer_init(&d.t, "d", obj_fire, &d);
	now = now_ns();
	ev_timer_at(r.l, &c.t, now + 3000000);
	ev_timer_at(r.l, &a.t, now + 1000000);
	ev_timer_at(r.l, &b.t, now + 2000000);
	ev_timer_at(r.l, &d.t, now + 9000000);
	/* moved: armed again later than d */
	ev_timer_at(r.l, &b.t, now + 5000000);
	assert_int_equal(evloop_timers(r.l), 4);
	d.stop_loop = true;
	assert_int_equal(evloop_run(r.l), 7);
	assert_string_equal(r.order, "acbd");
	assert_int_equal(evloop_timers(r.l), 0);
	evloop_free(r.l);
}

static void test_rearm_and_stop_from_callbacks(void **state)
{
	struct rec r = { 0 };
	struct obj a = { .r = &r, .tag = 'a' }, b = { .r = &r, .tag = 'b' }, e = { .r = &r, .tag = 'e' };

	assert_int_equal(evloop_new(&r.l), 0);
	ev_timer_init(&a.t, "a", obj_fire, &a);
	ev_timer_init(&b.t, "b", obj_fire, &b);
	ev_timer_init(&e.t, "e", obj_fire, &e);
	/* a and b due at once: a runs first and stops b, which never runs */
	a.other = &b;
	a.rearm = 3;
	ev_timer_in(r.l, &a.t, 0);
	ev_timer_in(r.l, &b.t, 0);
	e.stop_loop = true;
	ev_timer_in(r.l, &e.t, 30);
	assert_int_equal(evloop_run(r.l), 7);
	assert_string_equal(r.order, "aaaae");
	assert_false(ev_timer_armed(&b.t));
	/* stopping a stopped timer is harmless */
	ev_timer_stop(&b.t);
	evloop_free(r.l);
}

struct fdrec {
	struct evloop *l;
	int fds[2][2];
	unsigned calls[2];
};

static struct fdrec *gf;

static void fd0_input(void *arg)
{
	char b[8];

	(void)arg;
	gf->calls[0]++;
	assert_true(read(gf->fds[0][0], b, sizeof(b)) > 0);
	/* the other descriptor is ready too, in this same batch: unwatch it */
	ev_unwatch(gf->l, gf->fds[1][0]);
}

static void fd1_input(void *arg)
{
	(void)arg;
	gf->calls[1]++;
}

static void stop_now(void *arg)
{
	evloop_stop(arg, 0);
}

static void test_unwatch_pending(void **state)
{
	struct fdrec f = { 0 };
	struct ev_timer t;

	gf = &f;
	assert_int_equal(evloop_new(&f.l), 0);
	assert_int_equal(pipe(f.fds[0]), 0);
	assert_int_equal(pipe(f.fds[1]), 0);
	assert_int_equal(ev_watch(f.l, f.fds[0][0], fd0_input, NULL), 0);
	assert_int_equal(ev_watch(f.l, f.fds[1][0], fd1_input, NULL), 0);
	assert_int_equal(ev_watch(f.l, -1, fd1_input, NULL), -EINVAL);
	assert_int_equal(write(f.fds[1][1], "x", 1), 1);
	assert_int_equal(write(f.fds[0][1], "x", 1), 1);
	ev_timer_init(&t, "stop", stop_now, f.l);
	ev_timer_in(f.l, &t, 20);
	assert_int_equal(evloop_run(f.l), 0);
	assert_int_equal(f.calls[0], 1);
	/* epoll may report fd1 first (then it ran once) or second (then not
	 * at all); never after it was unwatched */
	assert_true(f.calls[1] <= 1);
	for (int i = 0; i < 2; i++) {
		close(f.fds[i][0]);
		close(f.fds[i][1]);
	}
	evloop_free(f.l);
}

static int got_sig;

static void on_sig(int sig, void *arg)
{
	got_sig = sig;
	evloop_stop(arg, 3);
}

static void test_signal_through_loop(void **state)
{
	struct evloop *l;

	assert_int_equal(evloop_new(&l), 0);
	assert_int_equal(ev_signal(l, SIGUSR1, on_sig, l), 0);
	assert_int_equal(ev_signal(l, SIGHUP, on_sig, l), 0);
	/* blocked now: raising it only makes it pending, for the loop */
	raise(SIGHUP);
	assert_int_equal(evloop_run(l), 3);
	assert_int_equal(got_sig, SIGHUP);
	evloop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_in_order),
		cmocka_unit_test(test_rearm_and_stop_from_callbacks),
		cmocka_unit_test(test_unwatch_pending),
		cmocka_unit_test(test_signal_through_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
