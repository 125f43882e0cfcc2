#!/usr/bin/env bats
# The VM's sessions across a move with the IMS as two stateless imsd
# frontends over a 3-member etcd cluster (imsd(8), STORE ETCD), on the
# namespace testbed drawn at the top of lib/testbed.bash. The etcd members
# are nodes e1..e3 on link C (2001:db8:c::e1..e3, lib/etcd.bash); imsd A
# listens on c::5 and imsd B on c::6 in the ims node; matd in the vm and
# in cn are given both, A first.
#
#   vm --IMS UPDATE--> [c::5] imsd A --+
#      (A gone: same seq) [c::6] imsd B --+--> etcd e1 e2 e3 (link C)

load lib/testbed
load lib/glm

setup() {
	etcd_check || skip "$GLM_ETCD_MISSING"
	GLM_IMS_STORE=etcd
	glm_setup_two_ims
}

teardown() {
	glm_teardown
}

migrate() { glm_move "$@"; }

# query IMS_ADDR: what the IMS at that address answers for the vm's HA
query() {
	tb_exec cn "$GLM_BIN/imsclient" -s "[$1]:$GLM_IMS_PORT" -k "$(glm_keyring 20)" -i 20 -t 3000 query "$GLM_HA"
}

@test "etcd IMS: the frontend in use killed -9 during a handover: matd fails over to the other, the handover completes, TCP survives" {
	start_stream tcp vm cn 8
	# the move starts; imsd A dies while its update is on the way
	( sleep 0.05; kill -9 "$GLM_IMSD_PID" ) &
	killer=$!
	migrate hB 2
	wait "$killer"
	tb_wait_pid "$GLM_IMSD_PID" 5 || true
	GLM_IMSD_PID=
	ma=$(glm_vm_ma)
	[[ "$ma" == 2001:db8:b:* ]]
	finish_stream
	assert_tcp_intact
	grep "not answering after" "$TB_DIR/matd-vm.log"
	grep -q "failing over to \[$GLM_IMS2_ADDR\]:5300" "$TB_DIR/matd-vm.log"
	# B took it, and it is etcd's: B answers with it, and so does etcd
	query "$GLM_IMS2_ADDR" | grep -q "ma=$ma "
	etcd_ctl -- get --print-value-only "/glm/m/$GLM_HA" | grep -q " $ma "
	[ "$(glm_status_field vm "d['mobile']['last_handover']['ims_rtt_ms'] is not None")" = True ]
	# cn's subscription failed over too, and sees the next move through B
	migrate hA 3
	glm_wait_peer cn "$GLM_HA" "$(glm_vm_ma)" 10
}

@test "etcd IMS: TCP and UDP streams survive A->B->A with one etcd member down, both frontends agree" {
	etcd_member_kill 2
	start_stream tcp vm cn 8
	keep_stream tcp1
	STREAM_TAG=udp start_stream udp vm cn 8
	migrate hB 2
	query "$TB_IMS_ADDR" | grep -q "ma=$(glm_vm_ma) "
	query "$GLM_IMS2_ADDR" | grep -q "ma=$(glm_vm_ma) "
	migrate hA 3
	[[ "$(glm_vm_ma)" == 2001:db8:a:* ]]
	finish_stream
	assert_udp_in_order
	use_stream tcp1
	finish_stream
	assert_tcp_intact
	query "$TB_IMS_ADDR" | grep -q "ma=$(glm_vm_ma) "
	query "$GLM_IMS2_ADDR" | grep -q "ma=$(glm_vm_ma) "
	# matd never needed another IMS: the frontends went on over two members
	! grep -q "not answering after" "$TB_DIR/matd-vm.log" || false
}
