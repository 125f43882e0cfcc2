# shellcheck shell=bash
# libvirt.bash: turn the testbed's hypervisor hosts (hA, hA2, hB of
# testbed.bash) into real libvirt hosts, for end-to-end tests that run the
# real `virsh migrate --live --p2p` and so the real hook calls. Source it
# after testbed.bash (and glm.bash if the test starts agents). Plain bash;
# every function works under `set -e` and `set -u` and returns non-zero
# with a message on stderr on failure.
#
# Each host gets its own libvirtd (9.0, monolithic, no systemd), started
# as `libvirtd -l -f CONF -p PIDFILE` in the host's netns and in a private
# mount namespace of its own (unshare -m --propagation private) where
# /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt are bind mounts of directories under $TB_DIR/lv-NODE/:
#
#   $TB_DIR/lv-NODE/etc     -> /etc/libvirt   libvirtd.conf, qemu.conf,
#                                             hooks/qemu.d/{00-lvlog,glm}
#   $TB_DIR/lv-NODE/run     -> /run/libvirt   qemu/DOMAIN.pid, ...
#   $TB_DIR/lv-NODE/lib     -> /var/lib/libvirt
#   $TB_DIR/lv-NODE/log     -> /var/log/libvirt   qemu/DOMAIN.log (QEMU's stderr)
#   $TB_DIR/lv-NODE/cache   -> /var/cache/libvirt
#   $TB_DIR/lv-NODE/sock/   libvirt-sock, libvirt-sock-ro, libvirt-admin-sock
#   $TB_DIR/lv-NODE/usr/    glm as `make install` puts it (PREFIX)
#   $TB_DIR/lv-NODE/libvirtd.log   libvirtd's log (level LV_LOG_LEVEL, 3)
#   $TB_DIR/lv-NODE/libvirtd.out   its stdout and stderr
#   $TB_DIR/lv-NODE/hooks.log      one line per hook call (00-lvlog):
#                                  "EPOCH DOMAIN OPERATION SUBOP EXTRA"
#   $TB_DIR/lv-NODE/hook-xml/      the XML of each `migrate begin` call
#
# glm's hook is installed by the project's own install target, before
# libvirtd starts (libvirtd only looks at hooks present at startup):
#   make -C $GLM_SRC install PREFIX=$TB_DIR/lv-NODE/usr \
#        HOOKDIR=$TB_DIR/lv-NODE/etc/hooks AGENT_SOCKET=$TB_DIR/agent-NODE.sock
# (no DESTDIR: the paths baked into the hook must be the real ones, and they
# are, because only /etc/libvirt & co. are private in libvirtd's mount
# namespace; $TB_DIR/agent-NODE.sock is where glm.bash's glm_start_agent
# puts the agent's control socket). Nothing lands outside $TB_DIR, except
# the five empty mount points (/run/libvirt, /var/lib/libvirt, ...) which
# are created once if missing, as libvirt-daemon-system would.
#
# Hosts reach each other as qemu+tcp://[ADDR]/system (listen_tcp, auth_tcp
# "none": only reachable inside the testbed's netns); QEMU's migration
# stream goes to [ADDR]:49152.. (migration_host); ADDR is on the hosts'
# migration network (see lv__addr). Each libvirtd has a host
# UUID of its own (two libvirtds on one machine would otherwise both read
# the machine's SMBIOS UUID, and libvirt refuses to "migrate to the same
# host").
#
# Teardown: libvirtd is started with tb_spawn (its pid is in $TB_DIR/pids)
# and lv_start/lv_migrate record each QEMU's pid the same way, so a plain
# tb_teardown stops everything. lv_teardown (call it before tb_teardown)
# does it in order and more thoroughly: every QEMU whose pid file is in a
# host's private /run/libvirt/qemu, then libvirtd. When the last process of
# a private mount namespace is gone, its mounts are gone with it.
#
# API:
#   lv_host_start NODE            NODE: hA | hA2 | hB. Install glm's hook (and
#                                 the 00-lvlog hook), write the configs, start
#                                 libvirtd, wait until it answers (LV_START_TIMEOUT,
#                                 30 s). Sets LV_START_S (seconds it took to answer).
#   lv_host_stop NODE             stop NODE's QEMUs and libvirtd (TERM, then KILL)
#   lv_host_restart NODE          stop NODE's libvirtd only (its QEMUs run on, as
#                                 after an upgrade or a service restart) and
#                                 start it again
#   lv_teardown                   lv_host_stop every started host
#   lv_uri NODE                   print the local URI (qemu+unix:///system?socket=...)
#   lv_tcp_uri NODE               print the URI peers use: qemu+tcp://[ADDR]/system
#   lv_virsh NODE ARGS...         virsh against NODE's libvirtd (in NODE's netns)
#   lv_domain_xml [opts]          print a small TCG domain (see its comment)
#   lv_define_vm NODE XMLFILE     virsh define
#   lv_start NODE [DOM]           virsh start DOM (default vm); records QEMU's pid
#   lv_qemu_pid NODE [DOM]        print the pid of DOM's QEMU on NODE
#   lv_tap NODE [DOM]             print DOM's tap on br0 (virsh domiflist)
#   lv_agent_cmd NODE JSON [DOM]  virsh qemu-agent-command: the reply
#   lv_wait_agent NODE TIMEOUT [DOM]  until qemu-ga answers guest-ping
#   lv_state NODE [DOM]           print virsh domstate (e.g. "running"), or "absent"
#   lv_migrate SRC DST [--domain DOM] [--max-downtime MS] [VIRSH_FLAGS...]
#                                 virsh migrate --live --p2p --persistent
#                                 --undefinesource DOM qemu+tcp://[DST]/system
#                                 (+ flags), run on SRC; returns virsh's status.
#                                 --max-downtime (or LV_MAX_DOWNTIME): first
#                                 virsh migrate-setmaxdowntime on SRC (QEMU's
#                                 default limit is 300 ms, per QEMU process: a
#                                 migrated guest gets the default back).
#                                 Sets LV_MIG_MS (wall time, ms), LV_MIG_RC, appends
#                                 "SRC DST WALL_MS RC" to $TB_DIR/lv-migrations,
#                                 records the destination QEMU's pid.
#   lv_jobinfo NODE [DOM]         virsh domjobinfo --completed (run it on the
#                                 destination: with --undefinesource the source
#                                 no longer has the domain)
#   lv_downtime NODE [DOM]        print the completed job's "Total downtime" in ms
#   lv_hook_calls NODE [DOM]      print the hook calls logged on NODE: "OP SUBOP"
#                                 a line, in order (from hooks.log)
#   lv_hook_log NODE              print hooks.log's path
# Tunables: LV_START_TIMEOUT (30), LV_LOG_LEVEL (3: warnings; 1 = debug),
# LV_MAKE_ARGS (extra make arguments for the install, e.g. BUILD=build/san),
# LV_INSTALL=0 (do not install glm's hook: a plain libvirt host),
# GLM_SRC (the source tree, default: three levels above this file).

LV_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${GLM_SRC:=$(cd "$LV_LIB_DIR/../../.." && pwd)}"
: "${LV_START_TIMEOUT:=30}"
: "${LV_LOG_LEVEL:=3}"
LV_MOUNTS="etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt log:/var/log/libvirt cache:/var/cache/libvirt"

LV_VM_MAC=52:54:00:00:e2:01

lv__err() { echo "libvirt.bash: $*" >&2; }

lv__dir() {
	if [ -z "${TB_DIR:-}" ] || [ ! -d "$TB_DIR" ]; then
		lv__err "no testbed (tb_setup first)"
		return 1
	fi
	case "$1" in
	hA | hA2 | hB) echo "$TB_DIR/lv-$1" ;;
	*) lv__err "node must be hA, hA2 or hB, not '$1'"; return 1 ;;
	esac
}

# The hosts' migration network (LV_MIGRATION_NET=1, the default): one
# more link, 2001:db8:f::/64, a bridge of its own that every hypervisor
# host has a leg on and nothing routes to, as platforms keep migration
# traffic apart from the VMs'. libvirt's peer-to-peer connection and
# QEMU's stream use it, so a move to another subnet (hA -> hB) and one
# inside a subnet (hA -> hA2) transfer the same way, and what differs
# between them is the VM's network alone. LV_MIGRATION_NET=0: the hosts'
# addresses on their VM links (the stream then crosses the router).
LV_MIGRATION_NET=${LV_MIGRATION_NET:-1}

lv__addr() {
	if [ "$LV_MIGRATION_NET" = 1 ]; then
		case "$1" in
		hA) echo 2001:db8:f::1 ;;
		hA2) echo 2001:db8:f::2 ;;
		hB) echo 2001:db8:f::3 ;;
		*) lv__err "no address for node '$1'"; return 1 ;;
		esac
		return 0
	fi
	case "$1" in
	hA) echo "$TB_HA_ADDR" ;;
	hA2) echo "$TB_HA2_ADDR" ;;
	hB) echo "$TB_HB_ADDR" ;;
	*) lv__err "no address for node '$1'"; return 1 ;;
	esac
}

# lv__mignet NODE ADDR: NODE's leg (mig0) on the migration bridge brM,
# which lives in the router's namespace without an address of its own.
lv__mignet() {
	local node=$1 addr=$2 rt=${TB_RT_NS:-$TB-rt}
	[ "$LV_MIGRATION_NET" = 1 ] || return 0
	ip -n "$TB-$node" link show mig0 >/dev/null 2>&1 && return 0
	if ! ip -n "$rt" link show brM >/dev/null 2>&1; then
		ip -n "$rt" link add brM type bridge stp_state 0 mcast_snooping 0 &&
			ip netns exec "$rt" sysctl -q -w net.ipv6.conf.brM.disable_ipv6=1 >/dev/null &&
			ip -n "$rt" link set brM up || { lv__err "migration bridge brM failed"; return 1; }
	fi
	ip -n "$rt" link add "pM-$node" type veth peer name mig0 netns "$TB-$node" &&
		ip -n "$rt" link set "pM-$node" master brM up &&
		ip netns exec "$TB-$node" sysctl -q -w net.ipv6.conf.mig0.disable_ipv6=0 >/dev/null &&
		ip -n "$TB-$node" link set mig0 up &&
		ip -n "$TB-$node" addr add "$addr/64" dev mig0 nodad ||
		{ lv__err "$node: migration link failed"; return 1; }
}

lv_uri() {
	local d
	d=$(lv__dir "$1") || return 1
	echo "qemu+unix:///system?socket=$d/sock/libvirt-sock"
}

lv_tcp_uri() {
	local a
	a=$(lv__addr "$1") || return 1
	echo "qemu+tcp://[$a]/system"
}

lv_virsh() {
	local node=$1 uri
	uri=$(lv_uri "$node") || return 1
	shift
	tb_exec "$node" virsh -q -c "$uri" "$@"
}

lv_hook_log() {
	local d
	d=$(lv__dir "$1") || return 1
	echo "$d/hooks.log"
}

lv__write_conf() {
	local node=$1 d=$2 addr=$3
	# No TLS, TCP without auth (reachable only inside the testbed's netns),
	# sockets and log in $TB_DIR, a host UUID of its own.
	cat >"$d/etc/libvirtd.conf" <<EOF
# libvirtd.conf for testbed host $node ($TB), written by libvirt.bash
listen_tls = 0
listen_tcp = 1
listen_addr = "$addr"
tcp_port = "16509"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_dir = "$d/sock"
unix_sock_rw_perms = "0700"
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
log_outputs = "$LV_LOG_LEVEL:file:$d/libvirtd.log"
keepalive_interval = 5
EOF
	# Root QEMU without security driver, cgroups or per-VM namespaces
	# (none of them work or matter in the testbed), QEMU's output to a file
	# (no virtlogd), migrations to this host's address.
	cat >"$d/etc/qemu.conf" <<EOF
# qemu.conf for testbed host $node ($TB), written by libvirt.bash
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
migration_address = "::"
migration_host = "$addr"
EOF
	# Log every hook call (the migrate-begin XML too). Runs before glm's
	# hook (libvirt runs qemu.d/* in alphabetical order) and, like it,
	# prints nothing: a migrate hook's output would replace the XML.
	mkdir -p "$d/etc/hooks/qemu.d" "$d/hook-xml"
	cat >"$d/etc/hooks/qemu.d/00-lvlog" <<EOF
#!/bin/sh
# Written by libvirt.bash: log the hook call, keep stdin for migrate begin.
t=\$(date +%s.%N)
if [ "\$2/\$3" = migrate/begin ]; then
	cat >"$d/hook-xml/\$1-\$t.xml"
else
	cat >/dev/null
fi
echo "\$t \$*" >>"$d/hooks.log"
exit 0
EOF
	chmod 755 "$d/etc/hooks/qemu.d/00-lvlog"
	# ... and once more after glm's hook: the difference is an upper bound
	# of how long glm's hook held libvirt up (lv_hook_durations).
	cat >"$d/etc/hooks/qemu.d/zz-lvlog" <<EOF
#!/bin/sh
cat >/dev/null
echo "\$(date +%s.%N) \$*" >>"$d/hooks-end.log"
exit 0
EOF
	chmod 755 "$d/etc/hooks/qemu.d/zz-lvlog"
}

# lv_hook_durations NODE: "OP SUBOP MS" per hook call, from 00-lvlog's
# start to zz-lvlog's start: glm's hook plus two tiny shell scripts.
lv_hook_durations() {
	local d
	d=$(lv__dir "$1") || return 1
	[ -f "$d/hooks-end.log" ] || return 0
	paste -d' ' <(awk '{print $1, $3, $4}' "$d/hooks.log") <(awk '{print $1}' "$d/hooks-end.log") |
		awk 'NF == 4 {printf "%s %s %.1f\n", $2, $3, ($4 - $1) * 1000}'
}

lv__seed_caps() {
	local d=$1 o
	ls "$d"/cache/qemu/capabilities/*.xml >/dev/null 2>&1 && return 0
	for o in "$TB_DIR"/lv-*/cache/qemu/capabilities; do
		[ "$o" != "$d/cache/qemu/capabilities" ] || continue
		ls "$o"/*.xml >/dev/null 2>&1 || continue
		mkdir -p "$d/cache/qemu/capabilities" && cp -p "$o"/*.xml "$d/cache/qemu/capabilities/"
		return 0
	done
	return 0
}

lv_host_start() {
	local node=$1 d addr t0 m src dst mounts=""
	d=$(lv__dir "$node") || return 1
	addr=$(lv__addr "$node") || return 1
	if [ -s "$d/libvirtd.pid" ] && kill -0 "$(cat "$d/libvirtd.pid")" 2>/dev/null; then
		lv__err "lv_host_start: libvirtd already runs on $node"
		return 1
	fi
	command -v libvirtd >/dev/null || PATH=$PATH:/usr/sbin
	if ! command -v libvirtd >/dev/null || ! command -v virsh >/dev/null; then
		lv__err "libvirtd/virsh missing: apt-get install libvirt-daemon-system libvirt-daemon-system-sysv"
		return 1
	fi
	for m in $LV_MOUNTS; do
		src=${m%%:*} dst=${m#*:}
		mkdir -p "$d/$src" || return 1
		# Mount points must exist; empty ones as libvirt-daemon-system has.
		[ -d "$dst" ] || mkdir -p "$dst" || { lv__err "cannot create mount point $dst"; return 1; }
		mounts="$mounts mount --bind '$d/$src' '$dst' &&"
	done
	mkdir -p "$d/sock" "$d/log/qemu" || return 1
	: >"$d/hooks.log"
	lv__mignet "$node" "$addr" || return 1
	lv__write_conf "$node" "$d" "$addr" || return 1
	if [ "${LV_INSTALL:-1}" != 0 ]; then
		# shellcheck disable=SC2086
		make -s -C "$GLM_SRC" install PREFIX="$d/usr" HOOKDIR="$d/etc/hooks" \
			AGENT_SOCKET="$TB_DIR/agent-$node.sock" ${LV_MAKE_ARGS:-} >"$d/install.log" 2>&1 ||
			{ lv__err "make install for $node failed:"; cat "$d/install.log" >&2; return 1; }
		[ -x "$d/etc/hooks/qemu.d/glm" ] || { lv__err "make install left no qemu.d/glm in $d/etc/hooks"; return 1; }
	fi
	rm -f "$d/libvirtd.pid" "$d/sock/libvirt-sock"
	# QEMU's capabilities, probed at startup (most of libvirtd's ~8 s), are
	# cached in /var/cache/libvirt/qemu; reuse another host's of this testbed
	# (libvirt checks the cache against the binary, libvirt, the kernel).
	lv__seed_caps "$d"
	t0=$(tb__now)
	# ip netns exec and unshare both exec: TB_PID is libvirtd's pid.
	tb_spawn "$node" unshare -m --propagation private \
		sh -c "$mounts exec libvirtd -l -f '$d/etc/libvirtd.conf' -p '$d/libvirtd.pid'" \
		>>"$d/libvirtd.out" 2>&1 </dev/null || return 1
	echo "$TB_PID" >"$d/spawn.pid"
	for _ in $(seq $((LV_START_TIMEOUT * 10))); do
		if [ -S "$d/sock/libvirt-sock" ] && lv_virsh "$node" version >/dev/null 2>&1; then
			LV_START_S=$(awk -v a="$t0" -v b="$(tb__now)" 'BEGIN{printf "%.2f", b-a}')
			echo "$node $LV_START_S" >>"$TB_DIR/lv-starts"
			export LV_START_S
			return 0
		fi
		if ! kill -0 "$TB_PID" 2>/dev/null; then
			lv__err "libvirtd on $node exited; its output and log:"
			cat "$d/libvirtd.out" "$d/libvirtd.log" >&2 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
	lv__err "libvirtd on $node did not answer in ${LV_START_TIMEOUT}s (see $d/libvirtd.log)"
	return 1
}

lv_qemu_pid() {
	local node=$1 dom=${2:-vm} d pid
	d=$(lv__dir "$node") || return 1
	[ -s "$d/run/qemu/$dom.pid" ] || { lv__err "no QEMU pid file for $dom on $node"; return 1; }
	pid=$(cat "$d/run/qemu/$dom.pid")
	lv__is_qemu "$pid" || { lv__err "pid $pid of $dom on $node is not a running QEMU"; return 1; }
	echo "$pid"
}

# True if PID is a live QEMU (pid files may be stale).
lv__is_qemu() {
	local exe
	[ -n "$1" ] || return 1
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	case "$exe" in */qemu-system-*) ;; *) return 1 ;; esac
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# Record DOM's QEMU on NODE for tb_teardown (QEMU is daemonized: it is
# not libvirtd's child, so teardown would not find it otherwise).
lv__record_qemu() {
	local pid
	pid=$(lv_qemu_pid "$1" "${2:-vm}") || return 1
	tb__record_pid "$pid"
}

lv_tap() {
	lv_virsh "$1" domiflist "${2:-vm}" | awk '$3 == "br0" {print $1; exit}'
}

# lv_agent_cmd NODE JSON [DOM]: a qemu-guest-agent command, its JSON reply.
lv_agent_cmd() {
	lv_virsh "$1" qemu-agent-command "${3:-vm}" "$2"
}

# lv_wait_agent NODE TIMEOUT [DOM]: until the guest agent answers guest-ping.
lv_wait_agent() {
	local node=$1 t=$2 dom=${3:-vm}
	for _ in $(seq $((t * 5))); do
		lv_agent_cmd "$node" '{"execute":"guest-ping"}' "$dom" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	lv__err "no guest agent in $dom on $node after ${t}s"
	return 1
}

lv_define_vm() {
	local node=$1 xml=$2
	[ -f "$xml" ] || { lv__err "lv_define_vm: no file $xml"; return 1; }
	lv_virsh "$node" define "$xml" >/dev/null
}

lv_start() {
	local node=$1 dom=${2:-vm}
	lv_virsh "$node" start "$dom" >/dev/null || return 1
	lv__record_qemu "$node" "$dom"
}

lv_state() {
	local node=$1 dom=${2:-vm} s
	s=$(lv_virsh "$node" domstate "$dom" 2>/dev/null) || { echo absent; return 0; }
	echo "$s" | head -n 1
}

lv_migrate() {
	local src=$1 dst=$2 dom=vm uri t0 t1 rc=0 maxdown=${LV_MAX_DOWNTIME:-}
	shift 2
	while [ $# -gt 0 ]; do
		case "$1" in
		--domain) dom=$2; shift 2 ;;
		--max-downtime) maxdown=$2; shift 2 ;;
		*) break ;;
		esac
	done
	uri=$(lv_tcp_uri "$dst") || return 1
	lv__dir "$src" >/dev/null || return 1
	# QEMU's downtime limit (default 300 ms) belongs to the QEMU process:
	# set it on the source's QEMU before each migration.
	if [ -n "$maxdown" ]; then
		lv_virsh "$src" migrate-setmaxdowntime "$dom" "$maxdown" >/dev/null ||
			{ lv__err "lv_migrate: migrate-setmaxdowntime $maxdown failed on $src"; return 1; }
	fi
	t0=$(tb__now)
	lv_virsh "$src" migrate --live --p2p --persistent --undefinesource "$@" "$dom" "$uri" || rc=$?
	t1=$(tb__now)
	LV_MIG_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", (b-a)*1000}')
	LV_MIG_RC=$rc
	export LV_MIG_MS LV_MIG_RC
	echo "$src $dst $LV_MIG_MS $rc" >>"$TB_DIR/lv-migrations"
	if [ $rc = 0 ]; then
		lv__record_qemu "$dst" "$dom" || true
	fi
	return $rc
}

lv_jobinfo() {
	lv_virsh "$1" domjobinfo --completed --keep-completed "${2:-vm}"
}

lv_downtime() {
	lv_jobinfo "$1" "${2:-vm}" | awk -F: '$1 ~ /^Total downtime/ {gsub(/[^0-9.]/, "", $2); print $2; f=1} END{exit !f}' ||
		{ lv__err "no completed job with a downtime for ${2:-vm} on $1"; return 1; }
}

lv_hook_calls() {
	local node=$1 dom=${2:-vm} log
	log=$(lv_hook_log "$node") || return 1
	awk -v d="$dom" '$2 == d {print $3, $4}' "$log"
}

# Kill PID (ours: checked by the caller) with TERM, KILL after ~2 s.
lv__kill_wait() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 100); do
		[ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 0
		sleep 0.02
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

lv_host_stop() {
	local node=$1 d f pid spawn
	d=$(lv__dir "$node") || return 1
	[ -d "$d" ] || return 0
	# QEMUs first (libvirtd leaves its domains running when it stops).
	for f in "$d"/run/qemu/*.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null) || continue
		lv__is_qemu "$pid" && lv__kill_wait "$pid"
	done
	# libvirtd: the pid tb_spawn gave us, if it is still that process.
	if [ -s "$d/spawn.pid" ]; then
		spawn=$(cat "$d/spawn.pid")
		if [ "$(readlink "/proc/$spawn/exe" 2>/dev/null)" = "$(command -v libvirtd || echo /usr/sbin/libvirtd)" ]; then
			lv__kill_wait "$spawn"
		fi
		wait "$spawn" 2>/dev/null || true
		rm -f "$d/spawn.pid"
	fi
	return 0
}

lv_host_restart() {
	local node=$1 d spawn
	d=$(lv__dir "$node") || return 1
	spawn=$(cat "$d/spawn.pid" 2>/dev/null) || { lv__err "lv_host_restart: no libvirtd on $node"; return 1; }
	lv__kill_wait "$spawn"
	wait "$spawn" 2>/dev/null || true
	rm -f "$d/spawn.pid"
	LV_INSTALL=0 lv_host_start "$node"
}

lv_teardown() {
	local d
	[ -n "${TB_DIR:-}" ] && [ -d "$TB_DIR" ] || return 0
	for d in "$TB_DIR"/lv-*; do
		[ -d "$d" ] || continue
		lv_host_stop "${d##*/lv-}" || true
	done
	return 0
}

# lv_domain_xml [--name N] [--kernel F --initrd F [--cmdline S]] [--mem MiB]
#               [--uuid U] [--mac M] [--tap DEV] [--no-metadata] [--group G]...
# A small TCG guest (type='qemu': libvirt reports KVM usable here, but a
# KVM guest never boots on this PVM host): q35, qemu64 CPU, no disk, one
# virtio NIC on br0 (MAC LV_VM_MAC, not the testbed's TB_VM_MAC0: the
# testbed's veth "vm" sits on hA's br0 too, as vnet0; so the tap name is
# libvirt's choice, vnetN, unless --tap), serial console to a file
# in the private /var/log/libvirt/qemu, the qemu-guest-agent channel, and
# glm's <metadata> (home GLM_HA, key 10, relay [GLM_RELAY_ADDR]:5310, the
# groups given, default GLM_GROUP). Without --kernel the guest has no OS:
# QEMU runs SeaBIOS, finds nothing to boot and idles, which migrates fine.
lv_domain_xml() {
	local name=vm kernel="" initrd="" cmdline="console=ttyS0 quiet" mem=128 meta=1
	local uuid="" groups=() g mac=$LV_VM_MAC tap=""
	while [ $# -gt 0 ]; do
		case "$1" in
		--name) name=$2; shift ;;
		--kernel) kernel=$2; shift ;;
		--initrd) initrd=$2; shift ;;
		--cmdline) cmdline=$2; shift ;;
		--mem) mem=$2; shift ;;
		--uuid) uuid=$2; shift ;;
		--mac) mac=$2; shift ;;
		--tap) tap=$2; shift ;;
		--group) groups+=("$2"); shift ;;
		--no-metadata) meta=0 ;;
		*) lv__err "lv_domain_xml: unknown option $1"; return 1 ;;
		esac
		shift
	done
	[ ${#groups[@]} -gt 0 ] || groups=("${GLM_GROUP:-ff3e::1234}")
	[ -n "$uuid" ] || uuid=$(cat /proc/sys/kernel/random/uuid)
	echo "<domain type='qemu'>"
	echo "  <name>$name</name>"
	echo "  <uuid>$uuid</uuid>"
	if [ $meta = 1 ]; then
		echo "  <metadata>"
		echo "    <glm:mobility xmlns:glm=\"urn:x-glm:mobility:1\">"
		echo "      <glm:home address=\"${GLM_HA:-2001:db8:100::10}\" key-id=\"10\"/>"
		echo "      <glm:relay address=\"[${GLM_RELAY_ADDR:-2001:db8:c::20}]:5310\"/>"
		for g in "${groups[@]}"; do echo "      <glm:group address=\"$g\"/>"; done
		echo "    </glm:mobility>"
		echo "  </metadata>"
	fi
	cat <<EOF
  <memory unit='MiB'>$mem</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
EOF
	if [ -n "$kernel" ]; then
		echo "    <kernel>$kernel</kernel>"
		[ -z "$initrd" ] || echo "    <initrd>$initrd</initrd>"
		echo "    <cmdline>$cmdline</cmdline>"
	fi
	cat <<EOF
  </os>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='bridge'>
      <mac address='$mac'/>
      <source bridge='br0'/>
EOF
	[ -z "$tap" ] || echo "      <target dev='$tap'/>"
	cat <<EOF
      <model type='virtio'/>
    </interface>
    <serial type='file'>
      <source path='/var/log/libvirt/qemu/$name-console.log' append='on'/>
      <target port='0'/>
    </serial>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}
