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
	# cn runs nothing of glm's: no translation table in its namespace
	! tb_exec cn nft list table ip6 mat >/dev/null 2>&1 || false
	start_stream tcp vm cn 6
	migrate hB 2
	[[ "$(glm_vm_ma)" == 2001:db8:b:* ]]
	migrate hA 3
	migrate hB 4
	finish_stream
	assert_tcp_intact
	# cn only ever saw the HA: no conntrack needed, no MA in its sockets
	! tb_exec cn ss -tn | grep -q "$(glm_vm_ma)" || false
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
	pcap_last_udp_payload "$TB_DIR/push.pcap" >"$TB_DIR/push.hex"
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
	! tb_exec rt nft list table ip6 glm_gw 2>/dev/null || false
	[ ! -e "$TB_DIR/gatewayd.sock" ]
	! grep -qE 'Sanitizer|runtime error:' "$TB_DIR/gatewayd.log" || false
}

# Two IMSes (issue 16), each with its own SQLite file: imsd on c::5 and
# imsd2 on c::6. The gateway and the vm's matd are given both, c::5 first;
# c::5 is killed (-9) with the gateway subscribed there. The vm's update
# of the next move goes to c::6; the gateway's renewal (at half its 4 s
# lifetime) goes unanswered and it subscribes at c::6, whose dump fills
# its map; later pushes come from c::6.
@test "gateway: the IMS it is subscribed at killed (-9): it subscribes at the second one, whose mappings fill its map" {
	tb_setup
	glm_keys
	glm_start_imsd
	glm_start_imsd2
	glm_start_gatewayd "ims [$GLM_IMS2_ADDR]:$GLM_IMS_PORT" "subscription-lifetime 4"
	glm_start_matd vm "home-gateway yes" "ims [$GLM_IMS2_ADDR]:$GLM_IMS_PORT"
	glm_wait_handovers vm 1 5
	glm_gw_wait "$GLM_HA" "$(glm_vm_ma)" 5
	glm_gatewayctl status | grep -q "^ims: \[$TB_IMS_ADDR\]:5300 (of \[$TB_IMS_ADDR\]:5300 \[$GLM_IMS2_ADDR\]:5300, failovers 0)"
	kill -9 "$GLM_IMSD_PID"
	tb_wait_pid "$GLM_IMSD_PID" 5 || true
	GLM_IMSD_PID=
	tb_migrate hB
	glm_wait_handovers vm 2 10
	ma=$(glm_vm_ma)
	[[ "$ma" == 2001:db8:b:* ]]
	# only the second IMS knows the new MA: the gateway learns it there
	glm_gw_wait "$GLM_HA" "$ma" 20
	grep -q "IMS \[$TB_IMS_ADDR\]:5300 not answering after 3 tries (subscription), failing over to \[$GLM_IMS2_ADDR\]:5300" "$TB_DIR/gatewayd.log"
	glm_gatewayctl status | grep -q "^ims: \[$GLM_IMS2_ADDR\]:5300 (of .*, failovers 1)"
	[ "$(glm_gatewayctl --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['ims'])")" = "[$GLM_IMS2_ADDR]:5300" ]
	# the second IMS's pushes are our IMS's: taken, none counted as foreign
	tb_migrate hA
	glm_wait_handovers vm 3 5
	glm_gw_wait "$GLM_HA" "$(glm_vm_ma)" 5
	[ "$(gw_stat not_ims)" -eq 0 ]
	[ "$(gw_stat ims_failovers)" -eq 1 ]
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

# A gateway (re)started where the IMS holds many mappings gets them all:
# the IMS paces its dump (it sent the lot at once, and a gateway's receive
# buffer lost 3,744 of 5,000: home addresses unmapped until the next
# renewal), and the gateway takes a burst of pushes in one nftables batch.
# Then, with imsd's dump slowed down (dump-rate 2000: 5 s for 10,000), a
# change during the dump is not undone by the dump's older news: the two
# home addresses that sort last are moved and withdrawn while it runs.
# Last, a gateway stopped while the dump comes loses part of it in its
# receive buffer, and subscribes again for the whole state.
@test "gateway: started where the IMS holds 10,000 mappings, it maps them all; changes during the dump stand; what it loses comes again" {
	local n=10000 ha_a=2001:db8:100:0:ffff::a ha_b=2001:db8:100:0:ffff::b c t0 t1
	tb_setup
	GLM_KEYS_EXTRA=("11 guest home $ha_a home $ha_b")
	glm_keys
	python3 - "$TB_DIR/ims.db" "$n" "$ha_a" "$ha_b" <<'PY'
import ipaddress as ip, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1]); n = int(sys.argv[2])
db.execute("CREATE TABLE mappings (ha BLOB PRIMARY KEY, ma BLOB, seq INTEGER, expires INTEGER, key_id INTEGER)")
ha, ma = int(ip.ip_address("2001:db8:100::3:0:0")), int(ip.ip_address("2001:db8:b::3:0:0"))
exp, seq = int(time.time()) + 3000, time.time_ns() - 10**9
rows = [(ip.ip_address(ha + i).packed, ip.ip_address(ma + i).packed, seq, exp, 10) for i in range(n)]
rows += [(ip.ip_address(a).packed, ip.ip_address("2001:db8:b::ffff:%d" % k).packed, seq, exp, 11)
         for k, a in enumerate(sys.argv[3:5])]
db.executemany("INSERT INTO mappings VALUES (?,?,?,?,?)", rows)
db.commit()
PY
	# count: the mappings in the kernel's map (its text form: quicker
	# than glm_gw_map's JSON at this size)
	count() { tb_exec rt nft list map ip6 glm_gw ha2ma | grep -o ' : 2001:' | wc -l || true; }
	# wait_map MIN: until the kernel's map holds MIN mappings (60 s at most)
	wait_map() {
		t0=${EPOCHREALTIME/[.,]/}
		t1=$t0
		while c=$(count) && [ "$c" -lt "$1" ] && [ $((t1 - t0)) -lt 60000000 ]; do
			sleep 0.2
			t1=${EPOCHREALTIME/[.,]/}
		done
		t1=${EPOCHREALTIME/[.,]/}
	}
	# the default dump-rate: the whole map, nothing lost
	glm_start_imsd
	glm_start_gatewayd
	wait_map $((n + 2))
	echo "# default dump-rate: $c mappings $(((t1 - t0) / 1000)) ms after the gateway's start, in $(grep -c 'in one batch' "$TB_DIR/gatewayd.log") batches; lost in its receive buffer $(gw_stat rx_lost), subscribed again $(gw_stat resubscribes) times" >&3
	[ "$c" -eq $((n + 2)) ]
	[ "$(gw_stat nft_errors)" -eq 0 ]
	# slowed down, and changed while it runs
	kill -TERM "$GLM_GATEWAYD_PID" "$GLM_IMSD_PID"
	tb_wait_pid "$GLM_GATEWAYD_PID" 5 || true
	tb_wait_pid "$GLM_IMSD_PID" 5 || true
	GLM_IMSD_CONF=("dump-rate 2000")
	glm_start_imsd
	glm_start_gatewayd
	local ims=(-s "[$TB_IMS_ADDR]:$GLM_IMS_PORT" -k "$(glm_keyring 11)" -i 11)
	tb_exec cn "$GLM_BIN/imsclient" "${ims[@]}" --vouch "$(glm_keyring 30)" update "$ha_a" 2001:db8:a::ffff:a 600
	tb_exec cn "$GLM_BIN/imsclient" "${ims[@]}" update "$ha_b" 2001:db8:b::ffff:1 0
	c=$(count)
	echo "# dump-rate 2000: $c mappings in the kernel's map when both changes were made" >&3
	[ "$c" -lt "$n" ]
	wait_map $((n + 1))
	sleep 0.2 # anything the dump still had to say
	glm_gw_map >"$TB_DIR/map"
	[ "$(grep -c '^2001:db8:100::3:' "$TB_DIR/map")" -eq "$n" ]
	grep -qx "$ha_a 2001:db8:a::ffff:a" "$TB_DIR/map"
	! grep -q "^$ha_b " "$TB_DIR/map" || false
	[ "$(wc -l <"$TB_DIR/map")" -eq $((n + 1)) ]
	[ "$(gw_stat nft_errors)" -eq 0 ]
	# a gateway too slow for the dump (a 64 KiB receive buffer, stopped
	# for 2 s while the dump comes): what its buffer lost comes with the
	# whole state again
	kill -TERM "$GLM_GATEWAYD_PID"
	tb_wait_pid "$GLM_GATEWAYD_PID" 5 || true
	local sent
	sent=$(socat - "UNIX-CONNECT:$TB_DIR/ims.sock" <<<stats | sed -n 's/^notifies_sent=//p')
	glm_start_gatewayd "receive-buffer 65536"
	for _ in $(seq 100); do
		[ "$(socat - "UNIX-CONNECT:$TB_DIR/ims.sock" <<<stats | sed -n 's/^notifies_sent=//p')" -gt "$sent" ] && break
		sleep 0.05
	done
	kill -STOP "$GLM_GATEWAYD_PID"
	sleep 2
	kill -CONT "$GLM_GATEWAYD_PID"
	wait_map $((n + 1))
	echo "# stopped 2 s during the dump: $c mappings $(((t1 - t0) / 1000)) ms after it went on; lost in its receive buffer $(gw_stat rx_lost), subscribed again $(gw_stat resubscribes) times" >&3
	[ "$c" -eq $((n + 1)) ]
	[ "$(gw_stat rx_lost)" -gt 0 ]
	[ "$(gw_stat resubscribes)" -ge 1 ]
	grep -q "datagrams lost in the receive buffer (pushes faster than we took them): the whole state again once they stop" "$TB_DIR/gatewayd.log"
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
	# src runs nothing of glm's: no translation table in its namespace
	! tb_exec src nft list table ip6 mat >/dev/null 2>&1 || false
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
	! tb_exec src ss -tn | grep -q "2001:db8:[ab]:" || false
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

# ICMPv6 Packet Too Big messages cn received (a pcap from cn's eth0): one
# "MTU INNER_SRC INNER_DST CSUM" line each, CSUM ok or bad: the ICMPv6
# checksum over the pseudo-header and the whole message, the quoted
# packet included (veth would hand cn a bad one unverified).
ptb_seen() {
	python3 - "$1" <<'PY'
import ipaddress, struct, sys
d = open(sys.argv[1], 'rb').read()
off = 24
while off + 16 <= len(d):
    incl = struct.unpack('<I', d[off+8:off+12])[0]
    p = d[off+16:off+16+incl]
    off += 16 + incl
    ip, icmp = p[14:54], p[54:]
    if len(icmp) < 48 or ip[6] != 58 or icmp[0] != 2:
        continue
    plen = struct.unpack('!H', ip[4:6])[0]
    icmp = icmp[:plen]
    data = ip[8:40] + struct.pack('!IxxxB', len(icmp), 58) + icmp + b'\0' * (len(icmp) % 2)
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    a = lambda b: str(ipaddress.IPv6Address(b))
    print(struct.unpack('!I', icmp[4:8])[0], a(icmp[16:32]), a(icmp[32:48]), 'ok' if s == 0xffff else 'bad')
PY
}

# The gateway's ICMPv6 error rule in CHAIN: its counter's packets.
gw_icmp_count() {
	tb_exec rt nft list chain ip6 glm_gw "$1" | sed -n 's/.*@ma2ha counter packets \([0-9]*\).*/\1/p'
}

# PMTU discovery through the gateway. rt's side of link B (brB and its
# port to hB) is at MTU 1400; hB's uplink and the vm stay at 1500, so cn
# and the vm agree on an MSS for 1500. cn's full-size segments to the HA
# have their destination rewritten to the MA in rt's prerouting and are
# then too big for link B: rt, the gateway itself, answers cn with an
# ICMPv6 Packet Too Big quoting the packet as it tried to forward it, to
# the MA. cn has no socket for the MA: only once the output chain of
# table glm_gw rewrote the quoted destination back to the HA does cn's
# TCP take the MTU and resegment.
# Without that rule (GW_NO_ICMP_XLATE=1 deletes the gateway's ICMPv6
# rules before the stream; so it ran before they existed) this test fails
# as a PMTU black hole does: the connection is made (small segments), then
# cn resends its 1472-byte segments with backoff, rt answers each with a
# Packet Too Big quoting the MA (17 in that run, checksums valid), cn's
# TCP finds no socket for the MA and ignores them, its route to the HA
# never gets an mtu, and the sender fails: "seqstream: 5521740 bytes
# still queued after 10.0s drain" (of the 5.6 MB it wrote).
@test "gateway: PMTU: a 1400-byte MTU link on the path; a plain peer's 1500-byte TCP sends get through after the Packet Too Big is translated" {
	gw_setup
	tb_exec rt ip link set pB-hB mtu 1400
	tb_exec rt ip link set brB mtu 1400
	[[ "$(tb_exec hB ip -o link show up0)" == *"mtu 1500 "* ]]
	[[ "$(tb_exec vm ip -o link show eth0)" == *"mtu 1500 "* ]]
	if [ -n "${GW_NO_ICMP_XLATE:-}" ]; then
		local h
		for h in $(tb_exec rt nft -a list table ip6 glm_gw | sed -n 's/.*@ma2ha .*# handle \([0-9]*\)$/\1/p'); do
			tb_exec rt nft delete rule ip6 glm_gw pre handle "$h" 2>/dev/null ||
				tb_exec rt nft delete rule ip6 glm_gw out handle "$h"
		done
	fi
	tb_spawn cn tcpdump -i eth0 -U --immediate-mode -w "$TB_DIR/ptb.pcap" 'ip6[6] == 58 and ip6[40] == 2' \
		>"$TB_DIR/tcpdump.log" 2>&1
	local dump=$TB_PID
	sleep 1
	migrate hB 2
	local ma
	ma=$(glm_vm_ma)
	[[ "$ma" == 2001:db8:b:* ]]
	# before: no learned MTU for the HA
	[[ "$(tb_exec cn ip -6 route get "$GLM_HA")" != *" mtu "* ]]
	STREAM_SIZE=1400 start_stream tcp vm cn 4
	finish_stream
	sleep 0.3
	kill "$dump"
	tb_wait_pid "$dump" 5 || true
	assert_tcp_intact
	echo "# received $(jf "$RECV_JSON" "['received']") records of 1400 bytes" >&3
	# cn learned the path MTU for the HA
	local route
	route=$(tb_exec cn ip -6 route get "$GLM_HA")
	echo "# cn: $route" >&3
	[[ "$route" == *" mtu 1400 "* ]]
	# what reached cn: Packet Too Big for 1400, quoting cn -> HA, checksum valid
	ptb_seen "$TB_DIR/ptb.pcap" >"$TB_DIR/ptb.txt"
	cat "$TB_DIR/ptb.txt" >&2
	[ -s "$TB_DIR/ptb.txt" ]
	! grep -v "^1400 $TB_CN_ADDR $GLM_HA ok\$" "$TB_DIR/ptb.txt" || false
	# translated in the output chain: rt generated them
	[ "$(gw_icmp_count out)" -ge 1 ]
	echo "# Packet Too Big seen by cn: $(wc -l <"$TB_DIR/ptb.txt"), translated by rt: $(gw_icmp_count out)" >&3
}

# send_ptb NODE MTU INNER_DST: NODE sends cn an ICMPv6 Packet Too Big
# quoting a TCP segment from cn to INNER_DST, as a router beyond the
# gateway would (the kernel fills in the ICMPv6 checksum).
send_ptb() {
	tb_exec "$1" python3 - "$2" "$TB_CN_ADDR" "$3" <<'PY'
import socket, struct, sys
mtu, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tcp = struct.pack('!HHIIBBHHH', 40000, 7000, 1, 0, 5 << 4, 0x10, 65535, 0, 0) + b'x' * 1180
inner = struct.pack('!IHBB', 6 << 28, len(tcp), 6, 63) + socket.inet_pton(socket.AF_INET6, src) + \
    socket.inet_pton(socket.AF_INET6, dst) + tcp
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.sendto(struct.pack('!BBHI', 2, 0, 0, mtu) + inner, (src, 0))
PY
}

@test "gateway: ICMPv6 errors quoting a mapped MA become the HA's, from routers beyond it too; others pass unchanged" {
	gw_setup
	migrate hB 2
	local ma
	ma=$(glm_vm_ma)
	tb_exec rt ip link set pB-hB mtu 1400
	tb_exec rt ip link set brB mtu 1400
	tb_spawn cn tcpdump -i eth0 -U --immediate-mode -w "$TB_DIR/ptb.pcap" 'ip6[6] == 58 and ip6[40] == 2' \
		>"$TB_DIR/tcpdump.log" 2>&1
	local dump=$TB_PID
	sleep 1
	# 1. rt's own, for hB's address on link B: not an MA in the gateway's map
	tb_exec cn ping -c 1 -W 1 -s 1452 "$TB_HB_ADDR" || true
	sleep 0.3
	[ "$(gw_icmp_count out)" -eq 0 ]
	# 2. from hB, a router beyond the gateway as far as cn is concerned:
	# quoting the vm's MA (mapped), then an address on link B that is not
	send_ptb hB 1300 "$ma"
	sleep 0.3
	[ "$(gw_icmp_count pre)" -eq 1 ]
	send_ptb hB 1300 2001:db8:b::99
	sleep 0.5
	kill "$dump"
	tb_wait_pid "$dump" 5 || true
	[ "$(gw_icmp_count pre)" -eq 1 ]
	[ "$(gw_icmp_count out)" -eq 0 ]
	ptb_seen "$TB_DIR/ptb.pcap" >"$TB_DIR/ptb.txt"
	cat "$TB_DIR/ptb.txt" >&2
	[ "$(cat "$TB_DIR/ptb.txt")" = "1400 $TB_CN_ADDR $TB_HB_ADDR ok
1300 $TB_CN_ADDR $GLM_HA ok
1300 $TB_CN_ADDR 2001:db8:b::99 ok" ]
	# cn's ICMPv6 took rt's for the quoted (unchanged) destination
	[[ "$(tb_exec cn ip -6 route get "$TB_HB_ADDR")" == *" mtu 1400 "* ]]
}

# The other direction: the vm ('home-gateway yes') sends full-size
# segments from its HA straight to the plain cn, and rt's side of link C
# towards cn (brC and its port to cn) is at 1400. rt, the gateway, is the
# router that cannot forward them: its Packet Too Big goes to the source,
# the HA. The out chain of table glm_gw sends it to the MA (the vm's matd
# turns that back into the HA; the quoted source is the HA already), and
# the route glm_start_gatewayd gives the home prefix in rt lets rt send it
# at all. Before both, the stream stalled as in a black hole: rt had no
# route to the HA ("Network is unreachable"), sent no Packet Too Big, and
# the vm's sender failed with "5521740 bytes still queued after 10.0s
# drain".
@test "gateway: PMTU the other way: the vm's full-size TCP segments from its HA to a plain peer; the gateway's own Packet Too Big to the HA reaches the vm" {
	gw_setup
	migrate hB 2
	tb_exec rt ip link set pC-cn mtu 1400
	tb_exec rt ip link set brC mtu 1400
	STREAM_SIZE=1400 start_stream tcp cn vm 4
	finish_stream
	assert_tcp_intact
	local route
	route=$(tb_exec vm ip -6 route get "$TB_CN_ADDR" from "$GLM_HA")
	echo "# vm: $route" >&3
	[[ "$route" == *" mtu 1400 "* ]]
	# cn saw the HA only
	! tb_exec cn ss -tn | grep -q "$(glm_vm_ma)" || false
}

# The same, the path's MTU shrinking under a running stream: cn's stream
# to the HA starts with the vm on hA (1500 all the way) and goes on after
# the move to hB, behind rt's 1400-byte side of link B.
@test "gateway: PMTU: a plain peer's full-size TCP stream to the HA goes on when a move puts a 1400-byte link on its path" {
	gw_setup
	tb_exec rt ip link set pB-hB mtu 1400
	tb_exec rt ip link set brB mtu 1400
	STREAM_SIZE=1400 start_stream tcp vm cn 5
	sleep 1
	[[ "$(tb_exec cn ip -6 route get "$GLM_HA")" != *" mtu "* ]]
	migrate hB 2
	finish_stream
	assert_tcp_intact
	local route
	route=$(tb_exec cn ip -6 route get "$GLM_HA")
	echo "# received $(jf "$RECV_JSON" "['received']") of 1400 bytes; cn: $route" >&3
	[[ "$route" == *" mtu 1400 "* ]]
	[ "$(gw_icmp_count out)" -ge 1 ]
}

@test "gateway: an MA another home address just left (kept as its alias) goes to the node there now, at once" {
	# a second guest key owning a second home address (as bench/gateway's)
	GLM_KEYS_EXTRA=("11 guest home 2001:db8:100::11")
	gw_setup
	local ma1
	ma1=$(glm_vm_ma)
	migrate hB 2
	# the vm's HA now at B; its A address stays in ma2ha as the alias
	tb_exec rt nft list map ip6 glm_gw ma2ha | grep -q "$ma1 : $GLM_HA"
	# another node's HA at that address (vouched by hA's agent): installed
	# at once, the alias gives way in the same batch; nothing refused
	tb_exec cn "$GLM_BIN/imsclient" -s "[$TB_IMS_ADDR]:$GLM_IMS_PORT" -k "$(glm_keyring 11)" -i 11 \
		--vouch "$(glm_keyring 30)" update 2001:db8:100::11 "$ma1" 600
	glm_gw_wait 2001:db8:100::11 "$ma1" 3
	tb_exec rt nft list map ip6 glm_gw ma2ha | grep -q "$ma1 : 2001:db8:100::11"
	[ "$(gw_stat nft_errors)" -eq 0 ]
	grep -q "$ma1: no longer an alias of $GLM_HA, 2001:db8:100::11 is there now" "$TB_DIR/gatewayd.log"
	# the vm's own mapping is untouched
	glm_gw_map | grep -qx "$GLM_HA $(glm_vm_ma)"
}
