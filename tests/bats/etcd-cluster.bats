#!/usr/bin/env bats
# The etcd cluster that imsd's etcd store is tested on (lib/etcd.bash),
# checked with etcdctl alone: three real members of Debian's etcd-server,
# each in its own namespace on a link of their own, the client (etcdctl)
# in a fourth that holds the link's bridge:
#
#     glm-etcd-tN-PID-ec: br0 2001:db8:e::100, etcdctl
#     +--------------+--------------+
#     e1 e::1        e2 e::2        e3 e::3     (:2379 clients, :2380 peers)
#
# and, in the last test, the same members on the testbed's link C, where
# imsd will reach them. A member is cut off from the others by a drop
# rule in its own namespace (etcd_isolate); clients still reach it.

load lib/testbed
load lib/glm

setup() {
	etcd_check || skip "$GLM_ETCD_MISSING"
}

# Stop the cluster and check that nothing of it is left: no member
# process, no namespace, no tmpfs, no scratch directory.
teardown() {
	local pids="" i pfx=$GLM_ETCD_PFX dir=$GLM_ETCD_DIR
	if [ -n "$dir" ]; then
		for i in $(seq "$GLM_ETCD_N"); do pids="$pids $(etcd_member_pid "$i")"; done
	fi
	glm_teardown
	[ -z "$dir" ] && return 0
	for i in $pids; do
		! kill -0 "$i" 2>/dev/null || { echo "etcd member pid $i left running" >&2; return 1; }
	done
	! ip netns list | grep -q "^$pfx-e" || { echo "namespaces left: $(ip netns list | grep "^$pfx-")" >&2; return 1; }
	! grep -q " $dir/" /proc/mounts || { echo "mount left in $dir" >&2; return 1; }
	[ ! -e "$dir" ]
}

# put_via I KEY VALUE: a put through member I alone.
put_via() { etcd_ctl "$1" -- --command-timeout=5s put "$2" "$3"; }

# local_get I KEY: what member I holds for KEY, from its own store
# (serializable: no round to the leader, works on a cut-off member).
local_get() { etcd_ctl "$1" -- --command-timeout=2s get --consistency=s --print-value-only "$2"; }

# wait_local I KEY VALUE TIMEOUT: until member I holds VALUE for KEY.
wait_local() {
	local d
	d=$(etcd__deadline "$4")
	while etcd__before "$d"; do
		[ "$(local_get "$1" "$2" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.1
	done
	echo "member $1 does not hold $2=$3 after $4 s (it holds '$(local_get "$1" "$2" 2>&1)')" >&2
	return 1
}

@test "a 3-member cluster comes up, each member in its own namespace, with one leader" {
	etcd_cluster_start 3
	[ "$GLM_ETCD_N" = 3 ]
	local leader i pid
	leader=$(etcd_leader)
	[[ $leader =~ ^[123]$ ]]
	# all three answer, name the same leader, and only it names itself
	run etcd__status
	[ "$status" = 0 ]
	echo "$output"
	[ "${#lines[@]}" = 3 ]
	[ "$(awk '{print $3}' <<<"$output" | sort -u | wc -l)" = 1 ]
	[ "$(awk '$2 == $3 {print $1}' <<<"$output")" = "$leader" ]
	etcd_ctl -- endpoint health
	[ "$(etcd_ctl -- member list | wc -l)" = 3 ]
	for i in 1 2 3; do
		pid=$(etcd_member_pid "$i")
		[ -n "$pid" ]
		[ "$(ip netns identify "$pid")" = "$GLM_ETCD_PFX-e$i" ]
		[ -d "$GLM_ETCD_DIR/data/m$i/member/wal" ]
	done
	[ "$(etcd_endpoints)" = "http://[2001:db8:e::1]:2379,http://[2001:db8:e::2]:2379,http://[2001:db8:e::3]:2379" ]
	[ "$(etcd_endpoints 2 3)" = "http://[2001:db8:e::2]:2379,http://[2001:db8:e::3]:2379" ]
}

@test "a put through member 1 is read through member 3, and is in member 3's own store" {
	etcd_cluster_start 3
	put_via 1 /glm/test/a hello
	[ "$(etcd_ctl 3 -- get --print-value-only /glm/test/a)" = hello ]
	wait_local 3 /glm/test/a hello 5
}

@test "kill -9 of the leader: the others elect one and take writes; it rejoins after a restart" {
	etcd_cluster_start 3
	local old new others=() i
	old=$(etcd_leader)
	for i in 1 2 3; do [ "$i" = "$old" ] || others+=("$i"); done
	etcd_member_kill "$old"
	[ -z "$(etcd_member_pid "$old")" ]
	new=$(etcd_wait_leader 10 "${others[@]}")
	[ "$new" != "$old" ]
	# writable the whole time it is down, through either survivor
	for i in $(seq 10); do
		put_via "${others[$((i % 2))]}" "/glm/test/k$i" "v$i"
	done
	! etcd_ctl "$old" -- --command-timeout=1s get /glm/test/k1
	etcd_member_start "$old"
	etcd_wait_healthy 20
	wait_local "$old" /glm/test/k10 v10 10
	[ "$(etcd_ctl "$old" -- get --consistency=s --prefix --keys-only /glm/test/ | grep -c .)" = 10 ]
	# and it takes part again: a write through it commits
	put_via "$old" /glm/test/back yes
	wait_local "$new" /glm/test/back yes 5
}

@test "the leader cut off from the others commits nothing; the majority elects another and commits" {
	etcd_cluster_start 3
	local old new others=() i
	old=$(etcd_leader)
	for i in 1 2 3; do [ "$i" = "$old" ] || others+=("$i"); done
	put_via "$old" /glm/test/before 1
	etcd_isolate "$old"
	ip netns exec "$GLM_ETCD_PFX-e$old" nft list table inet glm_etcd_isolate >/dev/null
	# the minority: a write through the old leader times out, not acked
	run etcd_ctl "$old" -- --command-timeout=2s put /glm/test/minority lost
	echo "# put through the cut-off leader: status $status: ${lines[-1]}" >&3
	[ "$status" != 0 ]
	# the majority: a new leader among the two, and it commits
	new=$(etcd_wait_leader 10 "${others[@]}")
	[ "$new" != "$old" ]
	put_via "${others[0]}" /glm/test/majority 2
	put_via "${others[1]}" /glm/test/majority 3
	wait_local "${others[0]}" /glm/test/majority 3 5
	# the cut-off member still answers its clients, from its own store:
	# neither its own write nor the majority's is there
	[ "$(local_get "$old" /glm/test/before)" = 1 ]
	[ -z "$(local_get "$old" /glm/test/majority)" ]
	[ -z "$(local_get "$old" /glm/test/minority)" ]
	[ -z "$(etcd_ctl "${others[0]}" -- get --print-value-only /glm/test/minority)" ]
	# healed: it follows the new leader and catches up; its write stays lost
	etcd_heal
	! ip netns exec "$GLM_ETCD_PFX-e$old" nft list table inet glm_etcd_isolate 2>/dev/null
	wait_local "$old" /glm/test/majority 3 10
	[ -z "$(local_get "$old" /glm/test/minority)" ]
	etcd_wait_healthy 10
	echo "# leader $old cut off, $new elected; after the heal: $(etcd_leader)" >&3
}

@test "etcd_cluster_stop leaves no member, namespace, nftables table, mount or file" {
	etcd_cluster_start 3
	local pids="" i pfx=$GLM_ETCD_PFX dir=$GLM_ETCD_DIR
	for i in 1 2 3; do pids="$pids $(etcd_member_pid "$i")"; done
	etcd_isolate 2
	etcd_cluster_stop
	for i in $pids; do ! kill -0 "$i"; done
	! ip netns list | grep -q "^$pfx-"
	! grep -q " $dir/" /proc/mounts
	[ ! -e "$dir" ]
	[ -z "$GLM_ETCD_DIR" ]
	etcd_cluster_stop
}

@test "on the testbed: members on link C, reached from ims, stopped by glm_teardown" {
	tb_setup --no-wait
	etcd_cluster_start 3
	[ "$(etcd_endpoints)" = "http://[2001:db8:c::e1]:2379,http://[2001:db8:c::e2]:2379,http://[2001:db8:c::e3]:2379" ]
	[ "$GLM_ETCD_CLIENT_NS" = "$TB-ims" ]
	# etcdctl from ims, and from cn through its own namespace
	put_via 2 /glm/test/tb yes
	[ "$(tb_exec cn env ETCDCTL_API=3 etcdctl --endpoints="$(etcd_endpoints)" get --print-value-only /glm/test/tb)" = yes ]
	tb_exec e1 ip -6 addr show dev eth0 | grep -q 2001:db8:c::e1/64
	[ "$(ip netns identify "$(etcd_member_pid 3)")" = "$TB-e3" ]
}
