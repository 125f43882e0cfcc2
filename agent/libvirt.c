/* glm-agentd and libvirt (with "libvirt-uri" configured):
 *   - record each VM's groups in its live domain metadata (glm's own XML
 *     namespace, glm-metadata(5)), so the XML of a migration carries them
 *     to the destination's hook;
 *   - find the domains already running at start (an agent restarted under
 *     running VMs) and follow domain lifecycle events, so a domain whose
 *     hook was missed is still mapped to its taps.
 * libvirt calls block, and libvirtd may be busy running our own hook for
 * that very domain: they run in worker threads, never in the event loop
 * and never in answer to a hook's request. Results reach the loop through
 * a pipe, one pointer to a malloc'ed record per write. */
#include "agent_int.h"
#include "log.h"
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

static struct {
	pthread_t thread, events;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool running, events_running, stop;
	char uri[256];
	int pipe[2];
	virConnectPtr evconn;
	int cb_id;
	unsigned head, tail;
	struct job { char name[256]; bool fetch; char xml[8192]; } jobs[JOBS]; /* fetch: its XML, else set xml as metadata */
} lv = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .pipe = { -1, -1 }, .cb_id = -1 };

static void silent(void *ud, virErrorPtr e) { (void)ud; (void)e; }
static void wake(int timer, void *opaque) { virEventRemoveTimeout(timer); (void)opaque; }

static const char *lv_error(void)
{
	virErrorPtr e = virGetLastError();
	return e && e->message ? e->message : "failed";
}

static void notify_loop(enum vm_event ev, const char *name, char *xml)
{
	struct lv_note *n = calloc(1, sizeof(*n));

	if (!n) {
		free(xml);
		return;
	}
	n->ev = ev;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->xml = xml;
	if (write(lv.pipe[1], &n, sizeof(n)) != sizeof(n)) {
		free(n->xml);
		free(n);
	}
}

static void post_running(virDomainPtr dom)
{
	char *xml = virDomainGetXMLDesc(dom, 0);

	if (xml)
		notify_loop(VM_EV_RUNNING, virDomainGetName(dom), xml);
}

static int on_lifecycle(virConnectPtr c, virDomainPtr dom, int event, int detail, void *opaque)
{
	(void)c, (void)detail, (void)opaque;
	/* At RESUMED the guest has just started running again: the XML is
	 * fetched afterwards, and only for a domain the agent does not know
	 * (libvirt_fetch), not in the way of the guest's first milliseconds. */
	if (event == VIR_DOMAIN_EVENT_RESUMED)
		notify_loop(VM_EV_RESUMED, virDomainGetName(dom), NULL);
	if (event == VIR_DOMAIN_EVENT_STARTED)
		post_running(dom);
	else if (event == VIR_DOMAIN_EVENT_STOPPED)
		notify_loop(VM_EV_RELEASE, virDomainGetName(dom), NULL);
	return 0;
}

/* Event thread: its own connection, libvirt's default event loop. */
static void *events_thread(void *arg)
{
	virDomainPtr *doms = NULL;
	int n;

	(void)arg;
	lv.evconn = virConnectOpen(lv.uri);
	if (!lv.evconn) {
		log_warnx("libvirt %s: cannot connect (%s): domains are known from the hook only", lv.uri, lv_error());
		return NULL;
	}
	n = virConnectListAllDomains(lv.evconn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
	for (int i = 0; i < n; i++) {
		post_running(doms[i]);
		virDomainFree(doms[i]);
	}
	free(doms);
	lv.cb_id = virConnectDomainEventRegisterAny(lv.evconn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						    VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), NULL, NULL);
	if (lv.cb_id < 0)
		log_warnx("libvirt: domain events: %s", lv_error());
	while (!__atomic_load_n(&lv.stop, __ATOMIC_ACQUIRE))
		if (virEventRunDefaultImpl() < 0)
			break;
	if (lv.cb_id >= 0)
		virConnectDomainEventDeregisterAny(lv.evconn, lv.cb_id);
	virConnectClose(lv.evconn);
	return NULL;
}

static void *worker(void *arg)
{
	virConnectPtr conn = NULL;

	(void)arg;
	pthread_mutex_lock(&lv.lock);
	for (;;) {
		struct job j;
		virDomainPtr dom;

		while (lv.head == lv.tail && !lv.stop)
			pthread_cond_wait(&lv.cond, &lv.lock);
		if (lv.stop)
			break;
		j = lv.jobs[lv.tail++ % JOBS];
		pthread_mutex_unlock(&lv.lock);
		if (!conn)
			conn = virConnectOpen(lv.uri);
		if (!conn) {
			log_warnx("libvirt %s: cannot connect: metadata of %s not recorded", lv.uri, j.name);
		} else if (!(dom = virDomainLookupByName(conn, j.name))) {
			log_debug("libvirt: no domain %s", j.name);
		} else if (j.fetch) {
			post_running(dom);
			virDomainFree(dom);
		} else {
			if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, j.xml, "glm", GLM_XMLNS,
						 VIR_DOMAIN_AFFECT_LIVE) < 0)
				log_warnx("libvirt: metadata of %s: %s", j.name, lv_error());
			else
				log_info("libvirt: groups of %s recorded in its metadata", j.name);
			virDomainFree(dom);
		}
		pthread_mutex_lock(&lv.lock);
	}
	pthread_mutex_unlock(&lv.lock);
	if (conn)
		virConnectClose(conn);
	return NULL;
}

static void libvirt_fetch(const char *name);

static void pipe_input(struct agentd *a, void *arg)
{
	struct lv_note *n;
	static struct domxml d;
	char err[256];
	FILE *out = fopen("/dev/null", "w");

	(void)arg;
	while (read(lv.pipe[0], &n, sizeof(n)) == sizeof(n)) {
		if (n->ev == VM_EV_RESUMED) {
			if (vm_find(a, n->name))
				vm_resumed(a, n->name);
			else
				libvirt_fetch(n->name);
		} else if (n->ev == VM_EV_RELEASE) {
			memset(&d, 0, sizeof(d));
			d.id = -1;
			snprintf(d.name, sizeof(d.name), "%s", n->name);
			if (vm_find(a, d.name))
				vm_request(a, VM_EV_RELEASE, &d, false, out ? out : stderr);
		} else if (domxml_parse(n->xml, strlen(n->xml), &d, err, sizeof(err)) < 0) {
			log_warnx("libvirt: domain %s: %s", n->name, err);
		} else if (!vm_find(a, d.name) && d.has_mobility) {
			vm_request(a, VM_EV_RUNNING, &d, false, out ? out : stderr);
		}
		free(n->xml);
		free(n);
	}
	if (out)
		fclose(out);
}

void libvirt_init(struct agentd *a)
{
	if (!a->conf.use_libvirt)
		return;
	snprintf(lv.uri, sizeof(lv.uri), "%s", a->conf.libvirt_uri);
	virSetErrorFunc(NULL, silent);
	if (pipe2(lv.pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		log_warn("libvirt: pipe");
		return;
	}
	agentd_watch(a, lv.pipe[0], pipe_input, NULL);
	if (virEventRegisterDefaultImpl() < 0)
		log_warnx("libvirt: event loop: %s", lv_error());
	if (pthread_create(&lv.thread, NULL, worker, NULL) == 0)
		lv.running = true;
	else
		log_warn("libvirt worker thread");
	if (pthread_create(&lv.events, NULL, events_thread, NULL) == 0)
		lv.events_running = true;
	else
		log_warn("libvirt event thread");
}

void libvirt_free(struct agentd *a)
{
	(void)a;
	pthread_mutex_lock(&lv.lock);
	__atomic_store_n(&lv.stop, true, __ATOMIC_RELEASE);
	pthread_cond_signal(&lv.cond);
	pthread_mutex_unlock(&lv.lock);
	if (lv.running)
		pthread_join(lv.thread, NULL);
	if (lv.events_running) {
		/* wake virEventRunDefaultImpl() with a timer that fires at once */
		virEventAddTimeout(0, wake, NULL, NULL);
		pthread_join(lv.events, NULL);
	}
	lv.running = lv.events_running = false;
	for (int i = 0; i < 2; i++)
		if (lv.pipe[i] >= 0)
			close(lv.pipe[i]);
}

/* The next free job for name, with the queue locked; NULL (unlocked) if full. */
static struct job *job_new(const char *name, bool fetch)
{
	struct job *j;

	pthread_mutex_lock(&lv.lock);
	if (lv.head - lv.tail >= JOBS) {
		pthread_mutex_unlock(&lv.lock);
		log_warnx("libvirt: job queue full, %s of %s dropped", fetch ? "XML" : "metadata", name);
		return NULL;
	}
	j = &lv.jobs[lv.head % JOBS];
	snprintf(j->name, sizeof(j->name), "%s", name);
	j->fetch = fetch;
	return j;
}

static void job_post(void)
{
	lv.head++;
	pthread_cond_signal(&lv.cond);
	pthread_mutex_unlock(&lv.lock);
}

/* A domain resumed that the agent does not know (its hook was missed):
 * its XML, through the worker, as if it had just started. */
static void libvirt_fetch(const char *name)
{
	if (lv.running && job_new(name, true))
		job_post();
}

void libvirt_record(struct agentd *a, const struct agent_vm *vm)
{
	struct job *j;
	size_t off;

	(void)a;
	if (!lv.running || !(j = job_new(vm->name, false)))
		return;
	off = (size_t)snprintf(j->xml, sizeof(j->xml), "<mobility>");
	if (vm->has_home)
		off += (size_t)snprintf(j->xml + off, sizeof(j->xml) - off, "<home address=\"%s\" key-id=\"%u\"/>",
					a6(&vm->home), vm->key_id);
	if (vm->has_relay)
		off += (size_t)snprintf(j->xml + off, sizeof(j->xml) - off, "<relay address=\"%s\"/>", sa6(&vm->relay));
	for (unsigned i = 0; i < vm->ngroups && off < sizeof(j->xml) - 128; i++) {
		off += (size_t)snprintf(j->xml + off, sizeof(j->xml) - off, "<group address=\"%s\"", a6(&vm->groups[i].group));
		if (!IN6_IS_ADDR_UNSPECIFIED(&vm->groups[i].source))
			off += (size_t)snprintf(j->xml + off, sizeof(j->xml) - off, " source=\"%s\"", a6(&vm->groups[i].source));
		off += (size_t)snprintf(j->xml + off, sizeof(j->xml) - off, "/>");
	}
	snprintf(j->xml + off, sizeof(j->xml) - off, "</mobility>");
	job_post();
}
