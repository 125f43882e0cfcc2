#!/bin/bash
# libvirt-smoke.sh: the end-to-end smoke test with real libvirt. Builds the
# namespace testbed (--mcast), runs a libvirtd on hA and on hB with glm's
# hook installed by `make install`, starts glm-agentd on both (pointed at
# its host's libvirtd), defines and starts a small TCG guest on hA (glm's
# guest image from build/guest if `make guest-image` made it, else a guest
# with no OS) and migrates it with the real `virsh migrate --live --p2p`
# hA -> hB and back with both agents down. Checks: the domain runs on the
# destination and is gone from the source, the hook calls on each side
# (libvirt's order), the agents saw them, the migration's wall time and
# QEMU's downtime, MLD snooping through libvirt's tap (with the guest
# image: the guest joins a group, the tap appears in the MDB, and again on
# the destination after the move). Prints "N passed, N failed".
#
#   tests/e2e/libvirt-smoke.sh        (root; TB_KEEP=1 keeps $TB_DIR)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/bats/lib/testbed.bash"
. "$top/tests/bats/lib/glm.bash"
# shellcheck source=tests/e2e/lib/libvirt.bash
. "$here/lib/libvirt.bash"

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok $((pass + fail)) $*"; }
bad() { fail=$((fail + 1)); echo "not ok $((pass + fail)) $*"; }
check() { # check DESCRIPTION CMD...
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
say() { echo "# $*"; }

cleanup() {
	local rc=$?
	set +e
	lv_teardown
	tb_teardown
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "libvirt-smoke: needs root" >&2; exit 1; }
for b in libvirtd virsh qemu-system-x86_64; do
	command -v $b >/dev/null || [ -x /usr/sbin/$b ] || {
		echo "libvirt-smoke: $b missing (make deps)" >&2
		exit 1
	}
done
[ -x "$GLM_BIN/glm-agentd" ] || { echo "libvirt-smoke: $GLM_BIN/glm-agentd missing (make)" >&2; exit 1; }

tb_setup --mcast --name lvsmoke
say "testbed $TB in $TB_DIR"

# --- libvirtd on hA and hB, glm's hook installed by make install ---
lv_host_start hA
st_a=$LV_START_S
say "libvirtd hA answered after ${LV_START_S}s"
lv_host_start hB
st_b=$LV_START_S
say "libvirtd hB answered after ${LV_START_S}s (QEMU capabilities cache from hA)"
check "hook installed on hA by make install" test -x "$TB_DIR/lv-hA/etc/hooks/qemu.d/glm"
check "installed hook points at the testbed agent socket" \
	grep -q "$TB_DIR/agent-hA.sock" "$TB_DIR/lv-hA/etc/hooks/qemu.d/glm"

# --- glm-agentd on both hosts, each told its libvirtd ---
glm_keys
glm_start_agent hA "libvirt-uri $(lv_uri hA)"
glm_start_agent hB "libvirt-uri $(lv_uri hB)"

# --- the guest ---
img=$top/build/guest
xml=$TB_DIR/vm.xml
if [ -f "$img/vmlinux" ] && [ -f "$img/initrd.img" ]; then
	guest=1
	# No matd (this is libvirt's smoke test, not glm's); kernel SLAAC on.
	lv_domain_xml --kernel "$img/vmlinux" --initrd "$img/initrd.img" \
		--cmdline "console=ttyS0 glm.matd=0 glm.ra=1" >"$xml"
	say "guest: $img/vmlinux + initrd.img"
else
	guest=0
	lv_domain_xml >"$xml"
	say "guest: no OS (no build/guest; make guest-image)"
fi
lv_define_vm hA "$xml"
check "defining calls no hook" test ! -s "$(lv_hook_log hA)"
t0=$(tb__now)
lv_start hA
say "virsh start took $(awk -v a="$t0" -v b="$(tb__now)" 'BEGIN{printf "%.2f", b-a}')s"
check "vm runs on hA" test "$(lv_state hA)" = running
check "hA hooks at start: prepare start started" \
	test "$(lv_hook_calls hA | tr '\n' ' ')" = "prepare begin start begin started begin "
tapA=$(lv_tap hA)
say "tap on hA: $tapA"
check "tap $tapA is a port of hA's br0" \
	test "$(ip -n "$TB-hA" -o link show dev "$tapA" | grep -o 'master [^ ]*')" = "master br0"

if [ $guest = 1 ]; then
	t0=$(tb__now)
	if lv_wait_agent hA 60; then
		ok "qemu-ga answers after $(awk -v a="$t0" -v b="$(tb__now)" 'BEGIN{printf "%.1f", b-a}')s"
		# The guest joins the group: its MLD report must go through the
		# libvirt tap (IPv6 off on the tap: the bridge snoops at L2).
		lv_agent_cmd hA '{"execute":"guest-exec","arguments":{"path":"/usr/bin/mcstream","arg":["recv","--group","'"$GLM_GROUP"'","--port","7400","--ifname","eth0"]}}' >/dev/null
		if w=$(tb_wait_mdb hA "$tapA" "$GLM_GROUP" 10); then
			ok "guest's MLD report through libvirt's tap: $tapA in $GLM_GROUP on hA after ${w}s"
		else
			bad "guest's MLD report through libvirt's tap"
		fi
	else
		bad "qemu-ga answers"
		guest=0
	fi
fi

# --- hA -> hB, agents up ---
tb_mdb_watch hB
lines_a=$(wc -l <"$TB_DIR/agent-hA.log") lines_b=$(wc -l <"$TB_DIR/agent-hB.log")
if lv_migrate hA hB; then ok "virsh migrate --live --p2p hA -> hB (${LV_MIG_MS} ms)"; else bad "virsh migrate hA -> hB (rc $LV_MIG_RC)"; fi
mig1=$LV_MIG_MS
check "vm runs on hB" test "$(lv_state hB)" = running
check "vm gone from hA (--undefinesource)" test "$(lv_state hA)" = absent
down1=$(lv_downtime hB) || down1='?'
say "hA -> hB: wall ${mig1} ms, downtime ${down1} ms"
lv_jobinfo hB | sed 's/^/#   /'
check "hB hooks: migrate prepare start started" \
	test "$(lv_hook_calls hB | tr '\n' ' ')" = "migrate begin prepare begin start begin started begin "
check "hB's migrate hook got the glm metadata" \
	grep -q 'urn:x-glm:mobility:1' "$TB_DIR"/lv-hB/hook-xml/vm-*.xml
# The source's stopped/release come after virsh returns (1.25-1.85 s, LAB.md).
for _ in $(seq 50); do
	[ "$(lv_hook_calls hA | tail -n 2 | tr '\n' ' ')" = "stopped end release end " ] && break
	sleep 0.1
done
check "hA hooks after: stopped release" \
	test "$(lv_hook_calls hA | tail -n 2 | tr '\n' ' ')" = "stopped end release end "
awk -v a="$(grep -h ' migrate begin' "$TB_DIR/lv-hB/hooks.log" | awk '{print $1}')" \
	'$3 == "release" {printf "# source release %.2f s after the destination migrate hook\n", $1 - a}' \
	"$TB_DIR/lv-hA/hooks.log"
check "agent hB heard the hook" test "$(wc -l <"$TB_DIR/agent-hB.log")" -gt "$lines_b"
check "agent hA heard the hook" test "$(wc -l <"$TB_DIR/agent-hA.log")" -gt "$lines_a"
say "agent hB log since the migration:"
tail -n +"$((lines_b + 1))" "$TB_DIR/agent-hB.log" | head -n 20 | sed 's/^/#   /'
tapB=$(lv_tap hB)
say "tap on hB: $tapB"
if [ $guest = 1 ]; then
	if w=$(tb_wait_mdb hB "$tapB" "$GLM_GROUP" 5); then
		ok "$tapB in $GLM_GROUP on hB ${w}s after virsh returned"
	else
		bad "$tapB in $GLM_GROUP on hB after the move"
	fi
	tb_mdb_events hB "$tapB" "$GLM_GROUP" | sed 's/^/#   mdb /'
	check "qemu-ga answers on hB" lv_wait_agent hB 10
fi

# --- hB -> hA with both agents down: plain libvirt must still work ---
kill -TERM "$GLM_AGENT_HA_PID" "$GLM_AGENT_HB_PID"
tb_wait_pid "$GLM_AGENT_HA_PID" 5 || true
tb_wait_pid "$GLM_AGENT_HB_PID" 5 || true
if lv_migrate hB hA; then ok "virsh migrate hB -> hA, agents down (${LV_MIG_MS} ms)"; else bad "virsh migrate hB -> hA, agents down (rc $LV_MIG_RC)"; fi
mig2=$LV_MIG_MS
check "vm runs on hA again" test "$(lv_state hA)" = running
check "vm gone from hB" test "$(lv_state hB)" = absent
down2=$(lv_downtime hA) || down2='?'
say "hB -> hA (agents down): wall ${mig2} ms, downtime ${down2} ms"
check "hA hooks on the way back: migrate prepare start started" \
	test "$(lv_hook_calls hA | tail -n 4 | tr '\n' ' ')" = "migrate begin prepare begin start begin started begin "
[ $guest = 1 ] && check "qemu-ga answers on hA after the return" lv_wait_agent hA 10

# --- teardown leaves nothing ---
qa=$(lv_qemu_pid hA) || qa=""
lv_teardown
check "QEMU gone after lv_teardown" test ! -d "/proc/$qa"
ns=$TB
tb_teardown
trap - EXIT
check "no process left in the testbed's netns" test -z "$(ip netns pids "$ns-hA" 2>/dev/null; ip netns pids "$ns-hB" 2>/dev/null)"
check "no netns left" test -z "$(ip netns list | grep -F "$ns-" || true)"
check "no libvirtd or QEMU of ours left" test -z "$(pgrep -f "$ns" || true)"

echo "# timings: libvirtd start hA ${st_a}s hB ${st_b}s, migrate hA->hB ${mig1} ms (downtime ${down1} ms), hB->hA ${mig2} ms (downtime ${down2} ms)"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
