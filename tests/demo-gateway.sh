#!/usr/bin/env bash
# make demo-gateway: a correspondent that runs nothing of glm's beside one
# that runs matd, on the namespace testbed (tests/bats/lib/testbed.bash
# draws it; --mcast adds src, the plain peer here). The home gateway
# glm-gatewayd runs on the router rt; imsd on link C; matd in the vm
# (home-gateway yes) and in cn (correspondent). cn and src each stream
# sequence-numbered TCP records to the vm's home address while the vm
# moves A -> B -> A -> B. cn learns each MA from the vm's binding updates
# and sends to it; src sends to the HA and the gateway rewrites it. Prints
# each stream's outcome and its gaps, then cleans up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/bats/lib/testbed.bash"
source "$here/bats/lib/glm.bash"
[ "$(id -u)" = 0 ] || { echo "demo-gateway: needs root (network namespaces)" >&2; exit 77; }
trap tb_teardown EXIT

echo "glm demo-gateway: building the testbed (router rt + radvd + glm-gatewayd, hosts hA/hB, cn with matd, src with nothing, IMS)"
tb_setup --name demogw --mcast
glm_keys
glm_start_imsd
glm_start_gatewayd
glm_start_matd cn
glm_start_matd vm "home-gateway yes" "correspondent $TB_CN_ADDR"
glm_wait_handovers vm 1 5
glm_gw_wait "$GLM_HA" "$(glm_vm_ma)" 5
echo "vm: home address $GLM_HA, mobile address $(glm_vm_ma) on hA"
echo "gateway on rt: $(glm_gw_map)"

# fd 3: where finish_stream reports (bats' channel in the tests)
exec 3>&1
STREAM_PEER=src STREAM_TAG=-plain start_stream tcp vm src 6
keep_stream PLAIN
STREAM_PEER=cn STREAM_TAG=-matd STREAM_PORT=7001 start_stream tcp vm cn 6
keep_stream MATD
n=1
for dst in hB hA hB; do
	n=$((n + 1))
	tb_migrate "$dst"
	glm_wait_handovers vm "$n" 5
	glm_gw_wait "$GLM_HA" "$(glm_vm_ma)" 5
	echo "move $((n - 1)): -> $dst, MA $(glm_vm_ma); the gateway's map: $(glm_gw_map)"
	sleep 0.7
done
ok=0
for s in PLAIN MATD; do
	use_stream "$s"
	finish_stream >/dev/null 2>&1
	python3 - "$RECV_JSON" "$SEND_JSON" "$s" <<'PY' || ok=1
import json, sys
r, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
who = {"PLAIN": "src (runs nothing; through the gateway)", "MATD": "cn  (runs matd; straight to the MA)"}[sys.argv[3]]
big = [round(g["ms"], 1) for g in r["gaps"] if g["ms"] > 20]
print("%s: %d records sent, %d received, %d lost, %d reordered, %s; max gap %.1f ms, gaps over 20 ms: %s" %
      (who, s["sent"] or 0, r["received"], r["lost"], r["reordered"], "no reset" if not r["error"] and not s["error"] else "ERROR",
       r["max_gap_ms"], big))
sys.exit(0 if not r["error"] and not s["error"] and r["lost"] == 0 and r["received"] == s["sent"] else 1)
PY
done
echo "(each move's gap includes the ~15-30 ms the testbed needs to move a veth between namespaces)"
exit $ok
