# shellcheck shell=bash
# testbed.bash: the network-namespace testbed that glm's integration tests,
# the demo and the benchmark all run on. It builds three IPv6 links joined
# by a router with radvd, two hypervisor hosts on different links (plus a
# second host on the first link for the same-subnet baseline), a
# correspondent, the IMS, and a "vm" namespace whose NIC is a veth whose
# host-side end can be moved from one host's bridge to another's: the VM's
# link drops and returns as a migrated guest's does. It is plain bash (no
# bats constructs) so scripts can source it, and every function works under
# `set -e` and `set -u`.
#
# Every box below is a netns named "$TB-<node>", TB=glm-<name>-<pid>.
#
#                     rt   forwarding=1, one radvd (fast RAs on all three)
#     +---------------------+----------------------+---------------------+
#     | brA fe80::1         | brB fe80::1          | brC fe80::1         |
#     |  2001:db8:a::1/64   |  2001:db8:b::1/64    |  2001:db8:c::1/64   |
#     +--pA-hA---pA-hA2-----+--pB-hB---------------+--pC-cn----pC-ims----+
#          |        |          |                      |          |
#         up0      up0        up0                    eth0       eth0
#     hA br0    hA2 br0      hB br0               cn c::10    ims c::5
#     a::2      a::3         b::2                 (static, default via fe80::1)
#       |
#     vnet0 (vnet1)  <- host-side ends; tb_migrate moves them to hA2 or hB
#       |
#     vm eth0 (eth1) SLAAC from whichever link it is on, optimistic DAD
#
# The home gateway (glm.bash glm_start_gatewayd, gateway.bats) runs on rt
# itself: rt is every node's default router, so the home prefix
# 2001:db8:100::/64 reaches it from anywhere, as at a site edge. Its table
# ip6 glm_gw rewrites a home address to the guest's MA before rt routes:
#
#     cn (no glm software) --dst HA--> rt [glm-gatewayd: HA -> MA] --dst MA--> vm on A or B
#     cn <--------------------------------------- src HA, straight ----------- vm
#
# glm_start_gatewayd also routes the home prefix in rt to glmhome, a veth
# whose peer stays down: rt's own packets to an HA (a Packet Too Big to
# the vm) need a route to be sent at all, then leave for the MA.
#
# With --site, a site gateway and a network of plain hosts behind it
# (MAT-NET; glm.bash glm_start_site_gateway, site-gateway.bats):
#
#     --- brC (link C) ---+
#                         |
#                       pC-sg
#                       sg eth0   c::40 (static, default via fe80::1), forwarding=1
#                       sg eth1   d::1/64   [glm-gatewayd: site gateway for d::/64]
#                         |       link D 2001:db8:d::/64 (a veth pair, no router
#                         |       advertisements: static addresses)
#                       pd eth0   d::10, default via d::1: a plain host, no glm software
#
# rt routes 2001:db8:d::/64 via c::40. The vm's packets to pd leave with
# its MA (pd is in the site gateway key's prefix: a translating peer),
# and sg rewrites their source back to the HA; pd's answers to the HA get
# their destination rewritten to the MA at sg, and go straight to the vm:
#
#     vm --src MA, dst d::10--> rt --> sg [MA -> HA] --src HA--> pd
#     vm <--dst MA-- rt <-- sg [HA -> MA] <--dst HA----------------- pd
#
# Bridges are created with mcast_snooping 0 and STP off. The host bridges
# sit between the VM and the router on purpose: a plain veth to the router
# would take the router's port down and up with the VM's link, and radvd
# would answer at once, which a real network does not do.
#
# With --mcast, two more nodes on link C and multicast routing:
#
#     rt  static routes: ff3e::1234, ff3e::5678 from any source, in on
#         brC, out on brA only; link B gets no multicast. smcrouted
#         (sandboxed in TB_DIR) sets them where the kernel routes
#         multicast; elsewhere the nftables stand-in of mroute.bash does
#         the same on the wire (hop limit decremented, the router's MAC
#         on the outbound link). TB_MROUTE says which (kernel-mroute or
#         nft-dup); GLM_TEST_NO_MROUTE=1 asks for the stand-in anyway.
#     +--- brC ---+------------+-- (cn, ims)
#     |           |            |
#   pC-src     pC-relay
#   src eth0   relay eth0      (static, default via fe80::1)
#   c::30      c::20           src: the sender; relay: glm-agentd's relay role
#
# and the host bridges (hA, hA2, hB br0) snoop MLD, with their own querier
# (the TB_MC_* intervals below, shortened from the defaults so a test sees
# queries and expiries in seconds, not minutes) and up0 a permanent
# multicast router port: a stream from the router reaches only the ports
# that reported the group (or that are in the MDB), and reports go up. A
# moved VM's port so gets the group only after its own report: the
# "snooping gap" of LAB.md, real here. The router's bridges do not snoop,
# so a VM's report on hA also registers the group on hA2's up0 (and a
# group registered nowhere on a bridge is flooded to all its ports, as a
# Linux bridge does). Routes are static (no Debian package routes IPv6
# multicast from MLD): the router forwards the groups to link A whether
# or not anyone there listens.
#
# --relay-mtu MTU gives links B and C (every port, the router's bridges,
# hB's uplink and the link-C nodes' eth0) that MTU: the relay's path
# (relay -> rt -> hB). A RELAYED_PACKET is the original packet plus 120
# bytes (140 source-specific), so at 1500 a full-size packet leaves the
# relay in two fragments that hB reassembles; glm-agentd(8) asks for room
# on that path. Links A and the hosts' bridges stay at 1500.
#
# API (all return non-zero with a message on stderr on failure):
#   tb_setup [--two-nics] [--name NAME] [--ra-solicited] [--no-wait] [--mcast]
#            [--relay-mtu MTU] [--site]
#   tb_teardown
#   tb_ns NODE                      print the netns name of NODE
#   tb_exec NODE CMD...             run CMD in NODE's netns
#   tb_spawn NODE CMD... [>out]     run CMD in the background in NODE,
#                                   recorded for teardown; pid in TB_PID
#   tb_wait_pid PID TIMEOUT         wait for a tb_spawn'ed child, return its status
#   tb_wait_addr [--final] NODE IF PREFIX TIMEOUT
#                                   print the first global address in PREFIX
#                                   once it is usable (optimistic or DAD done)
#   tb_migrate [--no-announce] [--down MS] DEST   DEST: hA | hA2 | hB
#   tb_migrate --attach-only DEST   the first half: the vm's ends moved into
#                                   DEST's br0, still down (no carrier)
#   tb_migrate --resume [--no-announce]  the second half: up (switch-over)
#   tb_vm_host                      print the vm's current host
#   tb_add_guest NAME HOST PORT MAC another guest: netns "$TB-NAME" (node NAME)
#                                   whose eth0 (MAC; link-local, no DAD)
#                                   is the peer of PORT in HOST's br0
#   tb_var [NAME]                   print one variable, or all as exports
#                                   (eval "$(tb_var)" in a child script)
#   tb_json FILE KEY                print a top-level field of a JSON report
# With --mcast:
#   tb_mroute_add [--from IF] [--to "IF..."] GROUP [SOURCE]
#                                   add a static route in rt (default brC -> brA)
#   tb_mroute_del [--from IF] GROUP [SOURCE]
#   tb_mroute_show                  the router's multicast routes: "(S|*, G) IN OUT..."
#                                   lines (smcroutectl show routes, or the stand-in's)
#   tb_mroute_kind                  kernel-mroute | nft-dup
#   tb_mroute_out_pkts IF           multicast packets the router forwarded out of IF
#   tb_mdb NODE                     print NODE's br0 MDB, one "port group flags" a line
#   tb_wait_mdb NODE PORT GROUP TIMEOUT  wait until PORT is in GROUP on NODE's br0
#   tb_mdb_watch NODE               spawn `bridge -t monitor mdb` in NODE, log
#                                   to $TB_DIR/mdb-NODE.log; pid in TB_PID
#   tb_mdb_events NODE [PORT GROUP] its events: "EPOCH add|del PORT GROUP FLAGS"
# Nodes: rt hA hA2 hB cn ims vm, with --mcast src relay, with --site sg pd. Addresses and
# names: see tb_var.

TB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=features.bash
source "$TB_LIB_DIR/features.bash"
# shellcheck source=mroute.bash
source "$TB_LIB_DIR/mroute.bash"
: "${GLM_BIN:=$(cd "$TB_LIB_DIR/../../.." && pwd)/build/bin}"

TB_BASE_NODES="rt hA hA2 hB cn ims vm"
TB_MCAST_NODES="src relay"
TB_SITE_NODES="sg pd"
TB_NODES=$TB_BASE_NODES
TB_ROUTER_LL=fe80::1
TB_PREFIX_A=2001:db8:a::/64
TB_PREFIX_B=2001:db8:b::/64
TB_PREFIX_C=2001:db8:c::/64
TB_CN_ADDR=2001:db8:c::10
TB_IMS_ADDR=2001:db8:c::5
TB_HA_ADDR=2001:db8:a::2
TB_HA2_ADDR=2001:db8:a::3
TB_HB_ADDR=2001:db8:b::2
TB_VM_MAC0=52:54:00:12:34:56
TB_VM_MAC1=52:54:00:12:34:57
TB_SRC_ADDR=2001:db8:c::30
TB_RELAY_ADDR=2001:db8:c::20
TB_SG_ADDR=2001:db8:c::40
TB_PREFIX_D=2001:db8:d::/64
TB_SG_D_ADDR=2001:db8:d::1
TB_PD_ADDR=2001:db8:d::10
# The groups the router forwards from link C to link A (--mcast).
TB_MC_GROUPS="ff3e::1234 ff3e::5678"
# MLD snooping on the host bridges (--mcast), in centiseconds (ip-link's
# unit). Defaults are 125 s queries, 10 s response, 260 s membership; here
# 5 s / 0.5 s / 10.5 s (= robustness 2 x query + response), so a test sees a
# general query and a stale entry expire within seconds. The querier
# (MLDv2; hA's wins the election on link A, lowest address) starts with 2
# queries 1 s apart; leaves are checked with 2 queries 0.2 s apart. After
# the bridge comes up it floods every group for one response interval
# before it trusts its MDB (the kernel's querier delay): tb_setup waits
# that out, which is most of --mcast's cost (setup ~0.7 s instead of ~0.4).
TB_MC_QUERY_INTERVAL=500
TB_MC_RESPONSE_INTERVAL=50
TB_MC_MEMBERSHIP_INTERVAL=1050
TB_MC_QUERIER_INTERVAL=1025
TB_MC_STARTUP_QUERY_INTERVAL=100
TB_MC_LAST_MEMBER_INTERVAL=20

tb__err() { echo "testbed: $*" >&2; }

# Seconds since the epoch with microseconds, without a fork.
tb__now() { echo "${EPOCHREALTIME/,/.}"; }

tb__node_ok() {
	local nodes=$TB_NODES
	# A child script that sourced this file after `eval "$(tb_var)"` learns
	# the testbed's nodes (--mcast adds two) from TB_DIR.
	[ -n "${TB_DIR:-}" ] && [ -f "$TB_DIR/nodes" ] && nodes=$(<"$TB_DIR/nodes")
	case " $nodes " in
	*" $1 "*) return 0 ;;
	esac
	tb__err "unknown node '$1' (nodes: $nodes)"
	return 1
}

tb_ns() {
	[ -n "${TB:-}" ] || { tb__err "no testbed (tb_setup not run)"; return 1; }
	tb__node_ok "$1" || return 1
	echo "$TB-$1"
}

tb_exec() {
	local ns
	ns=$(tb_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@"
}

# Record a pid with its start time so teardown never kills a recycled pid.
tb__record_pid() {
	local pid=$1 file=${2:-$TB_DIR/pids} stat start
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || stat=""
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	start=${20:-0}
	echo "$pid $start" >>"$file"
}

# True if pid is alive (not a zombie) and still the process we started.
tb__alive() {
	local pid=$1 start=$2 stat
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	[ "$1" != Z ] && [ "$1" != X ] && [ "${20:-}" = "$start" ]
}

# Background CMD in NODE's netns; the caller's redirections apply to it.
# fd 3 is closed in the child so bats does not wait for it. Call it in
# the current shell (not in $(...)) so TB_PID reaches the caller.
tb_spawn() {
	local ns
	ns=$(tb_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@" 3>&- &
	TB_PID=$!
	tb__record_pid "$TB_PID"
}

# Wait up to TIMEOUT seconds for a child started by tb_spawn, return its
# exit status (124 on timeout, the process is left running).
tb_wait_pid() {
	local pid=$1 timeout=$2 deadline rc=0
	deadline=$(awk -v n="$(tb__now)" -v t="$timeout" 'BEGIN{printf "%.6f", n+t}')
	while kill -0 "$pid" 2>/dev/null; do
		if awk -v n="$(tb__now)" -v d="$deadline" 'BEGIN{exit !(n>=d)}'; then
			# A zombie still answers kill -0; only wait can tell.
			[ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] && return 124
			break
		fi
		sleep 0.02
	done
	wait "$pid" || rc=$?
	return "$rc"
}

tb__ns_add() {
	local ns="$TB-$1"
	ip netns add "$ns" || { tb__err "ip netns add $ns failed"; return 1; }
	echo "$ns" >>"$TB_DIR/netns"
}

tb__radvd_conf() {
	local solicited=$1 l
	for l in A B C; do
		cat <<EOF
interface br$l {
	AdvSendAdvert on;
	MinRtrAdvInterval 0.03;
	MaxRtrAdvInterval 0.07;
	# Sub-second intervals need a Mobile IPv6 option, or radvd sends nothing.
	AdvIntervalOpt on;
	# The default (3 x MaxRtrAdvInterval) rounds to 0: not a default router.
	AdvDefaultLifetime 1800;
	$( [ "$solicited" = 1 ] && echo "UnicastOnly on;" )
	prefix 2001:db8:$(echo $l | tr ABC abc)::/64 {
		AdvOnLink on;
		AdvAutonomous on;
	};
};
EOF
	done
}

# The router's smcrouted: only the three bridges are multicast interfaces
# (-N + phyint), the test groups from any source on link C go to link A.
tb__smcroute_conf() {
	local g
	echo "# smcrouted for testbed $TB: link C -> link A; link B gets nothing"
	echo "phyint brA enable"
	echo "phyint brB enable"
	echo "phyint brC enable"
	for g in $TB_MC_GROUPS; do
		echo "mroute from brC group $g to brA"
	done
}

tb_setup() {
	local two_nics=0 name="" solicited=0 wait=1 mcast=0 site=0 relay_mtu="" l n
	while [ $# -gt 0 ]; do
		case "$1" in
		--two-nics) two_nics=1 ;;
		--mcast) mcast=1 ;;
		--site) site=1 ;;
		--ra-solicited) solicited=1 ;;
		--no-wait) wait=0 ;;
		--name) name=$2; shift ;;
		--relay-mtu)
			case ${2:-} in
			'' | *[!0-9]*) tb__err "tb_setup: --relay-mtu needs a number"; return 1 ;;
			esac
			relay_mtu=$2; shift ;;
		*) tb__err "tb_setup: unknown option $1"; return 1 ;;
		esac
		shift
	done
	if [ -n "${TB_DIR:-}" ] && [ -d "$TB_DIR" ]; then
		tb__err "tb_setup: testbed $TB already set up"
		return 1
	fi
	if [ -z "$name" ]; then
		name=${BATS_TEST_NAME:-$(basename "${0:-tb}" .sh)}
		[ -n "${BATS_TEST_NUMBER:-}" ] && name="t$BATS_TEST_NUMBER"
	fi
	name=$(echo "$name" | tr -c 'A-Za-z0-9\n' '-' | cut -c1-16)
	TB="glm-$name-$$"
	TB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$TB.XXXXXX") || { tb__err "mktemp failed"; return 1; }
	: >"$TB_DIR/pids"
	: >"$TB_DIR/netns"
	: >"$TB_DIR/migrations"
	echo "$two_nics" >"$TB_DIR/two_nics"
	echo "$mcast" >"$TB_DIR/mcast"
	TB_NODES=$TB_BASE_NODES
	[ $mcast = 1 ] && TB_NODES="$TB_NODES $TB_MCAST_NODES"
	[ $site = 1 ] && TB_NODES="$TB_NODES $TB_SITE_NODES"
	echo "$TB_NODES" >"$TB_DIR/nodes"
	TB_T_SETUP0=$(tb__now)

	for n in $TB_NODES; do tb__ns_add "$n" || return 1; done
	local rt="$TB-rt"

	# Router: three bridges with the same explicit link-local on each
	# (addrgenmode none, so radvd's RAs come from fe80::1).
	ip -n "$rt" -b - <<EOF || { tb__err "router links failed"; return 1; }
link set lo up
link add brA address 02:00:00:00:0a:01 type bridge mcast_snooping 0 stp_state 0
link add brB address 02:00:00:00:0b:01 type bridge mcast_snooping 0 stp_state 0
link add brC address 02:00:00:00:0c:01 type bridge mcast_snooping 0 stp_state 0
link set brA addrgenmode none
link set brB addrgenmode none
link set brC addrgenmode none
EOF
	# Ports (veths) carry no IPv6 of their own: created after default.disable_ipv6=1.
	ip netns exec "$rt" sysctl -q -w net.ipv6.conf.all.forwarding=1 \
		net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.brA.accept_dad=0 net.ipv6.conf.brB.accept_dad=0 \
		net.ipv6.conf.brC.accept_dad=0 >/dev/null ||
		{ tb__err "router sysctls failed"; return 1; }

	# Hosts: br0 with a static address, uplink up0 to the router's bridge.
	local h link addr mac snoop="mcast_snooping 0" querier="" mrouter=""
	if [ $mcast = 1 ]; then
		# Intervals first, the querier in a second request, so it starts
		# with the short response interval (LAB.md: it floods for one).
		snoop="mcast_snooping 1 mcast_query_interval $TB_MC_QUERY_INTERVAL
			mcast_query_response_interval $TB_MC_RESPONSE_INTERVAL
			mcast_membership_interval $TB_MC_MEMBERSHIP_INTERVAL
			mcast_querier_interval $TB_MC_QUERIER_INTERVAL
			mcast_startup_query_interval $TB_MC_STARTUP_QUERY_INTERVAL
			mcast_last_member_interval $TB_MC_LAST_MEMBER_INTERVAL mcast_mld_version 2"
		querier="link set br0 type bridge mcast_querier 1"
		mrouter="link set up0 type bridge_slave mcast_router 2"
	fi
	for h in hA hA2 hB; do
		case $h in
		hA) link=A addr=$TB_HA_ADDR mac=02:00:00:00:0a:02 ;;
		hA2) link=A addr=$TB_HA2_ADDR mac=02:00:00:00:0a:03 ;;
		hB) link=B addr=$TB_HB_ADDR mac=02:00:00:00:0b:02 ;;
		esac
		# shellcheck disable=SC2086
		ip -n "$TB-$h" link add br0 address $mac type bridge $snoop stp_state 0 ||
			{ tb__err "$h: br0 failed"; return 1; }
		ip netns exec "$TB-$h" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1 \
			net.ipv6.conf.br0.accept_ra=0 net.ipv6.conf.br0.accept_dad=0 >/dev/null ||
			{ tb__err "$h: sysctls failed"; return 1; }
		ip -n "$rt" link add "p$link-$h" type veth peer name up0 netns "$TB-$h" ||
			{ tb__err "$h: uplink failed"; return 1; }
		ip -n "$rt" link set "p$link-$h" master "br$link" up || return 1
		ip -n "$TB-$h" -b - <<EOF || { tb__err "$h: links failed"; return 1; }
link set lo up
$querier
link set up0 master br0 up
$mrouter
link set br0 up
addr add $addr/64 dev br0 nodad
route add default via $TB_ROUTER_LL dev br0
EOF
	done
	TB_T_MC_QUERIER=$(tb__now)

	# Correspondent and IMS (and the multicast sender and the relay) on
	# link C: static addresses, no SLAAC.
	local c_nodes="cn ims"
	[ $mcast = 1 ] && c_nodes="$c_nodes $TB_MCAST_NODES"
	[ $site = 1 ] && c_nodes="$c_nodes sg"
	for h in $c_nodes; do
		case $h in
		cn) addr=$TB_CN_ADDR mac=02:00:00:00:0c:10 ;;
		ims) addr=$TB_IMS_ADDR mac=02:00:00:00:0c:05 ;;
		src) addr=$TB_SRC_ADDR mac=02:00:00:00:0c:30 ;;
		relay) addr=$TB_RELAY_ADDR mac=02:00:00:00:0c:20 ;;
		sg) addr=$TB_SG_ADDR mac=02:00:00:00:0c:40 ;;
		esac
		ip netns exec "$TB-$h" sysctl -q -w net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.default.accept_dad=0 >/dev/null || return 1
		ip -n "$rt" link add "pC-$h" type veth peer name eth0 netns "$TB-$h" ||
			{ tb__err "$h: link failed"; return 1; }
		ip -n "$rt" link set "pC-$h" master brC up || return 1
		ip -n "$TB-$h" -b - <<EOF || { tb__err "$h: links failed"; return 1; }
link set lo up
link set eth0 address $mac up
addr add $addr/64 dev eth0 nodad
route add default via $TB_ROUTER_LL dev eth0
EOF
	done

	# --site: link D behind sg (rt's route to it below, once brC is up)
	if [ $site = 1 ]; then
		ip netns exec "$TB-sg" sysctl -q -w net.ipv6.conf.all.forwarding=1 >/dev/null ||
			{ tb__err "sg: forwarding failed"; return 1; }
		ip netns exec "$TB-pd" sysctl -q -w net.ipv6.conf.default.accept_ra=0 \
			net.ipv6.conf.default.accept_dad=0 >/dev/null || return 1
		ip -n "$TB-sg" link add eth1 address 02:00:00:00:0d:01 type veth peer name eth0 netns "$TB-pd" ||
			{ tb__err "sg: link D failed"; return 1; }
		ip -n "$TB-sg" -b - <<EOF || { tb__err "sg: link D failed"; return 1; }
link set eth1 up
addr add $TB_SG_D_ADDR/64 dev eth1 nodad
EOF
		ip -n "$TB-pd" -b - <<EOF || { tb__err "pd: links failed"; return 1; }
link set lo up
link set eth0 address 02:00:00:00:0d:10 up
addr add $TB_PD_ADDR/64 dev eth0 nodad
route add default via $TB_SG_D_ADDR dev eth0
EOF
	fi

	if [ -n "$relay_mtu" ]; then
		for l in brB brC pB-hB; do
			ip -n "$rt" link set "$l" mtu "$relay_mtu" || { tb__err "rt: mtu $relay_mtu on $l failed"; return 1; }
		done
		ip -n "$TB-hB" link set up0 mtu "$relay_mtu" || { tb__err "hB: mtu $relay_mtu on up0 failed"; return 1; }
		for h in $c_nodes; do
			ip -n "$rt" link set "pC-$h" mtu "$relay_mtu" || { tb__err "rt: mtu $relay_mtu on pC-$h failed"; return 1; }
			ip -n "$TB-$h" link set eth0 mtu "$relay_mtu" || { tb__err "$h: mtu $relay_mtu failed"; return 1; }
		done
	fi

	ip -n "$rt" -b - <<EOF || { tb__err "router addresses failed"; return 1; }
link set brA up
link set brB up
link set brC up
addr add $TB_ROUTER_LL/64 dev brA nodad
addr add $TB_ROUTER_LL/64 dev brB nodad
addr add $TB_ROUTER_LL/64 dev brC nodad
addr add 2001:db8:a::1/64 dev brA nodad
addr add 2001:db8:b::1/64 dev brB nodad
addr add 2001:db8:c::1/64 dev brC nodad
EOF
	if [ $site = 1 ]; then
		ip -n "$rt" route add "$TB_PREFIX_D" via "$TB_SG_ADDR" dev brC ||
			{ tb__err "router: route to link D failed"; return 1; }
	fi

	# radvd, one for the three links, sandboxed to TB_DIR.
	tb__radvd_conf "$solicited" >"$TB_DIR/radvd.conf"
	chmod 600 "$TB_DIR/radvd.conf"
	tb_spawn rt radvd -n -C "$TB_DIR/radvd.conf" -p "$TB_DIR/radvd.pid" \
		-m logfile -l "$TB_DIR/radvd.log" </dev/null >/dev/null 2>"$TB_DIR/radvd.err" ||
		{ tb__err "radvd failed to start"; return 1; }

	# Multicast routes: smcrouted, sandboxed the same way (config, pid,
	# socket in TB_DIR), or the stand-in where the kernel cannot route.
	TB_MROUTE=""
	if [ $mcast = 1 ]; then
		TB_MROUTE=$(feat_mroute_kind "$rt")
		echo "$TB_MROUTE" >"$TB_DIR/mroute"
	fi
	if [ "$TB_MROUTE" = nft-dup ]; then
		mr_standin_init "$rt" || { tb__err "multicast routing stand-in failed"; return 1; }
		for n in $TB_MC_GROUPS; do
			mr_standin_add "$rt" brC brA "$n" || return 1
		done
	elif [ $mcast = 1 ]; then
		tb__smcroute_conf >"$TB_DIR/smcroute.conf"
		tb_spawn rt smcrouted -n -N -f "$TB_DIR/smcroute.conf" -P "$TB_DIR/smcroute.pid" \
			-u "$TB_DIR/smcroute.sock" -l debug </dev/null >>"$TB_DIR/smcroute.log" 2>&1 ||
			{ tb__err "smcrouted failed to start"; return 1; }
		TB_SMCROUTED_PID=$TB_PID
	fi

	# The VM: optimistic DAD from the start (the defaults, so eth0/eth1
	# inherit them), accept_ra left at 1.
	local vm="$TB-vm"
	ip netns exec "$vm" sysctl -q -w net.ipv6.conf.default.accept_dad=1 \
		net.ipv6.conf.default.optimistic_dad=1 net.ipv6.conf.default.use_optimistic=1 \
		net.ipv6.conf.all.optimistic_dad=1 net.ipv6.conf.all.use_optimistic=1 >/dev/null ||
		{ tb__err "vm sysctls failed"; return 1; }
	ip -n "$vm" link set lo up || return 1
	for n in 0 1; do
		[ $n = 1 ] && [ $two_nics = 0 ] && break
		mac=$TB_VM_MAC0
		[ $n = 1 ] && mac=$TB_VM_MAC1
		ip -n "$TB-hA" link add "vnet$n" type veth peer name "eth$n" netns "$vm" ||
			{ tb__err "vm: eth$n failed"; return 1; }
		ip -n "$vm" link set "eth$n" address $mac up || return 1
		ip -n "$TB-hA" link set "vnet$n" master br0 up || return 1
	done
	TB_T_VM_UP=$(tb__now)
	echo hA >"$TB_DIR/vm_host"

	TB_RT_NS=$rt TB_HA_NS=$TB-hA TB_HA2_NS=$TB-hA2 TB_HB_NS=$TB-hB
	TB_CN_NS=$TB-cn TB_IMS_NS=$TB-ims TB_VM_NS=$vm TB_SRC_NS="" TB_RELAY_NS=""
	[ $mcast = 1 ] && TB_SRC_NS=$TB-src TB_RELAY_NS=$TB-relay
	TB_MCAST=$mcast TB_SITE=$site TB_SG_NS="" TB_PD_NS=""
	[ $site = 1 ] && TB_SG_NS=$TB-sg TB_PD_NS=$TB-pd
	export TB_SITE TB_SG_NS TB_PD_NS TB_SG_ADDR TB_PREFIX_D TB_SG_D_ADDR TB_PD_ADDR
	export TB TB_DIR GLM_BIN TB_RT_NS TB_HA_NS TB_HA2_NS TB_HB_NS TB_CN_NS \
		TB_IMS_NS TB_VM_NS TB_ROUTER_LL TB_PREFIX_A TB_PREFIX_B TB_PREFIX_C \
		TB_CN_ADDR TB_IMS_ADDR TB_HA_ADDR TB_HA2_ADDR TB_HB_ADDR TB_VM_MAC0 TB_VM_MAC1 \
		TB_MCAST TB_MROUTE TB_SRC_NS TB_RELAY_NS TB_SRC_ADDR TB_RELAY_ADDR TB_MC_GROUPS

	if [ $wait = 1 ]; then
		TB_VM_ADDR=$(tb_wait_addr vm eth0 "$TB_PREFIX_A" 5) ||
			{ tb__err "vm got no address in $TB_PREFIX_A (see $TB_DIR/radvd.log)"; return 1; }
		if [ $two_nics = 1 ]; then
			TB_VM_ADDR1=$(tb_wait_addr vm eth1 "$TB_PREFIX_A" 5) ||
				{ tb__err "vm eth1 got no address in $TB_PREFIX_A"; return 1; }
			export TB_VM_ADDR1
		fi
		export TB_VM_ADDR
	fi
	if [ $mcast = 1 ]; then
		tb__mcast_ready || return 1
	fi
	TB_T_SETUP1=$(tb__now)
	export TB_T_SETUP0 TB_T_SETUP1 TB_T_VM_UP
	tb_var "" >"$TB_DIR/env"
}

# --mcast: smcrouted has read its config (it writes the pid file then),
# and the host bridges' querier delay (one response interval after the
# querier starts, during which a bridge floods every group) is over.
tb__mcast_ready() {
	local until
	[ "$TB_MROUTE" = nft-dup ] || for _ in $(seq 400); do
		[ -s "$TB_DIR/smcroute.pid" ] && [ -S "$TB_DIR/smcroute.sock" ] && break
		if ! kill -0 "$TB_SMCROUTED_PID" 2>/dev/null; then
			tb__err "smcrouted exited; its log:"
			cat "$TB_DIR/smcroute.log" >&2
			return 1
		fi
		sleep 0.005
	done
	[ "$TB_MROUTE" = nft-dup ] || [ -s "$TB_DIR/smcroute.pid" ] ||
		{ tb__err "smcrouted not ready after 2 s (see $TB_DIR/smcroute.log)"; return 1; }
	until=$(awk -v t="$TB_T_MC_QUERIER" -v r="$TB_MC_RESPONSE_INTERVAL" 'BEGIN{printf "%.6f", t + r / 100 + 0.02}')
	while awk -v n="$(tb__now)" -v u="$until" 'BEGIN{exit !(n < u)}'; do
		sleep 0.01
	done
}

tb__mcast_ok() {
	if [ -z "${TB_DIR:-}" ] || [ "$(cat "$TB_DIR/mcast" 2>/dev/null)" != 1 ]; then
		tb__err "$1: the testbed has no multicast (tb_setup --mcast)"
		return 1
	fi
}

tb__smcroutectl() {
	tb_exec rt smcroutectl -p -u "$TB_DIR/smcroute.sock" "$@"
}

tb_mroute_kind() {
	tb__mcast_ok tb_mroute_kind || return 1
	cat "$TB_DIR/mroute"
}

# Multicast packets the router forwarded out of IF (all groups): the
# kernel's per-vif counter, or the stand-in's.
tb_mroute_out_pkts() {
	tb__mcast_ok tb_mroute_out_pkts || return 1
	if [ "$(tb_mroute_kind)" = nft-dup ]; then
		mr_standin_out_pkts "$TB-rt" "$1"
	else
		tb_exec rt awk -v i="$1" '$2 == i { print $6; f = 1 } END { if (!f) print 0 }' /proc/net/ip6_mr_vif
	fi
}

# Add a static multicast route in the router: GROUP (from SOURCE, or any)
# arriving on --from (brC) is forwarded out of --to (brA).
tb_mroute_add() {
	local from=brC to=brA
	tb__mcast_ok tb_mroute_add || return 1
	while [ $# -gt 0 ]; do
		case "$1" in
		--from) from=$2; shift ;;
		--to) to=$2; shift ;;
		-*) tb__err "tb_mroute_add: unknown option $1"; return 1 ;;
		*) break ;;
		esac
		shift
	done
	if [ $# -lt 1 ] || [ $# -gt 2 ]; then
		tb__err "usage: tb_mroute_add [--from IF] [--to \"IF...\"] GROUP [SOURCE]"
		return 1
	fi
	local group=$1 source=${2:-}
	if [ "$(tb_mroute_kind)" = nft-dup ]; then
		mr_standin_add "$TB-rt" "$from" "$to" "$group" $source ||
			{ tb__err "tb_mroute_add: $from $source $group $to failed"; return 1; }
		return 0
	fi
	# shellcheck disable=SC2086
	tb__smcroutectl add "$from" $source "$group" $to ||
		{ tb__err "tb_mroute_add: smcroutectl add $from $source $group $to failed"; return 1; }
}

tb_mroute_del() {
	local from=brC
	tb__mcast_ok tb_mroute_del || return 1
	[ "${1:-}" = --from ] && { from=$2; shift 2; }
	if [ $# -lt 1 ] || [ $# -gt 2 ]; then
		tb__err "usage: tb_mroute_del [--from IF] GROUP [SOURCE]"
		return 1
	fi
	if [ "$(tb_mroute_kind)" = nft-dup ]; then
		mr_standin_del "$TB-rt" "$from" "$1" ${2:-} ||
			{ tb__err "tb_mroute_del: $from ${2:-} $1 failed"; return 1; }
		return 0
	fi
	# shellcheck disable=SC2086
	tb__smcroutectl remove "$from" ${2:-} "$1" ||
		{ tb__err "tb_mroute_del: smcroutectl remove $from ${2:-} $1 failed"; return 1; }
}

tb_mroute_show() {
	tb__mcast_ok tb_mroute_show || return 1
	if [ "$(tb_mroute_kind)" = nft-dup ]; then
		mr_standin_show "$TB-rt"
		return
	fi
	tb__smcroutectl show routes
}

# NODE's br0 MDB, one "PORT GROUP FLAGS..." a line (state, timer dropped).
tb_mdb() {
	local ns
	ns=$(tb_ns "$1") || return 1
	bridge -n "$ns" mdb show dev br0 2>/dev/null |
		awk '{p="";g="";f="";for(i=1;i<=NF;i++){if($i=="port")p=$(i+1);else if($i=="grp")g=$(i+1);
			else if($i=="permanent"||$i=="temp")f=$i}; if(g!="")print p, g, f}'
}

# Wait up to TIMEOUT seconds until PORT is a member of GROUP in NODE's br0
# MDB (PORT br0: the host itself joined). Prints the seconds waited.
tb_wait_mdb() {
	local node=$1 port=$2 group=$3 timeout=$4 t0 deadline
	t0=$(tb__now)
	deadline=$(awk -v n="$t0" -v t="$timeout" 'BEGIN{printf "%.6f", n+t}')
	while :; do
		if tb_mdb "$node" | awk -v p="$port" -v g="$group" '$1==p && $2==g {f=1} END{exit !f}'; then
			awk -v a="$t0" -v b="$(tb__now)" 'BEGIN{printf "%.3f\n", b-a}'
			return 0
		fi
		if awk -v n="$(tb__now)" -v d="$deadline" 'BEGIN{exit !(n>=d)}'; then
			tb__err "$node: $port not in $group after ${timeout}s; MDB:"
			tb_mdb "$node" >&2
			return 1
		fi
		sleep 0.005
	done
}

# Log NODE's MDB events (`bridge -t monitor mdb`: each event preceded by a
# "Timestamp:" line) to $TB_DIR/mdb-NODE.log. Background, pid in TB_PID.
tb_mdb_watch() {
	local node=$1
	tb__node_ok "$node" || return 1
	tb_spawn "$node" stdbuf -oL bridge -t monitor mdb >>"$TB_DIR/mdb-$node.log" 2>&1
}

# The events tb_mdb_watch logged for NODE, one "EPOCH add|del PORT GROUP
# FLAGS" a line (EPOCH in seconds with microseconds); with PORT and GROUP,
# only those.
tb_mdb_events() {
	local node=$1 port=${2:-} group=${3:-}
	[ -f "$TB_DIR/mdb-$node.log" ] || { tb__err "tb_mdb_events: no tb_mdb_watch $node"; return 1; }
	awk -v P="$port" -v G="$group" '
	BEGIN { split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", m, " ")
		for (i = 1; i <= 12; i++) mon[m[i]] = i }
	$1 == "Timestamp:" { split($5, hms, ":")
		t = mktime($6 " " mon[$3] " " $4 " " hms[1] " " hms[2] " " hms[3]) + $7 / 1e6; next }
	{ act = "add"; if ($1 == "Deleted") act = "del"
		p = ""; g = ""; f = ""
		for (i = 1; i <= NF; i++) {
			if ($i == "port") p = $(i + 1); else if ($i == "grp") g = $(i + 1)
			else if ($i == "permanent" || $i == "temp") f = $i
		}
		if (g == "" || (P != "" && p != P) || (G != "" && g != G)) next
		printf "%.6f %s %s %s %s\n", t, act, p, g, f }' "$TB_DIR/mdb-$node.log"
}

tb_teardown() {
	local dir=${TB_DIR:-} pid start ns k
	if [ -z "$dir" ] || [ ! -d "$dir" ]; then
		TB_DIR=""
		return 0
	fi
	if [ -s "$dir/pids" ]; then
		# Children of our pids (radvd's privsep helper) are ours too.
		: >"$dir/kids"
		while read -r pid start; do
			tb__alive "$pid" "$start" || continue
			# shellcheck disable=SC2013
			for k in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
				tb__record_pid "$k" "$dir/kids"
			done
			kill -TERM "$pid" 2>/dev/null || true
		done <"$dir/pids"
		for _ in $(seq 50); do
			local left=0
			while read -r pid start; do
				if tb__alive "$pid" "$start"; then left=1; fi
			done < <(cat "$dir/pids" "$dir/kids")
			[ $left = 0 ] && break
			sleep 0.02
		done
		while read -r pid start; do
			if tb__alive "$pid" "$start"; then kill -KILL "$pid" 2>/dev/null || true; fi
			# Reap our own children (no-op for others).
			wait "$pid" 2>/dev/null || true
		done < <(cat "$dir/pids" "$dir/kids")
	fi
	# Every netns we created, and any other with our prefix (it has our
	# pid in it: a leftover of ours).
	{
		[ -f "$dir/netns" ] && cat "$dir/netns"
		[ -n "${TB:-}" ] && ip netns list 2>/dev/null | awk -v p="$TB-" 'index($1, p) == 1 {print $1}'
	} | sort -u | while read -r ns; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns" 2>/dev/null
		true
	done
	if [ -n "${TB_KEEP:-}" ]; then
		echo "testbed: kept $dir" >&2
	else
		rm -rf "$dir"
	fi
	TB_DIR=""
	return 0
}

# Print the first usable global address in PREFIX on NODE's IF, waiting
# up to TIMEOUT seconds. Usable: DAD done, or optimistic (which the VM
# may use as a source); --final insists on DAD done.
tb_wait_addr() {
	local final=0
	[ "${1:-}" = --final ] && { final=1; shift; }
	local node=$1 ifname=$2 prefix=$3 timeout=$4 ns deadline line a
	ns=$(tb_ns "$node") || return 1
	deadline=$(awk -v n="$(tb__now)" -v t="$timeout" 'BEGIN{printf "%.6f", n+t}')
	while :; do
		while read -r line; do
			[ -n "$line" ] || continue
			case " $line " in
			*" dadfailed "*) continue ;;
			*" tentative "*)
				[ $final = 1 ] && continue
				case " $line " in *" optimistic "*) ;; *) continue ;; esac
				;;
			esac
			a=${line#*inet6 }
			echo "${a%%/*}"
			return 0
		done < <(ip -n "$ns" -6 -o addr show dev "$ifname" scope global to "$prefix" 2>/dev/null)
		if awk -v n="$(tb__now)" -v d="$deadline" 'BEGIN{exit !(n>=d)}'; then
			tb__err "no usable address in $prefix on $node/$ifname after ${timeout}s"
			return 1
		fi
		sleep 0.005
	done
}

# Another guest, for what one guest can do to others on its host: node
# NAME, its eth0 a veth whose other end is PORT in HOST's br0. It has its
# link-local address at once (no DAD) and takes SLAAC from the link's RAs.
tb_add_guest() {
	local name=$1 host=$2 port=$3 mac=$4 ns
	tb__node_ok "$host" || return 1
	case " $TB_NODES " in
	*" $name "*) tb__err "tb_add_guest: node $name exists"; return 1 ;;
	esac
	tb__ns_add "$name" || return 1
	TB_NODES="$TB_NODES $name"
	echo "$TB_NODES" >"$TB_DIR/nodes"
	ns=$TB-$name
	ip netns exec "$ns" sysctl -q -w net.ipv6.conf.default.accept_dad=0 >/dev/null ||
		{ tb__err "$name: sysctls failed"; return 1; }
	ip -n "$TB-$host" link add "$port" type veth peer name eth0 netns "$ns" ||
		{ tb__err "$name: link to $host failed"; return 1; }
	ip -n "$ns" link set lo up || return 1
	ip -n "$ns" link set eth0 address "$mac" up || return 1
	ip -n "$TB-$host" link set "$port" master br0 up || { tb__err "$name: $port in $host's br0 failed"; return 1; }
}

tb_vm_host() {
	if [ -z "${TB_DIR:-}" ] || [ ! -f "$TB_DIR/vm_host" ]; then
		tb__err "no testbed"
		return 1
	fi
	cat "$TB_DIR/vm_host"
}

# Move the VM's host-side veth end(s) to DEST's br0: the VM's NICs lose
# carrier and get it back, as a migrated guest's do. Then, unless
# --no-announce, the VM sends unsolicited NAs for its addresses (what the
# guest does on QEMU's announce after a migration), so the switches learn
# the new port. --down MS holds the link down for MS milliseconds
# (a migration's stop-and-copy downtime). Sets TB_MIG_DOWN/TB_MIG_UP
# (epoch seconds) and appends "src dst down up" to $TB_DIR/migrations.
#
# In two halves, as libvirt does it (the destination tap is in the bridge,
# and the `started` hook has run, before the guest resumes):
# --attach-only DEST moves the ends into DEST's br0 but leaves them down,
# so the vm has no carrier (sets TB_MIG_DOWN); --resume brings them up and
# announces (sets TB_MIG_UP, appends to migrations). In between, a test
# can run the hook's `started` step (an MDB entry on the still-down port,
# which must be `permanent`: the kernel refuses a `temp` one there; a
# proxy join). tb_vm_host reports DEST from --attach-only on.
#
# On carrier-up the vm's kernel re-sends its MLD reports by itself
# (addrconf calls ipv6_mc_up when a ready link regains carrier, "we might
# have roamed"), as a migrated guest does on IFLA_EVENT_IGMP_RESEND: on
# the wire 4-16 ms after the up (MLD's work is delayed 2 jiffies, HZ=250
# here), in the destination's MDB ~0.1 ms later. No extra step needed.
tb_migrate() {
	local announce=1 down_ms=0 mode=full
	while [ $# -gt 0 ]; do
		case "$1" in
		--no-announce) announce=0 ;;
		--down) down_ms=$2; shift ;;
		--attach-only) mode=attach ;;
		--resume) mode=resume ;;
		-*) tb__err "tb_migrate: unknown option $1"; return 1 ;;
		*) break ;;
		esac
		shift
	done
	if [ -z "${TB_DIR:-}" ] || [ ! -d "$TB_DIR" ]; then
		tb__err "tb_migrate: no testbed"
		return 1
	fi
	if [ $mode = resume ]; then
		tb__migrate_resume "$announce"
		return
	fi
	if [ -f "$TB_DIR/attached" ]; then
		tb__err "tb_migrate: an --attach-only move is pending; tb_migrate --resume first"
		return 1
	fi
	local dst=${1:-} src dstns srcns n nics="0" t0 t1 ifs="eth0"
	case "$dst" in
	hA | hA2 | hB) ;;
	*) tb__err "tb_migrate: destination must be hA, hA2 or hB, not '$dst'"; return 1 ;;
	esac
	src=$(tb_vm_host) || return 1
	[ "$src" != "$dst" ] || { tb__err "tb_migrate: vm is already on $dst"; return 1; }
	if [ $announce = 1 ] && [ ! -x "$GLM_BIN/announce" ]; then
		tb__err "tb_migrate: $GLM_BIN/announce missing (make tools)"
		return 1
	fi
	[ "$(cat "$TB_DIR/two_nics")" = 1 ] && nics="0 1" ifs="eth0 eth1"
	srcns=$TB-$src dstns=$TB-$dst
	if [ $mode = attach ]; then
		[ "$down_ms" = 0 ] || { tb__err "tb_migrate: --down makes no sense with --attach-only"; return 1; }
		if [ -x "$GLM_BIN/vnetmove" ]; then
			local out vnets=""
			for n in $nics; do vnets="$vnets vnet$n"; done
			# shellcheck disable=SC2086
			out=$("$GLM_BIN/vnetmove" --no-up "$srcns" "$dstns" $vnets) ||
				{ tb__err "tb_migrate: vnetmove --no-up failed"; return 1; }
			t0=${out#down=}
		else
			t0=$(tb__now)
			for n in $nics; do
				ip -n "$srcns" link set "vnet$n" netns "$dstns" || { tb__err "move vnet$n failed"; return 1; }
				ip -n "$dstns" link set "vnet$n" master br0 || { tb__err "vnet$n master failed"; return 1; }
			done
		fi
		echo "$dst" >"$TB_DIR/vm_host"
		echo "$src $dst $t0" >"$TB_DIR/attached"
		TB_MIG_DOWN=$t0
		export TB_MIG_DOWN
		return 0
	fi
	if [ -x "$GLM_BIN/vnetmove" ]; then
		# One process: the link is down for microseconds (plus --down).
		local out vnets=""
		for n in $nics; do vnets="$vnets vnet$n"; done
		# shellcheck disable=SC2086
		out=$("$GLM_BIN/vnetmove" --down-ms "$down_ms" "$srcns" "$dstns" $vnets) ||
			{ tb__err "tb_migrate: vnetmove failed"; return 1; }
		t0=${out#down=} t0=${t0%% *} t1=${out##*up=}
	else
		t0=$(tb__now)
		for n in $nics; do
			ip -n "$srcns" link set "vnet$n" netns "$dstns" || { tb__err "move vnet$n failed"; return 1; }
		done
		[ "$down_ms" = 0 ] || sleep "$(awk -v m="$down_ms" 'BEGIN{print m/1000}')"
		for n in $nics; do
			ip -n "$dstns" link set "vnet$n" master br0 up || { tb__err "vnet$n up failed"; return 1; }
		done
		t1=$(tb__now)
	fi
	echo "$dst" >"$TB_DIR/vm_host"
	echo "$src $dst $t0 $t1" >>"$TB_DIR/migrations"
	TB_MIG_DOWN=$t0 TB_MIG_UP=$t1
	export TB_MIG_DOWN TB_MIG_UP
	if [ $announce = 1 ]; then
		# shellcheck disable=SC2086
		ip netns exec "$TB-vm" "$GLM_BIN/announce" $ifs || { tb__err "announce failed"; return 1; }
	fi
	return 0
}

# The second half of tb_migrate --attach-only: the switch-over.
tb__migrate_resume() {
	local announce=$1 src dst t0 t1 n nics="0" ifs="eth0" out vnets=""
	[ -f "$TB_DIR/attached" ] || { tb__err "tb_migrate --resume: no --attach-only move pending"; return 1; }
	read -r src dst t0 <"$TB_DIR/attached"
	if [ "$announce" = 1 ] && [ ! -x "$GLM_BIN/announce" ]; then
		tb__err "tb_migrate: $GLM_BIN/announce missing (make tools)"
		return 1
	fi
	[ "$(cat "$TB_DIR/two_nics")" = 1 ] && nics="0 1" ifs="eth0 eth1"
	if [ -x "$GLM_BIN/vnetmove" ]; then
		for n in $nics; do vnets="$vnets vnet$n"; done
		# shellcheck disable=SC2086
		out=$("$GLM_BIN/vnetmove" --up-only "$TB-$dst" $vnets) ||
			{ tb__err "tb_migrate --resume: vnetmove --up-only failed"; return 1; }
		t1=${out#up=}
	else
		for n in $nics; do
			ip -n "$TB-$dst" link set "vnet$n" up || { tb__err "vnet$n up failed"; return 1; }
		done
		t1=$(tb__now)
	fi
	rm -f "$TB_DIR/attached"
	echo "$src $dst $t0 $t1" >>"$TB_DIR/migrations"
	TB_MIG_DOWN=$t0 TB_MIG_UP=$t1
	export TB_MIG_DOWN TB_MIG_UP
	if [ "$announce" = 1 ]; then
		# shellcheck disable=SC2086
		ip netns exec "$TB-vm" "$GLM_BIN/announce" $ifs || { tb__err "announce failed"; return 1; }
	fi
	return 0
}

tb_var() {
	local v
	local vars="TB TB_DIR GLM_BIN TB_RT_NS TB_HA_NS TB_HA2_NS TB_HB_NS TB_CN_NS TB_IMS_NS
		TB_VM_NS TB_ROUTER_LL TB_PREFIX_A TB_PREFIX_B TB_PREFIX_C TB_CN_ADDR TB_IMS_ADDR
		TB_HA_ADDR TB_HA2_ADDR TB_HB_ADDR TB_VM_MAC0 TB_VM_MAC1 TB_VM_ADDR TB_VM_ADDR1
		TB_MCAST TB_MROUTE TB_SRC_NS TB_RELAY_NS TB_SRC_ADDR TB_RELAY_ADDR TB_MC_GROUPS
		TB_SITE TB_SG_NS TB_PD_NS TB_SG_ADDR TB_PREFIX_D TB_SG_D_ADDR TB_PD_ADDR"
	if [ -n "${1:-}" ]; then
		for v in $vars; do
			[ "$v" = "$1" ] && { echo "${!v:-}"; return 0; }
		done
		tb__err "tb_var: unknown variable $1"
		return 1
	fi
	for v in $vars; do
		printf 'export %s=%q\n' "$v" "${!v:-}"
	done
}

# Print top-level field KEY of the one-line JSON object in FILE (numbers,
# true/false/null as they are; strings without quotes). For seqstream's
# reports, so tests need no jq.
tb_json() {
	local file=$1 key=$2 line v
	line=$(tail -n 1 "$file" 2>/dev/null) || return 1
	case "$line" in *"\"$key\":"*) ;; *) tb__err "tb_json: no $key in $file"; return 1 ;; esac
	v=${line#*\""$key"\":}
	if [ "${v:0:1}" = '"' ]; then
		v=${v#\"}
		echo "${v%%\"*}"
	else
		echo "${v%%[,\}]*}"
	fi
}
