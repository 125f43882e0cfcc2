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

jf() { python3 -c "import json,sys; print(json.load(open('$1'))$2)"; }

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

finish_stream() {
	tb_wait_pid "$CLIENT_PID" 30 || { cat "$TB_DIR/client.err" >&2; return 1; }
	tb_wait_pid "$SERVER_PID" 30 || { cat "$TB_DIR/server.err" >&2; return 1; }
	python3 -c "
import json
r = json.load(open('$RECV_JSON'))
big = [round(g['ms'], 1) for g in r['gaps'] if g['ms'] > 20]
print('# receiver: max gap %.1f ms, gaps over 20 ms: %s, lost %d' % (r['max_gap_ms'], big, r['lost']))" >&3
	echo "receiver: $(cat "$RECV_JSON")" >&2
	echo "sender: $(cat "$SEND_JSON")" >&2
}

assert_tcp_intact() {
	[ "$(jf "$RECV_JSON" "['error']")" = None ]
	[ "$(jf "$SEND_JSON" "['error']")" = None ]
	[ "$(jf "$RECV_JSON" "['lost']")" = 0 ]
	[ "$(jf "$RECV_JSON" "['reordered']")" = 0 ]
	[ "$(jf "$RECV_JSON" "['dup']")" = 0 ]
	[ "$(jf "$RECV_JSON" "['received']")" -gt 1000 ]
	[ "$(jf "$RECV_JSON" "['received']")" -eq "$(jf "$SEND_JSON" "['sent']")" ]
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
	[ "$(jf "$RECV_JSON" "['reordered']")" = 0 ]
	[ "$(jf "$RECV_JSON" "['dup']")" = 0 ]
	local sent recv lost
	sent=$(jf "$SEND_JSON" "['sent']")
	recv=$(jf "$RECV_JSON" "['received']")
	lost=$(jf "$RECV_JSON" "['lost']")
	echo "# udp: sent $sent received $recv lost $lost" >&3
	[ "$recv" -gt $((sent * 9 / 10)) ]
	[ $((recv + lost)) -ge $((sent - 2)) ]
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
