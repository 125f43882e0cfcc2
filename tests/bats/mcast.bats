#!/usr/bin/env bats
# Multicast mobility end to end on the namespace testbed with --mcast
# (lib/testbed.bash draws it): src on link C sends ff3e::1234; the router
# (smcroute) forwards it to link A only, so link B gets no multicast at all;
# glm-agentd runs on hA and hB and, in the relay role, on "relay" (link C);
# the libvirt hook (hooks/qemu) is run the way libvirtd runs it, with the
# vm's domain XML on stdin. A receiver in the vm counts sequence numbers at
# 1000 packets/s while the vm migrates:
#
#   A -> B   relay path: nothing arrives on B, the agent on hB relays it
#            (onto the vm's port only: never back up hB's uplink)
#   B -> A   native path: the proxy join on hA, the MDB pin on the new tap
#   A -> A2  the same move inside one subnet with no glm on hA2 (reference)

load lib/testbed
load lib/glm

G=ff3e::1234
PORT=7400

setup() {
	GLM_VM_CONF=()
	GLM_AGENT_CONF=()
}

teardown() {
	glm_teardown
}

jf() { python3 -c "import json,sys; d=json.load(open('$1')); print($2)"; }

# The glm testbed with multicast: IMS, matd in vm and cn, agents on hA and
# hB, the relay; the vm is running on hA (libvirt's start hooks run there).
# GLM_AGENT_CONF (array) adds lines to hA's and hB's agent configuration.
mcast_setup() {
	tb_setup --mcast "$@"
	glm_keys
	glm_start_imsd
	glm_start_matd cn
	glm_start_matd vm "correspondent $TB_CN_ADDR"
	glm_wait_handovers vm 1 5
	glm_start_agent relay
	glm_start_agent hA ${GLM_AGENT_CONF[@]+"${GLM_AGENT_CONF[@]}"}
	glm_start_agent hB ${GLM_AGENT_CONF[@]+"${GLM_AGENT_CONF[@]}"}
	glm_hook hA prepare begin
	glm_hook hA started begin
}

recv_start() {
	tb_spawn vm "$GLM_BIN/mcstream" recv --group "$G" --port $PORT --ifname eth0 --idle 3 --gap-ms 4 --json \
		>"$TB_DIR/recv.json" 2>"$TB_DIR/recv.err"
	RECV_PID=$TB_PID
}

send_start() {
	tb_spawn src "$GLM_BIN/mcstream" send --group "$G" --port $PORT --ifname eth0 --rate 1000 --size "${SIZE:-200}" \
		--duration "$1" --rt-prio 10 --json >"$TB_DIR/send.json" 2>"$TB_DIR/send.err"
	SEND_PID=$TB_PID
}

# send_stop: end a stream started with a long duration, now (the sender
# sends its FIN on SIGTERM): a test whose checks need the vm to still
# listen ends the stream itself, however slow the box was to get there.
send_stop() {
	kill -TERM "$SEND_PID" 2>/dev/null || true
}

stream_stop() {
	tb_wait_pid "$SEND_PID" 60 || { cat "$TB_DIR/send.err" >&2; return 1; }
	tb_wait_pid "$RECV_PID" 60 || { cat "$TB_DIR/recv.err" >&2; return 1; }
	echo "receiver: $(cat "$TB_DIR/recv.json")" >&2
}

# move_gap N: the gap of move N (1-based) of the migrations file, whole
# and after carrier-up (tests/bats/lib/movestats.py).
move_gap() {
	python3 "$BATS_TEST_DIRNAME/lib/movestats.py" "$TB_DIR/migrations" "$TB_DIR/recv.json" |
		python3 -c "import json,sys; m=json.load(sys.stdin)['moves'][$1-1]; print('%.1f ms (%.1f ms after carrier-up)' % (m['outage_ms'], m['after_up_ms']))"
}

@test "multicast follows the vm: A->B by relay, B->A natively, A->A2 reference; gaps and duplicates" {
	mcast_setup
	recv_start
	# until send_stop: the vm must still listen at the last status check
	# (the receiver leaves the group when the stream ends)
	send_start 120
	sleep 1
	glm_migrate hB
	glm_wait_handovers vm 2 5
	# the agent prepared the guest before the switch-over
	[ "$(glm_status_field vm "d['mobile']['last_handover']['prepared']")" = True ]
	grep -q 'matd prepared 2001:db8:b:' "$TB_DIR/agent-hB.log"
	# hB vouched for the MA it prepared: the IMS and the correspondent
	# took it at once; the first, unprepared, MA was proven at the MA
	grep -q -- "-> 2001:db8:a:.*asking it to prove" "$TB_DIR/imsd.log"
	! grep -q -- "-> 2001:db8:b:.*asking it to prove" "$TB_DIR/imsd.log" || false
	! grep -q -- "-> 2001:db8:b:.*asking it to prove" "$TB_DIR/matd-cn.log" || false
	sleep 1.5
	# on hB the group is relayed: one session, packets flowing
	glm_glmctl hB status --json | python3 -c "
import json,sys
d=json.load(sys.stdin)
r=[x for x in d['relays'] if x['group']=='$G']
assert len(r)==1 and r[0]['packets']>0, d['relays']
g=d['vms'][0]['groups'][0]
assert g['relayed'] and g['pinned']==False and g['own_report'], g"
	# the relayed stream (1000 packets/s) reaches the vm's port only, not
	# hB's uplink: the router gets no more multicast from link B than the
	# hosts' MLD and ND
	local m0 m1
	m0=$(tb_exec rt awk '$1 == "Ip6InMcastPkts" { print $2 }' /proc/net/dev_snmp6/brB)
	sleep 1
	m1=$(tb_exec rt awk '$1 == "Ip6InMcastPkts" { print $2 }' /proc/net/dev_snmp6/brB)
	echo "# multicast into the router from link B in 1 s while relaying: $((m1 - m0))" >&3
	[ $((m1 - m0)) -lt 200 ]
	glm_migrate hA
	glm_wait_handovers vm 3 5
	sleep 1.5
	glm_glmctl hA status --json | python3 -c "
import json,sys
d=json.load(sys.stdin)
g=d['vms'][0]['groups'][0]
assert g['native'] and not g['relayed'] and g['own_report'] and not g['proxy_joined'], g
assert not [x for x in d['relays'] if x['refs']>0], d['relays']"
	# reference: the same move inside one subnet, hA2 has no glm (its hook
	# finds no agent), the same steps
	sleep 0.3
	tb_migrate --attach-only hA2
	glm_hook hA2 started begin
	tb_migrate --resume
	sleep 1.5
	send_stop
	stream_stop
	[ "$(jf "$TB_DIR/recv.json" "d['error']")" = None ]
	[ "$(jf "$TB_DIR/recv.json" "d['dup']")" = 0 ]
	[ "$(jf "$TB_DIR/recv.json" "d['reordered']")" = 0 ]
	echo "# gap A->B relay: $(move_gap 1)" >&3
	echo "# gap B->A native: $(move_gap 2)" >&3
	echo "# gap A->A2 same subnet, no glm: $(move_gap 3)" >&3
	echo "# hooks (node op sub ms rc): $(tr '\n' ';' <"$TB_DIR/hook-times")" >&3
	# the stream ran to its end after the last move
	[ "$(jf "$TB_DIR/recv.json" "d['last_seq'] >= d['sent'] - 3")" = True ]
	# every hook returned 0 and printed nothing
	! awk '$5 != 0' "$TB_DIR/hook-times" | grep -q . || false
}

# relay_full_size [--relay-mtu MTU]: full-size packets (1400 bytes of
# payload, 1000 a second) relayed to the vm on hB; REASM: how many
# datagrams hB reassembled in one second of it (a RELAYED_PACKET adds 120
# bytes to the packet).
relay_full_size() {
	local r0 r1 rx
	mcast_setup "$@"
	recv_start
	# until send_stop: the stream must outlast the move and the
	# one-second count after it, however slow the box
	SIZE=1400 send_start 120
	sleep 0.5
	glm_migrate hB
	glm_wait_handovers vm 2 5
	sleep 1
	r0=$(tb_exec hB awk '$1 == "Ip6ReasmOKs" { print $2 }' /proc/net/snmp6)
	sleep 1
	r1=$(tb_exec hB awk '$1 == "Ip6ReasmOKs" { print $2 }' /proc/net/snmp6)
	rx=$(glm_glmctl hB status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['relays'][0]['packets'])")
	send_stop
	stream_stop
	[ "$(jf "$TB_DIR/recv.json" "d['error']")" = None ]
	[ "$(jf "$TB_DIR/recv.json" "d['dup']")" = 0 ]
	# relayed packets came, and reached the vm to the end of the stream
	echo "# relayed to hB: $rx packets; reassembled at hB in 1 s: $((r1 - r0))" >&3
	[ "$rx" -gt 1000 ]
	[ "$(jf "$TB_DIR/recv.json" "d['last_seq'] >= d['sent'] - 3")" = True ]
	REASM=$((r1 - r0))
}

@test "relayed full-size packets on a 1500-byte path: two fragments each, reassembled at hB, all delivered" {
	relay_full_size
	[ "$REASM" -gt 800 ]
}

@test "relayed full-size packets with room on the path (--relay-mtu 9000): whole, all delivered" {
	relay_full_size --relay-mtu 9000
	[ "$REASM" = 0 ]
}

@test "matd yields the CPU (SCHED_IDLE) from the agent's PREPARE until the move" {
	mcast_setup
	policy() { chrt -p "$GLM_MATD_VM_PID" | sed -n 's/.*scheduling policy: //p'; }
	[ "$(policy)" = SCHED_OTHER ]
	glm_hook hB migrate begin
	glm_hook hB prepare begin
	local i
	for i in $(seq 50); do
		grep -q 'matd prepared 2001:db8:b:' "$TB_DIR/agent-hB.log" && break
		sleep 0.1
	done
	[ "$(policy)" = SCHED_IDLE ]
	tb_migrate --attach-only hB
	glm_hook hB started begin
	tb_migrate --resume
	glm_hook hA stopped end
	glm_hook hA release end
	glm_wait_handovers vm 2 5
	[ "$(glm_status_field vm "d['mobile']['last_handover']['prepared']")" = True ]
	[ "$(policy)" = SCHED_OTHER ]
}

@test "frames the guest still addresses to its old router reach the new one, until it leaves" {
	mcast_setup
	glm_migrate hB
	glm_wait_handovers vm 2 5
	# matd told hB's agent its router on link A; hB's agent told matd B's
	glm_glmctl hB status --json | python3 -c "
import json,sys
v=json.load(sys.stdin)['vms'][0]
assert v['redirect'] and v['redirect']['from']=='02:00:00:00:0a:01', v"
	tb_exec hB nft list map bridge glm to_router | grep -q "02:00:00:00:0a:01 . $TB_VM_MAC0 .*: 02:00:00:00:0b:01"
	# the guest's neighbour cache as right after a resume: the router's
	# address still on link A's router (the testbed's radvd would correct
	# it within 70 ms; a real network's does not for minutes)
	udp_burst() {
		tb_exec vm ip -6 neigh replace fe80::1 lladdr "$1" dev eth0 nud permanent
		tb_spawn cn "$GLM_BIN/seqstream" server --udp --listen "[::]:$2" --idle 1 --duration 4 --json \
			>"$TB_DIR/burst-$2.json"
		local rx=$TB_PID
		sleep 0.2
		# (exits 69 when its first datagram gets no answer: the control)
		tb_exec vm "$GLM_BIN/seqstream" client --udp --connect "[$TB_CN_ADDR]:$2" --rate 200 --duration 0.5 \
			--wait 1 --json >"$TB_DIR/burst-$2-tx.json" 2>"$TB_DIR/burst-$2-tx.err" || true
		tb_wait_pid "$rx" 10
	}
	udp_burst 02:00:00:00:0a:01 5011
	echo "# to link A's router's MAC: sent $(jf "$TB_DIR/burst-5011-tx.json" "d['sent']"), received $(jf "$TB_DIR/burst-5011.json" "d['received']")" >&3
	[ "$(jf "$TB_DIR/burst-5011.json" "d['received']")" -ge 1 ]
	[ "$(jf "$TB_DIR/burst-5011.json" "d['received'] == $(jf "$TB_DIR/burst-5011-tx.json" "d['sent']")")" = True ]
	# control: a MAC no router on any link has gets nowhere
	udp_burst 02:00:00:00:0e:01 5012
	[ "$(jf "$TB_DIR/burst-5012.json" "d['received']")" = 0 ]
	tb_exec vm ip -6 neigh del fe80::1 dev eth0
	# the vm leaves hB: its element goes with it
	glm_hook hB release end
	! tb_exec hB nft list map bridge glm to_router | grep -q "$TB_VM_MAC0" || false
}

@test "a late release of an instance that left does not end the one arriving under the same name" {
	mcast_setup
	glm_domain_xml | sed "s|<domain type='qemu'>|<domain type='qemu' id='3'>|" >"$TB_DIR/id3.xml"
	glm_domain_xml | sed "s|<domain type='qemu'>|<domain type='qemu' id='7'>|" >"$TB_DIR/id7.xml"
	GLM_XML_FILE=$TB_DIR/id3.xml glm_hook hA started begin
	# instance 3 migrated away; the domain comes back before libvirt's
	# hooks reported instance 3's end (they come 1-2 s late)
	glm_hook hA migrate begin
	GLM_XML_FILE=$TB_DIR/id3.xml glm_hook hA stopped end
	GLM_XML_FILE=$TB_DIR/id3.xml glm_hook hA release end
	[ "$(glm_glmctl hA status --json | python3 -c "import json,sys; v=json.load(sys.stdin)['vms']; print(len(v), v[0]['state'])")" = "1 incoming" ]
	grep -q "vm vm: release of its instance 3, which ended here already: the one here now is kept" "$TB_DIR/agent-hA.log"
	# the new instance's own end is an end
	GLM_XML_FILE=$TB_DIR/id7.xml glm_hook hA started begin
	GLM_XML_FILE=$TB_DIR/id7.xml glm_hook hA release end
	[ "$(glm_glmctl hA status --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)['vms']))")" = 0 ]
}

@test "two VMs on one host share one relay session" {
	mcast_setup
	glm_domain_xml | sed -e 's|<name>vm</name>|<name>vm2</name>|' -e "s|$TB_VM_MAC0|52:54:00:12:34:99|" \
		-e 's|vnet0|vnet9|' -e 's|4dea22b3|5dea22b3|' >"$TB_DIR/vm2.xml"
	glm_hook hB migrate begin
	GLM_XML_FILE=$TB_DIR/vm2.xml glm_hook hB migrate begin
	sleep 0.5
	glm_glmctl hB status --json | python3 -c "
import json,sys
d=json.load(sys.stdin)
r=[x for x in d['relays'] if x['group']=='$G']
assert len(r)==1 and r[0]['refs']==2, r
assert len(d['vms'])==2, d['vms']"
	glm_glmctl relay status --json | python3 -c "
import json,sys
d=json.load(sys.stdin)
# one session for hB, whatever the number of its VMs (hA has its own)
s=[x for x in d['relay_server']['sessions'] if x['group']=='$G' and x['agent'].startswith('[2001:db8:b::2]')]
assert len(s)==1, d"
	GLM_XML_FILE=$TB_DIR/vm2.xml glm_hook hB release end
	glm_glmctl hB status --json | python3 -c "
import json,sys
d=json.load(sys.stdin)
r=[x for x in d['relays'] if x['group']=='$G']
assert len(r)==1 and r[0]['refs']==1, r"
	glm_hook hB release end
	sleep 0.2
	glm_glmctl hB status --json | python3 -c "
import json,sys
d=json.load(sys.stdin)
assert not [x for x in d['relays'] if x['refs']>0], d['relays']"
}

@test "the relay stops when the native stream appears, with no duplicate delivered" {
	mcast_setup
	recv_start
	send_start 120
	sleep 0.5
	glm_migrate hB
	glm_wait_handovers vm 2 5
	sleep 1.5
	# now link B gets the group natively too
	tb_mroute_add --to "brA brB" "$G"
	sleep 1.5
	# (before the stream ends: then the vm leaves the group)
	glm_glmctl hB status --json | python3 -c "
import json,sys
d=json.load(sys.stdin)
g=d['vms'][0]['groups'][0]
assert g['native'] and not g['relayed'], g
r=[x for x in d['relays'] if x['group']=='$G' and x['refs']>0 and x['state']!='stopped']
assert not r, r" 
	send_stop
	stream_stop
	grep -o 'relay client: .*' "$TB_DIR/agent-hB.log" | tail -3 | sed 's/^/# /' >&3
	grep -q 'arriving natively on br0.*relay no longer needed' "$TB_DIR/agent-hB.log"
	# A relayed copy injected before the native stream's very first packet
	# reaches the vm too (it cannot be called back): at most that one, at
	# the switch; nothing after the relay is dropped.
	[ "$(jf "$TB_DIR/recv.json" "d['dup']")" -le 1 ]
	[ "$(jf "$TB_DIR/recv.json" "d['error']")" = None ]
}

@test "the proxy join is left only after the vm's own report; the pin goes back to the kernel" {
	mcast_setup
	recv_start
	# until send_stop: the vm must still listen at the last check (the
	# receiver leaves the group when the stream ends)
	send_start 120
	sleep 0.5
	glm_migrate hB
	glm_wait_handovers vm 2 5
	sleep 0.5
	# back to A, step by step
	glm_hook hA migrate begin
	glm_hook hA prepare begin
	tb_migrate --attach-only hA
	glm_hook hA started begin
	# before the switch-over: host membership and a permanent pin on vnet0
	tb_mdb hA | grep -q "br0 $G"
	tb_mdb hA | grep "vnet0 $G" | grep -q permanent
	glm_glmctl hA status --json | python3 -c "
import json,sys
g=json.load(sys.stdin)['vms'][0]['groups'][0]
assert g['proxy_joined'] and g['pinned'] and not g['own_report'], g"
	tb_migrate --resume
	sleep 1
	glm_glmctl hA status --json | python3 -c "
import json,sys
g=json.load(sys.stdin)['vms'][0]['groups'][0]
assert g['own_report'] and not g['proxy_joined'] and not g['pinned'], g"
	# the VM's membership stands, as an ordinary entry
	tb_mdb hA | grep "vnet0 $G" | grep -vq permanent
	# and in the log, the report came before the leave
	report=$(grep -n "own report for $G" "$TB_DIR/agent-hA.log" | tail -1 | cut -d: -f1)
	leave=$(grep -n "proxy join of $G on br0 left" "$TB_DIR/agent-hA.log" | tail -1 | cut -d: -f1)
	[ -n "$report" ] && [ -n "$leave" ] && [ "$report" -lt "$leave" ]
	send_stop
	stream_stop
	[ "$(jf "$TB_DIR/recv.json" "d['dup']")" = 0 ]
}

@test "agent killed mid-migration: the hook still exits 0 fast and the migration goes on" {
	mcast_setup
	glm_hook hB migrate begin
	kill "$GLM_AGENT_HB_PID"
	tb_wait_pid "$GLM_AGENT_HB_PID" 5 || true
	GLM_AGENT_HB_PID=
	run glm_hook hB prepare begin
	[ "$status" -eq 0 ] && [ -z "$output" ]
	tb_migrate --attach-only hB
	run glm_hook hB started begin
	[ "$status" -eq 0 ] && [ -z "$output" ]
	tb_migrate --resume
	glm_hook hA stopped end
	glm_hook hA release end
	# the VM runs and moved (unicast by matd's own RS/RA)
	glm_wait_handovers vm 2 5
	[[ "$(glm_vm_ma)" == 2001:db8:b:* ]]
	# every hook call well under a second (they are reported, the bound is generous)
	awk '{ if ($4 > 1000) exit 1 }' "$TB_DIR/hook-times"
	echo "# hook times with the agent gone: $(awk '$1=="hB" {printf "%s/%s %s ms; ", $2, $3, $4}' "$TB_DIR/hook-times")" >&3
}

@test "forged RELAY_REQUEST and PREPARE are refused; a guest's key cannot relay or forge a RELAYED_PACKET" {
	mcast_setup
	# send NODE [ADDR]:PORT FROM TO ...: from node NODE as key FROM, sealed for key TO
	send() { tb_exec "$1" "$GLM_BIN/glmsend" -s "$2" -k "$(glm_keyring "$3")" -i "$4" "${@:5}"; }
	# forged MAC: no answer, counted, no session
	run send hB "[$GLM_RELAY_ADDR]:5310" 31 40 --forge RELAY_REQUEST group=$G lifetime=10
	[ "$status" -eq 2 ]
	[ "$(glm_glmctl relay stats | sed -n 's/^drop_bad_MAC=//p')" -ge 1 ]
	# authentic but a link-local group: refused
	run send hB "[$GLM_RELAY_ADDR]:5310" 31 40 RELAY_REQUEST group=ff02::1 lifetime=10
	[ "$status" -eq 1 ]
	glm_glmctl relay status --json | python3 -c "
import json,sys
assert not [x for x in json.load(sys.stdin)['relay_server']['sessions'] if x['group']=='ff02::1']"
	# a forged PREPARE to the vm's matd changes nothing
	ma=$(glm_vm_ma)
	run send hB "[$ma]:5301" 31 10 --forge PREPARE prefix=2001:db8:b::/64 router=fe80::1
	[ "$status" -eq 2 ]
	[ "$(glm_status_field vm "d['mobile']['prepared']")" = None ]
	[ "$(glm_matctl vm stats | sed -n 's/^drop_bad_MAC=//p')" -ge 1 ]
	# RESUMED, forged or for an address it was not prepared for: no move
	n=$(glm_status_field vm "d['mobile']['handovers']")
	bad=$(glm_matctl vm stats | sed -n 's/^drop_bad_MAC=//p')
	run send hB "[$ma]:5301" 31 10 --forge RESUMED ma=2001:db8:b::99
	run send hB "[$ma]:5301" 31 10 RESUMED ma=2001:db8:b::99
	[ "$(glm_matctl vm stats | sed -n 's/^drop_bad_MAC=//p')" -gt "$bad" ]
	[ "$(glm_status_field vm "d['mobile']['handovers']")" = "$n" ]
	[ "$(glm_status_field vm "d['mobile']['ma']")" = "$ma" ]
	# a guest's own key pair (the rogue 66, and the vm's 10), its MAC
	# good: no relay session, no RELAYED_PACKET taken by an agent
	role0=$(glm_glmctl relay stats | sed -n 's/^drop_wrong_role=//p')
	run send hB "[$GLM_RELAY_ADDR]:5310" 66 40 -t 300 RELAY_REQUEST group=$G lifetime=10
	[ "$status" -eq 2 ]
	run send hB "[$GLM_RELAY_ADDR]:5310" 10 40 -t 300 RELAY_REQUEST group=$G lifetime=10
	[ "$status" -eq 2 ]
	[ "$(glm_glmctl relay stats | sed -n 's/^drop_wrong_role=//p')" -eq $((role0 + 2)) ]
	glm_glmctl relay status --json | python3 -c "
import json,sys
assert not json.load(sys.stdin)['relay_server']['sessions']"
	role0=$(glm_glmctl hB stats | sed -n 's/^drop_wrong_role=//p')
	run send hB "[2001:db8:b::2]:5310" 66 31 -t 300 RELAYED_PACKET group=$G
	[ "$status" -eq 2 ]
	[ "$(glm_glmctl hB stats | sed -n 's/^drop_wrong_role=//p')" -eq $((role0 + 1)) ]
}

@test "a RELAY_REQUEST captured before the relay's restart is dropped after it: no session, nothing relayed" {
	mcast_setup
	relay_field() { glm_glmctl relay status --json | python3 -c "import json,sys; r=json.load(sys.stdin)['relay_server']; print($1)"; }
	relay_stat() { glm_glmctl relay stats | sed -n "s/^$1=//p"; }
	send() { tb_exec hB "$GLM_BIN/glmsend" -s "[$GLM_RELAY_ADDR]:5310" -k "$(glm_keyring 31)" -i 40 "$@"; }
	# an agent's request (key 31, hB's), taken: a session
	run send --save "$TB_DIR/request.hex" RELAY_REQUEST group=$G lifetime=3
	echo "request: $status $output" >&2
	[ "$status" -eq 0 ]
	[ "$(relay_field "len(r['sessions'])")" -eq 1 ]
	kill -TERM "$GLM_AGENT_RELAY_PID"
	tb_wait_pid "$GLM_AGENT_RELAY_PID" 5
	glm_start_agent relay
	# the group is sent on the relay's link, so a session would stream
	send_start 30
	sleep 0.5
	run tb_exec hB "$GLM_BIN/glmsend" -s "[$GLM_RELAY_ADDR]:5310" -k "$(glm_keyring 31)" -t 500 --replay "$TB_DIR/request.hex"
	echo "replay: $status $output" >&2
	[ "$status" -eq 2 ]
	sleep 0.5
	[ "$(relay_field "len(r['sessions'])")" -eq 0 ]
	[ "$(relay_field "r['tx_packets']")" -eq 0 ]
	[ "$(relay_stat drop_seq_before_start)" -eq 1 ]
	# a request from 30+ s ahead: dropped too, and it locks nothing
	run send -t 300 --seq $(($(date +%s%N) + 35000000000)) RELAY_REQUEST group=$G lifetime=3
	[ "$status" -eq 2 ]
	[ "$(relay_stat drop_seq_ahead)" -eq 1 ]
	[ "$(relay_field "len(r['sessions'])")" -eq 0 ]
	run send RELAY_REQUEST group=$G lifetime=3
	[ "$status" -eq 0 ]
	[ "$(relay_field "len(r['sessions'])")" -eq 1 ]
	send_stop
}

@test "malformed domain XML: glm-prepare says why and refuses, the hook still exits 0 silently" {
	tb_setup
	glm_keys
	glm_start_agent hB
	printf '<domain><name>vm</name><devices><interface type="bridge"><mac address="zz"/>' >"$TB_DIR/bad.xml"
	run tb_exec hB "$GLM_BIN/glm-prepare" -d -s "$TB_DIR/agent-hB.sock" incoming <"$TB_DIR/bad.xml"
	[ "$status" -eq 65 ]
	[[ "$output" == *"domain XML"* ]]
	GLM_XML_FILE=$TB_DIR/bad.xml run glm_hook hB migrate begin
	[ "$status" -eq 0 ] && [ -z "$output" ]
	# nothing registered
	glm_glmctl hB status --json | python3 -c "
import json,sys
assert not json.load(sys.stdin)['vms']"
}

# big_domain_xml NAME: a domain at glm's limits: 16 NICs on br0 with
# 15-character tap names, and 64 source-specific groups of full-length
# addresses (what glm-agentd itself may record in a VM's metadata). Its
# request to the agent is ~5.7 kB: more than glm-prepare's old 4096-byte
# buffer, which it overran on the stack.
big_domain_xml() {
	local i
	printf "<domain type='qemu' id='5'>\n  <name>%s</name>\n  <metadata>\n" "$1"
	printf '    <glm:mobility xmlns:glm="urn:x-glm:mobility:1">\n'
	printf '      <glm:home address="%s" key-id="10"/>\n' "$GLM_HA"
	printf '      <glm:relay address="[%s]:5310"/>\n' "$GLM_RELAY_ADDR"
	for i in $(seq 0 63); do
		printf '      <glm:group address="ff3e:1111:2222:3333:4444:5555:6666:%04x" source="2001:db8:cccc:dddd:eeee:ffff:abcd:%04x"/>\n' \
			$((0x7700 + i)) $((0x1100 + i))
	done
	printf '    </glm:mobility>\n  </metadata>\n  <devices>\n'
	for i in $(seq 0 15); do
		printf "    <interface type='bridge'><mac address='52:54:00:00:10:%02x'/><source bridge='br0'/><target dev='vnet-0123456-%02d'/></interface>\n" \
			"$i" "$i"
	done
	printf '  </devices>\n</domain>\n'
}

@test "a domain at the limits (64 source-specific groups, 16 NICs) reaches the agent whole" {
	tb_setup
	glm_keys
	glm_start_agent hB
	big_domain_xml vm >"$TB_DIR/big.xml"
	# glm-prepare itself (sanitizer build): no stack overflow, the agent's answer
	run tb_exec hB "$GLM_BIN/glm-prepare" -d -s "$TB_DIR/agent-hB.sock" incoming <"$TB_DIR/big.xml"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" != *Sanitizer* ]]
	[[ "$output" == *"domain vm: 64 groups"* ]]
	# all 64 groups, in the order of the XML
	glm_glmctl hB status --json | python3 -c "
import json,sys
v=json.load(sys.stdin)['vms']
assert len(v)==1 and v[0]['name']=='vm', v
want=['ff3e:1111:2222:3333:4444:5555:6666:%x' % (0x7700+i) for i in range(64)]
assert [g['group'] for g in v[0]['groups']]==want, v[0]['groups']"
	glm_hook hB release end
	[ "$(glm_glmctl hB status --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)['vms']))")" = 0 ]
	# and as libvirt runs it, through the hook: migrate begin (with
	# PREPARE), started; the relay sessions show every group's source
	GLM_XML_FILE=$TB_DIR/big.xml glm_hook hB migrate begin
	GLM_XML_FILE=$TB_DIR/big.xml glm_hook hB started begin
	sleep 0.5
	glm_glmctl hB status --json | python3 -c "
import json,sys,ipaddress as ip
d=json.load(sys.stdin)
v=d['vms']
assert len(v)==1 and len(v[0]['groups'])==64, v
# the taps in the order of the XML, as many as the agent keeps a VM
taps=['vnet-0123456-%02d' % i for i in range(16)]
assert v[0]['ports'] and v[0]['ports']==taps[:len(v[0]['ports'])], v[0]['ports']
want={(ip.ip_address('ff3e:1111:2222:3333:4444:5555:6666:%x' % (0x7700+i)),
       ip.ip_address('2001:db8:cccc:dddd:eeee:ffff:abcd:%x' % (0x1100+i))) for i in range(64)}
got={(ip.ip_address(r['group']), ip.ip_address(r['source'])) for r in d['relays']}
assert got==want, sorted(want-got)[:3]"
	! awk '$5 != 0' "$TB_DIR/hook-times" | grep -q . || false
}

@test "a domain named with blanks and non-ASCII letters is handled: incoming, started, release" {
	local name='web server ü-1 #2;a=b,50%'
	tb_setup
	glm_keys
	glm_start_agent hB
	glm_domain_xml | sed -e "s|<name>vm</name>|<name>$name</name>|" \
		-e "s|<domain type='qemu'>|<domain type='qemu' id='4'>|" >"$TB_DIR/named.xml"
	export GLM_XML_FILE=$TB_DIR/named.xml
	glm_hook hB migrate begin
	glm_hook hB prepare begin
	glm_glmctl hB status --json | NAME=$name python3 -c "
import json,os,sys
v=json.load(sys.stdin)['vms']
assert len(v)==1 and v[0]['name']==os.environ['NAME'] and v[0]['state']=='incoming', v
assert [g['group'] for g in v[0]['groups']]==['$GLM_GROUP'], v"
	glm_hook hB started begin
	glm_glmctl hB status --json | NAME=$name python3 -c "
import json,os,sys
v=json.load(sys.stdin)['vms']
assert len(v)==1 and v[0]['name']==os.environ['NAME'] and v[0]['ports']==['vnet0'], v"
	# the text status and the log carry the name as it is
	glm_glmctl hB status | grep -qF "vm $name: "
	grep -qF "vm $name started on br0" "$TB_DIR/agent-hB.log"
	glm_hook hB release end
	[ "$(glm_glmctl hB status --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)['vms']))")" = 0 ]
	grep -qF "vm $name released" "$TB_DIR/agent-hB.log"
	! awk '$5 != 0' "$TB_DIR/hook-times" | grep -q . || false
}

@test "a domain name with a control character is refused with the reason, never logged raw" {
	tb_setup
	glm_keys
	glm_start_agent hB
	local c
	# (sed: \& is a literal &)
	for c in '\&#10;' '\&#9;' '\&#13;' $'\x7f' $'\xc2\x85'; do
		glm_domain_xml | sed -e "s|<name>vm</name>|<name>web${c}server</name>|" >"$TB_DIR/ctl.xml"
		run tb_exec hB "$GLM_BIN/glm-prepare" -d -s "$TB_DIR/agent-hB.sock" incoming <"$TB_DIR/ctl.xml"
		echo "$c: $output"
		[ "$status" -eq 65 ]
		[[ "$output" == *"<name>web?"*"server</name>: a control character (U+00"??" at byte 3)"* ]]
		GLM_XML_FILE=$TB_DIR/ctl.xml run glm_hook hB migrate begin
		[ "$status" -eq 0 ] && [ -z "$output" ]
	done
	# the agent checks again: a request written by hand with an encoded
	# control character is refused, and nothing of it reaches the log raw
	run python3 - "$TB_DIR/agent-hB.sock" <<-'EOF'
	import socket, sys
	for req in (b"incoming domain=web%0Aserver nics=52:54:00:12:34:56/br0",
	            b"incoming domain=web%1B%5B2Jserver nics=52:54:00:12:34:56/br0"):
	    s = socket.socket(socket.AF_UNIX)
	    s.connect(sys.argv[1])
	    s.sendall(req + b"\n")
	    s.shutdown(socket.SHUT_WR)
	    print(b"".join(iter(lambda: s.recv(4096), b"")).decode().strip())
	EOF
	echo "$output"
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[0]}" == "error: domain: a control character (U+000A at byte 3)" ]]
	[[ "${lines[1]}" == "error: domain: a control character (U+001B at byte 3)" ]]
	glm_glmctl hB status --json | python3 -c "
import json,sys
assert not json.load(sys.stdin)['vms']"
	! grep -qP '[\x01-\x08\x0b-\x1f\x7f]' "$TB_DIR/agent-hB.log" || false
}

@test "a vm that reports its group before reception-timeout runs out still gets the stream relayed on B" {
	# reception-timeout 2000: the vm's own report on hB (at its resume)
	# comes well before the timeout; it says the vm wants the group, not
	# that the stream arrives, and link B has no multicast
	GLM_AGENT_CONF=('reception-timeout 2000')
	mcast_setup
	recv_start
	send_start 8
	sleep 0.5
	glm_migrate hB
	glm_wait_handovers vm 2 5
	sleep 3
	glm_glmctl hB status --json | python3 -c "
import json,sys
d=json.load(sys.stdin)
g=d['vms'][0]['groups'][0]
r=[x for x in d['relays'] if x['group']=='$G']
assert len(r)==1 and r[0]['packets']>0, d['relays']
assert g['relayed'] and g['own_report'] and g['proxy_joined'] and not g['native'], g
assert g['state']=='relayed', g"
	stream_stop
	report=$(grep -n "own report for $G" "$TB_DIR/agent-hB.log" | tail -1 | cut -d: -f1)
	asked=$(grep -n "$G proxy-joined -> relay-asked" "$TB_DIR/agent-hB.log" | tail -1 | cut -d: -f1)
	[ -n "$report" ] && [ -n "$asked" ] && [ "$report" -lt "$asked" ]
	grep -q "$G relay-asked -> relayed" "$TB_DIR/agent-hB.log"
	echo "# gap A->B, reported before the 2 s timeout: $(move_gap 1)" >&3
	[ "$(jf "$TB_DIR/recv.json" "d['error']")" = None ]
	[ "$(jf "$TB_DIR/recv.json" "d['dup']")" = 0 ]
	# the stream reached the vm on B to its end
	[ "$(jf "$TB_DIR/recv.json" "d['last_seq'] >= d['sent'] - 3")" = True ]
}

# cpu_ticks PID: the process's user + system time, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

@test "a relay request that cannot be made is logged with its reason and retried, without spinning" {
	tb_setup
	glm_keys
	# a loopback relay: relay_client_want refuses it (-EINVAL)
	glm_start_agent hB 'relay [::1]:5310'
	glm_domain_xml | sed '/glm:relay/d' >"$TB_DIR/norelay.xml"
	GLM_XML_FILE=$TB_DIR/norelay.xml glm_hook hB migrate begin
	sleep 0.5
	local t0 t1
	t0=$(cpu_ticks "$GLM_AGENT_HB_PID")
	sleep 2
	t1=$(cpu_ticks "$GLM_AGENT_HB_PID")
	echo "# agent CPU in 2 s with a relay it cannot ask: $((t1 - t0)) ticks of $(getconf CLK_TCK)/s" >&3
	[ $((t1 - t0)) -lt 20 ]
	grep "cannot ask" "$TB_DIR/agent-hB.log" | sed 's/^/# /' >&3
	grep -q "vm vm: cannot ask the relay \[::1\]:5310 for $GLM_GROUP: Invalid argument" "$TB_DIR/agent-hB.log"
	# logged once, retried quietly (with backoff) while the reason stays
	[ "$(grep -c "cannot ask the relay" "$TB_DIR/agent-hB.log")" = 1 ]
	grep -q "$GLM_GROUP proxy-joined -> relay-failed" "$TB_DIR/agent-hB.log"
	! grep -q "relayed from" "$TB_DIR/agent-hB.log" || false
	glm_glmctl hB status --json | python3 -c "
import json,sys
g=json.load(sys.stdin)['vms'][0]['groups'][0]
assert g['state']=='relay-failed' and not g['relayed'] and g['proxy_joined'], g"
	glm_glmctl hB status | grep -q "group $GLM_GROUP: relay-failed"
}

@test "a relay that never answers: the group is relay-asked, not relayed, in the status and the log" {
	tb_setup
	glm_keys
	glm_start_agent hB
	# a relay address no agent key serves: not asked at all, and why
	glm_domain_xml | sed "s|$GLM_RELAY_ADDR|2001:db8:c::99|" >"$TB_DIR/unknown.xml"
	GLM_XML_FILE=$TB_DIR/unknown.xml glm_hook hB migrate begin
	sleep 1
	grep -q "no agent key in the keyring serves relay address 2001:db8:c::99" "$TB_DIR/agent-hB.log"
	glm_glmctl hB status | grep -q "group $GLM_GROUP: relay-failed"
	GLM_XML_FILE=$TB_DIR/unknown.xml glm_hook hB release end
	# the relay's address (key 40 serves it), where no relay runs here
	# (no --mcast): the requests go out and nothing answers
	glm_domain_xml >"$TB_DIR/silent.xml"
	GLM_XML_FILE=$TB_DIR/silent.xml glm_hook hB migrate begin
	sleep 1
	glm_glmctl hB status --json | python3 -c "
import json,sys
g=json.load(sys.stdin)['vms'][0]['groups'][0]
assert not g['relayed'] and g['proxy_joined'] and not g['native'], g
assert g['state']=='relay-asked', g"
	glm_glmctl hB status | grep -q "group $GLM_GROUP: relay-asked"
	grep -q "no $GLM_GROUP on br0 within 100 ms: asking the relay \[$GLM_RELAY_ADDR\]:5310" "$TB_DIR/agent-hB.log"
	grep -q "$GLM_GROUP proxy-joined -> relay-asked" "$TB_DIR/agent-hB.log"
	! grep -q "relayed from" "$TB_DIR/agent-hB.log" || false
	# and it says so when nothing came for a while
	sleep 2
	grep "nothing relayed" "$TB_DIR/agent-hB.log" | sed 's/^/# /' >&3
	grep -q "vm vm: nothing relayed for $GLM_GROUP from \[$GLM_RELAY_ADDR\]:5310 in 2000 ms" "$TB_DIR/agent-hB.log"
	glm_glmctl hB status --json | python3 -c "
import json,sys
g=json.load(sys.stdin)['vms'][0]['groups'][0]
assert g['state']=='relay-asked' and not g['relayed'], g"
}

@test "a domain name with '\"' and '\\' is handled and comes out whole in the JSON status" {
	local name='web "quoted" back\slash \\two'
	tb_setup
	glm_keys
	glm_start_agent hB
	glm_domain_xml | NAME=$name python3 -c "
import os,sys
from xml.sax.saxutils import escape
sys.stdout.write(sys.stdin.read().replace('<name>vm</name>', '<name>%s</name>' % escape(os.environ['NAME'], {'\"': '&quot;'})))" \
		>"$TB_DIR/named.xml"
	grep -qF '<name>web &quot;quoted&quot; back\slash \\two</name>' "$TB_DIR/named.xml"
	export GLM_XML_FILE=$TB_DIR/named.xml
	glm_hook hB migrate begin
	glm_glmctl hB status --json | NAME=$name python3 -c "
import json,os,sys
v=json.load(sys.stdin)['vms']
assert len(v)==1 and v[0]['name']==os.environ['NAME'], v"
	glm_glmctl hB status | grep -qF "vm $name: "
	grep -qF "vm $name incoming on br0" "$TB_DIR/agent-hB.log"
	glm_hook hB release end
	[ "$(glm_glmctl hB status --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)['vms']))")" = 0 ]
	! awk '$5 != 0' "$TB_DIR/hook-times" | grep -q . || false
}

@test "glmctl migrations: one record per move with its phases, one summary line in the agent's log" {
	mcast_setup
	recv_start
	send_start 60
	sleep 1
	run glm_glmctl hB migrations
	[[ $status -eq 0 && -z $output ]]
	[[ $(glm_glmctl hB migrations -j) == "[]" ]]
	glm_migrate hB
	glm_wait_handovers vm 2 5
	# the group is relayed to hB (nothing arrives there natively): the
	# migration settles once the relayed stream arrives
	local i
	for i in $(seq 50); do
		glm_glmctl hB migrations | grep -q "^migration vm: in .*, settled after" && break
		sleep 0.1
	done
	run glm_glmctl hB migrations
	echo "# $output" >&3
	[[ $status -eq 0 && ${#lines[@]} -eq 1 ]]
	[[ ${lines[0]} == "migration vm: in from MA 2001:db8:a:"*", settled after "*" ms, hook incoming->started "*" ms, 1 groups, proxy joins 1, 0 native, 1 relayed (stream after "*" ms), PREPARE "*" rtt "*" ms" ]]
	glm_glmctl hB migrations --json | python3 -c "
import json,sys
d=json.load(sys.stdin)
assert len(d)==1, d
m=d[0]
assert m['vm']=='vm' and m['outcome']=='settled', m
assert m['hook_ms']>0 and m['total_ms']>=m['hook_ms'], m
assert m['proxy_joins']==1 and m['groups']==1 and m['relayed']==1 and m['native']==0, m
assert m['native_ms'] is None and m['relayed_ms']>0, m
assert m['prepare'] in ('acked','resumed') and m['prepare_rtt_ms']>0, m
assert m['from_ma'].startswith('2001:db8:a:'), m"
	# the same line, once, in the agent's log
	[[ $(grep -c "migration vm: in .*settled" "$TB_DIR/agent-hB.log") -eq 1 ]]
	# hA saw the vm leave, not arrive: nothing there
	[[ $(glm_glmctl hA migrations -j) == "[]" ]]
	send_stop
	stream_stop
}
