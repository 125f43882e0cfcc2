#!/usr/bin/env bash
# The demo with a real guest (make demo runs it where QEMU and libvirtd
# can run): a QEMU guest with matd and qemu-guest-agent, started by
# libvirtd on host A, is live-migrated with plain
# `virsh migrate --live --p2p` to host B in another IPv6 subnet while the
# correspondent streams TCP to its home address and the guest receives a
# multicast stream that host B's subnet does not get (glm relays it).
# Prints the phase table of DESIGN.md "What is measured", then cleans up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/bats/lib/testbed.bash"
source "$here/bats/lib/glm.bash"
source "$here/e2e/lib/libvirt.bash"
source "$here/e2e/lib/guest.bash"
trap 'lv_teardown >/dev/null 2>&1; glm_teardown >/dev/null 2>&1' EXIT

echo "glm demo (real guest): two libvirtd hosts, A on 2001:db8:a::/64 and B on 2001:db8:b::/64 (no multicast on B)"
E2E_NAME=demo e2e_setup hA hB >/dev/null
echo "booting the guest on host A (QEMU, TCG)..."
e2e_guest_start >/dev/null
ma=$(e2e_status hA | python3 -c "import json,sys; print(json.load(sys.stdin)['mobile']['ma'])")
echo "guest: home address $GLM_HA, mobile address $ma"

ga_exec hA /usr/bin/seqstream server --tcp --listen "[$GLM_HA]:7000" --recv --duration 0 --json >"$TB_DIR/tcp.pid"
ga_exec hA /usr/bin/mcstream recv --group "$GLM_GROUP" --port 7400 --ifname eth0 --idle 3 --gap-ms 20 --json \
	>"$TB_DIR/mc.pid"
sleep 0.5
tb_spawn cn "$GLM_BIN/seqstream" client --tcp --connect "[$GLM_HA]:7000" --send --rate 500 --duration 6 --json \
	>"$TB_DIR/tcp-send.json" 2>/dev/null
tx=$TB_PID
tb_spawn src "$GLM_BIN/mcstream" send --group "$GLM_GROUP" --port 7400 --ifname eth0 --rate 500 --size 200 \
	--duration 6 --rt-prio 10 >/dev/null 2>&1
mtx=$TB_PID
sleep 1.5
echo "virsh migrate --live --p2p --persistent --undefinesource vm $(lv_tcp_uri hB)   (over the hosts' migration network)"
lv_migrate hA hB
job=$(lv_jobinfo hB | awk -F: '/Time elapsed:/ {gsub(/[^0-9]/,"",$2); print $2; exit}')
down=$(lv_downtime hB)
e2e_wait_handovers hB 2 15 >/dev/null
tb_wait_pid "$tx" 60 >/dev/null
tb_wait_pid "$mtx" 60 >/dev/null
ga_wait hB "$(cat "$TB_DIR/tcp.pid")" 30 >"$TB_DIR/tcp.json"
ga_wait hB "$(cat "$TB_DIR/mc.pid")" 30 >"$TB_DIR/mc.json"
ga_run hB /bin/cat /var/log/matd.log >"$TB_DIR/guest-matd.log"
lv_hook_durations hB >"$TB_DIR/hook-ms"

python3 - "$TB_DIR" "$job" "$down" <<'PY'
import json, re, sys
d, job, down = sys.argv[1], sys.argv[2], sys.argv[3]
ho = [m for m in (re.search(r"handover #\d+ (prepared|unprepared) \S+ \((\w+)\): (\S+) -> (\S+): detect->usable ([-\d.]+) ms, "
                            r"usable->ims ([-\d.]+) ms, ims rtt ([-\d.]+) ms, cn notify rtt ([-\d.]+) ms", l)
                  for l in open(f"{d}/guest-matd.log")) if m and m.group(2) != "start"][-1]
tcp, mc, snd = json.load(open(f"{d}/tcp.json")), json.load(open(f"{d}/mc.json")), json.load(open(f"{d}/tcp-send.json"))
gap = max([g.get("send_ms", g["ms"]) for g in mc["gaps"]] or [0])
hooks = [l.split() for l in open(f"{d}/hook-ms")]
print()
print("%-44s %s" % ("phase", "ms"))
print("%-44s %s" % ("(1) migration start -> guest resumed (job)", job))
print("%-44s %s" % ("    QEMU downtime", down))
print("%-44s %s (%s)" % ("(2) resume event -> new MA usable", ho.group(5), ho.group(1)))
print("%-44s %s" % ("(3) MA usable -> IMS update sent", ho.group(6)))
print("%-44s %s" % ("(4) IMS round trip", ho.group(7)))
print("%-44s %s" % ("    correspondent binding update round trip", ho.group(8)))
print("%-44s %.1f" % ("(5) TCP outage seen in the guest (its clock)", tcp["max_gap_ms"]))
print("%-44s %.1f" % ("(5) multicast gap (sender's clock), relayed", gap))
print()
print("guest MA %s -> %s; TCP: %d of %d records, %d lost, %s; multicast: %d duplicates" %
      (ho.group(3), ho.group(4), tcp["received"], snd["sent"], tcp["lost"], "no reset" if not tcp["error"] else tcp["error"], mc["dup"]))
print("hook calls on B: " + ", ".join("%s %s %s ms" % tuple(h) for h in hooks))
sys.exit(0 if not tcp["error"] and tcp["received"] == snd["sent"] else 1)
PY
