/* The recent migrations into this host, each summed up in one record when
 * it settles: the hook's incoming -> started, the proxy joins made, how
 * long each group's stream took to arrive natively or by relay after its
 * join, and the PREPARE's outcome and round trip. A migration settles
 * once the VM runs here, no group waits for its stream any more and no
 * PREPARE is in flight; or MIGRATION_SETTLE_MS after it started; or when
 * it is released first. Then one line is logged and the record goes into
 * a ring of the last AGENT_MIGRATIONS_MAX (glmctl migrations); the ones
 * not settled yet are listed from their VMs. One formatter writes the log
 * line, the text and the JSON. */
#include "agent_int.h"
#include "log.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[MIGRATION_OUTCOME_MAX] = {
	[MIGRATION_IN_PROGRESS] = "in progress",
	[MIGRATION_SETTLED] = "settled",
	[MIGRATION_TIMED_OUT] = "not settled in time",
	[MIGRATION_RELEASED] = "released before it settled",
};

/* -1: never happened (JSON null, absent in text). */
static double ms_between(uint64_t from, uint64_t to)
{
	return from && to && to >= from ? ns_to_ms(to - from) : -1;
}

static void fill(const struct agent_vm *vm, struct migration *m, enum migration_outcome o, uint64_t now)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", vm->name);
	m->outcome = o;
	m->wall_s = vm->mig_wall_s;
	m->total_ms = ms_between(vm->incoming_ns, now);
	m->hook_ms = ms_between(vm->incoming_ns, vm->started_ns);
	m->groups = vm->ngroups;
	m->proxy_joins = vm->mig_joins;
	m->native_ms = m->relayed_ms = -1;
	for (unsigned i = 0; i < vm->ngroups; i++) {
		const struct vm_group *g = &vm->groups[i];
		double t;

		switch (g->state) {
		case GROUP_NATIVE:
			m->native++;
			if ((t = ms_between(g->joined_ns, g->native_ns)) > m->native_ms)
				m->native_ms = t;
			break;
		case GROUP_RELAYED:
			m->relayed++;
			if ((t = ms_between(g->joined_ns, g->relayed_ns)) > m->relayed_ms)
				m->relayed_ms = t;
			break;
		case GROUP_RELAY_FAILED: m->relay_failed++; break;
		default: break;
		}
	}
	m->prepare = vm->prepare;
	m->prepare_rtt_ms = vm->prepare == PREPARE_ACKED || vm->prepare == PREPARE_RESUMED ? vm->prepare_rtt_ms : -1;
	m->has_from = vm->have_current_ma;
	m->from_ma = vm->current_ma;
}

static void print_ms(struct printer *p, const char *key, const char *fmt, double ms)
{
	if (ms >= 0)
		print_float(p, key, fmt, ms);
	else
		print_null(p, key);
}

/* One migration: a line in text (the log's too), an object in JSON. */
static void migration_print(struct printer *p, const struct migration *m)
{
	print_open_object(p, NULL);
	print_str(p, "vm", "migration %s: in", m->name);
	print_addr(p, "from_ma", " from MA %s", m->has_from ? &m->from_ma : NULL);
	print_u64(p, "time", NULL, m->wall_s);
	print_str(p, "outcome", ", %s", outcome_names[m->outcome]);
	print_ms(p, "total_ms", " after %.1f ms", m->total_ms);
	print_ms(p, "hook_ms", ", hook incoming->started %.1f ms", m->hook_ms);
	print_uint(p, "groups", ", %u groups", m->groups);
	print_uint(p, "proxy_joins", ", proxy joins %u", m->proxy_joins);
	print_uint(p, "native", ", %u native", m->native);
	print_ms(p, "native_ms", " (stream after %.1f ms)", m->native_ms);
	print_uint(p, "relayed", ", %u relayed", m->relayed);
	print_ms(p, "relayed_ms", " (stream after %.1f ms)", m->relayed_ms);
	print_uint(p, "relay_failed", m->relay_failed ? ", %u relay failed" : NULL, m->relay_failed);
	print_str(p, "prepare", ", PREPARE %s", prepare_state_name(m->prepare));
	print_ms(p, "prepare_rtt_ms", " rtt %.1f ms", m->prepare_rtt_ms);
	print_text(p, "\n");
	print_close_object(p);
}

static void record(struct agentd *a, struct agent_vm *vm, enum migration_outcome o, uint64_t now)
{
	struct migration_log *l = &a->migrations;
	struct migration *m = &l->rec[l->next];
	char *line = NULL;
	size_t len = 0;
	FILE *f;

	vm->mig_recorded = true;
	fill(vm, m, o, now);
	l->next = (l->next + 1) % AGENT_MIGRATIONS_MAX;
	if (l->n < AGENT_MIGRATIONS_MAX)
		l->n++;
	if ((f = open_memstream(&line, &len))) {
		struct printer p;

		print_init(&p, f, false);
		migration_print(&p, m);
		fclose(f);
		if (len && line[len - 1] == '\n')
			line[len - 1] = '\0';
		log_info("%s", line);
	}
	free(line);
}

static bool settled(const struct agent_vm *vm)
{
	if (!vm->started_ns || vm->prepare == PREPARE_CHECKING || vm->prepare == PREPARE_SENDING)
		return false;
	for (unsigned i = 0; i < vm->ngroups; i++) {
		enum group_state s = vm->groups[i].state;

		if (s == GROUP_PROXY_JOINED || s == GROUP_RELAY_ASKED)
			return false;
	}
	return true;
}

void migration_begin(struct agentd *a, struct agent_vm *vm)
{
	(void)a;
	if (vm->mig_wall_s)
		return;
	vm->mig_wall_s = realtime_ns() / 1000000000ull;
	vm->mig_joins = 0;
	vm->mig_recorded = false;
}

void migration_check(struct agentd *a, struct agent_vm *vm, uint64_t now)
{
	if (!vm->migrating || vm->mig_recorded)
		return;
	if (settled(vm))
		record(a, vm, MIGRATION_SETTLED, now);
	else if (vm->incoming_ns && now >= vm->incoming_ns + MIGRATION_SETTLE_MS * 1000000ull)
		record(a, vm, MIGRATION_TIMED_OUT, now);
}

uint64_t migration_deadline(const struct agent_vm *vm)
{
	if (!vm->migrating || vm->mig_recorded || !vm->incoming_ns)
		return UINT64_MAX;
	return vm->incoming_ns + MIGRATION_SETTLE_MS * 1000000ull;
}

void migration_released(struct agentd *a, struct agent_vm *vm)
{
	if (vm->migrating && !vm->mig_recorded)
		record(a, vm, MIGRATION_RELEASED, now_ns());
}

void migrations_print(struct agentd *a, struct printer *p)
{
	const struct migration_log *l = &a->migrations;
	uint64_t now = now_ns();

	print_open_array(p, NULL);
	/* oldest first, then the ones still going */
	for (unsigned i = 0; i < l->n; i++)
		migration_print(p, &l->rec[(l->next + AGENT_MIGRATIONS_MAX - l->n + i) % AGENT_MIGRATIONS_MAX]);
	for (unsigned i = 0; i < a->nvms; i++) {
		struct migration m;

		if (!a->vms[i]->migrating || a->vms[i]->mig_recorded)
			continue;
		fill(a->vms[i], &m, MIGRATION_IN_PROGRESS, now);
		migration_print(p, &m);
	}
	print_close_array(p);
}
