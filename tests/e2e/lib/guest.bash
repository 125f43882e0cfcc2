# shellcheck shell=bash
# guest.bash: a real QEMU guest (make guest-image) under real libvirtd
# hosts (libvirt.bash) on the namespace testbed (testbed.bash --mcast),
# with glm's daemons (glm.bash). Sourced by tests/e2e/*.bats and
# bench/migration after those three.
#
#   e2e_skip_reason        why this machine cannot run it (empty: it can)
#   e2e_setup [--plain-cn] [--gateway] [HOSTS...]
#                          testbed, IMS, cn's matd, relay, libvirtd + agent
#                          on each host (default hA hB), the guest image;
#                          E2E_RELAY_MTU: tb_setup --relay-mtu.
#                          --plain-cn: no matd in cn (it runs nothing of
#                          glm's); --gateway: glm-gatewayd on rt, the home
#                          gateway (glm.bash glm_start_gatewayd)
#   e2e_guest_start [--mem MiB] [--name N] [--plain-cn] [--home-gateway yes|no]
#                   [--ssh-key PUBFILE]
#                          define and start the guest on hA, wait for qemu-ga
#                          and matd's first handover. --plain-cn: cn is not
#                          the guest's correspondent; the others:
#                          guest/cmdline.sh's (--ssh-key boots initrd-ssh.img
#                          in at least 192 MiB)
#   e2e_has_sshd           true if the guest image has initrd-ssh.img
#   ga_exec NODE PATH ARG...   start PATH in the guest, print its pid
#   ga_wait NODE PID [TIMEOUT] wait for it; stdout to stdout, exit status returned
#   ga_run NODE PATH ARG...    both
#   e2e_status NODE        matctl status --json, through qemu-guest-agent

E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
E2E_GUEST_DIR=${E2E_GUEST_DIR:-$E2E_TOP/build/guest}

e2e_skip_reason() {
	local b
	[ "$(id -u)" = 0 ] || { echo "needs root"; return; }
	for b in qemu-system-x86_64 virsh; do
		command -v "$b" >/dev/null || { echo "$b is not installed (make deps)"; return; }
	done
	[ -x /usr/sbin/libvirtd ] || { echo "libvirtd is not installed (make deps)"; return; }
	[ -c /dev/net/tun ] || { echo "this kernel has no /dev/net/tun: the guests' taps need it"; return; }
	[ -f "$E2E_GUEST_DIR/vmlinux" ] && [ -f "$E2E_GUEST_DIR/initrd.img" ] ||
		{ echo "no guest image in $E2E_GUEST_DIR (make guest-image)"; return; }
}

e2e_setup() {
	local hosts=() h key cn_matd=1 gateway=0
	while [ $# -gt 0 ]; do
		case $1 in
		--plain-cn) cn_matd=0 ;;
		--gateway) gateway=1 ;;
		-*) echo "e2e_setup: unknown option $1" >&2; return 1 ;;
		*) hosts+=("$1") ;;
		esac
		shift
	done
	[ ${#hosts[@]} -gt 0 ] || hosts=(hA hB)
	tb_setup --mcast --name "${E2E_NAME:-e2e}" ${E2E_RELAY_MTU:+--relay-mtu "$E2E_RELAY_MTU"} || return 1
	glm_keys
	glm_start_imsd || return 1
	[ $cn_matd = 0 ] || glm_start_matd cn || return 1
	[ $gateway = 0 ] || glm_start_gatewayd || return 1
	glm_start_agent relay || return 1
	for h in "${hosts[@]}"; do
		lv_host_start "$h" || return 1
		glm_start_agent "$h" "libvirt-uri $(lv_uri "$h")" || return 1
	done
	E2E_HOSTS=("${hosts[@]}")
}

e2e_guest_start() {
	local mem=128 name=vm cmdline args=() initrd=initrd.img cn=1
	while [ $# -gt 0 ]; do
		case $1 in
		--mem) mem=$2; shift ;;
		--name) name=$2; shift ;;
		--plain-cn) cn=0 ;;
		--home-gateway) args+=("$1" "$2"); shift ;;
		--ssh-key)
			# the image with sshd, which needs 192 MiB (glm-guest-image(7))
			args+=("$1" "$2")
			initrd="initrd-ssh.img"
			shift
			;;
		*) echo "e2e_guest_start: unknown option $1" >&2; return 1 ;;
		esac
		shift
	done
	[ "$initrd" = initrd.img ] || [ "$mem" -ge 192 ] || mem=192
	[ $cn = 0 ] || args+=(--cn "$TB_CN_ADDR")
	cmdline="console=ttyS0 quiet $("$E2E_TOP/guest/cmdline.sh" --keyring "$(glm_keyring 10)" --key-id 10 \
		--key 30 --key 31 --key 32 --key 5 --key 20 --ha "$GLM_HA" --ims "[$TB_IMS_ADDR]:$GLM_IMS_PORT" \
		${args[@]+"${args[@]}"} ${GLM_GUEST_VERBOSE:+--verbose})" ||
		return 1
	lv_domain_xml --name "$name" --mem "$mem" --kernel "$E2E_GUEST_DIR/vmlinux" \
		--initrd "$E2E_GUEST_DIR/$initrd" --cmdline "$cmdline" >"$TB_DIR/$name.xml" || return 1
	lv_define_vm hA "$TB_DIR/$name.xml" || return 1
	lv_start hA "$name" || return 1
	lv_wait_agent hA 60 "$name" || return 1
	e2e_wait_handovers hA 1 20
}

e2e_has_sshd() {
	[ -f "$E2E_GUEST_DIR/initrd-ssh.img" ]
}

# ga_exec NODE PATH ARG...: start a program in the guest; prints its pid.
ga_exec() {
	local node=$1 json
	shift
	json=$(python3 -c 'import json,sys; print(json.dumps({"execute":"guest-exec","arguments":{"path":sys.argv[1],"arg":sys.argv[2:],"capture-output":True}}))' "$@")
	lv_agent_cmd "$node" "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["return"]["pid"])'
}

# ga_wait NODE PID [TIMEOUT]: its stdout (stderr to stderr), its exit status.
ga_wait() {
	local node=$1 pid=$2 t=${3:-30} i out
	for i in $(seq $((t * 10))); do
		out=$(lv_agent_cmd "$node" "{\"execute\":\"guest-exec-status\",\"arguments\":{\"pid\":$pid}}") || return 2
		if echo "$out" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["return"]["exited"] else 1)'; then
			echo "$out" | python3 -c '
import base64,json,sys
r=json.load(sys.stdin)["return"]
sys.stdout.write(base64.b64decode(r.get("out-data","")).decode(errors="replace"))
sys.stderr.write(base64.b64decode(r.get("err-data","")).decode(errors="replace"))
sys.exit(r.get("exitcode",1))'
			return $?
		fi
		sleep 0.1
	done
	echo "ga_wait: pid $pid in the guest still running after ${t}s" >&2
	return 124
}

ga_run() {
	local node=$1 pid
	shift
	pid=$(ga_exec "$node" "$@") || return 2
	ga_wait "$node" "$pid" 30
}

e2e_status() {
	ga_run "$1" /usr/bin/matctl status --json
}

# e2e_wait_handovers NODE N TIMEOUT: until matd in the guest finished N.
e2e_wait_handovers() {
	local node=$1 n=$2 t=${3:-10} i
	for i in $(seq $((t * 4))); do
		if e2e_status "$node" 2>/dev/null | python3 -c "
import json,sys
m=json.load(sys.stdin)['mobile']
sys.exit(0 if m['handovers']>=$n and not m['in_progress'] else 1)" 2>/dev/null; then
			return 0
		fi
		sleep 0.25
	done
	echo "e2e: matd in the guest did not finish $n handovers in ${t}s" >&2
	ga_run "$node" /bin/cat /var/log/matd.log >&2 || true
	return 1
}
