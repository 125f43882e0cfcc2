#!/usr/bin/env bats
# No reflection, no amplification (glm-keys(5) "ADDRESS VALIDATION"): a
# request from a forged source address must put on that address no more
# bytes than the request itself, and each key's relay sessions and
# subscriptions are bounded. Every attack here is made as the issue's
# attacker made it: a guest that holds an agent's (or a node's) key sends
# an authentic, fresh request whose UDP source is the victim's address.
#
#   netns $NS-sw: bridge br0 (no snooping: every frame is flooded)
#     |             |               |                 |
#   $NS-srv       $NS-src         $NS-atk           $NS-vic
#   2001:db8:1::1 2001:db8:1::5   2001:db8:1::66    2001:db8:1::99
#   glm-agentd    mcstream send   glmsend --from    nft counter: what
#   (relay) :5310 ff3e::1234      [::99]:7777       the servers send it
#   imsd :5300    1000/s x 200 B  nft counter: what
#                                 it sends them
#
# Keys (a key pair each, glm-keys(5); node N reads $T/keys-N): 31 is an
# agent's (serving 2001:db8:1::/64, the relay serves it; 32 another), 7 a guest owning
# eight home addresses, 8 a correspondent's (it may subscribe), 40 the
# relay's own, 5 imsd's.

SRV=2001:db8:1::1
SRC=2001:db8:1::5
ATK=2001:db8:1::66
VIC=2001:db8:1::99
G=ff3e::1234
HOMES=(2001:db8:100::1 2001:db8:100::2 2001:db8:100::3 2001:db8:100::4
	2001:db8:100::5 2001:db8:100::6 2001:db8:100::7 2001:db8:100::8)

setup() {
	GLM_BIN=${GLM_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	[[ -x $GLM_BIN/glm-agentd && -x $GLM_BIN/imsd && -x $GLM_BIN/glmsend && -x $GLM_BIN/imsclient ]] ||
		skip "glm-agentd, imsd, glmsend or imsclient not built in $GLM_BIN"
	[[ $EUID -eq 0 ]] || skip "network namespaces need root"
	command -v nft >/dev/null || skip "nft is not installed"
	NS=glm-refl-$$-$BATS_TEST_NUMBER
	T=$(mktemp -d /tmp/glm-refl.XXXXXX)
	PIDS=()
	ip netns add "$NS-sw"
	ip -n "$NS-sw" link add br0 type bridge mcast_snooping 0
	ip -n "$NS-sw" link set br0 up
	local n a
	for n in srv:$SRV src:$SRC atk:$ATK vic:$VIC; do
		a=${n#*:}
		n=${n%%:*}
		ip netns add "$NS-$n"
		ip -n "$NS-$n" link set lo up
		ip -n "$NS-sw" link add "p-$n" type veth peer name eth0 netns "$NS-$n"
		ip -n "$NS-sw" link set "p-$n" master br0 up
		ip -n "$NS-$n" addr add "$a/64" dev eth0 nodad
		ip -n "$NS-$n" link set eth0 up
	done
	ip -n "$NS-src" route add ff3e::/16 dev eth0 table local 2>/dev/null || true
	(
		umask 077
		for id in 31 32 40 7 8 5; do "$GLM_BIN/glm-keys" genkey $id >"$T/priv-$id"; done
		{
			"$GLM_BIN/glm-keys" pubkey agent prefix 2001:db8:1::/64 <"$T/priv-31"
			"$GLM_BIN/glm-keys" pubkey agent prefix 2001:db8:1::/64 <"$T/priv-32"
			"$GLM_BIN/glm-keys" pubkey agent prefix "$SRV/128" <"$T/priv-40"
			# shellcheck disable=SC2046 # one "home ADDR" pair per word pair
			"$GLM_BIN/glm-keys" pubkey guest $(printf 'home %s ' "${HOMES[@]}") <"$T/priv-7"
			"$GLM_BIN/glm-keys" pubkey guest <"$T/priv-8"
			"$GLM_BIN/glm-keys" pubkey ims <"$T/priv-5"
		} >"$T/keys.pub"
		for id in 31 32 40 7 8 5; do cat "$T/priv-$id" "$T/keys.pub" >"$T/keys-$id"; done
	)
	# what arrives at the victim from the servers, what the attacker sends them
	# the link is up end to end (the bridge forwards, neighbours resolve)
	for n in atk vic src; do
		for _ in $(seq 50); do ip netns exec "$NS-$n" ping -6 -c 1 -W 1 "$SRV" >/dev/null 2>&1 && break; sleep 0.1; done
	done
	counter vic input "ip6 saddr $SRV"
	counter atk output "ip6 daddr $SRV"
}

teardown() {
	local p n rc=0
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# Under SAN=1 a sanitizer report is a failure even if the test passed.
	if [[ -n ${T:-} ]] && cat "$T"/*.log 2>/dev/null | grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' >&2; then
		rc=1
	fi
	for n in sw srv src atk vic; do ip netns del "$NS-$n" 2>/dev/null; done
	[[ -n ${T:-} && -d $T ]] && rm -rf "$T"
	return $rc
}

# counter NODE HOOK MATCH: count the bytes of the packets MATCH selects
counter() {
	ip netns exec "$NS-$1" nft add table inet glmtest
	ip netns exec "$NS-$1" nft add chain inet glmtest c "{ type filter hook $2 priority 0; }"
	ip netns exec "$NS-$1" nft add rule inet glmtest c $3 counter
}

# bytes counted by the nft rule in namespace $1
counted() {
	ip netns exec "$NS-$1" nft list table inet glmtest | sed -n 's/.*counter packets [0-9]* bytes \([0-9]*\).*/\1/p'
}

start_relay() {
	printf 'role relay\nrelay-interface eth0\nsession-timeout 30\nkey-id 40\nkeyring %s\ncontrol %s\nlisten [%s]:5310\n' \
		"$T/keys-40" "$T/relay.sock" "$SRV" >"$T/relay.conf"
	ip netns exec "$NS-srv" "$GLM_BIN/glm-agentd" -d -v -f "$T/relay.conf" -p "$T/relay.pid" >>"$T/relay.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [[ -S $T/relay.sock ]] && return 0; sleep 0.05; done
	cat "$T/relay.log" >&2
	false
}

start_imsd() {
	printf 'listen [%s]:5300\ndatabase %s\nkeyring %s\ncontrol %s\n' "$SRV" "$T/ims.db" "$T/keys-5" "$T/ims.sock" \
		>"$T/imsd.conf"
	ip netns exec "$NS-srv" "$GLM_BIN/imsd" -d -v -f "$T/imsd.conf" -p "$T/imsd.pid" 2>>"$T/imsd.log" &
	PIDS+=($!)
	for _ in $(seq 100); do [[ -S $T/ims.sock ]] && return 0; sleep 0.05; done
	cat "$T/imsd.log" >&2
	false
}

relay_json() {
	ip netns exec "$NS-srv" "$GLM_BIN/glmctl" -s "$T/relay.sock" status --json |
		python3 -c "import json,sys; r=json.load(sys.stdin)['relay_server']; print($1)"
}

ims_stat() {
	socat - "UNIX-CONNECT:$T/ims.sock" <<<stats | sed -n "s/^$1=//p"
}

# glmsend NODE ARGS: from namespace NODE; "-i N" sends as key N (its
# keyring), sealed for the server: the relay (40) on port 5310, else imsd (5)
glmsend() {
	local node=$1 to=5 a prev= from= args=()
	shift
	[[ " $* " == *"]:5310 "* ]] && to=40
	for a in "$@"; do
		if [[ $prev == -i ]]; then
			from=$a
			args+=("$to")
		else
			args+=("$a")
		fi
		prev=$a
	done
	ip netns exec "$NS-$node" "$GLM_BIN/glmsend" -k "$T/keys-$from" "${args[@]}"
}

stream() {
	ip netns exec "$NS-src" "$GLM_BIN/mcstream" send --group "$G" --port 7400 --ifname eth0 --rate 1000 --size 200 \
		--duration "$1" >/dev/null 2>>"$T/mcstream.log" &
	PIDS+=($!)
}

@test "a RELAY_REQUEST from a forged source puts no more bytes on the victim than the request had" {
	command -v python3 >/dev/null || skip "python3 needed"
	start_relay
	stream 4
	sleep 0.3
	# the attacker holds an agent's key (31) and names the victim as source
	run glmsend atk -s "[$SRV]:5310" -i 31 -t 300 --from "[$VIC]:7777" RELAY_REQUEST group=$G lifetime=30
	sleep 2
	local sent=$(counted atk) got=$(counted vic)
	echo "# forged RELAY_REQUEST: $sent bytes sent, $got bytes on the victim in 2 s" >&3
	[[ $sent -gt 0 ]]
	[[ $got -le $sent ]]
	[[ $(relay_json "len(r['sessions'])") -eq 0 ]]
	[[ $(relay_json "r['tx_packets']") -eq 0 ]]
	[[ $(relay_json "r['cookies_sent']") -ge 1 ]]
	# the same request from the victim's own address (an agent that
	# receives there) proves it with the cookie, and is served
	run glmsend vic -s "[$SRV]:5310" -i 31 RELAY_REQUEST group=$G lifetime=30
	echo "$output"
	[[ $status -eq 0 && $output == "RELAY_RESPONSE status=ok "* ]]
	[[ $(relay_json "len(r['sessions'])") -eq 1 ]]
}

@test "a SUBSCRIBE for ::/0 from a forged source puts no more bytes on the victim than the request had" {
	command -v socat >/dev/null || skip "socat is not installed"
	start_imsd
	local h
	for h in "${HOMES[@]}"; do
		# (MA: the server's own address, where imsd's PROVE token comes)
		ip netns exec "$NS-srv" "$GLM_BIN/imsclient" -s "[$SRV]:5300" -k "$T/keys-7" -i 7 update "$h" "$SRV" 600 >/dev/null
	done
	[[ $(ims_stat mappings) -eq 8 ]]
	run glmsend atk -s "[$SRV]:5300" -i 8 -t 300 --from "[$VIC]:7777" SUBSCRIBE prefix=::/0 lifetime=3600
	sleep 1
	local sent=$(counted atk) got=$(counted vic)
	echo "# forged SUBSCRIBE ::/0: $sent bytes sent, $got bytes on the victim" >&3
	[[ $sent -gt 0 ]]
	[[ $got -le $sent ]]
	[[ $(ims_stat subscribers) -eq 0 && $(ims_stat notifies_sent) -eq 0 ]]
	[[ $(ims_stat cookies_sent) -ge 1 ]]
	# nor a QUERY (whose REPLY is larger than it)
	run glmsend atk -s "[$SRV]:5300" -i 8 -t 300 --from "[$VIC]:7777" QUERY ha=${HOMES[0]}
	sent=$(counted atk) got=$(counted vic)
	[[ $got -le $sent && $(ims_stat queries) -eq 0 ]]
	# from its own address, the correspondent subscribes (cookie round trip
	# inside imsclient) and gets the dump
	run ip netns exec "$NS-vic" "$GLM_BIN/imsclient" -s "[$SRV]:5300" -k "$T/keys-8" -i 8 subscribe ::/0 60 1
	echo "$output"
	[[ $status -eq 0 && ${lines[0]} == "NOTIFY status=ok prefix=::/0 lifetime=60 "* ]]
	[[ ${#lines[@]} -eq 9 && $(ims_stat subscribers) -eq 1 ]]
}

@test "an UPDATE's ACK to an unproven address is no larger than the UPDATE" {
	command -v socat >/dev/null || skip "socat is not installed"
	start_imsd
	# the mapping live (its MA proven), so a refresh of it needs no proof
	ip netns exec "$NS-srv" "$GLM_BIN/imsclient" -s "[$SRV]:5300" -k "$T/keys-7" -i 7 update "${HOMES[0]}" "$SRV" 600 >/dev/null
	run glmsend atk -s "[$SRV]:5300" -i 7 -t 300 --from "[$VIC]:7777" UPDATE ha=${HOMES[0]} ma=$SRV lifetime=600
	sleep 0.3
	local sent=$(counted atk) got=$(counted vic)
	echo "# forged UPDATE: $sent bytes sent, $got bytes on the victim" >&3
	[[ $got -gt 0 && $got -le $sent ]]
	# a new MA: imsd's PROVE goes to that MA, nothing more to the victim
	local got0=$got
	run glmsend atk -s "[$SRV]:5300" -i 7 -t 300 --from "[$VIC]:7777" UPDATE ha=${HOMES[0]} ma=2001:db8:2::10 lifetime=600
	sleep 0.3
	[[ $(counted vic) -eq $got0 && $(ims_stat updates_prove) -eq 2 ]]   # (the first: imsclient, proven)
	run glmsend atk -s "[$SRV]:5300" -i 7 -t 300 --from "[$VIC]:7777" UPDATE ha=${HOMES[0]} lifetime=0
	sleep 0.3
	sent=$(counted atk) got=$(counted vic)
	[[ $got -le $sent ]]
}

@test "a key's 65th relay session is refused, counted, and logged once" {
	command -v python3 >/dev/null || skip "python3 needed"
	start_relay
	local i
	for i in $(seq 64); do
		glmsend vic -s "[$SRV]:5310" -i 31 RELAY_REQUEST group=ff3e::1:$i lifetime=30 >/dev/null
	done
	[[ $(relay_json "len(r['sessions'])") -eq 64 ]]
	for i in $(seq 65 68); do
		run glmsend vic -s "[$SRV]:5310" -i 31 RELAY_REQUEST group=ff3e::1:$i lifetime=30
		[[ $status -eq 1 && $output == "RELAY_RESPONSE status=limit reached "* ]]
	done
	[[ $(relay_json "len(r['sessions'])") -eq 64 ]]
	[[ $(relay_json "r['refused']['limit']") -eq 4 ]]
	[[ $(grep -c "key 31 holds 64 relay sessions" "$T/relay.log") -eq 1 ]]
	# another key is not held to key 31's count
	run glmsend vic -s "[$SRV]:5310" -i 32 RELAY_REQUEST group=ff3e::1:99 lifetime=30
	[[ $status -eq 0 ]]
}

@test "a key's 17th subscription is refused, counted, and logged once" {
	command -v socat >/dev/null || skip "socat is not installed"
	start_imsd
	local i
	for i in $(seq 16); do
		ip netns exec "$NS-vic" "$GLM_BIN/imsclient" -s "[$SRV]:5300" -k "$T/keys-8" -i 8 subscribe 2001:db8:$i::/48 60 0 >/dev/null
	done
	[[ $(ims_stat subscribers) -eq 16 ]]
	for i in 17 18 19; do
		run ip netns exec "$NS-vic" "$GLM_BIN/imsclient" -s "[$SRV]:5300" -k "$T/keys-8" -i 8 subscribe 2001:db8:$i::/48 60 0
		[[ $status -eq 1 && ${lines[0]} == "NOTIFY status=limit_reached prefix=2001:db8:$i::/48 lifetime=0 "* ]]
	done
	[[ $(ims_stat subscribers) -eq 16 && $(ims_stat subscribes_limited) -eq 3 ]]
	[[ $(grep -c "key 8 holds 16 subscriptions" "$T/imsd.log") -eq 1 ]]
	# another key subscribes
	run ip netns exec "$NS-vic" "$GLM_BIN/imsclient" -s "[$SRV]:5300" -k "$T/keys-7" -i 7 subscribe 2001:db8:99::/48 60 0
	[[ $status -eq 0 && $(ims_stat subscribers) -eq 17 ]]
}
