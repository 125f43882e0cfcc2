#!/usr/bin/env bats
# Real migrations: a QEMU guest (make guest-image: matd, qemu-ga, test
# tools) started by libvirtd on hA, live-migrated with plain
# `virsh migrate --live --p2p` to hB in another IPv6 subnet and back; glm's
# hook installed into each libvirtd by `make install`; glm-agentd on each
# host; IMS, relay, correspondent and multicast sender on link C
# (tests/bats/lib/testbed.bash draws the topology; link B gets no
# multicast). Skipped, with the reason, where QEMU, libvirtd or the guest
# image are missing.

load ../bats/lib/testbed
load ../bats/lib/glm
load lib/libvirt
load lib/guest

setup_file() {
	local why
	why=$(e2e_skip_reason)
	[ -z "$why" ] || skip "$why"
}

setup() {
	local why
	why=$(e2e_skip_reason)
	[ -z "$why" ] || skip "$why"
	GLM_VM_CONF=()
}

teardown() {
	lv_teardown || true
	glm_teardown
}

jf() { python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }

# cn streams TCP to the guest's home address; the guest receives ff3e::1234.
streams_start() {
	local secs=$1 pid
	ga_exec hA /usr/bin/seqstream server --tcp --listen "[$GLM_HA]:7000" --recv --duration 0 --json >"$TB_DIR/tcp.pid"
	ga_exec hA /usr/bin/mcstream recv --group "$GLM_GROUP" --port 7400 --ifname eth0 --idle 3 --json >"$TB_DIR/mc.pid"
	sleep 0.5
	tb_spawn cn "$GLM_BIN/seqstream" client --tcp --connect "[$GLM_HA]:7000" --send --rate 500 --duration "$secs" \
		--json >"$TB_DIR/tcp-send.json" 2>"$TB_DIR/tcp-send.err"
	TCP_TX=$TB_PID
	# the multicast sender runs until streams_stop: the guest must still
	# be in the group when it arrives (a receiver idle for 3 s leaves it,
	# and a guest that left sends no report: under load two TCG
	# migrations outlasted a 30 s stream, stop 21)
	tb_spawn src "$GLM_BIN/mcstream" send --group "$GLM_GROUP" --port 7400 --ifname eth0 --rate 500 \
		--duration 0 >/dev/null 2>"$TB_DIR/mc-send.err"
	MC_TX=$TB_PID
	sleep 1
}

# streams_stop NODE: collect both receivers' reports from the guest on NODE.
streams_stop() {
	tb_wait_pid "$TCP_TX" 120 || { cat "$TB_DIR/tcp-send.err" >&2; return 1; }
	kill -TERM "$MC_TX"
	tb_wait_pid "$MC_TX" 10
	ga_wait "$1" "$(cat "$TB_DIR/tcp.pid")" 30 >"$TB_DIR/tcp.json" || { cat "$TB_DIR/tcp.json" >&2; return 1; }
	ga_wait "$1" "$(cat "$TB_DIR/mc.pid")" 30 >"$TB_DIR/mc.json" || { cat "$TB_DIR/mc.json" >&2; return 1; }
	echo "tcp: $(cat "$TB_DIR/tcp.json")" >&2
	echo "mcast: $(cat "$TB_DIR/mc.json")" >&2
}

@test "TCP and multicast survive virsh migrate --live --p2p A->B and B->A; qemu-agent shows the new MA" {
	e2e_setup hA hB
	e2e_guest_start
	ma0=$(e2e_status hA | python3 -c "import json,sys; print(json.load(sys.stdin)['mobile']['ma'])")
	[[ "$ma0" == 2001:db8:a:* ]]
	# the streams must outlast both migrations and the guest's report
	# after the second (a receiver that ended has left the group): two
	# TCG migrations took up to ~14 s on a loaded 2-core box
	streams_start 30
	# what reaches the guest on hB around its arrival
	tb_spawn hB tcpdump -i br0 -n -U -w "$TB_DIR/hB-guest.pcap" "ether dst $LV_VM_MAC and icmp6" 2>/dev/null
	local cap=$TB_PID
	# and on every port of hB, router advertisements and QEMU's
	# announcement (RARP) at the resume
	tb_spawn hB tcpdump -i any -n -U -w "$TB_DIR/hB-ports.pcap" "(icmp6 and ip6[40] == 134) or rarp" 2>/dev/null
	local cap2=$TB_PID
	sleep 1
	lv_migrate hA hB
	[ "$(lv_state hB)" = running ]
	[ "$(lv_state hA)" = absent ]
	e2e_wait_handovers hB 2 10
	sleep 0.5
	kill "$cap" "$cap2"
	tb_wait_pid "$cap" 5 >/dev/null || true
	tb_wait_pid "$cap2" 5 >/dev/null || true
	# flooding to the arriving VM's tap was held from libvirt's started
	# hook until the resume: of the router advertisements (every 30-70 ms
	# on link B) a paused QEMU would have queued for the guest in the
	# 0.5-1 s before QEMU's announcement (its RARP), none reached the tap
	# after that hook returned (until 0.1 s before the RARP: below); only those sent between libvirt attaching
	# the tap and the hook did (one or two on an idle machine, five under
	# load: how many is the machine's timing, not glm's, so that count is
	# reported, not asserted). They go out to it again afterwards (read
	# in hB: the capture names ports by index; -tt: the same wall clock
	# as the hook log's date +%s.%N)
	local tap hooked
	tap=$(sed -n 's/.*vm vm: flooding to \([^ ]*\) held until it resumes$/\1/p' "$TB_DIR/agent-hB.log" | tail -n 1)
	[ -n "$tap" ]
	grep -q "vm vm: flooding to $tap released (resumed)" "$TB_DIR/agent-hB.log"
	hooked=$(awk '$2 == "vm" && $3 == "started" { t = $1 } END { print t }' "$(dirname "$(lv_hook_log hB)")/hooks-end.log")
	[ -n "$hooked" ]
	tb_exec hB tcpdump -tt -r "$TB_DIR/hB-ports.pcap" -n 2>/dev/null | awk -v t="$tap" '$2 == t' >"$TB_DIR/tap.txt"
	local before held after
	before=$(awk '/Reverse Request/ { exit } / Out .*router advertisement/ { n++ } END { print n + 0 }' "$TB_DIR/tap.txt")
	# the hold ends at libvirt's RESUMED event, up to QEMU's first
	# announcement delay (50 ms) before the RARP: an RA then is not held
	held=$(awk -v h="$hooked" '/Reverse Request/ { if (!r) r = $1; next } / Out .*router advertisement/ { t[n++] = $1 }
		END { for (i = 0; i < n; i++) if (t[i] > h && t[i] < r - 0.1) k++; print k + 0 }' "$TB_DIR/tap.txt")
	after=$(awk '/Reverse Request/ { r = 1 } r && / Out .*router advertisement/ { n++ } END { print n + 0 }' "$TB_DIR/tap.txt")
	echo "# router advertisements to $tap before QEMU's announcement: $before ($held after the started hook), after: $after" >&3
	[ "$held" = 0 ]
	[ "$after" -ge 1 ]
	# hB's agent checked that the MA was unused with an echo before the
	# guest came: that echo, held in the bridge's unresolved neighbour
	# entry, is dropped, not handed to the guest as it resumes
	# (the capture works: the router's neighbour advertisements to it)
	[ "$(tcpdump -r "$TB_DIR/hB-guest.pcap" -n 2>/dev/null | wc -l)" -gt 0 ]
	[ "$(tcpdump -r "$TB_DIR/hB-guest.pcap" -n 'ip6[40] == 128' 2>/dev/null | wc -l)" = 0 ]
	# what virsh qemu-agent-command sees: the HA, and the MA in hB's prefix
	st=$(e2e_status hB)
	echo "$st" | python3 -c "
import json,sys
m=json.load(sys.stdin)['mobile']
assert m['ha']=='$GLM_HA', m
assert m['ma'].startswith('2001:db8:b:'), m
assert m['last_handover']['prepared'], m['last_handover']"
	sleep 2
	# MLD on hA's ports around the return (what the guest reported, and
	# the bridge's queries), for the report below
	tb_spawn hA tcpdump -i any -n -U -w "$TB_DIR/hA-mld.pcap" "icmp6 and ip6[40] == 0 and (ip6[48] == 130 or ip6[48] == 143 or ip6[48] == 131)" 2>/dev/null
	local cap3=$TB_PID
	lv_migrate hB hA
	[ "$(lv_state hA)" = running ]
	e2e_wait_handovers hA 3 10
	# back on A, the guest's own report (its kernel's MLD resend at QEMU's
	# announcement, not tied to the handover waited for) while the
	# stream still runs; the agent's bound for a VM that never reports is
	# 30 s (PIN_MAX_NS)
	wait_log "$TB_DIR/agent-hA.log" "own report for $GLM_GROUP" 30 || {
		kill "$cap3"
		tb_wait_pid "$cap3" 5 >/dev/null || true
		echo "MLD on hA's ports:" >&2
		tb_exec hA tcpdump -tt -r "$TB_DIR/hA-mld.pcap" -n -v 2>/dev/null | tail -n 40 >&2
		echo "hA's MDB:" >&2
		tb_mdb hA >&2
		echo "the guest's groups:" >&2
		ga_run hA /bin/cat /proc/net/igmp6 >&2
		false
	}
	kill "$cap3"
	tb_wait_pid "$cap3" 5 >/dev/null || true
	streams_stop hA
	[ "$(jf "$TB_DIR/tcp.json" "d['error']")" = None ]
	[ "$(jf "$TB_DIR/tcp.json" "d['lost']")" = 0 ]
	[ "$(jf "$TB_DIR/tcp.json" "d['received']")" = "$(jf "$TB_DIR/tcp-send.json" "d['sent']")" ]
	[ "$(jf "$TB_DIR/mc.json" "d['error']")" = None ]
	echo "# TCP max gap $(jf "$TB_DIR/tcp.json" "d['max_gap_ms']") ms; multicast max gap $(jf "$TB_DIR/mc.json" "d['max_gap_ms']") ms, dup $(jf "$TB_DIR/mc.json" "d['dup']"), lost $(jf "$TB_DIR/mc.json" "d['lost']")" >&3
	echo "# downtime (QEMU): $(lv_downtime hA) ms; hook calls: $(lv_hook_calls hB | tr '\n' ',')" >&3
	# the hook never holds a migration up (measured with logging hooks
	# around it: an upper bound; the issue's limit is 100 ms)
	lv_hook_durations hB >"$TB_DIR/hook-ms"
	echo "# hook on hB (op sub ms): $(tr '\n' ';' <"$TB_DIR/hook-ms")" >&3
	[ -s "$TB_DIR/hook-ms" ]
	awk '{ if ($3 > 1000) exit 1 }' "$TB_DIR/hook-ms"
	# the phases are logged on both sides
	ga_run hA /bin/cat /var/log/matd.log >"$TB_DIR/matd.log"
	[ -z "${GLM_E2E_SAVE:-}" ] || cp "$TB_DIR/matd.log" "$TB_DIR/agent-hB.log" "$TB_DIR/agent-hA.log" "$GLM_E2E_SAVE/"
	grep 'handover #[23] ' "$TB_DIR/matd.log" | sed 's/^/# /' >&3
	# started by hB's agent at libvirt's RESUMED event, or by QEMU's
	# announcement if that came first
	grep -Eq 'handover #2 prepared eth0 \((agent|announce)\)' "$TB_DIR/matd.log"
	grep -q 'vm vm: matd prepared 2001:db8:b:' "$TB_DIR/agent-hB.log"
	grep -q 'vm vm resumed here: told its matd at 2001:db8:b:' "$TB_DIR/agent-hB.log"
	# frames the guest still sent to link A's router went to link B's
	grep -q 'vm vm: frames to its previous router .* go to br0.s router' "$TB_DIR/agent-hB.log"
	grep -q 'relayed from' "$TB_DIR/agent-hB.log"
	# back on A: pinned at the guest's resume, the proxy join left after
	# the guest's own report (waited for above)
	grep -q 'vm vm resumed: 1 MDB pins' "$TB_DIR/agent-hA.log"
	wait_log "$TB_DIR/agent-hA.log" "proxy join of $GLM_GROUP on br0 left" 30
}

# wait_log FILE PATTERN SECONDS: until grep -E finds PATTERN in FILE
wait_log() {
	for _ in $(seq $(($3 * 10))); do
		grep -Eq "$2" "$1" && return 0
		sleep 0.1
	done
	echo "no '$2' in $1 after $3 s; its tail:" >&2
	tail -n 20 "$1" >&2
	return 1
}

@test "libvirtd restarted under glm-agentd: it reconnects, records groups again, the flood hold ends at the resume" {
	e2e_setup hA hB
	e2e_guest_start
	# what installing the hook or a libvirt upgrade does: libvirtd
	# restarts, the QEMUs run on
	lv_host_restart hA
	lv_host_restart hB
	for h in hA hB; do
		wait_log "$TB_DIR/agent-$h.log" 'libvirt .*: connection lost \(libvirtd closed it\): reconnecting' 15
		wait_log "$TB_DIR/agent-$h.log" 'libvirt .*: connected again: resynchronising its domains' 15
	done
	[ "$(lv_state hA)" = running ]
	# the guest joins a group its domain XML does not name yet: recorded
	# in its live metadata, through the new connection, so the
	# migration's XML carries it
	ga_exec hA /usr/bin/mcstream recv --group ff3e::5678 --port 7401 --ifname eth0 --idle 60 --json >"$TB_DIR/mc2.pid"
	wait_log "$TB_DIR/agent-hA.log" 'vm vm joined ff3e::5678 \(bridge MDB\)' 15
	wait_log "$TB_DIR/agent-hA.log" 'libvirt: groups of vm recorded in its metadata' 15
	run lv_virsh hA metadata vm "urn:x-glm:mobility:1" --live
	echo "$output"
	[[ $status == 0 && $output == *ff3e::5678* ]]
	lv_migrate hA hB
	[ "$(lv_state hB)" = running ]
	e2e_wait_handovers hB 2 10
	# hB's agent heard libvirt's RESUMED on its new connection: the hold
	# on the arriving tap ended then, not after its 30 s limit
	grep -q 'vm vm: flooding to .* held until it resumes' "$TB_DIR/agent-hB.log"
	wait_log "$TB_DIR/agent-hB.log" 'vm vm: flooding to .* released \(resumed\)' 5
	! grep -q 'no RESUMED event in 30 s' "$TB_DIR/agent-hB.log" || false
	# and the destination's hook got both groups from the XML
	grep -q "vm vm incoming on br0: 2 groups" "$TB_DIR/agent-hB.log"
}

@test "glm-agentd stopped on B: the migration completes, the guest moves unprepared" {
	e2e_setup hA hB
	e2e_guest_start
	kill "$GLM_AGENT_HB_PID"
	tb_wait_pid "$GLM_AGENT_HB_PID" 5 || true
	GLM_AGENT_HB_PID=
	lv_migrate hA hB
	[ "$(lv_state hB)" = running ]
	e2e_wait_handovers hB 2 10
	st=$(e2e_status hB)
	echo "$st" | python3 -c "
import json,sys
h=json.load(sys.stdin)['mobile']['last_handover']
assert not h['prepared'] and h['to'].startswith('2001:db8:b:'), h"
	ga_run hB /bin/cat /var/log/matd.log | grep -q 'handover #2 unprepared'
	# the agent back: it finds the running domain in libvirt; one it does
	# not know (its release came, it still runs) it learns again at the
	# domain's next RESUMED event, by fetching its XML then
	glm_start_agent hB "libvirt-uri $(lv_uri hB)"
	local i
	for i in $(seq 50); do
		grep -q 'vm vm running on br0: 1 ports, 1 groups (from libvirt)' "$TB_DIR/agent-hB.log" && break
		sleep 0.1
	done
	[ "$(grep -c 'vm vm running on br0: 1 ports, 1 groups (from libvirt)' "$TB_DIR/agent-hB.log")" = 1 ]
	lv_virsh hB dumpxml vm >"$TB_DIR/vm-hB.xml"
	tb_exec hB "$GLM_BIN/glm-prepare" -s "$TB_DIR/agent-hB.sock" release <"$TB_DIR/vm-hB.xml"
	grep -q 'vm vm released' "$TB_DIR/agent-hB.log"
	lv_virsh hB suspend vm
	lv_virsh hB resume vm
	for i in $(seq 50); do
		[ "$(grep -c 'vm vm running on br0: 1 ports, 1 groups (from libvirt)' "$TB_DIR/agent-hB.log")" = 2 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'vm vm running on br0: 1 ports, 1 groups (from libvirt)' "$TB_DIR/agent-hB.log")" = 2 ]
}

@test "a migration the destination refuses leaves the guest on A with its MA and session" {
	e2e_setup hA hB
	e2e_guest_start
	ma0=$(e2e_status hA | python3 -c "import json,sys; print(json.load(sys.stdin)['mobile']['ma'])")
	streams_start 6
	# hB already has a different domain named vm: it refuses the incoming one
	lv_domain_xml --name vm --mac 52:54:00:00:e2:99 >"$TB_DIR/other.xml"
	lv_define_vm hB "$TB_DIR/other.xml"
	run lv_migrate hA hB
	[ "$status" -ne 0 ]
	[ "$(lv_state hA)" = running ]
	sleep 1
	st=$(e2e_status hA)
	echo "$st" | python3 -c "
import json,sys
m=json.load(sys.stdin)['mobile']
assert m['ma']=='$ma0' and m['handovers']==1, m"
	streams_stop hA
	[ "$(jf "$TB_DIR/tcp.json" "d['error']")" = None ]
	[ "$(jf "$TB_DIR/tcp.json" "d['lost']")" = 0 ]
}
