#!/usr/bin/env bats
# Unicast session mobility end to end, on the namespace testbed drawn at the
# top of lib/testbed.bash: imsd on link C, matd in cn (correspondent for
# 2001:db8:100::/64) and in vm (mobile node, HA 2001:db8:100::10), the vm's
# NIC moved between hA (link A, 2001:db8:a::/64) and hB (link B,
# 2001:db8:b::/64) mid-stream. Streams count sequence numbers; a TCP stream
# must arrive complete, in order and without a reset.

load lib/testbed
load lib/glm

setup() {
	GLM_VM_CONF=()
}

teardown() {
	glm_teardown
}

# migrate DEST N: move the vm and wait for matd's Nth handover.
migrate() { glm_move "$@"; }

@test "TCP from cn to the vm's HA survives A->B->A->B (unprepared)" {
	glm_setup
	start_stream tcp vm cn 5
	migrate hB 2
	[ "$(glm_vm_ma)" != "${TB_VM_ADDR}" ]
	[[ "$(glm_vm_ma)" == 2001:db8:b:* ]]
	migrate hA 3
	[[ "$(glm_vm_ma)" == 2001:db8:a:* ]]
	migrate hB 4
	finish_stream
	assert_tcp_intact
	# every handover logged with its phases
	[ "$(grep -c 'handover #[0-9]* unprepared eth0 (carrier).*detect->usable.*ims rtt.*cn notify rtt' "$TB_DIR/matd-vm.log")" -eq 3 ]
	# the HA never appears on the wire: cn's peer table holds the MA
	glm_wait_peer cn "$GLM_HA" "$(glm_vm_ma)" 2
}

@test "TCP started by the vm, data from cn, survives A->B->A->B" {
	glm_setup
	start_stream tcp vm vm 5
	migrate hB 2
	migrate hA 3
	migrate hB 4
	finish_stream
	assert_tcp_intact
}

skipped_oow() {
	tb_exec cn nstat -az TcpExtTCPACKSkippedSeq | awk '$1 == "TcpExtTCPACKSkippedSeq" { print $2 }'
}

@test "TCP started by the vm, data from the vm, survives A->B->A->B" {
	glm_setup
	# the stream lasts until after the last move: each move must find the
	# session there to be kicked (a 5 s stream ended before the third
	# move on a loaded machine)
	start_stream tcp cn vm 0
	local skipped0
	skipped0=$(skipped_oow)
	migrate hB 2
	migrate hA 3
	migrate hB 4
	stop_stream
	finish_stream
	assert_tcp_intact
	# after each move its peer was asked to send its ACKs again, to the
	# new MA (the ones sent to the old MA since the move are lost): by
	# cn's matd itself as it took the binding update, and by the vm's
	# once cn acked it
	[ "$(grep -c "1 of 1 of our TCP sessions with $GLM_HA asked for an ACK to its new MA" "$TB_DIR/matd-cn.log")" -ge 3 ]
	[ "$(grep -c "1 of 1 TCP sessions of $GLM_HA with $TB_CN_ADDR asked their peers for an ACK to " "$TB_DIR/matd-vm.log")" -ge 3 ]
	# cn's TCP answered the segment cn's matd injected: the vm's, within
	# 500 ms of it, went unanswered (RFC 5961 rate limit), once per move
	[ "$(( $(skipped_oow) - skipped0 ))" -ge 3 ]
}

@test "UDP from cn to the vm continues across A->B->A->B, in order" {
	glm_setup
	start_stream udp vm cn 5
	migrate hB 2
	migrate hA 3
	migrate hB 4
	finish_stream
	assert_udp_in_order
}

@test "prepared move: MA installed before, only the switch after" {
	glm_setup
	start_stream tcp vm cn 3
	run glm_matctl vm prepare --prefix 2001:db8:b::/64 --router fe80::1
	[ "$status" -eq 0 ]
	prep=$(glm_status_field vm "d['mobile']['prepared']['ma']")
	[[ "$prep" == 2001:db8:b:* ]]
	# installed without DAD, without a prefix route while still on A
	tb_exec vm ip -6 addr show dev eth0 | grep -q "$prep/64.*nodad"
	! tb_exec vm ip -6 route show 2001:db8:b::/64 | grep -q eth0 || false
	migrate hB 2
	[ "$(glm_vm_ma)" = "$prep" ]
	[ "$(glm_status_field vm "d['mobile']['last_handover']['prepared']")" = True ]
	[ "$(glm_status_field vm "d['mobile']['prepared']")" = None ]
	tb_exec vm ip -6 route show 2001:db8:b::/64 | grep -q eth0
	finish_stream
	assert_tcp_intact
	grep -q 'handover #2 prepared eth0' "$TB_DIR/matd-vm.log"
}

@test "two NICs: prepare the idle eth1, swap after the move" {
	GLM_VM_CONF=("interface eth1")
	glm_setup --two-nics
	start_stream tcp vm cn 3
	glm_matctl vm prepare --prefix 2001:db8:b::/64 --router fe80::1
	[ "$(glm_status_field vm "d['mobile']['prepared']['interface']")" = eth1 ]
	migrate hB 2
	[ "$(glm_status_field vm "d['mobile']['interface']")" = eth1 ]
	[ "$(glm_status_field vm "d['mobile']['last_handover']['prepared']")" = True ]
	tb_exec vm ip -6 route show default | grep -q 'dev eth1'
	# the old MA left eth0
	! tb_exec vm ip -6 addr show dev eth0 scope global | grep -q 2001:db8:a: || false
	finish_stream
	assert_tcp_intact
}

@test "a link flap that is not a move changes nothing, prepared or not" {
	glm_setup
	ma=$(glm_vm_ma)
	n=$(glm_status_field vm "d['mobile']['handovers']")
	# unprepared: RS, RA for the prefix we are in -> no move
	tb_exec hA ip link set vnet0 down
	tb_exec hA ip link set vnet0 up
	sleep 0.5
	[ "$(glm_vm_ma)" = "$ma" ]
	[ "$(glm_status_field vm "d['mobile']['handovers']")" = "$n" ]
	grep -q 'no move' "$TB_DIR/matd-vm.log"
	# prepared for B but still on A: the probe from the B address gets no
	# answer on A, the RS finds A again; the preparation stays
	glm_matctl vm prepare --prefix 2001:db8:b::/64 --router fe80::1
	tb_exec hA ip link set vnet0 down
	tb_exec hA ip link set vnet0 up
	sleep 0.8
	[ "$(glm_vm_ma)" = "$ma" ]
	[ "$(glm_status_field vm "d['mobile']['handovers']")" = "$n" ]
	[[ "$(glm_status_field vm "d['mobile']['prepared']['ma']")" == 2001:db8:b:* ]]
	tb_exec cn ping -c 2 -W 1 "$GLM_HA"
}

@test "a correspondent with a second address acks binding updates from the address they were sent to" {
	tb_setup
	glm_keys
	glm_start_imsd
	# cn's second address, deprecated so that the kernel picks the
	# first as the source of anything cn sends to the vm
	tb_exec cn ip -6 addr add 2001:db8:c::11/64 dev eth0 nodad preferred_lft 0
	glm_start_matd cn
	glm_start_matd vm "correspondent 2001:db8:c::11"
	glm_wait_handovers vm 1 5
	tb_migrate hB
	glm_wait_handovers vm 2 5
	grep 'handover #2 ' "$TB_DIR/matd-vm.log" | sed 's/^/# /' >&3
	# acked by cn, from c::11: the handover was complete, not given up on
	grep 'handover #2 ' "$TB_DIR/matd-vm.log" | grep -q '(1/1 acked)'
	! grep 'handover #2 ' "$TB_DIR/matd-vm.log" | grep -q incomplete || false
}

@test "binding updates: forged, replayed and foreign-key ones refused, mapping unchanged" {
	glm_setup
	ma=$(glm_vm_ma)
	# send KEY ...: as guest KEY, sealed for cn (key 20)
	send() { tb_exec vm "$GLM_BIN/glmsend" -s "[$TB_CN_ADDR]:5301" -k "$(glm_keyring "$1")" -i 20 "${@:2}"; }
	# forged MAC: no answer at all, counted
	run send 10 --forge BINDING_UPDATE ha=$GLM_HA ma=2001:db8:b::99 lifetime=600
	echo "forged: $status $output" >&2
	[ "$status" -eq 2 ]
	# a key that does not own the HA: refused
	run send 66 BINDING_UPDATE ha=$GLM_HA ma=2001:db8:b::99 lifetime=600
	[ "$status" -eq 1 ]
	[[ "$output" == *"status=denied"* ]]
	# an older sequence number than the peer's (a replay): stale
	seq=$(glm_status_field cn "[p['seq'] for p in d['peers']][0]")
	run send 10 --seq $((seq - 1)) BINDING_UPDATE ha=$GLM_HA ma=2001:db8:b::99 lifetime=600
	[ "$status" -eq 1 ]
	[[ "$output" == *"status=stale"* ]]
	# a sequence number outside the window: dropped, no answer
	run send 10 -t 300 --seq $(($(date +%s%N) - 61000000000)) BINDING_UPDATE ha=$GLM_HA ma=2001:db8:b::99 lifetime=600
	[ "$status" -eq 2 ]
	run send 10 -t 300 --seq $(($(date +%s%N) + 35000000000)) BINDING_UPDATE ha=$GLM_HA ma=2001:db8:b::99 lifetime=600
	[ "$status" -eq 2 ]
	# authentic and new, but an MA no agent vouched for: cn's token goes
	# to that MA (where the sender is not), not to the sender
	run send 10 -t 300 BINDING_UPDATE ha=$GLM_HA ma=2001:db8:b::99 lifetime=600
	[ "$status" -eq 2 ]
	[ "$(glm_matctl cn stats | sed -n 's/^bu_prove=//p')" -ge 1 ]
	grep -q "binding update $GLM_HA -> 2001:db8:b::99: no vouch; asking it to prove the MA" "$TB_DIR/matd-cn.log"
	glm_wait_peer cn "$GLM_HA" "$ma" 1
	[ "$(glm_matctl cn stats | sed -n 's/^drop_bad_MAC=//p')" -ge 1 ]
	[ "$(glm_matctl cn stats | sed -n 's/^drop_seq_too_old=//p')" -eq 1 ]
	[ "$(glm_matctl cn stats | sed -n 's/^drop_seq_ahead=//p')" -eq 1 ]
	tb_exec cn ping -c 2 -W 1 "$GLM_HA"
}

@test "a PREPARE is taken once: the same bytes again are dropped unanswered and change nothing" {
	glm_setup
	ma=$(glm_vm_ma)
	# as the agent on hB would (key 31, sealed for the vm's key 10), from
	# wherever the guest's MA is reachable
	send() { tb_exec cn "$GLM_BIN/glmsend" -s "[$ma]:5301" -k "$(glm_keyring 31)" -i 10 "$@"; }
	run send --save "$TB_DIR/prepare.hex" PREPARE prefix=2001:db8:b::/64 router=fe80::1
	echo "prepare: $status $output" >&2
	[ "$status" -eq 0 ]
	[[ "$output" == "PREPARE_ACK status=ok "* ]]
	prepared=$(glm_status_field vm "d['mobile']['prepared']['ma']")
	[[ "$prepared" == 2001:db8:b:* ]]
	glm_matctl vm unprepare
	[ "$(glm_status_field vm "d['mobile']['prepared']")" = None ]
	# the captured PREPARE again: no second PREPARE_ACK, still unprepared
	run tb_exec cn "$GLM_BIN/glmsend" -s "[$ma]:5301" -k "$(glm_keyring 31)" -t 300 --replay "$TB_DIR/prepare.hex"
	echo "replay: $status $output" >&2
	[ "$status" -eq 2 ]
	[ "$(glm_status_field vm "d['mobile']['prepared']")" = None ]
	[ "$(glm_matctl vm stats | sed -n 's/^drop_replay=//p')" -eq 1 ]
	# a new PREPARE (the agent's retransmissions have seqs of their own)
	# is answered and taken; the same preparation once more is answered
	# again and stands as it is
	run send PREPARE prefix=2001:db8:b::/64 router=fe80::1
	[ "$status" -eq 0 ]
	[ "$(glm_status_field vm "d['mobile']['prepared']['ma']")" = "$prepared" ]
	run send PREPARE prefix=2001:db8:b::/64 router=fe80::1
	[ "$status" -eq 0 ]
	[ "$(glm_status_field vm "d['mobile']['prepared']['ma']")" = "$prepared" ]
	[ "$(grep -c "prepared $prepared on" "$TB_DIR/matd-vm.log")" -eq 2 ]
	# a PREPARE outside the window: dropped unanswered
	run send -t 300 --seq $(($(date +%s%N) + 35000000000)) PREPARE prefix=2001:db8:b::/64 router=fe80::1
	[ "$status" -eq 2 ]
	[ "$(glm_matctl vm stats | sed -n 's/^drop_seq_ahead=//p')" -eq 1 ]
	# the vm still moves
	glm_matctl vm unprepare
	migrate hB 2
	tb_exec cn ping -c 2 -W 1 "$GLM_HA"
}

# vouched_move_to_hB: prepared as hB's agent (key 31) prepares it, with its
# vouch for the MA it chose (the vm's interface id in 2001:db8:b::/64,
# $new), then moved there: a prepared handover #2 to $new. Needs $ma.
vouched_move_to_hB() {
	new=$(python3 -c 'import ipaddress as i, sys
print(i.ip_address(i.ip_network("2001:db8:b::/64").network_address.packed[:8] + i.ip_address(sys.argv[1]).packed[8:]))' "$ma")
	run tb_exec cn "$GLM_BIN/glmsend" -s "[$ma]:5301" -k "$(glm_keyring 31)" -i 10 --vouch PREPARE \
		prefix=2001:db8:b::/64 router=fe80::1 ha="$GLM_HA" ma="$new"
	[[ $status -eq 0 && $output == "PREPARE_ACK status=ok "* ]]
	migrate hB 2
	[ "$(glm_vm_ma)" = "$new" ]
	grep 'handover #2 ' "$TB_DIR/matd-vm.log" | grep -q ' prepared '
}

@test "a move prepared with the agent's vouch is taken by the IMS and cn at once; an unvouched MA is proven at the MA" {
	glm_setup
	start_stream tcp vm cn 4
	ma=$(glm_vm_ma)
	# no proof asked for the vouched MA, whichever of the router's echo
	# reply and its RA confirmed the link (the next test takes the RA)
	vouched_move_to_hB
	! grep -q -- "-> $new.*asking it to prove" "$TB_DIR/imsd.log" || false
	! grep -q -- "-> $new.*asking it to prove" "$TB_DIR/matd-cn.log" || false
	# prepared by hand (matctl: no agent, no vouch): the IMS and cn each
	# ask for proof at the MA, get it, and take the move
	n_ims=$(grep -c "asking it to prove" "$TB_DIR/imsd.log")
	n_cn=$(grep -c "asking it to prove" "$TB_DIR/matd-cn.log")
	glm_matctl vm prepare --prefix 2001:db8:a::/64 --router fe80::1
	migrate hA 3
	[[ $(glm_vm_ma) == 2001:db8:a:* ]]
	[ "$(grep -c "asking it to prove" "$TB_DIR/imsd.log")" -eq $((n_ims + 1)) ]
	[ "$(grep -c "asking it to prove" "$TB_DIR/matd-cn.log")" -eq $((n_cn + 1)) ]
	grep 'handover #3 ' "$TB_DIR/matd-vm.log" | grep -q '(1/1 acked)'
	finish_stream
	assert_tcp_intact
}

# The prepared move's probe is answered by the router's echo reply or its
# RA, whichever comes first (matd sends both). The IMS once asked a vouched
# MA to prove itself (CI, 1 run of 2): the RA path took the prepared MA but
# not the agent's vouch. Here rt answers no echo on link B, so the RA does.
@test "a prepared move confirmed by the router's RA carries the agent's vouch too" {
	glm_setup
	ma=$(glm_vm_ma)
	tb_exec rt nft -f - <<-'EOF'
		table ip6 glm_test_noecho {
			chain out {
				type filter hook output priority 0; policy accept;
				oifname "brB" icmpv6 type echo-reply counter drop
			}
		}
	EOF
	vouched_move_to_hB
	# the router's RA confirmed the link (rt answers no echo there)
	grep -q 'handover: router advertisement confirmed the link' "$TB_DIR/matd-vm.log"
	! grep -q -- "-> $new.*asking it to prove" "$TB_DIR/imsd.log" || false
	! grep -q -- "-> $new.*asking it to prove" "$TB_DIR/matd-cn.log" || false
	grep 'handover #2 ' "$TB_DIR/matd-vm.log" | grep -q '(1/1 acked)'
}

@test "a correspondent holds nothing to forge the mobile node's IMS update with" {
	glm_setup
	ma=$(glm_vm_ma)
	# cn (key 20) knows the vm's public key and shares a MAC key with it,
	# not the one the vm shares with the IMS (key 5)
	send() { tb_exec cn "$GLM_BIN/glmsend" -s "[$TB_IMS_ADDR]:5300" -k "$(glm_keyring 20)" -t 300 "$@"; }
	mac0=$(socat - "UNIX-CONNECT:$TB_DIR/ims.sock" <<<stats | sed -n 's/^drop_bad_MAC=//p')
	run send -i 5 --as 10 UPDATE ha=$GLM_HA ma=2001:db8:c::10 lifetime=600
	[ "$status" -eq 2 ]
	run send -i 10 --as 10 UPDATE ha=$GLM_HA ma=2001:db8:c::10 lifetime=600
	[ "$status" -eq 2 ]
	[ "$(socat - "UNIX-CONNECT:$TB_DIR/ims.sock" <<<stats | sed -n 's/^drop_bad_MAC=//p')" -eq $((mac0 + 2)) ]
	# under its own id: authentic, and refused, the HA is not its own
	run send -i 5 UPDATE ha=$GLM_HA ma=2001:db8:c::10 lifetime=600
	[[ $status -eq 1 && $output == *"status=denied"* ]]
	tb_exec cn "$GLM_BIN/imsclient" -s "[$TB_IMS_ADDR]:5300" -k "$(glm_keyring 20)" -i 20 query "$GLM_HA" | grep -q "ma=$ma"
}

@test "a guest's key cannot PREPARE or RESUME another guest: dropped unanswered, nothing prepared" {
	glm_setup
	ma=$(glm_vm_ma)
	# guest 66, sealing for the vm's key 10 with its own key pair: the
	# MAC is good (the pair key of 66 and 10), the role is not an agent's
	send() { tb_exec cn "$GLM_BIN/glmsend" -s "[$ma]:5301" -k "$(glm_keyring 66)" -i 10 -t 300 "$@"; }
	run send PREPARE prefix=2001:db8:b::/64 router=fe80::1 ma=2001:db8:b::66
	echo "prepare from a guest: $status $output" >&2
	[ "$status" -eq 2 ]
	run send RESUMED ha=$GLM_HA ma=2001:db8:b::66
	[ "$status" -eq 2 ]
	[ "$(glm_status_field vm "d['mobile']['prepared']")" = None ]
	[ "$(glm_matctl vm stats | sed -n 's/^drop_wrong_role=//p')" -eq 2 ]
	! tb_exec vm ip -6 addr show | grep -q 2001:db8:b::66 || false
	# the cn's own key (a guest too) fares no better
	run tb_exec cn "$GLM_BIN/glmsend" -s "[$ma]:5301" -k "$(glm_keyring 20)" -i 10 -t 300 PREPARE \
		prefix=2001:db8:b::/64 router=fe80::1
	[ "$status" -eq 2 ]
	# an agent's key pair with another node's MAC key: no MAC check passes
	run tb_exec cn "$GLM_BIN/glmsend" -s "[$ma]:5301" -k "$(glm_keyring 31)" -i 66 -t 300 PREPARE \
		prefix=2001:db8:b::/64 router=fe80::1
	[ "$status" -eq 2 ]
	[ "$(glm_status_field vm "d['mobile']['prepared']")" = None ]
	migrate hB 2
	tb_exec cn ping -c 2 -W 1 "$GLM_HA"
}

@test "malformed datagrams to matd are counted and dropped, matd keeps working" {
	glm_setup
	ma=$(glm_vm_ma)
	for hex in 00 0107 01070030000000000000000000000001 \
		$(od -An -tx1 -N80 /dev/urandom | tr -d ' \n'); do
		tb_exec cn "$GLM_BIN/imsclient" -s "[$ma]:5301" --raw "$hex" -t 100 || true
	done
	drops=$(glm_matctl vm stats --json | python3 -c "import json,sys; print(sum(json.load(sys.stdin)['drops'].values()))")
	[ "$drops" -ge 4 ]
	migrate hB 2
	tb_exec cn ping -c 2 -W 1 "$GLM_HA"
}

@test "IMS restart keeps the mapping; a correspondent's query finds it" {
	glm_setup
	ma=$(glm_vm_ma)
	kill "$GLM_IMSD_PID"
	tb_wait_pid "$GLM_IMSD_PID" 5 || true
	grep -qE 'Sanitizer|runtime error:' "$TB_DIR/imsd.log" && false
	glm_start_imsd
	# a second correspondent role asks the restarted IMS
	tb_exec cn "$GLM_BIN/imsclient" -s "[$TB_IMS_ADDR]:5300" -k "$(glm_keyring 20)" -i 20 query "$GLM_HA" | grep -q "ma=$ma"
	migrate hB 2
	tb_exec cn "$GLM_BIN/imsclient" -s "[$TB_IMS_ADDR]:5300" -k "$(glm_keyring 20)" -i 20 query "$GLM_HA" | grep -q "ma=$(glm_vm_ma)"
}

# Two IMSes (issue 16): imsd on c::5 and a second one on c::6, each with
# its own SQLite file; matd in the vm and in cn given both, c::5 first.
#
#   vm --IMS UPDATE--> [c::5]:5300 imsd (killed -9 before the move: silent)
#      --same seq----> [c::6]:5300 imsd2 (takes it)
@test "IMS failover: the first IMS killed (-9) before a move; the same update goes to the second, the handover completes, TCP survives" {
	glm_setup_two_ims
	# both listed, the first in use
	glm_matctl vm status | grep -qx "ims: \[$TB_IMS_ADDR\]:5300 (of \[$TB_IMS_ADDR\]:5300 \[$GLM_IMS2_ADDR\]:5300, failovers 0)"
	start_stream tcp vm cn 6
	kill -9 "$GLM_IMSD_PID"
	tb_wait_pid "$GLM_IMSD_PID" 5 || true
	GLM_IMSD_PID=
	migrate hB 2
	ma=$(glm_vm_ma)
	[[ "$ma" == 2001:db8:b:* ]]
	finish_stream
	assert_tcp_intact
	grep -q "IMS \[$TB_IMS_ADDR\]:5300 not answering after 5 tries (IMS update of $GLM_HA), failing over to \[$GLM_IMS2_ADDR\]:5300" "$TB_DIR/matd-vm.log"
	# the update in flight, unchanged: the seq the vm sent the dead IMS is
	# the one the second one stored
	seq=$(sed -n "s/.*IMS update seq \([0-9]*\) of $GLM_HA -> $ma sent again, unchanged, to \[$GLM_IMS2_ADDR\]:5300.*/\1/p" "$TB_DIR/matd-vm.log")
	[ -n "$seq" ]
	tb_exec cn "$GLM_BIN/imsclient" -s "[$GLM_IMS2_ADDR]:5300" -k "$(glm_keyring 20)" -i 20 query "$GLM_HA" | grep -q "ma=$ma .*seq=$seq$"
	# and acknowledged by it: the handover's IMS round trip was measured
	[ "$(glm_status_field vm "d['mobile']['last_handover']['ims_rtt_ms'] is not None")" = True ]
	glm_matctl vm status | grep -q "^ims: \[$GLM_IMS2_ADDR\]:5300 (of .*failovers 1)"
	[ "$(glm_status_field vm "d['ims']")" = "[$GLM_IMS2_ADDR]:5300" ]
	# the next move goes straight to the second IMS: no failover again
	migrate hA 3
	[ "$(grep -c 'not answering after' "$TB_DIR/matd-vm.log")" -eq 1 ]
	tb_exec cn "$GLM_BIN/imsclient" -s "[$GLM_IMS2_ADDR]:5300" -k "$(glm_keyring 20)" -i 20 query "$GLM_HA" | grep -q "ma=$(glm_vm_ma) "
}

@test "matd and matctl: config errors name FILE:LINE, clean exit codes, no tty needed" {
	tb_setup --no-wait
	glm_keys
	printf 'home-address 2001:db8:100::10\ninterface eth0\nbogus-word 1\n' >"$TB_DIR/bad.conf"
	run "$GLM_BIN/matd" -n -f "$TB_DIR/bad.conf"
	[ "$status" -eq 78 ]
	[[ "$output" == *"bad.conf:3: unknown keyword 'bogus-word'"* ]]
	printf 'key-id 20\nkeyring %s\nims [2001:db8:c::5]:5300\nhome-prefix 2001:db8:100::1/64\n' "$(glm_keyring 20)" >"$TB_DIR/bad2.conf"
	run "$GLM_BIN/matd" -n -f "$TB_DIR/bad2.conf"
	[ "$status" -eq 78 ]
	[[ "$output" == *"bad2.conf:4:"* ]]
	# several IMSes: nine are one too many, a bad address is named
	printf 'key-id 20\nkeyring %s\nims 2001:db8:c::1 2001:db8:c::2 2001:db8:c::3 2001:db8:c::4\nims 2001:db8:c::5 2001:db8:c::6 2001:db8:c::7 2001:db8:c::8 2001:db8:c::9\n' "$(glm_keyring 20)" >"$TB_DIR/bad3.conf"
	run "$GLM_BIN/matd" -n -f "$TB_DIR/bad3.conf"
	[ "$status" -eq 78 ]
	[[ "$output" == *"bad3.conf:4: at most 8 IMS addresses (ims 2001:db8:c::9 is one too many)"* ]]
	printf 'key-id 20\nkeyring %s\nims [2001:db8:c::5]:5300 [2001:db8:c::6:5300\n' "$(glm_keyring 20)" >"$TB_DIR/bad4.conf"
	run "$GLM_BIN/matd" -n -f "$TB_DIR/bad4.conf"
	[ "$status" -eq 78 ]
	[[ "$output" == *"bad4.conf:3: bad ims address '[2001:db8:c::6:5300'"* ]]
	printf 'key-id 20\nkeyring %s\nims [2001:db8:c::5]:5300 [2001:db8:c::6]:5300\nhome-prefix 2001:db8:100::/64\n' "$(glm_keyring 20)" >"$TB_DIR/good.conf"
	run "$GLM_BIN/matd" -n -f "$TB_DIR/good.conf"
	[ "$status" -eq 0 ]
	run "$GLM_BIN/matd" --help
	[ "$status" -eq 0 ]
	run "$GLM_BIN/matctl" -s "$TB_DIR/none.sock" status
	[ "$status" -eq 69 ]
	run "$GLM_BIN/matctl" -s "$TB_DIR/none.sock" prepare --prefix 2001:db8:b::1/64 --router fe80::1
	[ "$status" -eq 64 ]
	glm_start_imsd
	glm_start_matd vm
	glm_wait_handovers vm 1 5
	# as qemu-guest-agent's guest-exec runs it: no tty, stdin closed, JSON out
	out=$(setsid ip netns exec "$TB_VM_NS" "$GLM_BIN/matctl" -s "$TB_DIR/matd-vm.sock" status --json </dev/null)
	echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d['mobile']['ha']=='2001:db8:100::10'"
	run glm_matctl vm bogus
	[ "$status" -eq 64 ]
}

# PMTU discovery between two matd nodes: an ICMPv6 error about a
# translated packet quotes it translated (an MA where the sender's socket
# has an HA), and the mat table's "in" chain puts the HA back (lib/nft.h).
# MAT_NO_ICMP_XLATE=1 deletes those rules from the vm's and cn's tables
# first, to watch the tests fail: the streams then stall as in a PMTU
# black hole (the TCP connection is made with small segments; cn, or the
# vm, then resends its 1472-byte segments with backoff, each answered by
# a Packet Too Big quoting the MA, and nothing arrives until the sender's
# drain time runs out: "bytes still queued after 10.0s drain").
no_icmp_xlate() {
	local node h
	[ -n "${MAT_NO_ICMP_XLATE:-}" ] || return 0
	for node in vm cn; do
		for h in $(tb_exec "$node" nft -a list chain ip6 mat in | sed -n 's/.*icmpv6 type 1-4 .*# handle \([0-9]*\)$/\1/p'); do
			tb_exec "$node" nft delete rule ip6 mat in handle "$h"
		done
	done
}

# icmp_xlated NODE MAP: packets the in chain's ICMPv6 rule with MAP translated.
icmp_xlated() {
	tb_exec "$1" nft list chain ip6 mat in | sed -n "s/.*icmpv6 type 1-4 .*@$2 counter packets \([0-9]*\).*/\1/p"
}

@test "PMTU: cn's full-size TCP segments to the vm's HA through a 1400-byte link: the Packet Too Big quoting the MA reaches cn's socket" {
	glm_setup
	migrate hB 2
	# rt's side of link B only: the vm and hB stay at 1500 (MSS for 1500)
	tb_exec rt ip link set pB-hB mtu 1400
	tb_exec rt ip link set brB mtu 1400
	no_icmp_xlate
	STREAM_SIZE=1400 start_stream tcp vm cn 4
	finish_stream
	assert_tcp_intact
	local route
	route=$(tb_exec cn ip -6 route get "$GLM_HA")
	echo "# cn: $route; Packet Too Big translated by cn: $(icmp_xlated cn peer_ma2ha)" >&3
	[[ "$route" == *" mtu 1400 "* ]]
	[ "$(icmp_xlated cn peer_ma2ha)" -ge 1 ]
}

@test "PMTU: the vm's full-size TCP segments to cn through a 1400-byte link: the Packet Too Big to its MA, quoting the MA, reaches its socket" {
	glm_setup
	migrate hB 2
	# rt's side of link C towards cn only (brC and its port to cn)
	tb_exec rt ip link set pC-cn mtu 1400
	tb_exec rt ip link set brC mtu 1400
	no_icmp_xlate
	STREAM_SIZE=1400 start_stream tcp cn vm 4
	finish_stream
	assert_tcp_intact
	local route
	route=$(tb_exec vm ip -6 route get "$TB_CN_ADDR")
	echo "# vm: $route; Packet Too Big translated by the vm: $(icmp_xlated vm self_ma2ha)" >&3
	[[ "$route" == *" mtu 1400 "* ]]
	[ "$(icmp_xlated vm self_ma2ha)" -ge 1 ]
}
