# shellcheck shell=bash
# features.bash: what this kernel can do, asked of the kernel itself, for
# the tests and the benchmarks. Machines of this project's kind differ
# (../shared/LAB.md, "Machines differ"): one kernel routes IPv6 multicast,
# another is built without CONFIG_IPV6_MROUTE, SRv6, ip6 tunnels, netem or
# dummy. Each probe builds what it tries in a scratch network namespace of
# its own (named after the probe and our pid) and removes it; none sends a
# packet. Each returns 0 when the feature works, non-zero when it does not.
#
#   feat_mroute6 [NETNS]   MRT6_INIT on a raw ICMPv6 socket (what smcrouted
#                          and any IPv6 multicast router do first)
#   feat_mroute4 [NETNS]   MRT_INIT on a raw IGMP socket
#   feat_mroute_kind [NETNS]
#                          prints how the testbeds route multicast:
#                          kernel-mroute, or nft-dup (the stand-in in
#                          mroute.bash) when the kernel cannot or when
#                          GLM_TEST_NO_MROUTE=1 asks for the stand-in
#   feat_nft FAMILY        a table and a base chain of nftables FAMILY
#                          (bridge: a filter chain; netdev: an ingress chain
#                          on a veth)
#   feat_snooping          a bridge with MLD snooping and a querier
#   feat_veth | feat_tun | feat_dummy | feat_ip6tnl
#   feat_seg6              an SRv6 (seg6 lwtunnel, encap) route
#   feat_netem             a netem qdisc
#   feat_kvm               /dev/kvm opens read-write (guests may still not
#                          boot: a PVM host, LAB.md; the e2e tests use TCG)
#   feat_line              one line: every feature and the stand-in or the
#                          consequence of each missing one

feat__ns() {
	local ns="glm-feat-$1-$$"
	ip netns add "$ns" 2>/dev/null || return 1
	echo "$ns"
}

feat__ns_del() { ip netns del "$1" 2>/dev/null || true; }

# Run FN in a scratch netns (or in NETNS when given), cleaning up after.
feat__in_ns() {
	local name=$1 netns=$2 fn=$3 ns rc=0
	if [ -n "$netns" ]; then
		"$fn" "$netns"
		return
	fi
	ns=$(feat__ns "$name") || return 1
	"$fn" "$ns" || rc=$?
	feat__ns_del "$ns"
	return "$rc"
}

# MRT6_INIT = MRT6_BASE = 200 (linux/mroute6.h), MRT_INIT = 200 too
# (linux/mroute.h); ENOPROTOOPT where the kernel has no multicast routing.
# One socket per netns may hold it: a running smcrouted makes this fail
# with EADDRINUSE, so probe before starting one.
feat__mrt6() {
	ip netns exec "$1" python3 -c 'import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, 200, (1).to_bytes(4, "little"))' 2>/dev/null
}
feat__mrt4() {
	ip netns exec "$1" python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
s.setsockopt(socket.IPPROTO_IP, 200, (1).to_bytes(4, "little"))' 2>/dev/null
}
feat_mroute6() { feat__in_ns mrt6 "${1:-}" feat__mrt6; }
feat_mroute4() { feat__in_ns mrt4 "${1:-}" feat__mrt4; }

feat_mroute_kind() {
	if [ "${GLM_TEST_NO_MROUTE:-0}" = 1 ]; then
		echo nft-dup
	elif feat_mroute6 "${1:-}"; then
		echo kernel-mroute
	else
		echo nft-dup
	fi
}

feat__nft_bridge() {
	ip netns exec "$1" nft -f - 2>/dev/null <<'EOF'
table bridge glm_probe {
	chain probe { type filter hook forward priority 0; }
}
EOF
}
feat__nft_netdev() {
	ip -n "$1" link add p0 type veth peer name p1 2>/dev/null || return 1
	ip netns exec "$1" nft -f - 2>/dev/null <<'EOF'
table netdev glm_probe {
	chain probe { type filter hook ingress device "p0" priority 0; }
}
EOF
}
feat_nft() {
	case $1 in
	bridge) feat__in_ns nftbr "" feat__nft_bridge ;;
	netdev) feat__in_ns nftnd "" feat__nft_netdev ;;
	*) return 2 ;;
	esac
}

feat__snooping() {
	ip -n "$1" link add br0 type bridge mcast_snooping 1 mcast_mld_version 2 2>/dev/null &&
		ip -n "$1" link set br0 type bridge mcast_querier 1 2>/dev/null
}
feat_snooping() { feat__in_ns snoop "" feat__snooping; }

feat__veth() { ip -n "$1" link add p0 type veth peer name p1 2>/dev/null; }
feat__tun() { [ -c /dev/net/tun ] && ip -n "$1" tuntap add dev t0 mode tap 2>/dev/null; }
feat__dummy() { ip -n "$1" link add d0 type dummy 2>/dev/null; }
feat__ip6tnl() { ip -n "$1" link add t6 type ip6tnl local 2001:db8::1 remote 2001:db8::2 2>/dev/null; }
feat__seg6() {
	ip -n "$1" link add p0 type veth peer name p1 2>/dev/null &&
		ip -n "$1" link set p0 up && ip -n "$1" link set p1 up &&
		ip -n "$1" -6 addr add 2001:db8:ffff::1/64 dev p0 nodad 2>/dev/null &&
		ip -n "$1" -6 route add 2001:db8:fffe::/64 encap seg6 mode encap \
			segs 2001:db8:ffff::2 dev p0 2>/dev/null
}
feat__netem() {
	ip -n "$1" link add p0 type veth peer name p1 2>/dev/null &&
		ip netns exec "$1" tc qdisc add dev p0 root netem delay 1ms 2>/dev/null
}
feat_veth() { feat__in_ns veth "" feat__veth; }
feat_tun() { feat__in_ns tun "" feat__tun; }
feat_dummy() { feat__in_ns dummy "" feat__dummy; }
feat_ip6tnl() { feat__in_ns ip6tnl "" feat__ip6tnl; }
feat_seg6() { feat__in_ns seg6 "" feat__seg6; }
feat_netem() { command -v tc >/dev/null && feat__in_ns netem "" feat__netem; }
feat_kvm() { [ -c /dev/kvm ] && { : <>/dev/kvm; } 2>/dev/null; }

# yes/no for one probe
feat__yn() { if "$@"; then echo yes; else echo no; fi; }

feat_line() {
	local m6 m4 kind nbr nnd snoop veth tun seg6 netem dummy tnl kvm
	m6=$(feat__yn feat_mroute6) m4=$(feat__yn feat_mroute4)
	kind=$(feat_mroute_kind)
	nbr=$(feat__yn feat_nft bridge) nnd=$(feat__yn feat_nft netdev)
	snoop=$(feat__yn feat_snooping) veth=$(feat__yn feat_veth) tun=$(feat__yn feat_tun)
	seg6=$(feat__yn feat_seg6) netem=$(feat__yn feat_netem) dummy=$(feat__yn feat_dummy)
	tnl=$(feat__yn feat_ip6tnl) kvm=$(feat__yn feat_kvm)
	local mr="mroute6=$m6 mroute4=$m4 -> multicast routing by $kind"
	[ "$kind" = nft-dup ] && [ "$m6" = yes ] && mr="$mr (GLM_TEST_NO_MROUTE=1)"
	[ "$kind" = nft-dup ] && [ "$nnd" = no ] && mr="$mr, which needs nft netdev: the multicast tests will fail"
	printf 'kernel %s: %s; nft-bridge=%s nft-netdev=%s mld-snooping=%s veth=%s tun=%s%s; seg6=%s netem=%s dummy=%s ip6tnl=%s (unused by the tests); kvm=%s (guests run under TCG either way)\n' \
		"$(uname -r)" "$mr" "$nbr" "$nnd" "$snoop" "$veth" "$tun" \
		"$( [ "$tun" = no ] && echo ' -> e2e skips (no tap for QEMU)')" \
		"$seg6" "$netem" "$dummy" "$tnl" "$kvm"
}
