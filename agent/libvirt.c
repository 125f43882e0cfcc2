/* glm-agentd and libvirt (with "libvirt-uri" configured):
 *   - record each VM's groups in its live domain metadata (glm's own XML
 *     namespace, glm-metadata(5)), so the XML of a migration carries them
 *     to the destination's hook;
 *   - find the domains already running at start (an agent restarted under
 *     running VMs) and follow domain lifecycle events, so a domain whose
 *     hook was missed is still mapped to its taps;
 *   - survive libvirtd restarts (which installing the hook causes): a
 *     close callback notices the connection going, the event thread
 *     reconnects every second until libvirtd answers and then
 *     resynchronises, as at start (a domain that resumed meanwhile has
 *     its held flooding released), and the worker reopens its own
 *     connection when it finds it dead.
 * libvirt calls block, and libvirtd may be busy running our own hook for
 * that very domain: they run in worker threads, never in the event loop
 * and never in answer to a hook's request. Results reach the loop through
 * a pipe, one pointer to a malloc'ed record per write. */
#include "agent_int.h"
#include "log.h"
#include "strbuf.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JOBS 32

struct lv_note {                 /* worker -> loop */
	enum vm_event ev;
	char name[256];
	char *xml;               /* RUNNING: the domain XML */
};

struct agent_libvirt {
	struct agentd *a;
	pthread_t thread, events;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool running, events_running, stop;
	char uri[256];
	int pipe[2];
	virConnectPtr evconn;
	int cb_id;
	int lost_reason;                 /* set by the close callback, -1: connected */
	unsigned head, tail;
	struct job { char name[256]; bool fetch; char xml[8192]; } jobs[JOBS]; /* fetch: its XML, else set xml as metadata */
	struct domxml d;                 /* pipe_input's: too big for the stack */
};

static void silent(void *ud, virErrorPtr e) { (void)ud; (void)e; }
static void wake(int timer, void *opaque) { virEventRemoveTimeout(timer); (void)opaque; }

static const char *lv_error(void)
{
	virErrorPtr e = virGetLastError();
	return e && e->message ? e->message : "failed";
}

static void notify_loop(struct agent_libvirt *lv, enum vm_event ev, const char *name, char *xml)
{
	struct lv_note *n = calloc(1, sizeof(*n));

	if (!n) {
		free(xml);
		return;
	}
	n->ev = ev;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->xml = xml;
	if (write(lv->pipe[1], &n, sizeof(n)) != sizeof(n)) {
		free(n->xml);
		free(n);
	}
}

static void post_running(struct agent_libvirt *lv, virDomainPtr dom)
{
	char *xml = virDomainGetXMLDesc(dom, 0);

	if (xml)
		notify_loop(lv, VM_EV_RUNNING, virDomainGetName(dom), xml);
}

static int on_lifecycle(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct agent_libvirt *lv = opaque;

	(void)c, (void)detail;
	/* At RESUMED the guest has just started running again: the XML is
	 * fetched afterwards, and only for a domain the agent does not know
	 * (libvirt_fetch), not in the way of the guest's first milliseconds. */
	if (event == VIR_DOMAIN_EVENT_RESUMED)
		notify_loop(lv, VM_EV_RESUMED, virDomainGetName(dom), NULL);
	if (event == VIR_DOMAIN_EVENT_STARTED)
		post_running(lv, dom);
	else if (event == VIR_DOMAIN_EVENT_STOPPED)
		notify_loop(lv, VM_EV_RELEASE, virDomainGetName(dom), NULL);
	return 0;
}

static const char *close_reason(int r)
{
	switch (r) {
	case VIR_CONNECT_CLOSE_REASON_ERROR: return "I/O error";
	case VIR_CONNECT_CLOSE_REASON_EOF: return "libvirtd closed it";
	case VIR_CONNECT_CLOSE_REASON_KEEPALIVE: return "keepalive timeout";
	case VIR_CONNECT_CLOSE_REASON_CLIENT: return "closed here";
	default: return "unknown reason";
	}
}

static void on_close(virConnectPtr c, int reason, void *opaque)
{
	struct agent_libvirt *lv = opaque;

	(void)c;
	__atomic_store_n(&lv->lost_reason, reason, __ATOMIC_RELEASE);
}

static bool stopping(struct agent_libvirt *lv)
{
	return __atomic_load_n(&lv->stop, __ATOMIC_ACQUIRE);
}

/* Every running domain, as at start: its XML (a domain the agent does not
 * know is taken on), and RESUMED for one that runs (idempotent for the
 * agent: what waits for the resume is released, nothing else). */
static void resync(struct agent_libvirt *lv, virConnectPtr conn)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	for (int i = 0; i < n; i++) {
		int state = 0, reason = 0;

		post_running(lv, doms[i]);
		if (virDomainGetState(doms[i], &state, &reason, 0) == 0 && state == VIR_DOMAIN_RUNNING)
			notify_loop(lv, VM_EV_RESUMED, virDomainGetName(doms[i]), NULL);
		virDomainFree(doms[i]);
	}
	free(doms);
}

/* Event thread: its own connection, libvirt's default event loop; on
 * losing the connection, a new one every second until libvirtd answers. */
static void *events_thread(void *arg)
{
	struct agent_libvirt *lv = arg;
	unsigned failures = 0, sessions = 0;

	while (!stopping(lv)) {
		int reason;

		lv->evconn = virConnectOpen(lv->uri);
		if (!lv->evconn) {
			if (failures++ == 0)
				log_warnx("libvirt %s: cannot connect (%s): domains are known from the hook only; "
					  "retrying every second", lv->uri, lv_error());
			for (int i = 0; i < 10 && !stopping(lv); i++)
				usleep(100000);
			continue;
		}
		if (sessions++ || failures)
			log_info("libvirt %s: connected again: resynchronising its domains", lv->uri);
		failures = 0;
		__atomic_store_n(&lv->lost_reason, -1, __ATOMIC_RELEASE);
		if (virConnectRegisterCloseCallback(lv->evconn, on_close, lv, NULL) < 0)
			log_warnx("libvirt: close callback: %s", lv_error());
		/* a libvirtd that hangs is noticed too, not only one that exits */
		virConnectSetKeepAlive(lv->evconn, 5, 3);
		resync(lv, lv->evconn);
		lv->cb_id = virConnectDomainEventRegisterAny(lv->evconn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
							    VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), lv, NULL);
		if (lv->cb_id < 0)
			log_warnx("libvirt: domain events: %s", lv_error());
		while (!stopping(lv) && __atomic_load_n(&lv->lost_reason, __ATOMIC_ACQUIRE) < 0)
			if (virEventRunDefaultImpl() < 0)
				break;
		reason = __atomic_load_n(&lv->lost_reason, __ATOMIC_ACQUIRE);
		if (lv->cb_id >= 0 && reason < 0)
			virConnectDomainEventDeregisterAny(lv->evconn, lv->cb_id);
		lv->cb_id = -1;
		virConnectUnregisterCloseCallback(lv->evconn, on_close);
		virConnectClose(lv->evconn);
		lv->evconn = NULL;
		if (reason >= 0 && !stopping(lv))
			log_warnx("libvirt %s: connection lost (%s): reconnecting", lv->uri, close_reason(reason));
	}
	return NULL;
}

/* The worker's connection, opened again if libvirtd went away under it. */
static virConnectPtr worker_conn(struct agent_libvirt *lv, virConnectPtr conn)
{
	if (conn && virConnectIsAlive(conn) == 1)
		return conn;
	if (conn) {
		log_info("libvirt %s: the worker's connection is gone: opening a new one", lv->uri);
		virConnectClose(conn);
	}
	return virConnectOpen(lv->uri);
}

static void *worker(void *arg)
{
	struct agent_libvirt *lv = arg;
	virConnectPtr conn = NULL;

	pthread_mutex_lock(&lv->lock);
	for (;;) {
		struct job j;
		virDomainPtr dom;

		while (lv->head == lv->tail && !lv->stop)
			pthread_cond_wait(&lv->cond, &lv->lock);
		if (lv->stop)
			break;
		j = lv->jobs[lv->tail++ % JOBS];
		pthread_mutex_unlock(&lv->lock);
		conn = worker_conn(lv, conn);
		dom = conn ? virDomainLookupByName(conn, j.name) : NULL;
		if (!dom && conn && virConnectIsAlive(conn) != 1) {
			/* gone since the check above: once more, on a new one */
			conn = worker_conn(lv, conn);
			dom = conn ? virDomainLookupByName(conn, j.name) : NULL;
		}
		if (!conn) {
			log_warnx("libvirt %s: cannot connect (%s): %s of %s not %s", lv->uri, lv_error(),
				  j.fetch ? "XML" : "metadata", j.name, j.fetch ? "read" : "recorded");
		} else if (!dom) {
			if (virConnectIsAlive(conn) == 1)
				log_debug("libvirt: no domain %s", j.name);
			else
				log_warnx("libvirt %s: connection lost (%s): %s of %s not %s", lv->uri, lv_error(),
					  j.fetch ? "XML" : "metadata", j.name, j.fetch ? "read" : "recorded");
		} else if (j.fetch) {
			post_running(lv, dom);
			virDomainFree(dom);
		} else {
			if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, j.xml, "glm", GLM_XMLNS,
						 VIR_DOMAIN_AFFECT_LIVE) < 0)
				log_warnx("libvirt: metadata of %s: %s", j.name, lv_error());
			else
				log_info("libvirt: groups of %s recorded in its metadata", j.name);
			virDomainFree(dom);
		}
		pthread_mutex_lock(&lv->lock);
	}
	pthread_mutex_unlock(&lv->lock);
	if (conn)
		virConnectClose(conn);
	return NULL;
}

static void libvirt_fetch(struct agent_libvirt *lv, const char *name);

static void pipe_input(struct agentd *a, void *arg)
{
	struct agent_libvirt *lv = arg;
	struct domxml *d = &lv->d;
	struct lv_note *n;
	char err[256];
	FILE *out = fopen("/dev/null", "w");

	while (read(lv->pipe[0], &n, sizeof(n)) == sizeof(n)) {
		if (n->ev == VM_EV_RESUMED) {
			if (vm_find(a, n->name))
				vm_resumed(a, n->name);
			else
				libvirt_fetch(lv, n->name);
		} else if (n->ev == VM_EV_RELEASE) {
			memset(d, 0, sizeof(*d));
			d->id = -1;
			snprintf(d->name, sizeof(d->name), "%s", n->name);
			if (vm_find(a, d->name))
				vm_request(a, VM_EV_RELEASE, d, false, out ? out : stderr);
		} else if (domxml_parse(n->xml, strlen(n->xml), d, err, sizeof(err)) < 0) {
			log_warnx("libvirt: domain %s: %s", n->name, err);
		} else if (!vm_find(a, d->name) && d->has_mobility) {
			vm_request(a, VM_EV_RUNNING, d, false, out ? out : stderr);
		}
		free(n->xml);
		free(n);
	}
	if (out)
		fclose(out);
}

void libvirt_init(struct agentd *a)
{
	struct agent_libvirt *lv;

	if (!a->conf.use_libvirt)
		return;
	if (!(lv = calloc(1, sizeof(*lv)))) {
		log_warnx("libvirt: out of memory: domains are known from the hook only");
		return;
	}
	lv->a = a;
	pthread_mutex_init(&lv->lock, NULL);
	pthread_cond_init(&lv->cond, NULL);
	lv->pipe[0] = lv->pipe[1] = -1;
	lv->cb_id = lv->lost_reason = -1;
	a->lv = lv;
	snprintf(lv->uri, sizeof(lv->uri), "%s", a->conf.libvirt_uri);
	virSetErrorFunc(NULL, silent);
	if (pipe2(lv->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		log_warn("libvirt: pipe");
		return;
	}
	agentd_watch(a, lv->pipe[0], pipe_input, lv);
	if (virEventRegisterDefaultImpl() < 0)
		log_warnx("libvirt: event loop: %s", lv_error());
	if (pthread_create(&lv->thread, NULL, worker, lv) == 0)
		lv->running = true;
	else
		log_warn("libvirt worker thread");
	if (pthread_create(&lv->events, NULL, events_thread, lv) == 0)
		lv->events_running = true;
	else
		log_warn("libvirt event thread");
}

void libvirt_free(struct agentd *a)
{
	struct agent_libvirt *lv = a->lv;

	if (!lv)
		return;
	pthread_mutex_lock(&lv->lock);
	__atomic_store_n(&lv->stop, true, __ATOMIC_RELEASE);
	pthread_cond_signal(&lv->cond);
	pthread_mutex_unlock(&lv->lock);
	if (lv->running)
		pthread_join(lv->thread, NULL);
	if (lv->events_running) {
		/* wake virEventRunDefaultImpl() with a timer that fires at once */
		virEventAddTimeout(0, wake, NULL, NULL);
		pthread_join(lv->events, NULL);
	}
	lv->running = lv->events_running = false;
	for (int i = 0; i < 2; i++)
		if (lv->pipe[i] >= 0)
			close(lv->pipe[i]);
	pthread_mutex_destroy(&lv->lock);
	pthread_cond_destroy(&lv->cond);
	free(lv);
	a->lv = NULL;
}

/* The next free job for name, with the queue locked; NULL (unlocked) if full. */
static struct job *job_new(struct agent_libvirt *lv, const char *name, bool fetch)
{
	struct job *j;

	pthread_mutex_lock(&lv->lock);
	if (lv->head - lv->tail >= JOBS) {
		pthread_mutex_unlock(&lv->lock);
		log_warnx("libvirt: job queue full, %s of %s dropped", fetch ? "XML" : "metadata", name);
		return NULL;
	}
	j = &lv->jobs[lv->head % JOBS];
	snprintf(j->name, sizeof(j->name), "%s", name);
	j->fetch = fetch;
	return j;
}

static void job_post(struct agent_libvirt *lv)
{
	lv->head++;
	pthread_cond_signal(&lv->cond);
	pthread_mutex_unlock(&lv->lock);
}

/* A domain resumed that the agent does not know (its hook was missed):
 * its XML, through the worker, as if it had just started. */
static void libvirt_fetch(struct agent_libvirt *lv, const char *name)
{
	if (lv->running && job_new(lv, name, true))
		job_post(lv);
}

void libvirt_record(struct agentd *a, const struct agent_vm *vm)
{
	struct agent_libvirt *lv = a->lv;
	struct strbuf sb;
	struct job *j;
	unsigned n = vm->ngroups < DOMXML_MAX_GROUPS ? vm->ngroups : DOMXML_MAX_GROUPS;

	if (!lv || !lv->running || !(j = job_new(lv, vm->name, false)))
		return;
	sb_init(&sb, j->xml, sizeof(j->xml));
	sb_printf(&sb, "<mobility>");
	if (vm->has_home)
		sb_printf(&sb, "<home address=\"%s\" key-id=\"%u\"/>", a6(&vm->home), vm->key_id);
	if (vm->has_relay)
		sb_printf(&sb, "<relay address=\"%s\"/>", sa6(&vm->relay));
	if (n < vm->ngroups)
		log_warnx("libvirt: vm %s has %u groups: the first %u recorded in its metadata (what a domain XML may "
			  "carry), the rest will not be kept by the destination's agent", vm->name, vm->ngroups, n);
	for (unsigned i = 0; i < n; i++) {
		sb_printf(&sb, "<group address=\"%s\"", a6(&vm->groups[i].group));
		if (!IN6_IS_ADDR_UNSPECIFIED(&vm->groups[i].source))
			sb_printf(&sb, " source=\"%s\"", a6(&vm->groups[i].source));
		sb_printf(&sb, "/>");
	}
	sb_printf(&sb, "</mobility>");
	if (!sb_ok(&sb)) {
		/* cannot happen within DOMXML_MAX_GROUPS (~7.8 kB at most) */
		pthread_mutex_unlock(&lv->lock);
		log_warnx("libvirt: metadata of %s longer than %zu bytes: not recorded", vm->name, sizeof(j->xml));
		return;
	}
	job_post(lv);
}
