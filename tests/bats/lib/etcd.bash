# shellcheck shell=bash
# etcd.bash: a real etcd cluster (Debian's etcd-server) for the tests of
# imsd's etcd store: N members (default 3), each in a network namespace of
# its own with its own address, its own data directory and log, started in
# the background and recorded by pid, stopped by pid in the test's
# teardown. One namespace per member so that a member can be cut off from
# the others with an nftables drop in its own namespace (etcd_isolate),
# while the clients still reach it: the minority side of a partition.
# Plain bash like testbed.bash; sourced by glm.bash.
#
# Without a testbed (etcd-cluster.bats), a link of its own, E, whose
# bridge is in the client namespace, where etcd_ctl runs etcdctl:
#
#     netns $P-ec (the client): br0 2001:db8:e::100/64
#     +------------+------------+
#    pE-e1        pE-e2        pE-e3
#     |            |            |
#    eth0         eth0         eth0
#    $P-e1        $P-e2        $P-e3          P = glm-etcd-tN-PID
#    e::1         e::2         e::3           client :2379, peers :2380
#
# With a testbed (tb_setup ran first), the members are nodes e1..eN on
# link C (ports pC-e1.. of rt's brC, addresses 2001:db8:c::e1..,
# default route via rt), so imsd in ims (c::5), or anywhere in the
# testbed, reaches them; etcd_ctl runs in ims. tb_exec e1 works, and
# tb_teardown would kill the members and delete their namespaces if
# etcd_cluster_stop was not called (glm_teardown calls it first).
#
# The members' data lives in $GLM_ETCD_DIR/data, a tmpfs of its own when
# the scratch directory is not on one: etcd 3.4 has no --unsafe-no-fsync,
# and a WAL fsync on a busy disk costs milliseconds that the tests would
# measure instead of etcd. Raft timing is 100 ms heartbeats and a 1 s
# election timeout (etcd's defaults, which a loaded 2-core machine keeps),
# with pre-vote, so a member that comes back does not depose the leader.
#
# API (non-zero with a message on stderr on failure):
#   etcd_check                     0 if etcd can run here; else 1 with the
#                                  reason in GLM_ETCD_MISSING (skip with it)
#   etcd_cluster_start [N]         start N members (default 3), wait until
#                                  every member is healthy and one leads
#   etcd_cluster_stop              kill -9 every member by pid, wait, remove
#                                  rules, namespaces, mounts and data
#   etcd_endpoints [I...]          client URLs of members I (default all),
#                                  comma-separated (etcdctl --endpoints)
#   etcd_addr I / etcd_url I       member I's address / client URL
#   etcd_ctl [I...] -- ARGS...     etcdctl (v3 API) ARGS from the client
#                                  namespace against members I (default all)
#   etcd_member_kill I             kill -9 member I, reap it
#   etcd_member_start I            start member I again on its data dir
#   etcd_member_pid I              its pid (empty if not running)
#   etcd_wait_healthy TIMEOUT [I...] until members I (default all) are healthy
#   etcd_leader [I...]             the member (index) that leads, as members
#                                  I (default all) see it; 1 if none does
#   etcd_wait_leader TIMEOUT [I...] until members I agree on a leader among
#                                  them; prints it
#   etcd_isolate I                 drop all traffic between member I and the
#                                  other members (table inet glm_etcd_isolate
#                                  in I's namespace); clients still reach I
#   etcd_heal                      remove every such table
#   etcd_log I                     path of member I's log

GLM_ETCD_CLIENT_PORT=2379
GLM_ETCD_PEER_PORT=2380
GLM_ETCD_HEARTBEAT_MS=${GLM_ETCD_HEARTBEAT_MS:-100}
GLM_ETCD_ELECTION_MS=${GLM_ETCD_ELECTION_MS:-1000}
GLM_ETCD_N=0 GLM_ETCD_ON_TB=0 GLM_ETCD_DIR="" GLM_ETCD_PFX="" GLM_ETCD_CLIENT_NS=""

etcd__err() { echo "etcd: $*" >&2; }

etcd_check() {
	GLM_ETCD_MISSING=""
	if ! command -v etcd >/dev/null; then
		GLM_ETCD_MISSING="etcd is not installed (Debian's etcd-server; make deps installs it)"
	elif ! command -v etcdctl >/dev/null; then
		GLM_ETCD_MISSING="etcdctl is not installed (Debian's etcd-client; make deps installs it)"
	elif [ "$(id -u)" != 0 ]; then
		GLM_ETCD_MISSING="an etcd cluster in network namespaces needs root"
	elif ! command -v nft >/dev/null; then
		GLM_ETCD_MISSING="nft is not installed (nftables), which etcd_isolate needs"
	fi
	[ -z "$GLM_ETCD_MISSING" ]
}

# Member I's namespace, address and client URL.
etcd__ns() { echo "$GLM_ETCD_PFX-e$1"; }
etcd_addr() {
	if [ "$GLM_ETCD_ON_TB" = 1 ]; then echo "2001:db8:c::e$1"; else echo "2001:db8:e::$1"; fi
}
etcd_url() {
	local scheme=http
	[ "${GLM_ETCD_TLS:-0}" = 1 ] && scheme=https
	echo "$scheme://[$(etcd_addr "$1")]:$GLM_ETCD_CLIENT_PORT"
}
etcd__peer_url() { echo "http://[$(etcd_addr "$1")]:$GLM_ETCD_PEER_PORT"; }
etcd_log() { echo "$GLM_ETCD_DIR/m$1.log"; }

etcd__members() {
	if [ $# -gt 0 ]; then echo "$@"; else seq "$GLM_ETCD_N"; fi
}

etcd_endpoints() {
	local i out=""
	for i in $(etcd__members "$@"); do out="$out${out:+,}$(etcd_url "$i")"; done
	echo "$out"
}

# etcd_ctl [I...] -- ARGS: etcdctl from the client's namespace; without
# "--", ARGS alone against every member. The environment is etcdctl's
# own: ETCDCTL_API=3 (3.4's etcdctl speaks v3 by default, but an
# ETCDCTL_API=2 left in the caller's environment would change that).
etcd_ctl() {
	local members=()
	if [[ " $* " == *" -- "* ]]; then
		while [ "$1" != -- ]; do members+=("$1"); shift; done
		shift
	fi
	local tls=()
	[ "${GLM_ETCD_TLS:-0}" = 1 ] && tls=(--cacert "$(etcd_tls ca.pem)" --cert "$(etcd_tls client.pem)" \
		--key "$(etcd_tls client-key.pem)")
	ip netns exec "$GLM_ETCD_CLIENT_NS" env ETCDCTL_API=3 etcdctl --dial-timeout=1s \
		--endpoints="$(etcd_endpoints ${members[@]+"${members[@]}"})" ${tls[@]+"${tls[@]}"} "$@"
}

etcd_member_pid() {
	local pid start
	[ -s "$GLM_ETCD_DIR/pid-$1" ] || return 0
	read -r pid start <"$GLM_ETCD_DIR/pid-$1"
	etcd__alive "$pid" "$start" && echo "$pid"
	return 0
}

# True if pid is alive (not a zombie) and still the process we started
# (its start time, field 22 of /proc/PID/stat, is the one we recorded).
etcd__alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- "$2" $stat
	[ "$2" != Z ] && [ "$2" != X ] && [ "${21:-}" = "$1" ]
}

etcd__start_time() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	echo "${20}"
}

# The link: a bridge in the client namespace (own) or rt's brC (testbed),
# and member I's namespace with its port on it.
etcd__link_member() {
	local i=$1 ns br_ns br port
	ns=$(etcd__ns "$i")
	ip netns add "$ns" || { etcd__err "ip netns add $ns failed"; return 1; }
	echo "$ns" >>"$GLM_ETCD_DIR/netns"
	if [ "$GLM_ETCD_ON_TB" = 1 ]; then
		br_ns=$TB-rt br=brC port=pC-e$i
		echo "$ns" >>"$TB_DIR/netns"
	else
		br_ns=$GLM_ETCD_CLIENT_NS br=br0 port=pE-e$i
	fi
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.default.accept_ra=0 \
		net.ipv6.conf.default.accept_dad=0 >/dev/null || return 1
	ip -n "$br_ns" link add "$port" type veth peer name eth0 netns "$ns" ||
		{ etcd__err "member $i: link failed"; return 1; }
	ip -n "$br_ns" link set "$port" master "$br" up || return 1
	ip -n "$ns" -b - <<EOF || { etcd__err "member $i: addresses failed"; return 1; }
link set lo up
link set eth0 up
addr add $(etcd_addr "$i")/64 dev eth0 nodad
EOF
	if [ "$GLM_ETCD_ON_TB" = 1 ]; then
		ip -n "$ns" route add default via "$TB_ROUTER_LL" dev eth0 || return 1
	fi
}

etcd__link_own() {
	local ns=$GLM_ETCD_CLIENT_NS
	ip netns add "$ns" || { etcd__err "ip netns add $ns failed"; return 1; }
	echo "$ns" >>"$GLM_ETCD_DIR/netns"
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1 >/dev/null || return 1
	ip -n "$ns" -b - <<EOF || { etcd__err "link E failed"; return 1; }
link set lo up
link add br0 type bridge mcast_snooping 0 stp_state 0
EOF
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.br0.disable_ipv6=0 \
		net.ipv6.conf.br0.accept_dad=0 net.ipv6.conf.br0.accept_ra=0 >/dev/null || return 1
	ip -n "$ns" -b - <<EOF || { etcd__err "link E failed"; return 1; }
link set br0 up
addr add 2001:db8:e::100/64 dev br0 nodad
EOF
}

# The data directories' filesystem: a tmpfs (see the top).
etcd__data_fs() {
	local d=$GLM_ETCD_DIR/data
	mkdir -p "$d" || return 1
	if [ "$(stat -f -c %T "$d")" != tmpfs ]; then
		mount -t tmpfs -o size=1g,mode=0700 glm-etcd "$d" ||
			{ etcd__err "tmpfs on $d failed"; return 1; }
		echo "$d" >"$GLM_ETCD_DIR/mount"
	fi
}

etcd_member_start() {
	local i=$1 ns pid j cluster="" state=new
	if [ -n "$(etcd_member_pid "$i")" ]; then
		etcd__err "member $i already runs"
		return 1
	fi
	ns=$(etcd__ns "$i")
	for j in $(seq "$GLM_ETCD_N"); do cluster="$cluster${cluster:+,}m$j=$(etcd__peer_url "$j")"; done
	# a restart: etcd reads the membership from its WAL, the flag is ignored
	[ -d "$GLM_ETCD_DIR/data/m$i/member" ] && state=existing
	local tls=()
	[ "${GLM_ETCD_TLS:-0}" = 1 ] && tls=(--cert-file "$(etcd_tls server.pem)" \
		--key-file "$(etcd_tls server-key.pem)" --trusted-ca-file "$(etcd_tls ca.pem)" --client-cert-auth)
	# fd 3 closed so bats does not wait for it; no ETCD_* variable of the
	# caller's environment reaches it (etcd reads them as flags).
	# shellcheck disable=SC2046
	env $(compgen -e | sed -n 's/^ETCD_/-u &/p') ip netns exec "$ns" etcd \
		--name "m$i" --data-dir "$GLM_ETCD_DIR/data/m$i" \
		--listen-client-urls "$(etcd_url "$i")" --advertise-client-urls "$(etcd_url "$i")" \
		--listen-peer-urls "$(etcd__peer_url "$i")" --initial-advertise-peer-urls "$(etcd__peer_url "$i")" \
		--initial-cluster "$cluster" --initial-cluster-state "$state" \
		--initial-cluster-token "$GLM_ETCD_PFX" \
		--heartbeat-interval "$GLM_ETCD_HEARTBEAT_MS" --election-timeout "$GLM_ETCD_ELECTION_MS" \
		--pre-vote --logger zap --log-outputs stderr ${tls[@]+"${tls[@]}"} \
		</dev/null >>"$(etcd_log "$i")" 2>&1 3>&- &
	pid=$!
	echo "$pid $(etcd__start_time "$pid")" >"$GLM_ETCD_DIR/pid-$i"
	# the testbed's teardown kills it too, should ours not run
	[ "$GLM_ETCD_ON_TB" = 1 ] && cat "$GLM_ETCD_DIR/pid-$i" >>"$TB_DIR/pids"
	return 0
}

# Signal member I with SIG (default KILL), wait for it to end (SIGKILL
# after 3 s) and reap it.
etcd__signal() {
	local i=$1 sig=${2:-KILL} pid start n
	if [ -s "$GLM_ETCD_DIR/pid-$i" ]; then
		read -r pid start <"$GLM_ETCD_DIR/pid-$i"
		if etcd__alive "$pid" "$start"; then
			kill "-$sig" "$pid" 2>/dev/null
			for n in $(seq 250); do
				etcd__alive "$pid" "$start" || break
				[ "$n" = 150 ] && kill -KILL "$pid" 2>/dev/null
				sleep 0.02
			done
		fi
		wait "$pid" 2>/dev/null || true
	fi
	rm -f "$GLM_ETCD_DIR/pid-$i"
	return 0
}

etcd_member_kill() { etcd__signal "$1" KILL; }

# `endpoint status` of members I (default all), one line per member that
# answers: "INDEX MEMBER_ID LEADER_ID RAFT_TERM". One etcdctl for all,
# parsed with awk: a python3 start costs most of a second on a loaded
# machine, and the waits below call this in a loop.
etcd__status() {
	local i urls=""
	for i in $(etcd__members "$@"); do urls="$urls $i=$(etcd_url "$i")"; done
	etcd_ctl "$@" -- --command-timeout=1s endpoint status -w fields 2>/dev/null |
		awk -v urls="$urls" '
		BEGIN { n = split(urls, u, " "); for (k = 1; k <= n; k++) { split(u[k], p, "="); idx["\"" p[2] "\""] = p[1] } }
		$1 == "\"MemberID\"" { id = $3 }
		$1 == "\"Leader\"" { leader = $3 }
		$1 == "\"RaftTerm\"" { term = $3 }
		$1 == "\"Endpoint\"" && ($3 in idx) { printf "%s %s %s %s\n", idx[$3], id, leader, term }'
}

# The leader as members I see it: the member whose own id is the leader
# that a majority of the cluster's N members name (an isolated old leader
# naming itself is a minority of one).
etcd_leader() {
	etcd__status "$@" | awk -v n="$GLM_ETCD_N" '
		{ id[$2] = $1; votes[$3]++ }
		END { for (l in votes) if (votes[l] * 2 > n && l in id) { print id[l]; exit 0 } exit 1 }'
}

# Seconds since the epoch, whole, and a deadline T seconds from now.
etcd__deadline() { local now=${EPOCHREALTIME%[.,]*}; echo $((now + $1)); }
etcd__before() { [ "${EPOCHREALTIME%[.,]*}" -lt "$1" ]; }

etcd_wait_leader() {
	local t=$1 d l
	shift
	d=$(etcd__deadline "$t")
	while etcd__before "$d"; do
		l=$(etcd_leader "$@") && { echo "$l"; return 0; }
		sleep 0.1
	done
	etcd__err "no leader among members $(etcd__members "$@" | tr '\n' ' ')after ${t}s"
	return 1
}

etcd_wait_healthy() {
	local t=$1 d i
	shift
	d=$(etcd__deadline "$t")
	while etcd__before "$d"; do
		etcd_ctl "$@" -- --command-timeout=1s endpoint health >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	for i in $(etcd__members "$@"); do
		etcd_ctl "$i" -- --command-timeout=1s endpoint health >/dev/null 2>&1 && continue
		etcd__err "member $i not healthy after ${t}s; its log:"
		tail -n 20 "$(etcd_log "$i")" >&2
	done
	return 1
}

etcd_cluster_start() {
	local n=${1:-3} i name
	[[ $n =~ ^[1-9]$ ]] || { etcd__err "etcd_cluster_start: 1 to 9 members, not '$n'"; return 1; }
	if [ -n "${GLM_ETCD_DIR:-}" ] && [ -d "$GLM_ETCD_DIR" ]; then
		etcd__err "a cluster is running already ($GLM_ETCD_DIR)"
		return 1
	fi
	etcd_check || { etcd__err "$GLM_ETCD_MISSING"; return 1; }
	GLM_ETCD_N=$n
	if [ -n "${TB_DIR:-}" ] && [ -d "$TB_DIR" ]; then
		GLM_ETCD_ON_TB=1 GLM_ETCD_PFX=$TB GLM_ETCD_CLIENT_NS=$TB-ims
		GLM_ETCD_DIR=$TB_DIR/etcd
		mkdir "$GLM_ETCD_DIR" || return 1
		for i in $(seq "$n"); do TB_NODES="$TB_NODES e$i"; done
		echo "$TB_NODES" >"$TB_DIR/nodes"
	else
		GLM_ETCD_ON_TB=0
		name=t${BATS_TEST_NUMBER:-0}
		GLM_ETCD_PFX=glm-etcd-$name-$$ GLM_ETCD_CLIENT_NS=glm-etcd-$name-$$-ec
		GLM_ETCD_DIR=$(mktemp -d "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/$GLM_ETCD_PFX.XXXXXX") ||
			{ etcd__err "mktemp failed"; return 1; }
		: >"$GLM_ETCD_DIR/netns"
		etcd__link_own || return 1
	fi
	: >>"$GLM_ETCD_DIR/netns"
	echo "$n" >"$GLM_ETCD_DIR/n"
	etcd__data_fs || return 1
	if [ "${GLM_ETCD_TLS:-0}" = 1 ]; then etcd__tls_certs || return 1; fi
	for i in $(seq "$n"); do etcd__link_member "$i" || return 1; done
	for i in $(seq "$n"); do etcd_member_start "$i" || return 1; done
	etcd_wait_healthy 30 || return 1
	etcd_wait_leader 10 >/dev/null
}

# GLM_ETCD_TLS=1 before etcd_cluster_start: the members serve clients over
# TLS and want a client certificate (--client-cert-auth); peers stay plain.
# etcd_tls FILE: the path of ca.pem, server.pem, server-key.pem (every
# member's, for all their addresses), client.pem, client-key.pem (CN imsd).
etcd_tls() { echo "$GLM_ETCD_DIR/tls/$1"; }
etcd__tls_certs() {
	local d=$GLM_ETCD_DIR/tls san="" i name
	mkdir -p "$d" || return 1
	for i in $(seq "$GLM_ETCD_N"); do san="$san${san:+,}IP:$(etcd_addr "$i")"; done
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=glm-test-ca \
		-keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>"$d/openssl.log" || { cat "$d/openssl.log" >&2; return 1; }
	for name in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=${name/client/imsd}" \
			-keyout "$d/$name-key.pem" -out "$d/$name.csr" 2>>"$d/openssl.log" &&
		if [ $name = server ]; then
			printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$san"
		else
			printf 'extendedKeyUsage=clientAuth\n'
		fi >"$d/$name.ext" &&
		openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial \
			-days 2 -extfile "$d/$name.ext" -out "$d/$name.pem" 2>>"$d/openssl.log" ||
			{ cat "$d/openssl.log" >&2; return 1; }
	done
	chmod 600 "$d"/*-key.pem
}

etcd_isolate() {
	local i=$1 j others=""
	for j in $(seq "$GLM_ETCD_N"); do
		[ "$j" = "$i" ] || others="$others${others:+, }$(etcd_addr "$j")"
	done
	[ -n "$others" ] || return 0
	ip netns exec "$(etcd__ns "$i")" nft -f - <<EOF || { etcd__err "isolate member $i failed"; return 1; }
table inet glm_etcd_isolate
delete table inet glm_etcd_isolate
table inet glm_etcd_isolate {
	chain input {
		type filter hook input priority filter; policy accept;
		ip6 saddr { $others } drop
	}
	chain output {
		type filter hook output priority filter; policy accept;
		ip6 daddr { $others } drop
	}
}
EOF
}

etcd_heal() {
	local i ns
	for i in $(seq "$GLM_ETCD_N"); do
		ns=$(etcd__ns "$i")
		[ -e "/run/netns/$ns" ] || continue
		ip netns exec "$ns" nft list table inet glm_etcd_isolate >/dev/null 2>&1 || continue
		ip netns exec "$ns" nft delete table inet glm_etcd_isolate || return 1
	done
}

etcd_cluster_stop() {
	local dir=${GLM_ETCD_DIR:-} i ns
	if [ -z "$dir" ] || [ ! -d "$dir" ]; then
		GLM_ETCD_DIR=""
		return 0
	fi
	GLM_ETCD_N=$(cat "$dir/n" 2>/dev/null || echo 0)
	# SIGKILL: the data goes too, a clean exit would only cost time (a
	# leader hands its role over first, up to seconds when cut off)
	for i in $(seq "$GLM_ETCD_N"); do etcd__signal "$i" KILL; done
	etcd_heal 2>/dev/null
	while read -r ns; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns"
	done <"$dir/netns"
	if [ -s "$dir/mount" ]; then
		umount "$(cat "$dir/mount")" || etcd__err "umount $(cat "$dir/mount") failed"
	fi
	if [ -n "${TB_KEEP:-}" ]; then
		echo "etcd: kept $dir (data gone with its tmpfs)" >&2
	else
		rm -rf "$dir"
	fi
	GLM_ETCD_DIR=""
	return 0
}
