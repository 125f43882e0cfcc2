/* Record each VM's groups in its live domain metadata (glm's own XML
 * namespace, see glm-metadata(5)), so the XML of a migration carries them
 * to the destination's hook. libvirt calls block, and libvirtd may be busy
 * running our own hook for that very domain: they run in a worker thread,
 * never in the event loop and never in answer to a hook's request. */
#include "agent_int.h"
#include "log.h"
#include "util.h"
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define JOBS 32

static struct {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool running, stop;
	char uri[256];
	unsigned head, tail;
	struct job { char name[256]; char xml[8192]; } jobs[JOBS];
} lv = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void silent(void *ud, virErrorPtr e) { (void)ud; (void)e; }

static void *worker(void *arg)
{
	virConnectPtr conn = NULL;

	(void)arg;
	virSetErrorFunc(NULL, silent);
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
		} else {
			if (virDomainSetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, j.xml, "glm", GLM_XMLNS,
						 VIR_DOMAIN_AFFECT_LIVE) < 0) {
				virErrorPtr e = virGetLastError();
				log_warnx("libvirt: metadata of %s: %s", j.name, e && e->message ? e->message : "failed");
			} else {
				log_debug("libvirt: metadata of %s recorded", j.name);
			}
			virDomainFree(dom);
		}
		pthread_mutex_lock(&lv.lock);
	}
	pthread_mutex_unlock(&lv.lock);
	if (conn)
		virConnectClose(conn);
	return NULL;
}

void libvirt_init(struct agentd *a)
{
	if (!a->conf.use_libvirt)
		return;
	snprintf(lv.uri, sizeof(lv.uri), "%s", a->conf.libvirt_uri);
	if (pthread_create(&lv.thread, NULL, worker, NULL) == 0)
		lv.running = true;
	else
		log_warn("libvirt worker thread");
}

void libvirt_free(struct agentd *a)
{
	(void)a;
	if (!lv.running)
		return;
	pthread_mutex_lock(&lv.lock);
	lv.stop = true;
	pthread_cond_signal(&lv.cond);
	pthread_mutex_unlock(&lv.lock);
	pthread_join(lv.thread, NULL);
	lv.running = false;
}

void libvirt_record(struct agentd *a, const struct agent_vm *vm)
{
	struct job *j;
	size_t off;

	(void)a;
	if (!lv.running)
		return;
	pthread_mutex_lock(&lv.lock);
	if (lv.head - lv.tail >= JOBS) {
		pthread_mutex_unlock(&lv.lock);
		log_warnx("libvirt: metadata queue full, %s not recorded", vm->name);
		return;
	}
	j = &lv.jobs[lv.head % JOBS];
	snprintf(j->name, sizeof(j->name), "%s", vm->name);
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
	lv.head++;
	pthread_cond_signal(&lv.cond);
	pthread_mutex_unlock(&lv.lock);
}
