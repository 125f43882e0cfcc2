#!/usr/bin/env bats
# Prometheus metrics of matd, glm-agentd and glm-gatewayd on the namespace
# testbed (lib/testbed.bash draws it): each daemon's GET /metrics, fetched
# inside its own namespace on its loopback address, passes
# `promtool check metrics`, and the counter of an action moves after it.
# imsd's are in imsd.bats (its own fixture).

load lib/testbed
load lib/glm
load lib/metrics

setup() {
	GLM_VM_CONF=()
	command -v curl >/dev/null || skip "curl is not installed"
}

teardown() {
	glm_teardown
}

@test "matd: handover phases as histograms, the count moves with a move" {
	GLM_VM_CONF=("metrics [::1]:9465")
	glm_setup
	metrics_get "$TB-vm" ::1 9465 >"$TB_DIR/m0"
	run metrics_check "$TB_DIR/m0"
	echo "$output"
	[[ $status -eq 0 ]]
	# the first handover, at start
	n0=$(metric "$TB_DIR/m0" 'glm_matd_handover_phase_seconds_count{phase="total"}')
	[[ $n0 -ge 1 ]]
	glm_move hB 2
	metrics_get "$TB-vm" ::1 9465 >"$TB_DIR/m1"
	run metrics_check "$TB_DIR/m1"
	[[ $status -eq 0 ]]
	[[ $(metric "$TB_DIR/m1" 'glm_matd_handover_phase_seconds_count{phase="total"}') -eq $((n0 + 1)) ]]
	[[ $(metric "$TB_DIR/m1" 'glm_matd_handover_phase_seconds_count{phase="ims_rtt"}') -ge 1 ]]
	[[ $(metric "$TB_DIR/m1" 'glm_matd_handover_phase_seconds_bucket{phase="total",le="+Inf"}') -eq $((n0 + 1)) ]]
	h=$(glm_status_field vm "d['mobile']['handovers']")
	[[ $(metric "$TB_DIR/m1" 'glm_matd_handovers_total{result="complete"}') -eq $h ]]
}

@test "glm-gatewayd: maps and packets translated (the table's rule counters), rejects" {
	tb_setup
	glm_keys
	glm_start_imsd
	glm_start_gatewayd "metrics [::1]:9466"
	glm_start_matd vm "home-gateway yes"
	glm_wait_handovers vm 1 5
	glm_gw_wait "$GLM_HA" "$(glm_vm_ma)" 5
	metrics_get "$TB-rt" ::1 9466 >"$TB_DIR/m0"
	run metrics_check "$TB_DIR/m0"
	echo "$output"
	[[ $status -eq 0 ]]
	[[ $(metric "$TB_DIR/m0" glm_gatewayd_mappings) -eq 1 ]]
	[[ $(metric "$TB_DIR/m0" 'glm_gatewayd_mapping_changes_total{result="added"}') -ge 1 ]]
	p0=$(metric "$TB_DIR/m0" 'glm_gatewayd_translated_packets_total{direction="to_ma"}')
	# three pings to the HA go through the gateway to the MA; three to an
	# HA without a mapping are rejected
	tb_exec cn ping -c 3 -i 0.2 -W 1 "$GLM_HA"
	tb_exec cn ping -c 3 -i 0.2 -W 1 2001:db8:100::99 || true
	metrics_get "$TB-rt" ::1 9466 >"$TB_DIR/m1"
	run metrics_check "$TB_DIR/m1"
	[[ $status -eq 0 ]]
	[[ $(metric "$TB_DIR/m1" 'glm_gatewayd_translated_packets_total{direction="to_ma"}') -ge $((p0 + 3)) ]]
	[[ $(metric "$TB_DIR/m1" 'glm_gatewayd_translated_bytes_total{direction="to_ma"}') -gt 0 ]]
	[[ $(metric "$TB_DIR/m1" 'glm_gatewayd_translated_packets_total{direction="rejected"}') -eq 3 ]]
}

@test "glm-agentd: hook calls and their duration, flood holds, proxy joins, relays and relayed packets; the relay's own" {
	local G=ff3e::1234 PORT=7400 n
	tb_setup --mcast
	glm_keys
	glm_start_imsd
	glm_start_matd cn
	glm_start_matd vm "correspondent $TB_CN_ADDR"
	glm_wait_handovers vm 1 5
	glm_start_agent relay "metrics [::1]:9467"
	glm_start_agent hA "metrics [::1]:9467"
	glm_start_agent hB "metrics [::1]:9467"
	glm_hook hA prepare begin
	glm_hook hA started begin
	metrics_get "$TB-hB" ::1 9467 >"$TB_DIR/b0"
	run metrics_check "$TB_DIR/b0"
	echo "$output"
	[[ $status -eq 0 ]]
	[[ $(metric "$TB_DIR/b0" glm_agentd_relay_packets_total) == 0 ]]
	tb_spawn vm "$GLM_BIN/mcstream" recv --group "$G" --port $PORT --ifname eth0 --idle 3 --json \
		>"$TB_DIR/recv.json" 2>"$TB_DIR/recv.err"
	tb_spawn src "$GLM_BIN/mcstream" send --group "$G" --port $PORT --ifname eth0 --rate 500 --size 200 \
		--duration 30 --json >"$TB_DIR/send.json" 2>"$TB_DIR/send.err"
	SEND_PID=$TB_PID
	sleep 1
	glm_migrate hB
	glm_wait_handovers vm 2 5
	sleep 1.5
	metrics_get "$TB-hB" ::1 9467 >"$TB_DIR/b1"
	run metrics_check "$TB_DIR/b1"
	echo "$output"
	[[ $status -eq 0 ]]
	# migrate/prepare begin ask the agent "incoming", started begin "started"
	[[ $(metric "$TB_DIR/b1" 'glm_agentd_hook_calls_total{event="incoming",result="ok"}') -ge 1 ]]
	[[ $(metric "$TB_DIR/b1" 'glm_agentd_hook_calls_total{event="started",result="ok"}') -eq 1 ]]
	[[ $(metric "$TB_DIR/b1" 'glm_agentd_hook_duration_seconds_count{event="started"}') -eq 1 ]]
	# flooding is held only for a libvirt domain whose tap has carrier
	# before it resumes (libvirt-uri): exposed, not moved here
	[[ $(metric "$TB_DIR/b1" glm_agentd_flood_holds_total) == 0 ]]
	[[ $(metric "$TB_DIR/b1" glm_agentd_proxy_joins_total) -ge 1 ]]
	[[ $(metric "$TB_DIR/b1" glm_agentd_relay_requests_total) -eq 1 ]]
	[[ $(metric "$TB_DIR/b1" glm_agentd_relay_packets_total) -gt 0 ]]
	[[ $(metric "$TB_DIR/b1" glm_agentd_relay_bytes_total) -gt 0 ]]
	# the relay forwarded them
	metrics_get "$TB-relay" ::1 9467 >"$TB_DIR/r1"
	run metrics_check "$TB_DIR/r1"
	echo "$output"
	[[ $status -eq 0 ]]
	[[ $(metric "$TB_DIR/r1" glm_relay_requests_total) -ge 1 ]]
	n=$(metric "$TB_DIR/r1" glm_relay_forwarded_packets_total)
	[[ $n -gt 0 ]]
	kill -TERM "$SEND_PID" 2>/dev/null || true
}
