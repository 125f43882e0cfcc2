#!/usr/bin/env bats
# What every glm daemon does the same way (lib/daemon.c, lib/evloop.c), on
# the namespace testbed (lib/testbed.bash draws it) with imsd in "ims",
# matd in "vm" (mobile node) and glm-agentd in "hA":
#   - one instance per control socket: a second one exits 69, names the
#     first one's pid, and changes nothing of it (its socket, pid file,
#     nftables table, home address);
#   - SIGHUP reloads the keyring and the daemon keeps running; a broken
#     keyring keeps the keys in use;
#   - --help and --version answer on stdout with exit 0.

load lib/testbed
load lib/glm

setup() {
	GLM_VM_CONF=()
}

teardown() {
	glm_teardown
}

# state NODE: what a second instance must not change on NODE
state() {
	case $1 in
	ims) ls -l "$TB_DIR/ims.sock" "$TB_DIR/imsd.pid" | awk '{print $1, $NF}'; cat "$TB_DIR/imsd.pid" ;;
	vm) tb_exec vm nft list table ip6 mat; tb_exec vm ip -6 -o addr show dev lo | awk '{print $4}'
	    cat "$TB_DIR/matd-vm.pid" ;;
	hA) tb_exec hA nft list table bridge glm; cat "$TB_DIR/agent-hA.pid" ;;
	esac
}

@test "a second imsd, matd or glm-agentd on the same control socket refuses to start and changes nothing" {
	tb_setup
	glm_start_imsd
	glm_start_matd vm
	glm_wait_handovers vm 1 5
	glm_start_agent hA
	for n in ims vm hA; do state "$n" >"$TB_DIR/before-$n"; done
	[ -s "$TB_DIR/before-vm" ] && [ -s "$TB_DIR/before-hA" ]

	# (timeout: before the instance lock, a second one just ran)
	run timeout 5 ip netns exec "$TB-ims" "$GLM_BIN/imsd" -d -f /dev/null -k "$(glm_keyring 5)" -l "[$TB_IMS_ADDR]:5399" \
		-D "$TB_DIR/ims2.db" -s "$TB_DIR/ims.sock" -p "$TB_DIR/imsd.pid"
	echo "$output"
	[[ $status == 69 && $output == *"already running as pid $GLM_IMSD_PID"* ]]
	run timeout 5 ip netns exec "$TB-vm" "$GLM_BIN/matd" -d -f "$TB_DIR/matd-vm.conf" -s "$TB_DIR/matd-vm.sock" -p "$TB_DIR/matd-vm.pid"
	echo "$output"
	[[ $status == 69 && $output == *"already running as pid $GLM_MATD_VM_PID"* ]]
	run timeout 5 ip netns exec "$TB-hA" "$GLM_BIN/glm-agentd" -d -f "$TB_DIR/agent-hA.conf" -p "$TB_DIR/agent-hA.pid"
	echo "$output"
	[[ $status == 69 && $output == *"already running as pid $GLM_AGENT_HA_PID"* ]]

	for n in ims vm hA; do
		state "$n" >"$TB_DIR/after-$n"
		diff "$TB_DIR/before-$n" "$TB_DIR/after-$n"
	done
	# and the first ones still answer
	run socat - "UNIX-CONNECT:$TB_DIR/ims.sock" <<<stats
	[[ $status == 0 && $output == *rx* ]]
	glm_matctl vm status >/dev/null
	glm_glmctl hA status >/dev/null
	# the second ones left nothing of their own
	[ ! -e "$TB_DIR/ims2.db" ]
}

@test "SIGHUP: imsd, matd and glm-agentd reload their keyring and keep running; a broken one keeps the old keys" {
	tb_setup
	glm_start_imsd
	glm_start_matd vm
	glm_wait_handovers vm 1 5
	glm_start_agent hA
	# a new node's public key, added to the keyring of the IMS (5), the
	# vm (10) and the agent on hA (30)
	n0=$(grep -c '^key ' "$TB_DIR/keys.pub")
	"$GLM_BIN/glm-keys" genkey 99 | "$GLM_BIN/glm-keys" pubkey guest >"$TB_DIR/key-99.pub"
	for k in 5 10 30; do cat "$TB_DIR/key-99.pub" >>"$(glm_keyring $k)"; done
	kill -HUP "$GLM_IMSD_PID" "$GLM_MATD_VM_PID" "$GLM_AGENT_HA_PID"
	sleep 0.5
	for p in "$GLM_IMSD_PID" "$GLM_MATD_VM_PID" "$GLM_AGENT_HA_PID"; do kill -0 "$p"; done
	grep -q "keyring $(glm_keyring 5) reloaded: $((n0 + 1)) keys" "$TB_DIR/imsd.log"
	grep -q "SIGHUP: keyring $(glm_keyring 10) reloaded: $((n0 + 1)) keys" "$TB_DIR/matd-vm.log"
	grep -q "SIGHUP: keyring $(glm_keyring 30) reloaded: $((n0 + 1)) keys" "$TB_DIR/agent-hA.log"
	# a broken keyring: each says so and keeps what it had
	for k in 5 10 30; do
		cp "$(glm_keyring $k)" "$TB_DIR/keys-$k.good"
		echo "garbage" >>"$(glm_keyring $k)"
	done
	kill -HUP "$GLM_IMSD_PID" "$GLM_MATD_VM_PID" "$GLM_AGENT_HA_PID"
	sleep 0.5
	for p in "$GLM_IMSD_PID" "$GLM_MATD_VM_PID" "$GLM_AGENT_HA_PID"; do kill -0 "$p"; done
	grep -q "keeping the $((n0 + 1)) keys in use" "$TB_DIR/imsd.log"
	grep -q "keeping the $((n0 + 1)) keys in use" "$TB_DIR/matd-vm.log"
	grep -q "keeping the $((n0 + 1)) keys in use" "$TB_DIR/agent-hA.log"
	# and they still work: a move still registers at the IMS
	for k in 5 10 30; do cp "$TB_DIR/keys-$k.good" "$(glm_keyring $k)"; done
	tb_migrate hB
	glm_wait_handovers vm 2 5
	[[ $(glm_vm_ma) == 2001:db8:b:* ]]
	# the agent's table and matd's home address are still in place
	tb_exec hA nft list table bridge glm >/dev/null
	tb_exec vm ip -6 addr show dev lo | grep -q "$GLM_HA"
}

@test "detached (no -d): the command exits 0 once set up, the daemon runs, SIGTERM ends it and it cleans up" {
	tb_setup
	glm_keys
	run ip netns exec "$TB-ims" "$GLM_BIN/imsd" -f /dev/null -k "$(glm_keyring 5)" -l "[$TB_IMS_ADDR]:5300" \
		-D "$TB_DIR/ims.db" -s "$TB_DIR/ims.sock" -p "$TB_DIR/imsd.pid"
	[[ $status == 0 ]]
	pid=$(cat "$TB_DIR/imsd.pid")
	tb__record_pid "$pid" # the testbed's teardown stops it if a check fails
	kill -0 "$pid"
	# the lock names the daemon, not the command that started it
	[[ $(cat "$TB_DIR/ims.sock.lock") == "$pid" ]]
	run socat - "UNIX-CONNECT:$TB_DIR/ims.sock" <<<stats
	[[ $status == 0 && $output == *rx* ]]
	# a bad set-up is the command's exit code, and nothing is left running
	run ip netns exec "$TB-ims" "$GLM_BIN/imsd" -f /dev/null -k "$(glm_keyring 5)" -l "[$TB_IMS_ADDR]:5300" \
		-D "$TB_DIR/ims2.db" -s "$TB_DIR/ims2.sock"
	[[ $status == 69 && $output == *"Address already in use"* ]]
	[ ! -e "$TB_DIR/ims2.sock" ]
	kill -HUP "$pid"
	kill -TERM "$pid"
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null || false
	[ ! -e "$TB_DIR/ims.sock" ] && [ ! -e "$TB_DIR/ims.sock.lock" ] && [ ! -e "$TB_DIR/imsd.pid" ]
}

@test "every program answers --help and --version on stdout with exit 0" {
	for p in imsd matd matctl glm-agentd glmctl glm-domxml glm-prepare; do
		run "$GLM_BIN/$p" --help
		[[ $status == 0 && $output == *sage* ]] || { echo "$p --help: $status $output"; false; }
		run "$GLM_BIN/$p" --version
		[[ $status == 0 && $output == *0.1* ]] || { echo "$p --version: $status $output"; false; }
	done
	for p in imsd matd glm-agentd; do
		run "$GLM_BIN/$p" -h
		[[ $status == 0 && $output == *"--config"* ]]
		run "$GLM_BIN/$p" -V
		[[ $status == 0 && $output == "$p 0.1"* ]]
		run "$GLM_BIN/$p" --no-such-option
		[[ $status == 64 && $output == *"unknown option"* ]]
	done
}
