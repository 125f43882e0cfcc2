# shellcheck shell=bash
# glm.bash: start glm's daemons on the namespace testbed (testbed.bash) the
# way an operator would: a keyring, imsd on link C, matd in the vm (mobile
# node, home address 2001:db8:100::10) and in cn (correspondent for the
# home prefix). Every daemon is started with tb_spawn, so tb_teardown
# stops it by pid. Plain bash: sourced by bats files, the demo and bench.

GLM_HA=2001:db8:100::10
GLM_HOME_PREFIX=2001:db8:100::/64
GLM_IMS_PORT=5300
GLM_MATD_PORT=5301

glm__hex32() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

# Keys: 10 = the vm (owns its HA), 20 = cn, 66 = a rogue node that owns
# nothing. Secrets are new for every testbed.
glm_keys() {
	{
		echo "# glm keyring for testbed $TB"
		echo "key 10 $(glm__hex32) home $GLM_HA"
		echo "key 20 $(glm__hex32)"
		echo "key 66 $(glm__hex32)"
	} >"$TB_DIR/keys"
	chmod 600 "$TB_DIR/keys"
}

glm__wait_sock() {
	local i
	for i in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	echo "glm: $2 did not come up; its log:" >&2
	cat "$3" >&2
	return 1
}

glm_start_imsd() {
	[ -f "$TB_DIR/keys" ] || glm_keys
	rm -f "$TB_DIR/ims.sock"
	tb_spawn ims "$GLM_BIN/imsd" -d -f /dev/null -k "$TB_DIR/keys" -l "[$TB_IMS_ADDR]:$GLM_IMS_PORT" \
		-D "$TB_DIR/ims.db" -s "$TB_DIR/ims.sock" -p "$TB_DIR/imsd.pid" "$@" \
		>>"$TB_DIR/imsd.log" 2>&1 || return 1
	GLM_IMSD_PID=$TB_PID
	glm__wait_sock "$TB_DIR/ims.sock" imsd "$TB_DIR/imsd.log"
}

# glm_start_matd NODE [config lines...]: write NODE's matd.conf from the
# role defaults plus extra lines, start matd, wait for its socket.
glm_start_matd() {
	local node=$1 conf="$TB_DIR/matd-$1.conf" l
	shift
	[ -f "$TB_DIR/keys" ] || glm_keys
	case $node in
	vm) printf 'home-address %s\ninterface eth0\nkey-id 10\n' "$GLM_HA" >"$conf" ;;
	cn) printf 'key-id 20\nhome-prefix %s\n' "$GLM_HOME_PREFIX" >"$conf" ;;
	*) echo "glm_start_matd: no role for node $node" >&2; return 1 ;;
	esac
	printf 'ims [%s]:%s\nkeyring %s\n' "$TB_IMS_ADDR" "$GLM_IMS_PORT" "$TB_DIR/keys" >>"$conf"
	for l in "$@"; do echo "$l" >>"$conf"; done
	rm -f "$TB_DIR/matd-$node.sock"
	tb_spawn "$node" "$GLM_BIN/matd" -d -v -f "$conf" -s "$TB_DIR/matd-$node.sock" \
		-p "$TB_DIR/matd-$node.pid" >>"$TB_DIR/matd-$node.log" 2>&1 || return 1
	eval "GLM_MATD_${node^^}_PID=\$TB_PID"
	glm__wait_sock "$TB_DIR/matd-$node.sock" "matd in $node" "$TB_DIR/matd-$node.log"
}

glm_matctl() {
	local node=$1
	shift
	tb_exec "$node" "$GLM_BIN/matctl" -s "$TB_DIR/matd-$node.sock" "$@"
}

# Print a python3 expression over d = `matctl status --json` of NODE.
glm_status_field() {
	glm_matctl "$1" status --json | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
}

# glm_wait_handovers NODE N [TIMEOUT]: until matd in NODE has finished N handovers.
glm_wait_handovers() {
	local node=$1 n=$2 t=${3:-5} i
	for i in $(seq $((t * 25))); do
		if glm_matctl "$node" status --json 2>/dev/null | python3 -c "
import json,sys
m=json.load(sys.stdin)['mobile']
sys.exit(0 if m['handovers']>=$n and not m['in_progress'] else 1)" 2>/dev/null; then
			return 0
		fi
		sleep 0.02
	done
	echo "glm: matd in $node did not finish $n handovers in ${t}s; its log:" >&2
	tail -n 30 "$TB_DIR/matd-$node.log" >&2
	return 1
}

# glm_wait_peer NODE HA MA [TIMEOUT]: until matd in NODE maps HA to MA.
glm_wait_peer() {
	local node=$1 ha=$2 ma=$3 t=${4:-5} i
	for i in $(seq $((t * 25))); do
		if glm_matctl "$node" status --json 2>/dev/null | python3 -c "
import json,sys,ipaddress as ip
p=json.load(sys.stdin)['peers']
sys.exit(0 if any(ip.ip_address(x['ha'])==ip.ip_address('$ha') and ip.ip_address(x['ma'])==ip.ip_address('$ma') for x in p) else 1)"; then
			return 0
		fi
		sleep 0.02
	done
	echo "glm: matd in $node has no mapping $ha -> $ma after ${t}s" >&2
	tail -n 30 "$TB_DIR/matd-$node.log" >&2
	return 1
}

# The vm's current MA, and the MA it would get in a prefix (EUI-64 of eth0).
glm_vm_ma() { glm_status_field vm "d['mobile']['ma']"; }

# A full glm testbed: imsd, matd in cn and vm (vm notifies cn); extra
# arguments go to tb_setup; GLM_VM_CONF (array) adds lines to the vm's config.
glm_setup() {
	tb_setup "$@" || return 1
	glm_keys
	glm_start_imsd || return 1
	glm_start_matd cn || return 1
	glm_start_matd vm "correspondent $TB_CN_ADDR" ${GLM_VM_CONF[@]+"${GLM_VM_CONF[@]}"} || return 1
	glm_wait_handovers vm 1 5 || return 1
	glm_wait_peer cn "$GLM_HA" "$(glm_vm_ma)" 5
}

# Stop glm's daemons (SIGTERM, as an operator would) and fail if a log
# holds a sanitizer report: leaks show only at exit, so stop first.
glm_stop_and_check_logs() {
	local pid f bad=0
	[ -n "${TB_DIR:-}" ] && [ -d "$TB_DIR" ] || return 0
	for pid in ${GLM_MATD_VM_PID:-} ${GLM_MATD_CN_PID:-} ${GLM_IMSD_PID:-}; do
		kill -TERM "$pid" 2>/dev/null && tb_wait_pid "$pid" 5 >/dev/null 2>&1
	done
	for f in "$TB_DIR"/matd-*.log "$TB_DIR"/imsd.log; do
		[ -f "$f" ] || continue
		if grep -qE 'Sanitizer|runtime error:' "$f"; then
			echo "glm: sanitizer report in $f:" >&2
			cat "$f" >&2
			bad=1
		fi
	done
	GLM_MATD_VM_PID='' GLM_MATD_CN_PID='' GLM_IMSD_PID=''
	return $bad
}
