#!/usr/bin/env bats
# The daemons under systemd (etc/systemd/*.service.in, installed by make
# install-units): each unit passes `systemd-analyze verify` without a word
# and `systemd-analyze security` rates it (its exposure score printed);
# and each daemon speaks sd_notify(3)'s protocol (lib/sdnotify.c) as a
# Type=notify unit needs: READY=1 once set-up is done (its control socket
# is there when READY=1 arrives), RELOADING=1 then READY=1 around SIGHUP,
# STOPPING=1 on SIGTERM. systemd need not run here: $NOTIFY_SOCKET names a
# unix datagram socket the test listens on, as systemd's own would.
#
# The daemons run on the namespace testbed (lib/testbed.bash draws it):
# imsd in "ims", matd in "vm", glm-agentd in "hA",
# glm-gatewayd in "rt"; the notify sockets are files in $TB_DIR, which
# every namespace sees (a netns changes no path; abstract names it would).

bats_require_minimum_version 1.5.0

load lib/testbed
load lib/glm

REPO=$BATS_TEST_DIRNAME/../..
UNITS=(imsd matd glm-agentd glm-gatewayd)

setup() {
	GLM_VM_CONF=()
	LISTENERS=()
	U=$(mktemp -d /tmp/glm-units.XXXXXX)
}

teardown() {
	local p
	for p in ${LISTENERS[@]+"${LISTENERS[@]}"}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	[[ -n ${U:-} && -d $U ]] && rm -rf "$U"
	glm_teardown
}

# The units as make install writes them, ExecStart= naming the binaries
# under test (verify checks that they exist and are executable).
install_units() {
	make -s -C "$REPO" --no-print-directory install-units DESTDIR="$U" SBINDIR="$GLM_BIN" \
		SYSTEMDUNITDIR=/lib/systemd/system >/dev/null
	D=$U/lib/systemd/system
}

@test "every daemon's unit passes systemd-analyze verify with nothing to say" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed (apt-get install systemd)"
	install_units
	local u
	for u in "${UNITS[@]}"; do
		[[ -f $D/$u.service ]]
		# unknown keys and bad values are warnings with exit 0: any output fails
		run --separate-stderr env SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$D/$u.service"
		echo "$u: status $status, stdout '$output', stderr '$stderr'"
		[[ $status -eq 0 && -z $output && -z $stderr ]]
		# what the daemons need of it: notify, in the foreground, SIGHUP on reload
		grep -qx 'Type=notify' "$D/$u.service"
		grep -q "^ExecStart=$GLM_BIN/$u -d " "$D/$u.service"
		grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$D/$u.service"
		grep -qx 'ProtectSystem=strict' "$D/$u.service"
	done
	# and verify does fail a broken one (this test can fail)
	sed 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/imsd|' "$D/imsd.service" >"$U/broken.service"
	run systemd-analyze verify --man=no "$U/broken.service"
	[[ $status -ne 0 ]]
	sed 's|^ProtectHome=yes|ProtectHome=bogus|' "$D/imsd.service" >"$U/broken.service"
	run systemd-analyze verify --man=no "$U/broken.service"
	[[ $output == *"ProtectHome"* || $output == *"protect home"* ]]
}

@test "systemd-analyze security rates every unit OK (exposure 3.0 or less) and says how much" {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed (apt-get install systemd)"
	install_units
	local u score
	for u in "${UNITS[@]}"; do
		run systemd-analyze security --offline=yes --no-pager "$D/$u.service"
		[[ $status -eq 0 ]]
		score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$output")
		echo "# $u.service: exposure $score" >&3
		[[ -n $score ]] && awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }'
	done
}

@test "the capabilities each unit keeps are the ones its daemon uses" {
	install_units
	[[ $(grep '^CapabilityBoundingSet=' "$D/imsd.service") == 'CapabilityBoundingSet=' ]]
	[[ $(grep '^CapabilityBoundingSet=' "$D/matd.service") == 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW' ]]
	[[ $(grep '^CapabilityBoundingSet=' "$D/glm-agentd.service") == 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW' ]]
	[[ $(grep '^CapabilityBoundingSet=' "$D/glm-gatewayd.service") == 'CapabilityBoundingSet=CAP_NET_ADMIN' ]]
	grep -qx 'StateDirectory=glm' "$D/imsd.service"
	# matd leaves SCHED_IDLE again (guest-agent/mobile.c) without CAP_SYS_NICE
	grep -qx 'LimitNICE=+0' "$D/matd.service"
	! grep -q '^SystemCallFilter=.*@resources' "$D/matd.service"
	local u
	for u in "${UNITS[@]}"; do grep -qx 'RuntimeDirectory=glm' "$D/$u.service"; done
}

# notify_listen NAME SOCK: a unix datagram socket $TB_DIR/notify-NAME
# standing for systemd's; each message goes to $TB_DIR/notify-NAME.log
# as one line ('\n' inside it as '|'), "+sock" after READY=1 if the
# daemon's control socket SOCK was there when it arrived.
notify_listen() {
	local path=$TB_DIR/notify-$1 log=$TB_DIR/notify-$1.log
	rm -f "$path"
	: >"$log"
	python3 -u - "$path" "$2" "$log" <<'PY' &
import os, socket, sys
path, sock, log = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(log, "a") as f:
    while True:
        m = s.recv(4096).decode().rstrip("\n").replace("\n", "|")
        if m == "READY=1" and os.path.exists(sock):
            m += " +sock"
        f.write(m + "\n")
        f.flush()
PY
	LISTENERS+=($!)
	for _ in $(seq 50); do [[ -S $path ]] && break; sleep 0.05; done
	[[ -S $path ]]
}

# notify_wait NAME LINE...: wait until the log holds exactly these lines.
notify_wait() {
	local name=$1 log=$TB_DIR/notify-$1.log want
	shift
	want=$(printf '%s\n' "$@")
	for _ in $(seq 100); do
		[[ $(sed 's/MONOTONIC_USEC=[0-9]*/MONOTONIC_USEC=N/' "$log") == "$want" ]] && return 0
		sleep 0.05
	done
	echo "$name: notify messages:" >&2
	cat "$log" >&2
	echo "wanted:" >&2
	echo "$want" >&2
	return 1
}

# unit_caps_bin: $U/bin, GLM_BIN as each daemon's unit would run it: the
# daemons started by setpriv(1) with only the capabilities of their
# unit's CapabilityBoundingSet= and no new privileges (root's, as under
# systemd); every other program as it is.
unit_caps_bin() {
	local f u caps
	command -v setpriv >/dev/null || skip "setpriv not installed (util-linux)"
	install_units
	mkdir -p "$U/bin"
	for f in "$GLM_BIN"/*; do ln -sf "$f" "$U/bin/"; done
	for u in "${UNITS[@]}"; do
		caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$D/$u.service" | tr 'A-Z ' 'a-z\n' | sed -n 's/^cap_/,+/p' | tr -d '\n')
		rm -f "$U/bin/$u"
		printf '#!/bin/sh\nexec setpriv --no-new-privs --inh-caps=-all --bounding-set=-all%s %s "$@"\n' \
			"$caps" "$GLM_BIN/$u" >"$U/bin/$u"
		chmod 755 "$U/bin/$u"
	done
	GLM_BIN=$U/bin
}

@test "imsd, matd, glm-agentd and glm-gatewayd, with their unit's capabilities only, send READY=1 after set-up, RELOADING=1/READY=1 on SIGHUP, STOPPING=1 on SIGTERM" {
	command -v python3 >/dev/null || skip "python3 not installed"
	[[ $EUID -eq 0 ]] || skip "the testbed's namespaces need root"
	unit_caps_bin
	tb_setup
	local name pid
	notify_listen imsd "$TB_DIR/ims.sock"
	NOTIFY_SOCKET=$TB_DIR/notify-imsd glm_start_imsd
	notify_listen matd "$TB_DIR/matd-vm.sock"
	NOTIFY_SOCKET=$TB_DIR/notify-matd glm_start_matd vm
	notify_listen glm-agentd "$TB_DIR/agent-hA.sock"
	NOTIFY_SOCKET=$TB_DIR/notify-glm-agentd glm_start_agent hA
	notify_listen glm-gatewayd "$TB_DIR/gatewayd.sock"
	NOTIFY_SOCKET=$TB_DIR/notify-glm-gatewayd glm_start_gatewayd
	for name in imsd matd glm-agentd glm-gatewayd; do notify_wait "$name" "READY=1 +sock"; done
	# and they work with those capabilities: matd registers with imsd
	# (an address, its nftables table, an update), glm-agentd and
	# glm-gatewayd made their tables
	glm_wait_handovers vm 1 5
	tb_exec vm nft list table ip6 mat >/dev/null
	tb_exec hA nft list tables | grep -q glm
	tb_exec rt nft list tables | grep -q glm_gw
	# (what the daemons run as: the unit's capabilities, nothing else)
	grep -q '^CapBnd:\s*0000000000000000$' "/proc/$GLM_IMSD_PID/status"
	grep -q '^CapEff:\s*0000000000003000$' "/proc/$GLM_MATD_VM_PID/status"
	grep -q '^CapEff:\s*0000000000001000$' "/proc/$GLM_GATEWAYD_PID/status"

	for pid in "$GLM_IMSD_PID" "$GLM_MATD_VM_PID" "$GLM_AGENT_HA_PID" "$GLM_GATEWAYD_PID"; do kill -HUP "$pid"; done
	for name in imsd matd glm-agentd glm-gatewayd; do
		notify_wait "$name" "READY=1 +sock" "RELOADING=1|MONOTONIC_USEC=N" "READY=1 +sock"
	done
	for pid in "$GLM_IMSD_PID" "$GLM_MATD_VM_PID" "$GLM_AGENT_HA_PID" "$GLM_GATEWAYD_PID"; do
		kill -TERM "$pid"
		tb_wait_pid "$pid" 5
	done
	for name in imsd matd glm-agentd glm-gatewayd; do
		notify_wait "$name" "READY=1 +sock" "RELOADING=1|MONOTONIC_USEC=N" "READY=1 +sock" "STOPPING=1"
	done
}

@test "a daemon whose NOTIFY_SOCKET answers no one still starts, and says so" {
	tb_setup
	NOTIFY_SOCKET=$TB_DIR/nobody glm_start_imsd
	# (the warning follows the socket's creation: wait for it)
	for _ in $(seq 50); do grep -q "NOTIFY_SOCKET $TB_DIR/nobody: " "$TB_DIR/imsd.log" && break; sleep 0.1; done
	cat "$TB_DIR/imsd.log"
	grep -q "NOTIFY_SOCKET $TB_DIR/nobody: No such file or directory" "$TB_DIR/imsd.log"
	kill -0 "$GLM_IMSD_PID"
}

@test "in the journal (JOURNAL_STREAM names stderr) a line goes once, with its priority, not to syslog too" {
	: >"$U/err"
	local rc=0
	JOURNAL_STREAM="$(stat -c '%d:%i' "$U/err")" "$GLM_BIN/imsd" -n -f /dev/null -k "$U/nosuch" 2>>"$U/err" || rc=$?
	cat "$U/err"
	[[ $rc -eq 66 ]]
	[[ $(cat "$U/err") == "<4>keyring $U/nosuch: No such file or directory" ]]
	# not the journal: the program's name, no priority
	run --separate-stderr "$GLM_BIN/imsd" -n -f /dev/null -k "$U/nosuch"
	[[ $stderr == "imsd: keyring $U/nosuch: No such file or directory" ]]
}
