#!/usr/bin/env bats
# imsd with `store etcd` (imsd(8), STORE ETCD): stateless frontends over a
# real 3-member etcd cluster (lib/etcd.bash). The frontends and the
# imsclient test tool run in the cluster's client namespace; each
# frontend has its own port on ::1 and its own control socket.
#
#     glm-etcd-tN-PID-ec: br0 2001:db8:e::100
#       imsd A [::1]:5301   imsd B [::1]:5302   (imsclient, etcdctl)
#     +--------------+--------------+
#     e1 e::1        e2 e::2        e3 e::3     etcd members, :2379
#
# Keys: 1 is the IMS's (both frontends hold it), guests 7 and 9 own two
# home addresses each, 8 owns none (queries, subscribes), agent 20
# vouches for MAs in 2001:db8:2::/64, so updates need no PROVE round.

load lib/testbed
load lib/glm

HA=2001:db8:100::10
HA2=2001:db8:100::11

setup() {
	etcd_check || skip "$GLM_ETCD_MISSING"
	GLM_BIN=${GLM_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	[[ -x $GLM_BIN/imsd && -x $GLM_BIN/imsclient ]] || skip "imsd or imsclient not built in $GLM_BIN"
	T=$(mktemp -d /tmp/glm-ims-etcd.XXXXXX)
	FRONTENDS=()
	(
		umask 077
		for id in 1 7 8 9 20; do "$GLM_BIN/glm-keys" genkey $id >"$T/priv-$id"; done
		{
			"$GLM_BIN/glm-keys" pubkey ims <"$T/priv-1"
			"$GLM_BIN/glm-keys" pubkey guest home $HA home $HA2 <"$T/priv-7"
			"$GLM_BIN/glm-keys" pubkey guest <"$T/priv-8"
			"$GLM_BIN/glm-keys" pubkey guest home 2001:db8:100::20 home 2001:db8:100::21 <"$T/priv-9"
			"$GLM_BIN/glm-keys" pubkey agent prefix 2001:db8:2::/64 <"$T/priv-20"
		} >"$T/keys.pub"
		cat "$T/priv-1" "$T/keys.pub" >"$T/keys"
		for id in 7 8 9 20; do cat "$T/priv-$id" "$T/keys.pub" >"$T/keys-$id"; done
	)
	# the test of TLS gets a cluster that serves clients over TLS only
	GLM_ETCD_TLS=0
	[[ $BATS_TEST_DESCRIPTION == *"over TLS"* ]] && GLM_ETCD_TLS=1
	etcd_cluster_start 3
}

teardown() {
	local rc=0 f
	for f in "${FRONTENDS[@]}"; do stop_frontend "$f" || rc=1; done
	glm_teardown || rc=1
	[[ -n ${T:-} && -d $T ]] && rm -rf "$T"
	return $rc
}

# start_frontend NAME PORT [MEMBER...]: imsd on [::1]:PORT over the members
# (default all), its log $T/NAME.log, control socket $T/NAME.sock;
# FRONTEND_CONF: one more line for its config.
start_frontend() {
	local name=$1 port=$2 urls="" i
	shift 2
	for i in ${*:-$(seq "$GLM_ETCD_N")}; do urls="$urls $(etcd_url "$i")"; done
	cat >"$T/$name.conf" <<-EOC
	listen [::1]:$port
	keyring $T/keys
	control $T/$name.sock
	max-lifetime 3600
	store etcd
	etcd-endpoints$urls
	etcd-timeout ${ETCD_TIMEOUT:-3000}
	${FRONTEND_CONF:-}
	EOC
	rm -f "$T/$name.pid"
	ip netns exec "$GLM_ETCD_CLIENT_NS" "$GLM_BIN/imsd" -d -v -f "$T/$name.conf" -p "$T/$name.pid" \
		2>>"$T/$name.log" &
	echo $! >"$T/$name.procpid"
	FRONTENDS+=("$name")
	for _ in $(seq 100); do
		[[ -s $T/$name.pid ]] && { [[ ${FRONTEND_UNSYNCED:-} == 1 ]] || grep -q "etcd: watching" "$T/$name.log"; } &&
			return 0
		kill -0 "$(cat "$T/$name.procpid")" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/$name.log" >&2
	false
}

stop_frontend() {
	local pid
	pid=$(cat "$T/$1.procpid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$T/$1.procpid"
	! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/$1.log" >&2 || false
}

# ims PORT ID ARGS...: imsclient as key ID against the frontend at PORT.
ims() {
	local port=$1 id=$2
	shift 2
	ip netns exec "$GLM_ETCD_CLIENT_NS" "$GLM_BIN/imsclient" -s "[::1]:$port" -k "$T/keys-$id" -i "$id" "$@"
}

ctl() { socat - "UNIX-CONNECT:$T/$1.sock" <<<"$2"; }
stat_of() { ctl "$1" stats | sed -n "s/^$2=//p"; }

# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
	local t=$1
	shift
	for _ in $(seq $((t * 10))); do "$@" && return 0; sleep 0.1; done
	"$@"
}

@test "etcd store: an update through one frontend is queried, pushed and expires at the other" {
	start_frontend A 5301
	start_frontend B 5302
	ims 5302 8 subscribe 2001:db8:100::/64 60 12 >"$T/sub" &
	sub=$!
	sleep 1
	run ims 5301 7 --vouch "$T/keys-20" update $HA 2001:db8:2::10 60
	[[ $status -eq 0 && $output == "ACK status=ok ha=$HA ma=2001:db8:2::10 lifetime=60 seq="* ]]
	run ims 5302 8 query $HA
	[[ $status -eq 0 && $output == "REPLY status=ok ha=$HA ma=2001:db8:2::10 lifetime="* ]]
	# the mapping is in etcd, as imsd(8) says: P m/HA with a lease, P s/HA without
	run etcd_ctl -- get --print-value-only /glm/m/$HA
	[[ $output == *" 2001:db8:2::10 "*" 7" ]]
	[[ $(etcd_ctl -- get -w json /glm/s/$HA) != *'"lease"'* ]]
	# a short lifetime: the lease ends, both frontends see it go
	run ims 5301 7 --vouch "$T/keys-20" update $HA2 2001:db8:2::11 3
	[[ $status -eq 0 ]]
	wait_for 10 grep -q "mapping $HA2 -> 2001:db8:2::11 expired" "$T/A.log"
	wait_for 5 grep -q "mapping $HA2 -> 2001:db8:2::11 expired" "$T/B.log"
	run ims 5301 8 query $HA2
	[[ $status -eq 1 && $output == "REPLY status=not_found"* ]]
	run ims 5302 8 query $HA2
	[[ $status -eq 1 && $output == "REPLY status=not_found"* ]]
	wait "$sub" || true
	cat "$T/sub"
	# B's subscriber was pushed A's updates: the mapping, the short one, its end
	grep -q "NOTIFY status=ok ha=$HA ma=2001:db8:2::10 lifetime=" "$T/sub"
	grep -q "NOTIFY status=ok ha=$HA2 ma=2001:db8:2::11 lifetime=3 " "$T/sub"
	grep -q "NOTIFY status=ok ha=$HA2 ma=2001:db8:2::11 lifetime=0 " "$T/sub"
	[[ $(stat_of B updates_ok) -eq 0 && $(stat_of A updates_ok) -eq 2 ]]
	run ctl B status
	[[ $output == *"store=etcd"* && $output == *"etcd_synced=yes"* ]]
	# imsctl: the same, in JSON; a query answered from etcd at either
	"$GLM_BIN/imsctl" -s "$T/B.sock" -j status | python3 -c "
import json,sys
d=json.load(sys.stdin)
assert d['store']=='etcd' and d['etcd_synced'] is True and d['etcd_revision']>0, d"
	run "$GLM_BIN/imsctl" -s "$T/A.sock" query $HA
	[[ $status -eq 0 && $output == "$HA 2001:db8:2::10 "* ]]
	run "$GLM_BIN/imsctl" -s "$T/B.sock" -j query $HA
	[[ $status -eq 0 ]]
	python3 -m json.tool <<<"$output" >/dev/null
	run "$GLM_BIN/imsctl" -s "$T/B.sock" query $HA2
	[[ $status -eq 65 && $output == "imsctl: imsd: query $HA2: no mapping" ]]
}

@test "etcd store: the same update sent to two frontends at once is accepted once; replays and stale updates are refused at either" {
	start_frontend A 5301
	start_frontend B 5302
	for k in 1 2 3 4 5 6; do
		# sealed, not delivered (nothing listens on 5399)
		ims 5399 7 -t 50 --vouch "$T/keys-20" --save "$T/u$k" update $HA 2001:db8:2::2$k 60 2>/dev/null || true
		ims 5301 7 -t 3000 --raw "$(cat "$T/u$k")" >"$T/a$k" 2>&1 &
		a=$!
		ims 5302 7 -t 3000 --raw "$(cat "$T/u$k")" >"$T/b$k" 2>&1 || true
		wait "$a" || true
		cat "$T/a$k" "$T/b$k"
		[[ $(cat "$T/a$k" "$T/b$k" | grep -c "ACK status=ok") -eq 1 ]]
		[[ $(cat "$T/a$k" "$T/b$k" | grep -c "ACK status=stale") -eq 1 ]]
	done
	# some were refused by etcd's compare, not only by a frontend's cache
	grep -h "refused: stale seq" "$T/A.log" "$T/B.log"
	# a replay of an old one, later, at either: stale, and nothing moves
	run ims 5301 7 -t 3000 --raw "$(cat "$T/u1")"
	[[ $output == "ACK status=stale ha=$HA"* ]]
	run ims 5302 7 -t 3000 --raw "$(cat "$T/u3")"
	[[ $output == "ACK status=stale ha=$HA"* ]]
	run ims 5302 8 query $HA
	[[ $output == "REPLY status=ok ha=$HA ma=2001:db8:2::26 "* ]]
	[[ $(etcd_ctl -- get --print-value-only /glm/m/$HA) == *" 2001:db8:2::26 "* ]]
}

@test "etcd store: kill -9 of the etcd leader during 10,000 updates from four clients: imsd answers on, no acked update is lost" {
	start_frontend A 5301
	start_frontend B 5302
	local pids=() i=0 c
	for c in "7 $HA 5301" "7 $HA2 5302" "9 2001:db8:100::20 5301" "9 2001:db8:100::21 5302"; do
		set -- $c
		i=$((i + 1))
		ims "$3" "$1" --vouch "$T/keys-20" -c 2500 -w 8 -t 3000 --keep-going --acked "$T/acked-$i" \
			update "$2" 2001:db8:2::3$i 600 >"$T/client-$i" 2>&1 &
		pids+=($!)
	done
	sleep 2
	leader=$(etcd_leader)
	before=$(cat "$T"/acked-* | wc -l)
	echo "killing the leader, member $leader, after $before acks"
	etcd_member_kill "$leader"
	for p in "${pids[@]}"; do wait "$p" || true; done
	cat "$T"/client-*
	acked=$(cat "$T"/acked-* | wc -l)
	sent=$(grep -h "^sent=" "$T"/client-* | awk -F'[= ]' '{s += $2} END {print s}')
	echo "acked: $acked of $sent"
	# every write etcd ever took for the four home addresses, from its history
	local others
	others=$(seq 3 | grep -vx "$leader" | paste -sd' ')
	timeout 20 ip netns exec "$GLM_ETCD_CLIENT_NS" env ETCDCTL_API=3 etcdctl \
		--endpoints="$(etcd_endpoints $others)" watch --rev 1 --prefix /glm/s/ >"$T/history" || true
	awk 'NF == 2 && length($1) == 16 { print $1 }' "$T/history" | sort -u >"$T/written.hex"
	cat "$T"/acked-* | while read -r s _; do printf '%016x\n' "$s"; done | sort -u >"$T/acked.hex"
	lost=$(comm -23 "$T/acked.hex" "$T/written.hex" | wc -l)
	echo "written: $(wc -l <"$T/written.hex"), acked and not in etcd: $lost"
	[[ $lost -eq 0 ]]
	# imsd kept answering: all were sent, most acked, many after the kill
	[[ $sent -eq 10000 && $acked -ge 9000 && $acked -ge $((before + 1000)) ]]
	# the four home addresses' updates shared transactions (imsd(8)): that
	# path, its fallback and the kill are what this test covered
	echo "shared: A $(stat_of A etcd_txn_shared_updates), B $(stat_of B etcd_txn_shared_updates)"
	[[ $(($(stat_of A etcd_txn_shared_updates) + $(stat_of B etcd_txn_shared_updates))) -gt 0 ]]
}

@test "etcd store: the leader cut off from the others: a frontend that reaches only it acks nothing, the majority goes on" {
	leader=$(etcd_leader)
	start_frontend A 5301 "$leader"
	start_frontend B 5302
	run ims 5301 7 --vouch "$T/keys-20" update $HA 2001:db8:2::40 60
	[[ $status -eq 0 ]]
	etcd_isolate "$leader"
	for k in 1 2 3; do
		run ims 5301 7 -t 4000 --vouch "$T/keys-20" update $HA 2001:db8:2::4$k 60
		echo "$output"
		[[ $status -eq 2 ]] # no answer at all: not stored, not acked
	done
	run ims 5302 7 -t 8000 --vouch "$T/keys-20" update $HA 2001:db8:2::49 60
	echo "$output"
	[[ $status -eq 0 && $output == "ACK status=ok"* ]]
	others=$(seq 3 | grep -vx "$leader" | paste -sd' ')
	[[ $(etcd_ctl $others -- get --print-value-only /glm/m/$HA) == *" 2001:db8:2::49 "* ]]
	[[ $(stat_of A updates_ok) -eq 1 && $(stat_of A updates_unavailable) -ge 1 ]]
	run ctl A status
	echo "$output"
	[[ $output == *"etcd_last_error="?* ]]
	grep -q "updates refused for 0.5 s" "$T/A.log"
	# healed: A's member catches up, A acks again
	etcd_heal
	etcd_wait_leader 20 >/dev/null
	wait_for 20 ims 5301 7 -t 3000 --vouch "$T/keys-20" update $HA 2001:db8:2::50 60 >/dev/null
	run ims 5302 8 query $HA
	[[ $output == "REPLY status=ok ha=$HA ma=2001:db8:2::50 "* ]]
}

@test "etcd store: with every member down, updates go unanswered and queries are answered from the cache; it recovers" {
	start_frontend A 5301
	run ims 5301 7 --vouch "$T/keys-20" update $HA 2001:db8:2::60 60
	[[ $status -eq 0 ]]
	wait_for 5 bash -c "socat - UNIX-CONNECT:$T/A.sock <<<dump | grep -q '^$HA 2001:db8:2::60 '"
	for i in 1 2 3; do etcd_member_kill "$i"; done
	run ims 5301 7 -t 3000 --vouch "$T/keys-20" update $HA 2001:db8:2::61 60
	echo "update: $status $output"
	[[ $status -eq 2 ]]
	# longer than a round of imsd's (etcd-timeout 3000): a query made while
	# the watch is being re-established tries etcd first
	run ims 5301 8 -t 8000 query $HA
	echo "query: $status $output"
	[[ $status -eq 0 && $output == "REPLY status=ok ha=$HA ma=2001:db8:2::60 "* ]]
	run ctl A status
	echo "$output"
	[[ $output == *"etcd_last_error="?* ]]
	[[ $(stat_of A updates_unavailable) -ge 1 ]]
	grep -q "no member stored the batch" "$T/A.log"
	for i in 1 2 3; do etcd_member_start "$i"; done
	etcd_wait_healthy 30
	wait_for 30 ims 5301 7 -t 3000 --vouch "$T/keys-20" update $HA 2001:db8:2::62 60 >/dev/null
	wait_for 10 bash -c "socat - UNIX-CONNECT:$T/A.sock <<<status | grep -q etcd_synced=yes"
	# synced means whole: a restarted watch reads the mappings before it
	# says so (it once replayed what it missed just after, and this query
	# got the old MA)
	run ims 5301 8 query $HA
	[[ $output == "REPLY status=ok ha=$HA ma=2001:db8:2::62 "* ]]
}

@test "etcd store over TLS with client certificates: a frontend with its certificate serves; without it, or with the wrong CA, nothing is stored" {
	FRONTEND_CONF="etcd-cacert $(etcd_tls ca.pem)
etcd-cert $(etcd_tls client.pem)
etcd-key $(etcd_tls client-key.pem)"
	start_frontend A 5301
	start_frontend B 5302
	[[ $(head -1 <<<"$(etcd_url 1)") == https://* ]]
	run ims 5301 7 --vouch "$T/keys-20" update $HA 2001:db8:2::70 60
	[[ $status -eq 0 && $output == "ACK status=ok"* ]]
	run ims 5302 8 query $HA
	[[ $output == "REPLY status=ok ha=$HA ma=2001:db8:2::70 "* ]]
	# no client certificate: etcd refuses the handshake; nothing acked
	FRONTEND_UNSYNCED=1 ETCD_TIMEOUT=1000 FRONTEND_CONF="etcd-cacert $(etcd_tls ca.pem)" start_frontend C 5303 1
	run ims 5303 7 -t 3000 --vouch "$T/keys-20" update $HA 2001:db8:2::71 60
	[[ $status -eq 2 ]]
	cat "$T/C.log"
	grep -qi "certificate" "$T/C.log"
	# the system's CAs instead of ours: the members' certificates are not trusted
	FRONTEND_UNSYNCED=1 ETCD_TIMEOUT=1000 FRONTEND_CONF="etcd-cert $(etcd_tls client.pem)
etcd-key $(etcd_tls client-key.pem)" start_frontend D 5304 1
	run ims 5304 7 -t 3000 --vouch "$T/keys-20" update $HA 2001:db8:2::72 60
	[[ $status -eq 2 ]]
	cat "$T/D.log"
	grep -qi "certificate" "$T/D.log"
	# A's mapping stands
	[[ $(etcd_ctl -- get --print-value-only /glm/m/$HA) == *" 2001:db8:2::70 "* ]]
}

@test "etcd store: metrics pass promtool; the update, the store write and the etcd counters move" {
	command -v curl >/dev/null || skip "curl is not installed"
	source "$BATS_TEST_DIRNAME/lib/metrics.bash"
	FRONTEND_CONF="metrics [::1]:9464" start_frontend A 5301
	run ims 5301 7 --vouch "$T/keys-20" update $HA 2001:db8:2::10 60
	[[ $status -eq 0 ]]
	metrics_get "$GLM_ETCD_CLIENT_NS" ::1 9464 >"$T/m"
	run metrics_check "$T/m"
	echo "$output"
	[[ $status -eq 0 ]]
	[[ $(metric "$T/m" 'glm_imsd_updates_total{result="ok"}') == 1 ]]
	[[ $(metric "$T/m" glm_imsd_etcd_synced) == 1 ]]
	[[ $(metric "$T/m" glm_imsd_etcd_txns_total) -ge 1 ]]
	[[ $(metric "$T/m" glm_imsd_store_write_seconds_count) -ge 1 ]]
	[[ $(metric "$T/m" glm_imsd_etcd_txn_seconds_total) != 0 ]]
}
