#!/usr/bin/env bash
# make demo: the unicast half of glm on the namespace testbed
# (tests/bats/lib/testbed.bash draws it). imsd on link C, matd in cn and in
# the vm; cn streams sequence-numbered TCP records to the vm's home address
# while the vm moves A -> B (unprepared), B -> A (prepared: matctl prepare
# before the move) and A -> A2 (same subnet: the reference). Prints the
# phase table of DESIGN.md "What is measured", then cleans up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/bats/lib/testbed.bash"
source "$here/bats/lib/glm.bash"
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespaces)" >&2; exit 77; }

# With QEMU, libvirtd and the guest image, the demo is the real thing.
source "$here/e2e/lib/guest.bash"
why=$(e2e_skip_reason)
if [ -z "$why" ] && [ -z "${GLM_DEMO_NAMESPACES:-}" ]; then
	exec "$here/demo-e2e.sh"
fi
echo "glm demo: no real guest here (${why:-GLM_DEMO_NAMESPACES is set}): the namespace stand-in instead"
trap tb_teardown EXIT

echo "glm demo: building the testbed (router + radvd, hosts hA/hA2 on 2001:db8:a::/64, hB on 2001:db8:b::/64, cn, IMS)"
glm_setup --name demo
echo "vm: home address $GLM_HA, mobile address $(glm_vm_ma) on hA"

tb_spawn vm "$GLM_BIN/seqstream" server --tcp --listen "[$GLM_HA]:7000" --recv --duration 0 --gap-ms 3 --json \
	>"$TB_DIR/recv.json" 2>"$TB_DIR/recv.err"
rx=$TB_PID
sleep 0.2
tb_spawn cn "$GLM_BIN/seqstream" client --tcp --connect "[$GLM_HA]:7000" --send --rate 2000 --duration 4 --json \
	>"$TB_DIR/send.json" 2>"$TB_DIR/send.err"
tx=$TB_PID
sleep 0.5
: >"$TB_DIR/migrations"

echo "move 1: hA -> hB, unprepared (RS, RA, SLAAC with optimistic DAD)"
tb_migrate hB
glm_wait_handovers vm 2 5
sleep 0.7
echo "move 2: hB -> hA, prepared (matctl prepare --prefix 2001:db8:a::/64 --router fe80::1)"
glm_matctl vm prepare --prefix 2001:db8:a::/64 --router fe80::1 >/dev/null
tb_migrate hA
glm_wait_handovers vm 3 5
sleep 0.7
echo "move 3: hA -> hA2, same subnet (reference: what any live migration costs here)"
tb_migrate hA2
sleep 0.7
tb_wait_pid "$tx" 30 || { echo "demo: sender failed:" >&2; cat "$TB_DIR/send.err" >&2; exit 1; }
tb_wait_pid "$rx" 30 || { echo "demo: receiver failed:" >&2; cat "$TB_DIR/recv.err" >&2; exit 1; }

stats=$(python3 "$here/bats/lib/movestats.py" "$TB_DIR/migrations" "$TB_DIR/recv.json" "$TB_DIR/matd-vm.log")
echo
echo "$stats" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def f(m, k):
    v = m.get(k)
    return "-" if v is None else ("%.2f" % v)
print("%-12s %-11s %14s %14s %11s %13s %16s" % ("move", "path", "(2) resume->", "(3) MA usable", "(4) IMS", "CN notify", "(5) TCP outage"))
print("%-12s %-11s %14s %14s %11s %13s %16s" % ("", "", "MA usable ms", "->IMS sent ms", "rtt ms", "rtt ms", "seen at vm ms"))
for m in d["moves"]:
    path = m.get("path", "same subnet")
    print("%-12s %-11s %14s %14s %11s %13s %16.1f" % (m["src"] + " -> " + m["dst"], path,
          f(m, "detect_to_usable_ms"), f(m, "usable_to_ims_ms"), f(m, "ims_rtt_ms"), f(m, "cn_rtt_ms"), m["outage_ms"]))
s = d["stream"]
print()
print("TCP stream cn -> vm home address: %d records sent, %d received, %d lost, %d reordered, %s" %
      (s["sent"] or 0, s["received"], s["lost"], s["reordered"], "no reset" if not s["error"] else "ERROR: " + s["error"]))
ok = not s["error"] and s["lost"] == 0 and s["reordered"] == 0
sys.exit(0 if ok else 1)
'
echo "(the outage of a cross-subnet move includes the ~15-30 ms the testbed needs to move a veth between namespaces; compare with the same-subnet row)"
