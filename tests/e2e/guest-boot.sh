#!/usr/bin/env bash
# tests/e2e/guest-boot.sh: smoke test of the guest image (guest/build-image.sh).
#
#   tests/e2e/guest-boot.sh [--boots N] [--image DIR] [--two-nics]
#                           [--compress none|gzip|zstd] [--keep]
#
# Builds the image if needed (cached), then boots it N times (default 3)
# under plain QEMU with TCG, 128 MiB, -kernel/-initrd, one virtio-net NIC
# (two with --two-nics) on a tap in a private network namespace:
#
#   netns glm-gb-PID: br0 fe80::1, 2001:db8:a::1/64 (radvd, fast RAs) and
#                     2001:db8:a::5/64 (imsd, keyring with the guest's key)
#                     tap gbtap0 (gbtap1) -> QEMU virtio-net
#
# and checks each boot: the guest is up (time to the init's "ready" line on
# the serial console, and to the first qemu-ga answer), qemu-ga answers
# guest-ping, `matctl status --json` (guest-exec) has the home address and
# an MA in 2001:db8:a::/64 after a complete handover (IMS acked), the nft
# table ip6 mat maps HA -> MA, the guest reaches the router from its HA
# through the translation (ping), and QMP announce-self makes matd log a
# peer notification (the guest kernel's IFLA_EVENT_NOTIFY_PEERS). Prints the
# boot times and their median. Exit 0 on success, 77 if not root or QEMU is
# missing. Cleans up its namespace and every process it started (by pid).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
: "${GLM_BIN:=$top/build/bin}"
QGA="python3 $top/guest/qga.py"

boots=3 image="$top/build/guest" two_nics=0 keep=0 compress=none
while [ $# -gt 0 ]; do
	case $1 in
	--boots) boots=$2; shift ;;
	--image) image=$2; shift ;;
	--two-nics) two_nics=1 ;;
	--keep) keep=1 ;;
	--compress) compress=$2; shift ;;
	*) echo "usage: $0 [--boots N] [--image DIR] [--two-nics] [--compress none|gzip|zstd] [--keep]" >&2; exit 64 ;;
	esac
	shift
done

[ "$(id -u)" = 0 ] || { echo "guest-boot: needs root (network namespaces, tap)" >&2; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "guest-boot: qemu-system-x86 not installed" >&2; exit 77; }
for p in imsd matd matctl; do
	[ -x "$GLM_BIN/$p" ] || { echo "guest-boot: $GLM_BIN/$p missing: run make" >&2; exit 1; }
done

build_args=(--compress "$compress")
[ $two_nics = 1 ] && build_args+=(--two-nics)
# with sshd as make guest-image builds it: the same inputs, so the image
# stays cached (and keeps its initrd-ssh.img) across the two
if deb=$("$top/guest/fetch-sshd.sh" "${GUEST_DEBS:-$top/build/debs}" 2>/dev/null); then
	build_args+=(--sshd-deb "$deb")
fi
"$top/guest/build-image.sh" "${build_args[@]}" --bin "$GLM_BIN" "$image"

NS=glm-gb-$$
DIR=$(mktemp -d "${TMPDIR:-/tmp}/glm-guest-boot.XXXXXX")
HA=2001:db8:100::10
IMS=2001:db8:a::5
PREFIX=2001:db8:a::
pids=()

cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
	done
	ip netns del "$NS" 2>/dev/null || true
	if [ $keep = 1 ]; then echo "guest-boot: logs kept in $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

fail() {
	echo "guest-boot: FAIL: $*" >&2
	for f in "$DIR"/console-*.log; do
		[ -f "$f" ] || continue
		echo "--- $f (last 30 lines)" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}

now() { echo "${EPOCHREALTIME/,/.}"; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.0f", (b-a)*1000}'; }

# --- the network: one bridge, router + radvd + imsd on it ---
ip netns add "$NS"
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.accept_dad=0 \
	net.ipv6.conf.all.accept_dad=0 >/dev/null
taps="gbtap0"
[ $two_nics = 1 ] && taps="gbtap0 gbtap1"
ip -n "$NS" -b - <<EOF
link set lo up
link add br0 address 02:00:00:00:0a:01 type bridge mcast_snooping 0 stp_state 0
link set br0 addrgenmode none
link set br0 up
addr add fe80::1/64 dev br0 nodad
addr add ${PREFIX}1/64 dev br0 nodad
addr add $IMS/64 dev br0 nodad
EOF
for t in $taps; do
	ip -n "$NS" tuntap add dev "$t" mode tap
	ip -n "$NS" link set "$t" master br0 up
done

cat >"$DIR/radvd.conf" <<EOF
interface br0 {
	AdvSendAdvert on;
	MinRtrAdvInterval 0.03;
	MaxRtrAdvInterval 0.07;
	AdvIntervalOpt on;
	AdvDefaultLifetime 1800;
	prefix ${PREFIX}/64 {
		AdvOnLink on;
		AdvAutonomous on;
	};
};
EOF
chmod 600 "$DIR/radvd.conf"
ip netns exec "$NS" radvd -n -C "$DIR/radvd.conf" -p "$DIR/radvd.pid" -m logfile -l "$DIR/radvd.log" \
	</dev/null >/dev/null 2>"$DIR/radvd.err" &
pids+=($!)

# the guest is key 10, imsd key 1: a key pair each (glm-keys(5))
(
	umask 077
	"$GLM_BIN/glm-keys" genkey 10 >"$DIR/priv-10"
	"$GLM_BIN/glm-keys" genkey 1 >"$DIR/priv-1"
	{
		"$GLM_BIN/glm-keys" pubkey guest home "$HA" <"$DIR/priv-10"
		"$GLM_BIN/glm-keys" pubkey ims <"$DIR/priv-1"
	} >"$DIR/keys.pub"
	cat "$DIR/priv-1" "$DIR/keys.pub" >"$DIR/keys"
	cat "$DIR/priv-10" "$DIR/keys.pub" >"$DIR/keys-10"
) || fail "glm-keys failed"
ip netns exec "$NS" "$GLM_BIN/imsd" -d -f /dev/null -k "$DIR/keys" -l "[$IMS]:5300" -D "$DIR/ims.db" \
	-s "$DIR/ims.sock" -p "$DIR/imsd.pid" >>"$DIR/imsd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$DIR/ims.sock" ] && break; sleep 0.05; done
[ -S "$DIR/ims.sock" ] || fail "imsd did not start: $(cat "$DIR/imsd.log")"

APPEND="console=ttyS0 quiet panic=-1 $("$top/guest/cmdline.sh" --keyring "$DIR/keys-10" --key-id 10 --key 1 --ha "$HA" \
	--ims "[$IMS]:5300" --verbose)"

# guest_exec CMD...: run CMD in the guest, print its stdout.
guest_exec() { $QGA "$DIR/qga.sock" exec --timeout 20 -- "$@"; }

boot_once() { # N
	local n=$1 t0 qpid t_ready="" t_ping="" st ma
	local con="$DIR/console-$n.log"
	rm -f "$DIR/qga.sock" "$DIR/qmp.sock"
	local nics=() k=0
	for t in $taps; do
		nics+=(-netdev "tap,id=n$k,ifname=$t,script=no,downscript=no"
			-device "virtio-net-pci,netdev=n$k,mac=52:54:00:12:34:5$((6 + k))")
		k=$((k + 1))
	done
	t0=$(now)
	ip netns exec "$NS" qemu-system-x86_64 -accel tcg -m 128 -nographic -no-reboot -nodefaults \
		-serial stdio -kernel "$image/vmlinux" -initrd "$image/initrd.img" -append "$APPEND" \
		"${nics[@]}" \
		-chardev "socket,path=$DIR/qga.sock,server=on,wait=off,id=qga0" \
		-device virtio-serial -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
		-qmp "unix:$DIR/qmp.sock,server=on,wait=off" </dev/null >"$con" 2>&1 &
	qpid=$!
	pids+=("$qpid")
	# qemu-ga's first answer, timed in the background while we watch the console.
	rm -f "$DIR/t_ping"
	( $QGA "$DIR/qga.sock" ping --wait 30 && ms_since "$t0" >"$DIR/t_ping" ) &
	local ppid=$!
	pids+=("$ppid")
	for _ in $(seq 1500); do
		if grep -q 'glm-guest: ready' "$con"; then
			t_ready=$(ms_since "$t0")
			break
		fi
		kill -0 $qpid 2>/dev/null || fail "boot $n: QEMU exited"
		sleep 0.02
	done
	[ -n "$t_ready" ] || fail "boot $n: no 'ready' on the console after 30 s"
	wait $ppid || fail "boot $n: qemu-ga does not answer guest-ping"
	t_ping=$(cat "$DIR/t_ping")

	# matd: a complete first handover (RS, RA, SLAAC, IMS ack).
	for _ in $(seq 50); do
		st=$(guest_exec /usr/bin/matctl status --json 2>/dev/null) || st=""
		if [ -n "$st" ] && echo "$st" | python3 -c '
import json, sys
m = json.load(sys.stdin)["mobile"]
sys.exit(0 if m["handovers"] >= 1 and not m["in_progress"] else 1)'; then
			break
		fi
		st=""
		sleep 0.2
	done
	[ -n "$st" ] || fail "boot $n: matd has no finished handover; matd.log: $(guest_exec /bin/cat /var/log/matd.log)"
	ma=$(echo "$st" | python3 -c '
import ipaddress as ip, json, sys
m = json.load(sys.stdin)["mobile"]
assert ip.ip_address(m["ha"]) == ip.ip_address(sys.argv[1]), "ha %s" % m["ha"]
assert m["ma"] and ip.ip_address(m["ma"]) in ip.ip_network(sys.argv[2]), "ma %s" % m["ma"]
h = m["last_handover"]
assert h and h["complete"] and h["ims_rtt_ms"] is not None, "handover %s" % h
print(m["ma"])' "$HA" "${PREFIX}/64") || fail "boot $n: matctl status: $st"

	# nftables in the guest: the table matd owns maps HA -> MA.
	guest_exec /usr/sbin/nft list table ip6 mat >"$DIR/nft-$n.txt" 2>&1 || fail "boot $n: nft list: $(cat "$DIR/nft-$n.txt")"
	grep -q "$HA : $ma" "$DIR/nft-$n.txt" || fail "boot $n: no $HA : $ma in the nft table: $(cat "$DIR/nft-$n.txt")"

	# Data path: from the HA, translated to the MA on the wire, to the router.
	guest_exec /bin/ping -c 2 -W 2 -I "$HA" "${PREFIX}1" >"$DIR/ping-$n.txt" 2>&1 ||
		fail "boot $n: ping from the HA failed: $(cat "$DIR/ping-$n.txt")"

	# announce-self: the guest kernel's NOTIFY_PEERS reaches matd (after
	# its debounce of 2 s from the last handover).
	sleep 2.1
	$QGA --qmp "$DIR/qmp.sock" announce-self '{"initial":50,"max":550,"rounds":5,"step":100}' >/dev/null ||
		fail "boot $n: QMP announce-self failed"
	for _ in $(seq 30); do
		guest_exec /bin/cat /var/log/matd.log >"$DIR/matd-$n.log" 2>/dev/null || true
		grep -q 'peer notification (resumed' "$DIR/matd-$n.log" && grep -q 'no move' "$DIR/matd-$n.log" && break
		sleep 0.2
	done
	grep -q 'peer notification (resumed' "$DIR/matd-$n.log" ||
		fail "boot $n: no peer notification in matd.log after announce-self: $(cat "$DIR/matd-$n.log")"
	grep -q 'no move' "$DIR/matd-$n.log" ||
		fail "boot $n: matd did not conclude 'no move' after announce-self: $(cat "$DIR/matd-$n.log")"
	guest_exec /bin/cat /var/log/glm-init.log >"$DIR/init-$n.log" 2>/dev/null || true

	echo "boot $n: qemu-ga answered ${t_ping} ms, init ready (matd started) ${t_ready} ms; HA $HA MA $ma; peer notification seen"
	echo "$t_ready $t_ping" >>"$DIR/times"
	kill $qpid
	wait $qpid 2>/dev/null || true
}

for n in $(seq "$boots"); do boot_once "$n"; done

echo "matd log of the last boot (warnings and handovers):"
grep -E 'warn|fail|error|handover #|peer notification|no move|sysctl|nftables' "$DIR/matd-$boots.log" | sed 's/^/  /' || true
echo "init log of the last boot:"
sed 's/^/  /' "$DIR/init-$boots.log" || true
python3 - "$DIR/times" "$image" <<'EOF'
import os, statistics, sys
t = [tuple(map(int, l.split())) for l in open(sys.argv[1])]
img = sys.argv[2]
print("boots: %d; init ready (matd started) ms: %s (median %d); qemu-ga answers ms: %s (median %d)" % (
    len(t), [a for a, _ in t], statistics.median(a for a, _ in t), [b for _, b in t], statistics.median(b for _, b in t)))
print("image: vmlinux %.1f MB, initrd.img %.1f MB" % (os.path.getsize(img + "/vmlinux") / 1e6, os.path.getsize(img + "/initrd.img") / 1e6))
EOF
echo "guest-boot: PASS"
