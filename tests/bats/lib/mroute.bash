# shellcheck shell=bash
# mroute.bash: static IPv6 multicast routes in a test router's netns, on
# any kernel. Where the kernel routes multicast (CONFIG_IPV6_MROUTE),
# testbed.bash and bench/relay run smcrouted, as before. Where it does not
# (features.bash: feat_mroute_kind prints nft-dup), this file's stand-in
# does on the wire what a static route does, with nftables in the router:
#
#   table netdev glm_mroute
#     chain in_IF   ingress hook on the inbound interface IF; one rule a
#                   route: the group (and the source, for an (S,G) route),
#                   hop limit > 1 (the kernel's vif threshold), then for
#                   each outbound interface: hop limit decremented, source
#                   MAC set to that interface's, the frame duplicated out
#                   of it (dup to: dev_queue_xmit, so a bridge floods it to
#                   its ports as it does the router's own packets), and
#                   its packets counted per outbound interface
#     set sg_IF     the (S,G) pairs the routes forwarded: the kernel's
#                   (S,G) cache entries that a (*,G) route gives rise to
#     map hl_dec    N -> N-1 (nft has no subtraction on a payload)
#
# (S,G) routes are evaluated before (*,G) ones, and a route's rule ends in
# accept, so a packet is forwarded by one route, as the kernel's MFC does.
# Adding a route that exists replaces it (its outbound interfaces), as
# `smcroutectl add` does. The inbound hook on a bridge device sees the
# bridge's copy for its own stack, so the other ports of the inbound link
# get the sender's frames unchanged.
#
#   mr_standin_init NETNS
#   mr_standin_add NETNS IN "OUT..." GROUP [SOURCE]
#   mr_standin_del NETNS IN GROUP [SOURCE]
#   mr_standin_show NETNS      "(S|*, G) IN OUT..." a line, routes then cache
#   mr_standin_out_pkts NETNS IF   packets forwarded out of IF

mr__err() { echo "mroute: $*" >&2; }

mr_standin_init() {
	local ns=$1 m="" i
	for i in $(seq 2 255); do m="$m$i : $((i - 1)), "; done
	ip netns exec "$ns" nft -f - <<EOF || { mr__err "$ns: nft table netdev glm_mroute failed"; return 1; }
table netdev glm_mroute {
	map hl_dec {
		typeof ip6 hoplimit : ip6 hoplimit
		elements = { ${m%, } }
	}
}
EOF
}

# The chain and the per-interface objects for inbound IF, made once.
mr__chain() {
	local ns=$1 in=$2
	ip netns exec "$ns" nft list chain netdev glm_mroute "in_$in" >/dev/null 2>&1 && return 0
	ip netns exec "$ns" nft -f - <<EOF || { mr__err "$ns: ingress chain on $in failed"; return 1; }
table netdev glm_mroute {
	set sg_$in {
		typeof ip6 saddr . ip6 daddr
		flags dynamic
		size 1024
	}
	chain in_$in {
		type filter hook ingress device "$in" priority 0; policy accept;
	}
}
EOF
}

mr__counter() {
	local ns=$1 out=$2
	ip netns exec "$ns" nft list counter netdev glm_mroute "out_$out" >/dev/null 2>&1 && return 0
	ip netns exec "$ns" nft add counter netdev glm_mroute "out_$out" ||
		{ mr__err "$ns: counter for $out failed"; return 1; }
}

# The rule's comment names the route: "(S, G) IN OUT..." (S is * for any).
mr__handle() {
	local ns=$1 in=$2 key=$3
	ip netns exec "$ns" nft -a list chain netdev glm_mroute "in_$in" 2>/dev/null |
		awk -v k="$key" 'index($0, "comment \"" k " ") { print $NF }'
}

mr_standin_add() {
	local ns=$1 in=$2 outs=$3 group=$4 source=${5:-} out mac stmt="" match key h
	[ -n "$outs" ] || { mr__err "no outbound interface"; return 1; }
	mr__chain "$ns" "$in" || return 1
	match="ip6 daddr $group"
	[ -n "$source" ] && match="ip6 saddr $source $match"
	key="(${source:-*}, $group) $in"
	for out in $outs; do
		mac=$(ip -n "$ns" -o link show dev "$out" 2>/dev/null | sed -n 's|.*link/ether \([0-9a-f:]*\) .*|\1|p')
		[ -n "$mac" ] || { mr__err "$ns: no interface $out (or no MAC)"; return 1; }
		mr__counter "$ns" "$out" || return 1
		stmt="$stmt ether saddr set $mac counter name \"out_$out\" dup to \"$out\""
	done
	# an existing route of that key is replaced
	for h in $(mr__handle "$ns" "$in" "$key"); do
		ip netns exec "$ns" nft delete rule netdev glm_mroute "in_$in" handle "$h" || return 1
	done
	# (S,G) first: inserted at the top; (*,G) appended
	local verb=add
	[ -n "$source" ] && verb=insert
	# shellcheck disable=SC2086
	ip netns exec "$ns" nft $verb rule netdev glm_mroute "in_$in" $match ip6 hoplimit '>' 1 \
		add @sg_$in '{' ip6 saddr . ip6 daddr '}' \
		ip6 hoplimit set ip6 hoplimit map @hl_dec $stmt accept comment "\"$key $outs\"" ||
		{ mr__err "$ns: route $key -> $outs failed"; return 1; }
}

mr_standin_del() {
	local ns=$1 in=$2 group=$3 source=${4:-} key h found=0
	key="(${source:-*}, $group) $in"
	for h in $(mr__handle "$ns" "$in" "$key"); do
		ip netns exec "$ns" nft delete rule netdev glm_mroute "in_$in" handle "$h" || return 1
		found=1
	done
	[ $found = 1 ] || { mr__err "$ns: no route $key"; return 1; }
	# the cache entries of that group go with it
	ip netns exec "$ns" nft list set netdev glm_mroute "sg_$in" 2>/dev/null |
		grep -o "[0-9a-f:]* \. $group\b" | while read -r s _ g; do
		ip netns exec "$ns" nft delete element netdev glm_mroute "sg_$in" "{ $s . $g }" 2>/dev/null || true
	done
}

mr_standin_show() {
	local ns=$1 table
	table=$(ip netns exec "$ns" nft list table netdev glm_mroute 2>/dev/null) ||
		{ mr__err "$ns: no table netdev glm_mroute"; return 1; }
	echo "# multicast routes (nftables stand-in): (S, G) IN OUT..., then the (S,G) pairs forwarded"
	echo "$table" | awk '
		/comment "/ { c = $0; sub(/.*comment "/, "", c); sub(/"$/, "", c); print c
			split(c, w, " "); route[w[1] " " w[2] " " w[3]] = substr(c, index(c, ") ") + 2 + length(w[3]) + 1) }
		$1 == "set" && $2 ~ /^sg_/ { in_if = substr($2, 4); inset = 1; buf = "" }
		inset && /elements = \{/ { grab = 1; sub(/.*elements = \{/, "") }
		inset && grab { buf = buf " " $0; if (/\}/) { grab = 0; inset = 0; sub(/\}.*/, "", buf); sets[in_if] = buf } }
		inset && /^\t\}/ { inset = 0 }
		END {
			for (i in sets) {
				n = split(sets[i], el, ",")
				for (k = 1; k <= n; k++) {
					split(el[k], sg, " ")
					if (sg[1] == "") continue
					o = route["(" sg[1] ", " sg[3] ") " i]
					if (o == "") o = route["(*, " sg[3] ") " i]
					print "(" sg[1] ", " sg[3] ") " i " " o
				}
			}
		}'
}

mr_standin_out_pkts() {
	local ns=$1 out=$2
	ip netns exec "$ns" nft list counter netdev glm_mroute "out_$out" 2>/dev/null |
		awk '$1 == "packets" { print $2; f = 1 } END { if (!f) print 0 }'
}
