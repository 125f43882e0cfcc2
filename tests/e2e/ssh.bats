#!/usr/bin/env bats
# An unmodified OpenSSH session from a correspondent that runs nothing of
# glm's, to the guest's home address, across a real
# `virsh migrate --live --p2p` from hA (link A) to hB (link B): issue 15,
# item 4. The guest image's own sshd (guest/build-image.sh --sshd-deb,
# started by glm.sshkey=), Debian's /usr/bin/ssh on cn, the home gateway
# glm-gatewayd on the router rt (glm.bash glm_start_gatewayd), matd in the
# guest with 'home-gateway yes' (glm.homegw=yes) and cn not among its
# correspondents: cn reaches the HA through rt, the guest answers from the
# HA straight to cn (tests/bats/lib/testbed.bash draws it).
#
#   cn: ssh root@HA --dst HA--> rt [glm-gatewayd: HA -> MA] --dst MA--> guest on hA, then hB
#   cn <------------------------------ src HA, untranslated ----------- guest's sshd
#
# Without the gateway the session does not survive. Seen (2026-12-05)
# with the two knobs below, each of which makes this test fail:
#   E2E_SSH_HOME_GATEWAY=no   matd in the guest translates for every peer
#                             (as before issue 15): its SYN-ACK leaves from
#                             the MA, which cn never asked for; ssh does not
#                             even log in ("connect to host 2001:db8:100::10
#                             port 22: Connection timed out", 10 tries).
#   E2E_SSH_KILL_GATEWAY=1    the gateway killed -9 just before the move:
#                             its map keeps the old MA (what a correspondent
#                             without translation sees: the address it
#                             talks to is gone from the VM), cn's packets
#                             go to link A while the guest is on B; cn got
#                             no line after the move and ssh hung until
#                             the test gave up on it (status 124).

load ../bats/lib/testbed
load ../bats/lib/glm
load lib/libvirt
load lib/guest

setup() {
	local why
	why=$(e2e_skip_reason)
	[ -z "$why" ] || skip "$why"
	e2e_has_sshd || skip "the guest image has no sshd: make guest-image could not get openssh-server (guest/fetch-sshd.sh)"
	command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
		skip "no OpenSSH client: apt-get install openssh-client"
}

teardown() {
	lv_teardown || true
	glm_teardown
}

# How long the remote command runs (guest seconds): the move (2-14 s under
# TCG on a loaded 2-core box) and several seconds after it.
SSH_SECS=30

# The remote command, for the guest's busybox sh: a line "N UPTIME" every
# 10 ms, then "end N". No fork in the loop (a fork costs ~15 ms under
# TCG): uptime from /proc with the read builtin, the 10 ms wait a read
# with a timeout on a FIFO nobody writes (usleep is not built in).
ssh_loop() {
	echo "mkfifo /tmp/tick.\$\$ && exec 4<>/tmp/tick.\$\$ && rm /tmp/tick.\$\$ || exit 3
read u _ </proc/uptime
end=\$((\${u%.*} + $1)) n=0
while read u _ </proc/uptime && [ \${u%.*} -lt \$end ]; do
	n=\$((n + 1))
	echo \"\$n \$u\"
	read -t 0.01 x <&4
done
echo \"end \$n\""
}

# ssh_cn ARGS...: Debian's ssh client in cn, no configuration but ours
ssh_cn() {
	tb_exec cn ssh -F /dev/null -i "$TB_DIR/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile="$TB_DIR/known_hosts" -o ConnectTimeout=10 \
		-o LogLevel=ERROR "$@"
}

@test "an unmodified OpenSSH session from a plain correspondent to the HA survives virsh migrate A->B through the home gateway" {
	e2e_setup --plain-cn --gateway hA hB
	# cn runs nothing of glm's (pgrep would see every namespace's matd)
	local p
	for p in $(ip netns pids "$(tb_ns cn)"); do
		[[ "$(cat "/proc/$p/comm" 2>/dev/null)" != matd* ]]
	done
	ssh-keygen -q -t ed25519 -N '' -C glm-e2e -f "$TB_DIR/id_ed25519"
	e2e_guest_start --plain-cn --home-gateway "${E2E_SSH_HOME_GATEWAY:-yes}" --ssh-key "$TB_DIR/id_ed25519.pub"
	local ma0 ma1
	ma0=$(e2e_status hA | python3 -c "import json,sys; print(json.load(sys.stdin)['mobile']['ma'])")
	[[ "$ma0" == 2001:db8:a:* ]]
	glm_gw_wait "$GLM_HA" "$ma0" 10
	# the guest's sshd answers (it starts at the end of the boot): log in once
	local ok=0
	for _ in $(seq 10); do
		if ssh_cn root@"$GLM_HA" true 2>"$TB_DIR/ssh-probe.err"; then
			ok=1
			break
		fi
		sleep 1
	done
	[ $ok = 1 ] || {
		cat "$TB_DIR/ssh-probe.err" >&2
		ga_run hA /bin/cat /var/log/sshd.log /var/log/glm-init.log >&2 || true
		false
	}

	# the session: cn stamps each line as it arrives (wall clock, ns).
	# The stamper opens the FIFO itself: a redirection of tb_spawn would
	# be opened by this shell, which would wait there for a writer.
	mkfifo "$TB_DIR/ssh.fifo"
	tb_spawn cn python3 -c '
import sys, time
out = open(sys.argv[2], "w")
for line in open(sys.argv[1], "rb"):
    out.write("%d %s" % (time.time_ns(), line.decode(errors="replace")))
    out.flush()' "$TB_DIR/ssh.fifo" "$TB_DIR/ssh.out"
	local stamper=$TB_PID
	tb_spawn cn ssh -F /dev/null -n -i "$TB_DIR/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile="$TB_DIR/known_hosts" -o LogLevel=ERROR \
		root@"$GLM_HA" "$(ssh_loop $SSH_SECS)" >"$TB_DIR/ssh.fifo" 2>"$TB_DIR/ssh.err"
	local sshpid=$TB_PID
	for _ in $(seq 100); do
		[ "$(wc -l <"$TB_DIR/ssh.out" 2>/dev/null || echo 0)" -ge 50 ] && break
		sleep 0.1
	done
	[ "$(wc -l <"$TB_DIR/ssh.out")" -ge 50 ]
	# cn's end of the session is with the HA, port 22, and nothing else
	tb_exec cn ss -tnH state established >"$TB_DIR/ss-before"
	cat "$TB_DIR/ss-before" >&2
	grep -q "\[$GLM_HA\]:22" "$TB_DIR/ss-before"
	! grep -q "$ma0" "$TB_DIR/ss-before" || false
	sleep 1

	[ -z "${E2E_SSH_KILL_GATEWAY:-}" ] || kill -9 "$GLM_GATEWAYD_PID"
	local t0 t1
	t0=$(tb__now)
	lv_migrate hA hB
	t1=$(tb__now)
	[ "$(lv_state hB)" = running ]
	[ "$(lv_state hA)" = absent ]
	e2e_wait_handovers hB 2 10
	ma1=$(e2e_status hB | python3 -c "import json,sys; print(json.load(sys.stdin)['mobile']['ma'])")
	[[ "$ma1" == 2001:db8:b:* ]]
	[ -n "${E2E_SSH_KILL_GATEWAY:-}" ] || glm_gw_wait "$GLM_HA" "$ma1" 10

	# the remote loop ends by itself, ssh with its status
	local rc=0
	tb_wait_pid "$sshpid" $((SSH_SECS + 60)) || rc=$?
	tb_wait_pid "$stamper" 10 || true
	echo "ssh exit status $rc; its stderr:" >&2
	cat "$TB_DIR/ssh.err" >&2
	tail -n 3 "$TB_DIR/ssh.out" >&2
	[ "$rc" = 0 ]
	! grep -Eiq 'reset|broken pipe|closed|timed out|disconnect' "$TB_DIR/ssh.err" || false
	# every line once, in order, the loop's own end last, and a good part
	# of the output after the move
	python3 - "$TB_DIR/ssh.out" "$t0" "$t1" >"$TB_DIR/ssh.gaps" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
t0, t1 = float(sys.argv[2]), float(sys.argv[3])
assert rows and rows[-1][1] == "end", rows[-1:]
n = int(rows[-1][2])
seq = [int(r[1]) for r in rows[:-1]]
assert seq == list(range(1, n + 1)), "lines lost or repeated: %d of %d" % (len(seq), n)
arr = [int(r[0]) / 1e9 for r in rows[:-1]]
up = [float(r[2]) for r in rows[:-1]]
after = sum(1 for a in arr if a > t1)
assert after >= 100, "only %d lines after the move" % after
gaps = [(arr[i + 1] - arr[i], i) for i in range(len(arr) - 1)]
g, i = max(gaps)
ug = max(up[i + 1] - up[i] for i in range(len(up) - 1))
print("lines=%d after_move=%d max_gap_ms=%.1f at_s=%.2f guest_max_gap_ms=%.0f migrate_s=%.2f"
      % (n, after, g * 1000, arr[i] - t0, ug * 1000, t1 - t0))
PY
	cat "$TB_DIR/ssh.gaps" >&2
	local gap at
	gap=$(sed -n 's/.* max_gap_ms=\([^ ]*\).*/\1/p' "$TB_DIR/ssh.gaps")
	at=$(sed -n 's/.* at_s=\([^ ]*\).*/\1/p' "$TB_DIR/ssh.gaps")
	echo "# ssh max gap $gap ms (at +$at s into the ${LV_MIG_MS} ms virsh migrate; $(cat "$TB_DIR/ssh.gaps"))" >&3
	echo "# downtime (QEMU): $(lv_downtime hB) ms" >&3
	# cn still talks to the HA only; the gateway moved it to B's MA
	! tb_exec cn ss -tn | grep -q "$ma1" || false
	[ "$(glm_gatewayctl stats | sed -n 's/^moved=//p')" -ge 1 ]
}
