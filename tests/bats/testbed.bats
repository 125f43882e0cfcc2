#!/usr/bin/env bats
# The testbed itself, with no glm daemon running: the VM gets its address
# from radvd and reaches the correspondent; a same-subnet move keeps a TCP
# stream whole (the baseline every glm measurement is compared with); a
# move to another subnet kills it (what glm exists to fix); teardown
# leaves nothing behind. Topology: see lib/testbed.bash.

load lib/testbed

: "${GLM_BIN:=$BATS_TEST_DIRNAME/../../build/bin}"

setup() {
	for t in seqstream announce vnetmove; do
		[ -x "$GLM_BIN/$t" ] || skip "$GLM_BIN/$t missing (make tools)"
	done
	for t in radvd rdisc6 ping; do
		command -v $t >/dev/null || skip "$t not installed"
	done
	[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
}

teardown() {
	tb_teardown
}

# Start a seqstream receiver in NODE (server, TCP, port 5001) and a sender
# in cn towards ADDR; pids in SRV/CLI, reports in $TB_DIR/srv.json, cli.json.
stream_cn_to() {
	local node=$1 addr=$2 secs=$3
	shift 3
	tb_spawn "$node" "$GLM_BIN/seqstream" server --tcp --listen "[::]:5001" --json \
		--duration $((secs + 2)) "$@" >"$TB_DIR/srv.json" 2>"$TB_DIR/srv.err"
	SRV=$TB_PID
	tb_spawn cn "$GLM_BIN/seqstream" client --tcp --connect "[$addr]:5001" --rate 1000 \
		--duration "$secs" --drain 1 --json >"$TB_DIR/cli.json" 2>"$TB_DIR/cli.err"
	CLI=$TB_PID
}

show() {
	local f
	for f in "$@"; do echo "== $f"; cat "$TB_DIR/$f" || true; done
}

@test "setup: vm gets a SLAAC address on link A and reaches cn" {
	tb_setup
	t=$(awk -v a="$TB_T_SETUP0" -v b="$TB_T_SETUP1" 'BEGIN{printf "%.3f", b-a}')
	echo "# tb_setup ${t}s, vm $TB_VM_ADDR" >&3
	[[ $TB_VM_ADDR == 2001:db8:a:0:5054:ff:fe12:3456 ]]
	[[ $(tb_vm_host) == hA ]]
	run tb_exec vm ip -6 route show default
	[[ $output == *"via fe80::1 dev eth0"* ]]
	tb_exec vm ping -6 -c 2 -i 0.1 -W 2 "$TB_CN_ADDR"
	tb_exec cn ping -6 -c 2 -i 0.1 -W 2 "$TB_VM_ADDR"
	tb_exec vm ping -6 -c 1 -W 2 "$TB_IMS_ADDR"
	# radvd really sends at the fast rate (the RA counter moves).
	[[ -s $TB_DIR/radvd.pid ]]
	a=$(tb_exec vm awk '$1=="Icmp6InRouterAdvertisements"{print $2}' /proc/net/snmp6)
	sleep 0.3
	b=$(tb_exec vm awk '$1=="Icmp6InRouterAdvertisements"{print $2}' /proc/net/snmp6)
	(( b - a >= 3 ))
}

@test "same-subnet move (hA -> hA2 -> hA) keeps a TCP stream whole" {
	tb_setup
	stream_cn_to vm "$TB_VM_ADDR" 3
	sleep 1
	tb_migrate hA2
	[[ $(tb_vm_host) == hA2 ]]
	sleep 1
	tb_migrate hA
	tb_wait_pid "$CLI" 10 || { show cli.json cli.err srv.json srv.err; false; }
	tb_wait_pid "$SRV" 10 || { show srv.json srv.err; false; }
	show srv.json
	[[ $(tb_json "$TB_DIR/srv.json" error) == null ]]
	[[ $(tb_json "$TB_DIR/srv.json" eof) == true ]]
	# every record sent arrived (the count the sender reached depends on load)
	[[ $(tb_json "$TB_DIR/srv.json" received) == $(tb_json "$TB_DIR/cli.json" sent) ]]
	(( $(tb_json "$TB_DIR/srv.json" received) > 2500 ))
	[[ $(tb_json "$TB_DIR/srv.json" lost) == 0 ]]
	gap=$(tb_json "$TB_DIR/srv.json" max_gap_ms)
	echo "# same-subnet TCP max gap ${gap} ms over 2 moves" >&3
	awk -v g="$gap" 'BEGIN{exit !(g < 1000)}'
}

@test "same-subnet move: vm-initiated TCP (cn sends) and UDP survive" {
	tb_setup
	# vm connects to cn, cn sends on that connection.
	tb_spawn cn "$GLM_BIN/seqstream" server --tcp --send --listen "[::]:5002" --rate 1000 \
		--duration 2.5 --drain 2 --json >"$TB_DIR/tsrv.json" 2>"$TB_DIR/tsrv.err"
	tsrv=$TB_PID
	tb_spawn vm "$GLM_BIN/seqstream" client --tcp --recv --connect "[$TB_CN_ADDR]:5002" \
		--duration 8 --json >"$TB_DIR/tcli.json" 2>"$TB_DIR/tcli.err"
	tcli=$TB_PID
	# UDP vm -> cn.
	tb_spawn cn "$GLM_BIN/seqstream" server --udp --listen "[::]:5003" --duration 8 --json \
		>"$TB_DIR/usrv.json" 2>"$TB_DIR/usrv.err"
	usrv=$TB_PID
	tb_spawn vm "$GLM_BIN/seqstream" client --udp --connect "[$TB_CN_ADDR]:5003" --rate 1000 \
		--duration 2 --json >"$TB_DIR/ucli.json" 2>"$TB_DIR/ucli.err"
	ucli=$TB_PID
	sleep 1
	tb_migrate hA2
	for p in $tsrv $tcli $usrv $ucli; do
		tb_wait_pid "$p" 10 || { show tsrv.json tsrv.err tcli.json tcli.err usrv.json ucli.json; false; }
	done
	show tcli.json usrv.json
	[[ $(tb_json "$TB_DIR/tcli.json" error) == null ]]
	# every record the sender wrote arrived (how many it wrote in its
	# time depends on the box's load)
	[[ $(tb_json "$TB_DIR/tcli.json" received) == $(tb_json "$TB_DIR/tsrv.json" sent) ]]
	(( $(tb_json "$TB_DIR/tcli.json" received) > 2000 ))
	[[ $(tb_json "$TB_DIR/tcli.json" eof) == true ]]
	(( $(tb_json "$TB_DIR/usrv.json" sent) > 1500 ))
	lost=$(tb_json "$TB_DIR/usrv.json" lost)
	echo "# udp vm->cn across hA2: lost $lost, max gap $(tb_json "$TB_DIR/usrv.json" max_gap_ms) ms" >&3
	(( lost < 200 ))
}

@test "cross-subnet move without glm: the stream dies, a new address needs RS/RA" {
	tb_setup --ra-solicited
	old=$TB_VM_ADDR
	stream_cn_to vm "$old" 3
	sleep 1
	tb_migrate hB
	sleep 1
	# Nothing solicited yet: still only the old address (the kernel sends
	# no RS on carrier-up, radvd sends no unsolicited RA in this mode).
	run tb_exec vm ip -6 -o addr show dev eth0 scope global to "$TB_PREFIX_B"
	[[ -z $output ]]
	tb_exec vm rdisc6 -1 -q eth0
	new=$(tb_wait_addr vm eth0 "$TB_PREFIX_B" 1)
	[[ $new == 2001:db8:b:0:5054:ff:fe12:3456 ]]
	tb_exec vm ping -6 -c 1 -W 2 -I "$new" "$TB_CN_ADDR"
	# The old stream is stuck: no record after the move.
	tb_wait_pid "$CLI" 10 || true
	tb_wait_pid "$SRV" 10 || true
	show srv.json cli.json
	last=$(tb_json "$TB_DIR/srv.json" last_rx)
	awk -v l="$last" -v u="$TB_MIG_UP" 'BEGIN{exit !(l < u)}'
	(( $(tb_json "$TB_DIR/srv.json" received) < 1500 ))
	[[ $(tb_json "$TB_DIR/cli.json" error) != null ]]
}

@test "cross-subnet move with fast RAs: new prefix from an unsolicited RA" {
	tb_setup
	tb_migrate hB
	new=$(tb_wait_addr vm eth0 "$TB_PREFIX_B" 2)
	t=$(awk -v a="$TB_MIG_UP" -v b="${EPOCHREALTIME/,/.}" 'BEGIN{printf "%.0f", (b-a)*1000}')
	echo "# hB: $new usable ${t} ms after carrier-up" >&3
	[[ $new == 2001:db8:b:0:5054:ff:fe12:3456 ]]
	tb_exec vm ping -6 -c 1 -W 2 -I "$new" "$TB_CN_ADDR"
}

@test "two NICs: both get addresses and both move" {
	tb_setup --two-nics
	[[ -n $TB_VM_ADDR1 ]]
	tb_migrate hB
	[[ $(tb_exec hB ip -o link show master br0 | grep -c vnet) == 2 ]]
	[[ $(tb_exec hA ip -o link show master br0 | grep -c vnet || true) == 0 ]]
	tb_wait_addr vm eth0 "$TB_PREFIX_B" 2
	tb_wait_addr vm eth1 "$TB_PREFIX_B" 2
}

@test "teardown leaves no netns and no process behind" {
	tb_setup
	tb_spawn cn sleep 60
	tb_spawn vm "$GLM_BIN/seqstream" server --udp --listen "[::]:5009" --duration 60 >/dev/null
	prefix=$TB
	cp "$TB_DIR/pids" "$BATS_TEST_TMPDIR/pids"
	dir=$TB_DIR
	(( $(wc -l <"$BATS_TEST_TMPDIR/pids") == 3 ))
	tb_teardown
	tb_teardown # idempotent
	run ip netns list
	[[ $output != *"$prefix-"* ]]
	while read -r pid start; do
		! tb__alive "$pid" "$start" || false
	done <"$BATS_TEST_TMPDIR/pids"
	[[ ! -e $dir ]]
}

@test "teardown after a setup that failed midway" {
	prefix="glm-t${BATS_TEST_NUMBER}-$$"
	ip netns add "$prefix-hB" # setup stops when it gets to hB
	if tb_setup; then false; fi
	[[ -d $TB_DIR ]]
	run ip netns list
	[[ $output == *"$prefix-hA"* ]]
	tb_teardown
	run ip netns list
	[[ $output != *"$prefix-"* ]]
}
