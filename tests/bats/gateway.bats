#!/usr/bin/env bats
# The home gateway (issue 15): correspondents that run nothing of glm's.
# On the testbed drawn at the top of lib/testbed.bash: glm-gatewayd on the
# router rt, the home gateway for 2001:db8:100::/64 (every node's route to
# the home prefix goes through rt: it is their default router), sites A
# and B its site prefixes; imsd on link C; matd in the vm with
# 'home-gateway yes'; cn runs NO glm software (no matd): it talks to the
# vm's HA like any client on the internet.
#
#   cn c::10 --(dst HA)--> rt: glm-gatewayd, table ip6 glm_gw: HA -> MA --> vm (link A or B)
#   cn c::10 <--(src HA)---------------------------------------------- vm (sent straight, untranslated)

load lib/testbed
load lib/glm

teardown() {
	glm_teardown
}

gw_stat() { glm_gatewayctl stats | sed -n "s/^$1=//p"; }

# The testbed with a plain cn: imsd, the gateway, matd in the vm only.
gw_setup() {
	tb_setup "$@"
	glm_keys
	glm_start_imsd
	glm_start_gatewayd ${GW_CONF[@]+"${GW_CONF[@]}"}
	# GW_HOME_GATEWAY=no: the vm as before issue 15 (every peer sees the MA)
	glm_start_matd vm "home-gateway ${GW_HOME_GATEWAY:-yes}"
	glm_wait_handovers vm 1 5
	glm_gw_wait "$GLM_HA" "$(glm_vm_ma)" 5
}

# migrate DEST N: move the vm, wait for its Nth handover and for the
# gateway's kernel map to send the HA to the new MA.
migrate() {
	tb_migrate "$1"
	glm_wait_handovers vm "$2" 5
	glm_gw_wait "$GLM_HA" "$(glm_vm_ma)" 5
	sleep 0.5
}

@test "gateway: a plain correspondent's TCP stream to the vm's HA survives A->B->A->B" {
	gw_setup
	# cn runs nothing of glm's
	! tb_exec cn pgrep -x matd
	start_stream tcp vm cn 6
	migrate hB 2
	[[ "$(glm_vm_ma)" == 2001:db8:b:* ]]
	migrate hA 3
	migrate hB 4
	finish_stream
	assert_tcp_intact
	# cn only ever saw the HA: no conntrack needed, no MA in its sockets
	! tb_exec cn ss -tn | grep -q "$(glm_vm_ma)"
	[ "$(gw_stat moved)" -ge 3 ]
}

@test "gateway: TCP started by the vm to a plain correspondent, data from the vm, survives A->B->A->B" {
	gw_setup
	start_stream tcp cn vm 6
	migrate hB 2
	migrate hA 3
	migrate hB 4
	finish_stream
	assert_tcp_intact
	# the vm's packets to cn left with the HA as their source: cn's socket is with the HA
	grep -q . "$RECV_JSON"
}

@test "gateway: a plain correspondent's UDP stream continues across A->B->A->B, in order" {
	gw_setup
	start_stream udp vm cn 6
	migrate hB 2
	migrate hA 3
	migrate hB 4
	finish_stream
	assert_udp_in_order
}

@test "gateway: a home address with no mapping gets ICMPv6 address unreachable from the gateway, once per packet" {
	gw_setup
	run tb_exec cn ping -c 3 -i 0.2 -W 1 2001:db8:100::99
	echo "$output" >&2
	[ "$status" -ne 0 ]
	[[ "$output" == *"From 2001:db8:c::1"*"Address unreachable"* ]]
	# one reject per ping, no packet went round: the rule's counter says 3
	local n
	n=$(tb_exec rt nft list chain ip6 glm_gw pre | sed -n 's/.*2001:db8:100::\/64 counter packets \([0-9]*\).*/\1/p')
	[ "$n" -eq 3 ]
	# and the mapped HA answers
	tb_exec cn ping -c 2 -W 1 "$GLM_HA"
}

@test "gateway: forged and replayed NOTIFYs and an MA outside the site prefixes change nothing in the kernel's map" {
	gw_setup
	local ma before
	ma=$(glm_vm_ma)
	before=$(glm_gw_map)
	# the IMS's pushes to the gateway, as they cross link C
	tb_spawn ims tcpdump -i eth0 -U -w "$TB_DIR/push.pcap" "udp and dst port $GLM_GATEWAY_PORT" \
		>"$TB_DIR/tcpdump.log" 2>&1
	local dump=$TB_PID
	sleep 1
	migrate hB 2
	sleep 0.3
	kill "$dump"
	tb_wait_pid "$dump" 5 || true
	# the last push: the vm at its B address
	python3 - "$TB_DIR/push.pcap" >"$TB_DIR/push.hex" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off, last = 24, None
while off + 16 <= len(d):
    incl = struct.unpack('<I', d[off+8:off+12])[0]
    pkt = d[off+16:off+16+incl]
    off += 16 + incl
    last = pkt[14+40+8:]          # Ethernet, IPv6, UDP
print(last.hex())
PY
	[ -s "$TB_DIR/push.hex" ]
	migrate hA 3
	local now
	now=$(glm_gw_map)
	[ "$now" = "$GLM_HA $(glm_vm_ma)" ]
	# 1. the captured push again, from the IMS's address and port: replayed
	local drops0
	drops0=$(gw_stat drop_replay)
	tb_exec cn "$GLM_BIN/glmsend" -s "[2001:db8:c::1]:$GLM_GATEWAY_PORT" -k "$(glm_keyring 20)" \
		--from "[$TB_IMS_ADDR]:$GLM_IMS_PORT" --replay "$TB_DIR/push.hex" -t 200 || true
	sleep 0.3
	[ "$(gw_stat drop_replay)" -eq $((drops0 + 1)) ]
	[ "$(glm_gw_map)" = "$now" ]
	# 2. a NOTIFY sealed with a guest's key: not an ims's
	tb_exec cn "$GLM_BIN/glmsend" -s "[2001:db8:c::1]:$GLM_GATEWAY_PORT" -k "$(glm_keyring 20)" -i 50 -t 200 \
		NOTIFY ha="$GLM_HA" ma=2001:db8:c::10 lifetime=600 update_seq=99999999999999999 status=0 || true
	# 3. one with a flipped MAC
	tb_exec cn "$GLM_BIN/glmsend" -s "[2001:db8:c::1]:$GLM_GATEWAY_PORT" -k "$(glm_keyring 20)" -i 50 -t 200 --forge \
		NOTIFY ha="$GLM_HA" ma=2001:db8:c::10 lifetime=600 update_seq=99999999999999999 status=0 || true
	sleep 0.3
	[ "$(gw_stat drop_wrong_role)" -ge 1 ]
	[ "$(gw_stat drop_bad_MAC)" -ge 1 ]
	[ "$(glm_gw_map)" = "$now" ]
	# 4. an update the IMS takes (vouched by the relay's agent key, whose
	# prefix holds c::20) naming an MA outside the gateway's site prefixes
	tb_exec cn "$GLM_BIN/imsclient" -s "[$TB_IMS_ADDR]:$GLM_IMS_PORT" -k "$(glm_keyring 10)" -i 10 \
		--vouch "$(glm_keyring 40)" update "$GLM_HA" 2001:db8:c::20 600
	sleep 0.5
	[ "$(gw_stat refused_site)" -eq 1 ]
	grep -q "$GLM_HA -> 2001:db8:c::20 refused: the MA is in none of our site prefixes" "$TB_DIR/gatewayd.log"
	[ "$(glm_gw_map)" = "$now" ]
	echo "# map before: $before; after: $(glm_gw_map)" >&3
}

@test "gateway: resubscribes after an IMS restart; its table is gone after it exits" {
	GW_CONF=("subscription-lifetime 4")
	gw_setup
	kill -TERM "$GLM_IMSD_PID"
	tb_wait_pid "$GLM_IMSD_PID" 5 || true
	glm_start_imsd
	# the renewal (at half the lifetime) brings the subscription back
	sleep 3
	migrate hB 2
	[[ "$(glm_gw_map)" == "$GLM_HA 2001:db8:b:"* ]]
	[ "$(gw_stat subscribe_acks)" -ge 2 ]
	tb_exec rt nft list table ip6 glm_gw >/dev/null
	kill -TERM "$GLM_GATEWAYD_PID"
	tb_wait_pid "$GLM_GATEWAYD_PID" 5
	GLM_GATEWAYD_PID=
	! tb_exec rt nft list table ip6 glm_gw 2>/dev/null
	[ ! -e "$TB_DIR/gatewayd.sock" ]
	! grep -qE 'Sanitizer|runtime error:' "$TB_DIR/gatewayd.log"
}

@test "gateway: an expired mapping and a withdrawn one leave the kernel's map" {
	gw_setup
	local ma ims=(-s "[$TB_IMS_ADDR]:$GLM_IMS_PORT" -k "$(glm_keyring 10)" -i 10)
	ma=$(glm_vm_ma)
	# the live MA again with a 2 s lifetime (a refresh: no proof needed)
	tb_exec cn "$GLM_BIN/imsclient" "${ims[@]}" update "$GLM_HA" "$ma" 2
	sleep 3.5
	[ -z "$(glm_gw_map)" ]
	[ "$(gw_stat expired)" -eq 1 ]
	run tb_exec cn ping -c 1 -W 1 "$GLM_HA"
	[[ "$output" == *"Address unreachable"* ]]
	# back (vouched by hA's agent), then withdrawn (lifetime 0)
	tb_exec cn "$GLM_BIN/imsclient" "${ims[@]}" --vouch "$(glm_keyring 30)" update "$GLM_HA" "$ma" 600
	glm_gw_wait "$GLM_HA" "$ma" 3
	tb_exec cn "$GLM_BIN/imsclient" "${ims[@]}" update "$GLM_HA" "$ma" 0
	sleep 0.5
	[ -z "$(glm_gw_map)" ]
	[ "$(gw_stat withdrawn)" -eq 1 ]
}

@test "gateway: a plain peer and a matd peer talking to the vm at once both survive the same moves" {
	# src (link C, c::30) runs nothing of glm's; cn runs matd as the vm's
	# correspondent. The vm's matd (home-gateway yes) sends to cn from its
	# MA and to src from its HA, which src reaches through the gateway.
	tb_setup --mcast
	glm_keys
	glm_start_imsd
	glm_start_gatewayd
	glm_start_matd cn
	glm_start_matd vm "home-gateway yes" "correspondent $TB_CN_ADDR"
	glm_wait_handovers vm 1 5
	glm_gw_wait "$GLM_HA" "$(glm_vm_ma)" 5
	glm_wait_peer cn "$GLM_HA" "$(glm_vm_ma)" 5
	! tb_exec src pgrep -x matd
	STREAM_PEER=src STREAM_TAG=-plain start_stream tcp vm src 6
	keep_stream PLAIN
	STREAM_PEER=cn STREAM_TAG=-matd STREAM_PORT=7001 start_stream tcp vm cn 6
	keep_stream MATD
	migrate hB 2
	glm_wait_peer cn "$GLM_HA" "$(glm_vm_ma)" 5
	migrate hA 3
	migrate hB 4
	glm_wait_peer cn "$GLM_HA" "$(glm_vm_ma)" 5
	use_stream PLAIN
	finish_stream
	assert_tcp_intact
	use_stream MATD
	finish_stream
	assert_tcp_intact
	# each peer saw what it should: src only ever the HA, cn's matd the MA
	# (its peer map), while its socket stayed with the HA
	! tb_exec src ss -tn | grep -q "2001:db8:[ab]:"
	tb_exec cn nft list map ip6 mat peer_ha2ma | grep -q "$GLM_HA : $(glm_vm_ma)"
	[ "$(gw_stat moved)" -ge 3 ]
}

@test "gateway: killed (-9) and restarted during a stream, with a move while it was down: the map is rebuilt from the IMS, the session survives" {
	gw_setup
	start_stream tcp vm cn 8
	migrate hB 2
	# no clean exit: the kernel's table stays, stale, as after a crash
	kill -KILL "$GLM_GATEWAYD_PID"
	local rc=0
	tb_wait_pid "$GLM_GATEWAYD_PID" 5 2>/dev/null || rc=$?
	[ "$rc" -eq 137 ]
	GLM_GATEWAYD_PID=
	[[ "$(glm_gw_map)" == "$GLM_HA 2001:db8:b:"* ]]
	# the vm moves while no gateway listens: the stale map still points at B
	tb_migrate hA
	glm_wait_handovers vm 3 5
	[[ "$(glm_vm_ma)" == 2001:db8:a:* ]]
	[[ "$(glm_gw_map)" == "$GLM_HA 2001:db8:b:"* ]]
	sleep 0.5
	# the new gateway replaces the table and takes the IMS's dump
	glm_start_gatewayd
	glm_gw_wait "$GLM_HA" "$(glm_vm_ma)" 5
	[ "$(glm_gw_map | wc -l)" -eq 1 ]
	migrate hB 4
	finish_stream
	assert_tcp_intact
	[ "$(gw_stat subscribe_acks)" -ge 1 ]
}
