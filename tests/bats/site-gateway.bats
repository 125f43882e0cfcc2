#!/usr/bin/env bats
# The site gateway (issue 15, MAT-NET): a network of plain hosts behind a
# router that translates for all of them. On the testbed drawn at the top
# of lib/testbed.bash with --site: glm-gatewayd on sg (key 51, the site
# gateway for link D 2001:db8:d::/64), imsd on link C, matd in the vm with
# 'home-gateway yes' and sg as its correspondent; pd on link D runs NO glm
# software. No home gateway runs on rt: the home prefix is routed nowhere,
# so every packet between pd and the vm's HA must be translated at sg, and
# the path is direct both ways:
#
#   vm --src MA, dst d::10--> rt --> sg [ma2ha: MA -> HA] --src HA--> pd
#   vm <--dst MA------------- rt <-- sg [ha2ma: HA -> MA] <--dst HA-- pd
#
# The vm's binding updates go to sg (c::40:5302), which checks them as
# matd's correspondent role does and answers BINDING_ACK with its
# gateway key; the IMS pushes the same mappings to it.

load lib/testbed
load lib/glm

teardown() {
	glm_teardown
}

sg_stat() { glm_sitegwctl stats | sed -n "s/^$1=//p"; }

sg_map() { glm_gw_map sg "${1:-ha2ma}"; }

# The testbed with the site gateway: imsd, glm-gatewayd on sg, matd in
# the vm only (sg its correspondent).
sg_setup() {
	tb_setup --site "$@"
	glm_keys
	glm_start_imsd
	glm_start_site_gateway
	glm_start_matd vm "home-gateway yes" "correspondent [$TB_SG_ADDR]:$GLM_GATEWAY_PORT"
	glm_wait_handovers vm 1 5
	glm_gw_wait "$GLM_HA" "$(glm_vm_ma)" 5 sg
	export STREAM_PEER=pd
}

# migrate DEST N: move the vm, wait for its Nth handover and for the site
# gateway's kernel map to send the HA to the new MA.
migrate() {
	tb_migrate "$1"
	glm_wait_handovers vm "$2" 5
	glm_gw_wait "$GLM_HA" "$(glm_vm_ma)" 5 sg
	sleep 0.5
}

# sg's maps: HA -> the vm's current MA and nothing else; MA -> HA, and at
# most one more MA, the one it left last (an alias for its packets still
# on their way).
assert_maps_current() {
	local ma
	ma=$(glm_vm_ma)
	[ "$(sg_map)" = "$GLM_HA $ma" ]
	sg_map ma2ha | grep -qx "$ma $GLM_HA"
	[ "$(sg_map ma2ha | grep -vc " $GLM_HA\$")" -eq 0 ]
	[ "$(sg_map ma2ha | wc -l)" -le 2 ]
}

@test "site gateway: a plain host's TCP stream to the vm's HA survives A->B->A->B" {
	sg_setup
	# pd runs nothing of glm's: no translation table in its namespace
	! tb_exec pd nft list table ip6 mat >/dev/null 2>&1 || false
	assert_maps_current
	start_stream tcp vm pd 6
	migrate hB 2
	[[ "$(glm_vm_ma)" == 2001:db8:b:* ]]
	assert_maps_current
	migrate hA 3
	migrate hB 4
	finish_stream
	assert_tcp_intact
	assert_maps_current
	# pd only ever saw the HA
	! tb_exec pd ss -tn | grep -q "2001:db8:[ab]:" || false
	# the vm told sg itself: binding updates answered and taken; the IMS
	# pushed the same moves (whichever came second was stale)
	[ "$(sg_stat bu_rx)" -ge 3 ]
	[ "$(sg_stat pushes)" -ge 4 ]
	[ "$(sg_stat moved)" -eq 3 ]
	[ "$(sg_stat bu_refused)" -eq 0 ]
	[ "$(sg_stat nft_errors)" -eq 0 ]
	# the A address it left last is still translated back (ma2ha), and says so
	glm_sitegwctl dump | grep -q "$GLM_HA -> $(glm_vm_ma) (previous 2001:db8:a:[0-9a-f:]* still translated back"
	sg_map ma2ha | grep -q "^2001:db8:a:"

	[ "$(glm_status_field vm "d['mobile']['last_handover']['cns_acked']")" = 1 ]
}

@test "site gateway: TCP started by the vm to a plain host, data from the vm, survives A->B->A->B" {
	sg_setup
	start_stream tcp pd vm 6
	migrate hB 2
	migrate hA 3
	migrate hB 4
	finish_stream
	assert_tcp_intact
	# pd's socket was with the HA, never with an MA
	! tb_exec pd ss -tn | grep -q "2001:db8:[ab]:" || false
}

@test "site gateway: a UDP stream from the vm to a plain host continues across A->B->A->B, in order" {
	sg_setup
	start_stream udp pd vm 6
	migrate hB 2
	migrate hA 3
	migrate hB 4
	finish_stream
	assert_udp_in_order
}

@test "site gateway: a UDP stream from a plain host to the vm's HA continues across A->B->A->B, in order" {
	sg_setup
	start_stream udp vm pd 6
	migrate hB 2
	migrate hA 3
	migrate hB 4
	finish_stream
	assert_udp_in_order
}

@test "site gateway: the vm's packets to a plain host leave with the MA and arrive with the HA; the answers too" {
	sg_setup
	local ma
	ma=$(glm_vm_ma)
	tb_spawn vm tcpdump -i eth0 -nn -U -l "icmp6 and host $TB_PD_ADDR and icmp6[0] < 130" \
		>"$TB_DIR/vm.dump" 2>"$TB_DIR/vm.tcpdump.err"
	tb_spawn pd tcpdump -i eth0 -nn -U -l "icmp6 and icmp6[0] < 130" >"$TB_DIR/pd.dump" 2>"$TB_DIR/pd.tcpdump.err"
	sleep 1
	# from the HA, as an application on the vm sends
	tb_exec vm ping -c 3 -i 0.2 -W 1 -I "$GLM_HA" "$TB_PD_ADDR"
	sleep 0.5
	cat "$TB_DIR/vm.dump" "$TB_DIR/pd.dump" >&2
	# on the vm's link: out from the MA, back to the MA; never the HA
	grep -q "$ma > $TB_PD_ADDR: ICMP6, echo request" "$TB_DIR/vm.dump"
	grep -q "$TB_PD_ADDR > $ma: ICMP6, echo reply" "$TB_DIR/vm.dump"
	! grep -q "$GLM_HA" "$TB_DIR/vm.dump" || false
	# on link D: from the HA, to the HA; never an MA
	[ "$(grep -c "$GLM_HA > $TB_PD_ADDR: ICMP6, echo request" "$TB_DIR/pd.dump")" -eq 3 ]
	[ "$(grep -c "$TB_PD_ADDR > $GLM_HA: ICMP6, echo reply" "$TB_DIR/pd.dump")" -eq 3 ]
	! grep -q "2001:db8:[ab]:" "$TB_DIR/pd.dump" || false
	# a peer that is not behind the site gateway still sees the HA (home-gateway yes)
	tb_exec vm nft list table ip6 mat | grep -q "ip6 daddr 2001:db8:d::/64 ip6 saddr set ip6 saddr map @self_ha2ma"
	! tb_exec vm nft list table ip6 mat | grep -q "ip6 daddr 2001:db8:c::/64" || false
}

@test "site gateway: forged and replayed binding updates and an MA outside the site prefixes change nothing in the kernel's maps" {
	sg_setup
	local to=(-s "[$TB_SG_ADDR]:$GLM_GATEWAY_PORT" -i 51 -t 300)
	# the vm's binding updates to sg, as they reach it
	tb_spawn sg tcpdump -i eth0 -U -w "$TB_DIR/bu.pcap" "udp and dst port $GLM_GATEWAY_PORT and not src host $TB_IMS_ADDR" \
		>"$TB_DIR/tcpdump.log" 2>&1
	local dump=$TB_PID
	sleep 1
	migrate hB 2
	local ma_b
	ma_b=$(glm_vm_ma)
	sleep 0.3
	kill "$dump"
	tb_wait_pid "$dump" 5 || true
	# the last one: the vm at its B address, with its proof
	pcap_last_udp_payload "$TB_DIR/bu.pcap" >"$TB_DIR/bu.hex"
	[ -s "$TB_DIR/bu.hex" ]
	migrate hA 3
	local ha2ma ma2ha
	ha2ma=$(sg_map)
	ma2ha=$(sg_map ma2ha)
	[ "$ha2ma" = "$GLM_HA $(glm_vm_ma)" ]
	# 1. the captured update again, from the vm's B address: older than the A one
	local stale0
	stale0=$(sg_stat stale)
	tb_exec cn "$GLM_BIN/glmsend" -s "[$TB_SG_ADDR]:$GLM_GATEWAY_PORT" -k "$(glm_keyring 10)" -t 300 \
		--from "[$ma_b]:$GLM_MATD_PORT" --replay "$TB_DIR/bu.hex" || true
	sleep 0.3
	[ "$(sg_stat stale)" -eq $((stale0 + 1)) ]
	[ "$(sg_map)" = "$ha2ma" ]
	[ "$(sg_map ma2ha)" = "$ma2ha" ]
	# 2. sealed with a key that does not own the HA: the rogue guest's, cn's
	local refused0
	refused0=$(sg_stat bu_refused)
	run tb_exec cn "$GLM_BIN/glmsend" "${to[@]}" -k "$(glm_keyring 66)" BINDING_UPDATE ha="$GLM_HA" ma="$TB_CN_ADDR" lifetime=600
	echo "$output" >&2
	[[ "$output" == *"status=denied"* ]]
	run tb_exec cn "$GLM_BIN/glmsend" "${to[@]}" -k "$(glm_keyring 20)" BINDING_UPDATE ha="$GLM_HA" ma="$TB_CN_ADDR" lifetime=600
	[[ "$output" == *"status=denied"* ]]
	[ "$(sg_stat bu_refused)" -eq $((refused0 + 2)) ]
	# 3. the vm's own key with a flipped MAC; and an agent's (may not send one)
	tb_exec cn "$GLM_BIN/glmsend" "${to[@]}" -k "$(glm_keyring 10)" --forge BINDING_UPDATE ha="$GLM_HA" \
		ma=2001:db8:b::99 lifetime=600 || true
	tb_exec cn "$GLM_BIN/glmsend" "${to[@]}" -k "$(glm_keyring 31)" --vouch BINDING_UPDATE ha="$GLM_HA" \
		ma=2001:db8:b::99 lifetime=600 || true
	[ "$(sg_stat drop_bad_MAC)" -ge 1 ]
	[ "$(sg_stat drop_wrong_role)" -ge 1 ]
	[ "$(sg_map)" = "$ha2ma" ]
	# 4. the owner's key, fresh, but an MA outside the site prefixes: refused
	# before any proof is asked (no token sent to an address we would never use)
	local prove0
	prove0=$(sg_stat bu_prove)
	run tb_exec cn "$GLM_BIN/glmsend" "${to[@]}" -k "$(glm_keyring 10)" BINDING_UPDATE ha="$GLM_HA" \
		ma="$TB_CN_ADDR" lifetime=600
	echo "$output" >&2
	[[ "$output" == *"status=denied"* ]]
	[ "$(sg_stat refused_site)" -eq 1 ]
	[ "$(sg_stat bu_prove)" -eq "$prove0" ]
	grep -q "$GLM_HA -> $TB_CN_ADDR refused: the MA is in none of our site prefixes" "$TB_DIR/sitegw.log"
	# 5. and a new MA inside them, from the owner, neither vouched for nor proven: a PROVE, nothing installed
	run tb_exec cn "$GLM_BIN/glmsend" "${to[@]}" -k "$(glm_keyring 10)" BINDING_UPDATE ha="$GLM_HA" \
		ma=2001:db8:b::99 lifetime=600
	[ "$(sg_stat bu_prove)" -eq $((prove0 + 1)) ]
	[ "$(sg_map)" = "$ha2ma" ]
	[ "$(sg_map ma2ha)" = "$ma2ha" ]
	echo "# maps after: $(sg_map) / $(sg_map ma2ha)" >&3
}

@test "site gateway: config: serve lines, refused when wrong with FILE:LINE, and its table" {
	tb_setup --site --no-wait
	glm_keys
	local c="$TB_DIR/bad.conf" base
	base=$(printf 'keyring %s\nkey-id 51\nims [%s]:5300\nhome-prefix %s\nsite-prefix %s\n' \
		"$TB_DIR/keys-51" "$TB_IMS_ADDR" "$GLM_HOME_PREFIX" "$TB_PREFIX_A")
	printf '%s\nserve 2001:db8:d::1/64\n' "$base" >"$c"
	run tb_exec sg "$GLM_BIN/glm-gatewayd" -n -f "$c"
	echo "$output" >&2
	[ "$status" -eq 78 ]
	[[ "$output" == *"bad.conf:6:"*"serve PREFIX/LEN"* ]]
	printf '%s\nserve 2001:db8:100::/56\n' "$base" >"$c"
	run tb_exec sg "$GLM_BIN/glm-gatewayd" -n -f "$c"
	[ "$status" -eq 78 ]
	[[ "$output" == *"overlaps home-prefix"* ]]
	printf '%s\n' "$base" >"$c"
	for i in $(seq 17); do printf 'serve 2001:db8:d:%x::/64\n' "$i" >>"$c"; done
	run tb_exec sg "$GLM_BIN/glm-gatewayd" -n -f "$c"
	[ "$status" -eq 78 ]
	[[ "$output" == *"bad.conf:22: at most 16 'serve' lines"* ]]
	printf '%s\nserve 2001:db8:d::/64\n' "$base" >"$c"
	tb_exec sg "$GLM_BIN/glm-gatewayd" -n -f "$c"
	# the site gateway's table: both maps, the source rule, no reject
	glm_start_imsd
	glm_start_site_gateway
	tb_exec sg nft list table ip6 glm_gw >"$TB_DIR/table"
	cat "$TB_DIR/table" >&2
	grep -q "map ma2ha" "$TB_DIR/table"
	grep -q "ip6 daddr 2001:db8:d::/64 ip6 saddr set ip6 saddr map @ma2ha notrack" "$TB_DIR/table"
	! grep -q reject "$TB_DIR/table" || false
	glm_sitegwctl status | grep -q "serve: 2001:db8:d::/64"
}
