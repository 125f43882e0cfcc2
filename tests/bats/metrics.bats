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
