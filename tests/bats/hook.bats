#!/usr/bin/env bats
# The libvirt hook (hooks/qemu) as libvirtd runs it, on a host where
# something glm-prepare talks to has stalled. libvirtd waits for its hooks,
# so every call must come back within its bound (GLM_HOOK_TIMEOUT_MS, plus
# the time to start a shell and glm-prepare), exit 0 and print nothing, on
# the 1000th call as on the first. No namespaces for the agent: a python
# socket plays the stuck agent.
#
#   domain XML --stdin--> hooks/qemu --> glm-prepare -t MS --connect--> $T/agent.sock
#                                                                       listening, never accepting:
#                                                                       two connections fit its queue,
#                                                                       the 3rd call finds it full
#
# The syslog case needs a /dev/log of its own: glm-prepare runs in a mount
# namespace with a tmpfs on /dev, where a python datagram socket at /dev/log
# never reads.

setup() {
	GLM_BIN=${GLM_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	[[ -x $GLM_BIN/glm-prepare ]] || skip "glm-prepare not built in $GLM_BIN"
	command -v python3 >/dev/null || skip "python3 is not installed"
	DATA=$BATS_TEST_DIRNAME/../data
	HOOK=$BATS_TEST_DIRNAME/../../hooks/qemu
	T=$(mktemp -d /tmp/glm-hook.XXXXXX)
	STALLED=
}

teardown() {
	[[ -n ${STALLED:-} ]] && kill "$STALLED" 2>/dev/null && wait "$STALLED" 2>/dev/null
	[[ -n ${T:-} && -d $T ]] && rm -rf "$T"
	return 0
}

# stalled_agent PATH: a unix stream socket that listens with a queue of 1
# (the kernel lets two connections wait in it) and never accepts, as an
# agent whose loop is stuck. Connections that time out stay in its queue:
# from the 3rd call on it is full.
stalled_agent() {
	local i
	python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
time.sleep(3600)' "$1" >/dev/null 2>&1 3>&- &
	STALLED=$!
	for i in $(seq 100); do
		[[ -S $1 ]] && return 0
		sleep 0.05
	done
	return 1
}

# hook OP SUB MS: one call as libvirtd makes it (and glm_hook in
# lib/glm.bash), GLM_HOOK_TIMEOUT_MS=MS (empty: the default); the exit code
# in $rc, the wall time in $ms. `timeout` only so that a call that hangs
# fails this test instead of hanging the suite. No leak check at exit: the
# hook drops glm-prepare's exit code, and with it LeakSanitizer's, which
# would be half the time of each call (the direct calls keep it).
hook() {
	local t0 t1
	t0=${EPOCHREALTIME/[.,]/}
	rc=0
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 GLM_PREPARE=$GLM_BIN/glm-prepare \
		GLM_AGENT_SOCKET=$T/agent.sock GLM_HOOK_TIMEOUT_MS=$3 \
		timeout 10 "$HOOK" vm "$1" "$2" - <"$DATA/domain-glm.xml" >"$T/out" || rc=$?
	t1=${EPOCHREALTIME/[.,]/}
	ms=$(((t1 - t0) / 1000))
}

# calls N MS: N calls in a row (migrate, prepare, started, release in
# turn), each must return 0 with nothing on stdout within MS + 1000 ms (to
# start two processes on a loaded machine, with ASan); stops at the first
# that does not. Their times, sorted, in $T/times.
calls() {
	local n=$1 t=${2:-500} i
	local -a ev=("migrate begin" "prepare begin" "started begin" "release end")
	: >"$T/times"
	for ((i = 0; i < n; i++)); do
		# shellcheck disable=SC2086
		hook ${ev[i % 4]} "$2"
		echo "$ms" >>"$T/times"
		if ((rc != 0 || ms >= t + 1000)) || [[ -s $T/out ]]; then
			echo "call $((i + 1)) (${ev[i % 4]}): exit $rc after $ms ms, bound $((t + 1000)) ms; stdout: $(cat "$T/out")"
			return 1
		fi
	done
	sort -n -o "$T/times" "$T/times"
}

# "median M ms, max X ms" of $T/times (sorted)
spread() {
	local n
	n=$(wc -l <"$T/times")
	echo "median $(sed -n "$(((n + 1) / 2))p" "$T/times") ms, max $(tail -n 1 "$T/times") ms"
}

@test "hook: 1000 calls against an agent that never accepts, each within its bound" {
	stalled_agent "$T/agent.sock"
	# A short bound, so that 1000 calls take a minute, not ten: each waits
	# out its whole bound (the agent might accept in time).
	calls 1000 10
	echo "# agent not accepting, GLM_HOOK_TIMEOUT_MS=10: 1000 calls, $(spread)" >&3
	# The default bound, 500 ms, on a queue that has been full all along.
	calls 8 ''
	echo "# agent not accepting, default bound (500 ms): 8 calls, $(spread)" >&3
	# What the operator reads: glm-prepare says the agent did not answer
	# in time, and exits 75.
	rc=0
	timeout 10 "$GLM_BIN/glm-prepare" -d -s "$T/agent.sock" -t 100 incoming <"$DATA/domain-glm.xml" \
		>"$T/out" 2>"$T/err" || rc=$?
	cat "$T/err"
	[[ $rc -eq 75 && ! -s $T/out ]]
	grep -qF "glm-prepare: incoming vm1: glm-agentd at $T/agent.sock: no answer within 100 ms; the domain migrates without mobility support" "$T/err"
}

# glibc's syslog() sends on a blocking socket: once a syslog daemon that
# has stopped reading has a full queue (10 datagrams here, 512 where
# systemd sets net.unix.max_dgram_qlen), every process that logs waits for
# it, and glm-prepare logs on every failure.
@test "hook: a syslog that never reads cannot hold it past its bound either" {
	command -v unshare >/dev/null || skip "unshare is not installed"
	cat >"$T/in-ns.sh" <<-'EOS'
	# in a private mount namespace: a /dev of our own, a /dev/log that
	# never reads and whose queue is full, then the hook and glm-prepare
	# with no agent at all: glm-prepare fails at once and logs why
	set -e
	mount -t tmpfs glm-hook-test /dev
	mknod -m 666 /dev/null c 1 3
	python3 -c 'import os, socket, sys, time
r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
r.bind("/dev/log")
w = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
w.setblocking(False)
try:
    while True:
        w.sendto(b"<28>filler: queue", "/dev/log")
except BlockingIOError:
    pass
open(sys.argv[1], "w").close()
time.sleep(60)' "$T/full" >/dev/null 2>&1 &
	py=$!
	trap 'kill "$py"' EXIT
	for i in $(seq 100); do [ -e "$T/full" ] && break; sleep 0.05; done
	[ -e "$T/full" ]
	t0=${EPOCHREALTIME/[.,]/}
	rc=0
	GLM_PREPARE=$GLM_BIN/glm-prepare GLM_AGENT_SOCKET=$T/agent.sock GLM_HOOK_TIMEOUT_MS=200 \
		timeout 10 "$HOOK" vm migrate begin - <"$DATA/domain-glm.xml" >"$T/out" || rc=$?
	t1=${EPOCHREALTIME/[.,]/}
	echo "hook $rc $(((t1 - t0) / 1000))" >"$T/result"
	t0=${EPOCHREALTIME/[.,]/}
	rc=0
	timeout 10 "$GLM_BIN/glm-prepare" -s "$T/agent.sock" -t 200 incoming <"$DATA/domain-glm.xml" || rc=$?
	t1=${EPOCHREALTIME/[.,]/}
	echo "glm-prepare $rc $(((t1 - t0) / 1000))" >>"$T/result"
	EOS
	export T GLM_BIN HOOK DATA
	unshare -m --propagation private bash "$T/in-ns.sh" 3>&-
	cat "$T/result"
	echo "# syslog not reading, no agent, bound 200 ms: $(tr '\n' ';' <"$T/result")" >&3
	# the hook: exit 0 with nothing on stdout, glm-prepare: out of time
	# (75), not stuck; both within 200 ms, 250 ms to log the result and
	# 1000 ms to start (as in calls)
	[[ $(awk '$1 == "hook" { print $2 }' "$T/result") -eq 0 && ! -s $T/out ]]
	[[ $(awk '$1 == "glm-prepare" { print $2 }' "$T/result") -eq 75 ]]
	[[ $(awk '{ if ($3 > max) max = $3 } END { print max }' "$T/result") -lt 1450 ]]
}
