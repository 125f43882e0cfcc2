#!/usr/bin/env bats
# glm-agentd at the size of a real hypervisor host: 500 VMs, each with a
# tap on hB's br0 and 4 groups of its own (2,000 groups on one bridge),
# arriving by migration as libvirt runs the hook (migrate begin, prepare
# begin, started begin), then released. The hook's wall time per call is
# reported (fd 3, and $TB_DIR/hook-times) for each operation at that size.
#
#   hB: br0 --+-- eth0 (the testbed's uplink)
#             +-- gs0 ... gs499   (taps, no QEMU behind them: no carrier)

load lib/testbed
load lib/glm

N=${GLM_SCALE_VMS:-500}
G_PER_VM=4

setup() { :; }
teardown() { glm_teardown; }

# scale_xml I: domain gs$I, one NIC on br0 (tap gsI), 4 ASM groups of its own.
scale_xml() {
	local i=$1 k
	printf "<domain type='qemu' id='%d'><name>gs%d</name><devices><interface type='bridge'>" $((i + 1)) "$i"
	printf "<mac address='52:54:00:10:%02x:%02x'/><source bridge='br0'/><target dev='gs%d'/></interface></devices>" \
		$((i / 256)) $((i % 256)) "$i"
	printf "<metadata><glm:mobility xmlns:glm='urn:x-glm:mobility:1'>"
	for ((k = 0; k < G_PER_VM; k++)); do
		printf "<glm:group address='ff3e::5:%x:%x'/>" "$i" "$k"
	done
	printf "</glm:mobility></metadata></domain>\n"
}

# hook_stats OP [FIRST LAST]: median, 99th percentile and maximum of the
# hook's wall time for OP (its calls FIRST..LAST, 1-based, if given).
hook_stats() {
	awk -v op="$1" -v lo="${2:-1}" -v hi="${3:-1000000}" '$2 == op && ++n >= lo && n <= hi { print $4 }' \
		"$TB_DIR/hook-times" | sort -n |
		awk -v what="$1${2:+ calls $2-$3}" '{ v[NR] = $1 } END { printf "%s: %d calls, median %.1f ms, p99 %.1f ms, max %.1f ms", what, NR, v[int((NR + 1) / 2)], v[int(NR * 0.99 + 0.5)], v[NR] }'
}

# scale_hook OP SUB: the hook for the domain in $TB_DIR/d.xml, without
# LeakSanitizer's pass at glm-prepare's exit: 40 of its ~65 ms under ASan,
# 2,500 times here (100 s of make check). Through the hook it was never
# seen anyway (the hook sends glm-prepare's stderr to /dev/null and exits
# 0, as hook.bats says). Its bound is 5 s, not the hook's 500 ms: with two
# fuzzers and other tests beside it, 2 of the 500 VMs once never reached
# the agent, and a call past its bound sends nothing (hook.bats tests the
# bound; this, the agent at size).
scale_hook() {
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 GLM_HOOK_TIMEOUT_MS=5000 \
		GLM_XML_FILE=$TB_DIR/d.xml glm_hook hB "$@"
}

@test "an agent with 500 VMs and 2,000 groups on one bridge: every VM, group and pin held; hook time per call" {
	local i left pins removed
	tb_setup
	glm_keys
	glm_start_agent hB
	for ((i = 0; i < N; i++)); do
		echo "tuntap add mode tap name gs$i"
		echo "link set gs$i master br0 up"
	done | ip -n "$TB-hB" -batch -
	for ((i = 0; i < N; i++)); do
		scale_xml "$i" >"$TB_DIR/d.xml"
		scale_hook migrate begin
		scale_hook prepare begin
		scale_hook started begin
	done
	for op in migrate prepare started; do echo "# $(hook_stats $op)" >&3; done
	# the agent's share does not grow with its size: the first VMs' calls
	# against the last ones' (the rest is the hook's fork and exec)
	echo "# $(hook_stats started 1 50)" >&3
	echo "# $(hook_stats started $((N - 49)) $N)" >&3
	glm_glmctl hB status --json >"$TB_DIR/status.json"
	python3 - "$TB_DIR/status.json" $N $G_PER_VM <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); n, k = int(sys.argv[2]), int(sys.argv[3])
vms = {v['name']: v for v in d['vms']}
assert len(vms) == n, len(vms)
for i in range(n):
    v = vms['gs%d' % i]
    assert v['ports'] == ['gs%d' % i], v
    assert sorted(g['group'] for g in v['groups']) == sorted('ff3e::5:%x:%x' % (i, j) for j in range(k)), v
PY
	# every group pinned on its VM's tap (permanent MDB entries), then,
	# for a VM that sent no report in 30 s (the early ones, on a slow
	# run), the pin removed: a tap without carrier takes no temporary
	# entry to hand it back as
	[ "$(grep -cE "vm gs[0-9]+ started on br0: $G_PER_VM groups, [0-9]+ proxy joins, $G_PER_VM MDB pins" \
		"$TB_DIR/agent-hB.log")" -eq $N ]
	pins=$(bridge -n "$TB-hB" mdb show dev br0 | grep -c ' port gs[0-9]* grp ff3e::5:.* permanent' || true)
	removed=$(grep -c "MDB pin removed (the bridge takes no temporary entry there)" "$TB_DIR/agent-hB.log" || true)
	echo "# MDB: $pins pins held, $removed removed after 30 s without a report" >&3
	[ $((pins + removed)) -eq $((N * G_PER_VM)) ]
	# and the agent's proxy joins hold every group on br0
	[ "$(ip -n "$TB-hB" -6 maddr show dev br0 | grep -c 'ff3e::5:')" -eq $((N * G_PER_VM)) ]
	for ((i = 0; i < N; i++)); do
		scale_xml "$i" >"$TB_DIR/d.xml"
		scale_hook release end
	done
	echo "# $(hook_stats release)" >&3
	[ "$(glm_glmctl hB status --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)['vms']))")" = 0 ]
	# no pin left on a VM's port. Entries that age out by themselves are
	# the kernel's, not ours: the bridge's own for the host's left
	# memberships, and a pin handed back to the kernel when its VM sent no
	# report in 30 s (a slow run gets there before the releases).
	left=$(bridge -n "$TB-hB" mdb show dev br0 | grep ' port gs[0-9]* grp ff3e::5:.* permanent' || true)
	if [ -n "$left" ]; then
		echo "permanent entries left: $(echo "$left" | wc -l), e.g. $(echo "$left" | head -3)"
		grep -iE "could not|mdb|gs1[0-9]*:" "$TB_DIR/agent-hB.log" | grep -v " proxy join" | tail -20
		false
	fi
	[ "$(ip -n "$TB-hB" -6 maddr show dev br0 | grep -c 'ff3e::5:')" -eq 0 ]
	# every call answered, none failed
	! awk '$5 != 0' "$TB_DIR/hook-times" | grep -q . || false
	! grep -q "more than\|ENOSPC\|No space" "$TB_DIR/agent-hB.log" || false
}
