#!/usr/bin/env bats
# What an operator sees before anything runs: every program's --help and
# --version, and the configuration checks the daemons share (lib/conf.c,
# lib/keys.c) or make on their own (glm-agentd's bridges), each as
# FILE:LINE (or FILE) and exit status 78 from -n, the same at start-up.
#
#   netns glm-conf-$$-N (bridge tests only)
#   +------------------------------------------------------------+
#   |  br0  bridge, mcast_snooping 1   (what the agent needs)    |
#   |       port up0 (a veth; its peer eth9 is in no bridge)     |
#   |  br1  bridge, mcast_snooping 0                             |
#   |  lo   not a bridge                                         |
#   |  glm-agentd -n / -d -f $T/agent.conf                       |
#   +------------------------------------------------------------+
#
# Everything else needs no namespace: -n reads files and exits.

bats_require_minimum_version 1.5.0

# Keys (glm-keys(5)): 1 the IMS (its keyring $T/keys), 7 and 8 guests
# (matd is 8: $T/keys-8; 7 is the correspondent in 2001:db8:c::/48), 9
# an agent (glm-agentd: $T/keys-9).

setup() {
	GLM_BIN=${GLM_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	[[ -x $GLM_BIN/imsd && -x $GLM_BIN/matd && -x $GLM_BIN/glm-agentd ]] ||
		skip "imsd, matd or glm-agentd not built in $GLM_BIN"
	T=$(mktemp -d /tmp/glm-conf.XXXXXX)
	NS=
	AGENT=
	(
		umask 077
		for id in 1 7 8 9; do "$GLM_BIN/glm-keys" genkey $id >"$T/priv-$id"; done
		{
			"$GLM_BIN/glm-keys" pubkey ims <"$T/priv-1"
			"$GLM_BIN/glm-keys" pubkey guest home 2001:db8:100::10 prefix 2001:db8:c::/48 <"$T/priv-7"
			"$GLM_BIN/glm-keys" pubkey guest <"$T/priv-8"
			"$GLM_BIN/glm-keys" pubkey agent prefix 2001:db8:a::/64 <"$T/priv-9"
		} >"$T/keys.pub"
		cat "$T/priv-1" "$T/keys.pub" >"$T/keys"
		for id in 8 9; do cat "$T/priv-$id" "$T/keys.pub" >"$T/keys-$id"; done
	)
}

teardown() {
	[[ -n ${AGENT:-} ]] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
	[[ -n ${NS:-} ]] && ip netns del "$NS" 2>/dev/null
	[[ -n ${T:-} && -d $T ]] && rm -rf "$T"
	return 0
}

# A config for each daemon that -n accepts, plus the lines given. The
# agent is a relay here: its bridges have a test of their own.
imsd_conf() { printf 'keyring %s\n' "$T/keys" >"$T/imsd.conf"; printf '%s\n' "$@" >>"$T/imsd.conf"; }
matd_conf() { printf 'key-id 8\nkeyring %s\n' "$T/keys-8" >"$T/matd.conf"; printf '%s\n' "$@" >>"$T/matd.conf"; }
agent_conf() {
	printf 'role relay\nrelay-interface eth0\nkey-id 9\nkeyring %s\n' "$T/keys-9" >"$T/agent.conf"
	printf '%s\n' "$@" >>"$T/agent.conf"
}

@test "every program answers -h/--help and -V/--version on stdout, exit 0" {
	local p o
	for p in imsd matd matctl glmctl glm-agentd glm-domxml glm-prepare glm-keys; do
		[[ -x $GLM_BIN/$p ]] || continue
		for o in -h --help; do
			run --separate-stderr "$GLM_BIN/$p" "$o"
			echo "$p $o: status $status, stderr '$stderr'"
			[[ $status -eq 0 && -z $stderr && ${lines[0],,} == usage:* ]]
		done
		for o in -V --version; do
			run --separate-stderr "$GLM_BIN/$p" "$o"
			echo "$p $o: status $status, stdout '$output'"
			[[ $status -eq 0 && -z $stderr && $output =~ ^$p\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
		done
	done
	# and the usage lists the short forms it accepts
	run "$GLM_BIN/imsd" --help
	[[ $output == *"-h, --help"* && $output == *"-V, --version"* ]]
}

@test "a keyring with a key id twice is refused by imsd, matd and glm-agentd as FILE:LINE" {
	local k
	for k in keys keys-8 keys-9; do grep '^key 8 ' "$T/keys.pub" | sed 's/^key 8 /key 7 /' >>"$T/$k"; done
	want() { echo "$T/$1:6: key id 7 already defined at line 3"; }
	run "$GLM_BIN/imsd" -n -f /dev/null -k "$T/keys"
	[[ $status -eq 78 && $output == *"$(want keys)"* ]]
	matd_conf
	run "$GLM_BIN/matd" -n -f "$T/matd.conf"
	[[ $status -eq 78 && $output == *"$(want keys-8)"* ]]
	agent_conf
	run "$GLM_BIN/glm-agentd" -n -f "$T/agent.conf"
	[[ $status -eq 78 && $output == *"$(want keys-9)"* ]]
}

@test "a keyring others, its group or another user may read is refused by imsd, matd and glm-agentd, at -n and at start-up" {
	matd_conf
	agent_conf
	chmod 644 "$T/keys" "$T/keys-8" "$T/keys-9"
	want() { echo "keyring $T/$1: mode 0644 is readable by others: chmod 600 it"; }
	run "$GLM_BIN/imsd" -n -f /dev/null -k "$T/keys"
	echo "$output"
	[[ $status -eq 78 && $output == *"imsd: $(want keys)"* && $output != *"configuration OK"* ]]
	run "$GLM_BIN/matd" -n -f "$T/matd.conf"
	[[ $status -eq 78 && $output == *"matd: $(want keys-8)"* ]]
	run "$GLM_BIN/glm-agentd" -n -f "$T/agent.conf"
	[[ $status -eq 78 && $output == *"glm-agentd: $(want keys-9)"* ]]
	# starting fails the same way, before anything is made
	run timeout 10 "$GLM_BIN/imsd" -d -f /dev/null -k "$T/keys" -l "[::1]:5399" -D "$T/ims.db" -s "$T/ims.sock" \
		-p "$T/imsd.pid"
	echo "$output"
	[[ $status -eq 78 && $output == *"imsd: $(want keys)"* ]]
	[[ ! -e $T/ims.sock && ! -e $T/ims.db && ! -e $T/imsd.pid ]]
	chmod 640 "$T/keys"
	run "$GLM_BIN/imsd" -n -f /dev/null -k "$T/keys"
	[[ $status -eq 78 && $output == *"keyring $T/keys: mode 0640 is readable by its group: chmod 600 it"* ]]
	# a symbolic link, even to a good keyring: the file read is the one named
	chmod 600 "$T/keys"
	ln -s "$T/keys" "$T/link"
	run "$GLM_BIN/imsd" -n -f /dev/null -k "$T/link"
	[[ $status -eq 78 && $output == *"keyring $T/link: a symbolic link: name the file itself"* ]]
	run "$GLM_BIN/imsd" -n -f /dev/null -k "$T/keys"
	[[ $status -eq 0 && $output == *"configuration OK"* ]]
	# another user's file, mode 0600 or not
	[[ $EUID -eq 0 ]] || skip "giving the keyring to another user needs root"
	chown 65534 "$T/keys"
	run "$GLM_BIN/imsd" -n -f /dev/null -k "$T/keys"
	echo "$output"
	[[ $status -eq 78 && $output == *"keyring $T/keys: owned by uid 65534, but this program runs as uid 0: chown 0 it"* ]]
}

@test "a bare ADDR:PORT that also reads as one address is refused; [ADDR]:PORT, [ADDR] and ADDR are not" {
	local amb=2001:db8:c::5:5300
	local why="'ims $amb' is ambiguous: write [2001:db8:c::5]:5300 for port 5300, or [$amb] for the address"
	matd_conf "ims $amb"
	run "$GLM_BIN/matd" -n -f "$T/matd.conf"
	echo "$output"
	[[ $status -eq 78 && $output == *"$T/matd.conf:3: $why"* ]]
	agent_conf "ims $amb"
	run "$GLM_BIN/glm-agentd" -n -f "$T/agent.conf"
	echo "$output"
	[[ $status -eq 78 && $output == *"$T/agent.conf:5: $why"* ]]
	imsd_conf "listen $amb"
	run "$GLM_BIN/imsd" -n -f "$T/imsd.conf"
	echo "$output"
	[[ $status -eq 78 && $output == *"$T/imsd.conf:2: 'listen $amb' is ambiguous: write [2001:db8:c::5]:5300"* ]]
	run "$GLM_BIN/imsd" -n -f /dev/null -k "$T/keys" -l "$amb"
	[[ $status -eq 64 && $output == *"bad listen address '$amb'"* ]]
	# what is meant is written without doubt; a bare address that cannot
	# end in a port (2001:db8:c: is no address) stays an address
	local ok
	for ok in "[2001:db8:c::5]:5300" "[$amb]" 2001:db8:c::5 2001:db8:c::5300 2001:db8:c::5:abcd; do
		matd_conf "ims $ok" "correspondent $ok"
		run "$GLM_BIN/matd" -n -f "$T/matd.conf"
		[[ $status -eq 0 ]]
		agent_conf "ims $ok" "relay $ok" "listen $ok"
		run "$GLM_BIN/glm-agentd" -n -f "$T/agent.conf"
		[[ $status -eq 0 ]]
		imsd_conf "listen $ok"
		run "$GLM_BIN/imsd" -n -f "$T/imsd.conf"
		[[ $status -eq 0 ]]
	done
	matd_conf "correspondent 2001:db8::7:80"
	run "$GLM_BIN/matd" -n -f "$T/matd.conf"
	[[ $status -eq 78 && $output == *"$T/matd.conf:3: 'correspondent 2001:db8::7:80' is ambiguous"* ]]
}

@test "glm-agentd checks its bridges: missing, not a bridge, not snooping, an uplink not a port; at -n and at start-up" {
	[[ $EUID -eq 0 ]] || skip "network namespaces need root"
	NS=glm-conf-$$-$BATS_TEST_NUMBER
	ip netns add "$NS"
	ip -n "$NS" link add br0 type bridge mcast_snooping 1 ||
		skip "cannot create a bridge (no bridge module?)"
	ip -n "$NS" link add br1 type bridge mcast_snooping 0
	printf 'bridge br0\nkey-id 9\nkeyring %s\ncontrol %s\n' "$T/keys-9" "$T/agent.sock" >"$T/agent.conf"
	run ip netns exec "$NS" "$GLM_BIN/glm-agentd" -n -f "$T/agent.conf"
	[[ $status -eq 0 && $output == *"configuration OK"* ]]
	printf 'bridge nosuch\nbridge lo\nbridge br1\n' >>"$T/agent.conf"
	run ip netns exec "$NS" "$GLM_BIN/glm-agentd" -n -f "$T/agent.conf"
	echo "$output"
	[[ $status -eq 78 ]]
	[[ $output == *"$T/agent.conf: bridge nosuch: does not exist"* ]]
	[[ $output == *"$T/agent.conf: bridge lo: is not a bridge"* ]]
	[[ $output == *"$T/agent.conf: bridge br1: does not snoop multicast (ip link set br1 type bridge mcast_snooping 1)"* ]]
	[[ $output != *"bridge br0"* && $output != *"configuration OK"* ]]
	# an uplink (RA guard) is a port of its bridge, or -n says what it is
	ip -n "$NS" link add up0 type veth peer name eth9
	ip -n "$NS" link set up0 master br0
	printf 'bridge br0 uplink up0\nkey-id 9\nkeyring %s\ncontrol %s\n' "$T/keys-9" "$T/agent.sock" >"$T/agent.conf"
	run ip netns exec "$NS" "$GLM_BIN/glm-agentd" -n -f "$T/agent.conf"
	[[ $status -eq 0 && $output == *"configuration OK"* ]]
	printf 'bridge br0 uplink up0 uplink eth9 uplink nosuch uplink lo\nkey-id 9\nkeyring %s\n' "$T/keys-9" >"$T/agent.conf"
	run ip netns exec "$NS" "$GLM_BIN/glm-agentd" -n -f "$T/agent.conf"
	echo "$output"
	[[ $status -eq 78 ]]
	[[ $output == *"$T/agent.conf: bridge br0: uplink eth9 is not a port of br0"* ]]
	[[ $output == *"$T/agent.conf: bridge br0: uplink nosuch does not exist"* ]]
	[[ $output == *"$T/agent.conf: bridge br0: uplink lo is not a port of br0"* ]]
	[[ $output != *"uplink up0"* && $output != *"configuration OK"* ]]
	# and the line itself, as FILE:LINE
	printf 'bridge br0 uplink\nkey-id 9\nkeyring %s\n' "$T/keys-9" >"$T/agent.conf"
	run ip netns exec "$NS" "$GLM_BIN/glm-agentd" -n -f "$T/agent.conf"
	[[ $status -eq 78 && $output == *"$T/agent.conf:1: usage: bridge IFNAME [uplink PORT]..."* ]]
	# starting it fails the same way, before the control socket exists
	printf 'bridge br1\nkey-id 9\nkeyring %s\ncontrol %s\n' "$T/keys-9" "$T/agent.sock" >"$T/agent.conf"
	ip netns exec "$NS" "$GLM_BIN/glm-agentd" -d -f "$T/agent.conf" >"$T/agent.log" 2>&1 &
	AGENT=$!
	local rc=0
	for _ in $(seq 50); do kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
	kill "$AGENT" 2>/dev/null || true # still running: it took the bridge
	wait "$AGENT" || rc=$?
	AGENT=
	cat "$T/agent.log"
	[[ $rc -eq 78 ]]
	grep -qF "$T/agent.conf: bridge br1: does not snoop multicast" "$T/agent.log"
	[[ ! -e $T/agent.sock ]]
}

# example_keyrings: for each key of etc/glm-keys.example a fresh key pair
# of the same id, role, home addresses and prefixes, and $T/ex-ID, the
# keyring of node ID (its private line, then every public line).
example_keyrings() {
	(
		umask 077
		local id spec ids=()
		: >"$T/ex.pub"
		while read -r _ id spec; do
			"$GLM_BIN/glm-keys" genkey "$id" >"$T/ex-priv-$id" || exit 1
			# shellcheck disable=SC2086 # the role and its words, without the public key
			"$GLM_BIN/glm-keys" pubkey $(awk '{ $2 = ""; print }' <<<"$spec") <"$T/ex-priv-$id" >>"$T/ex.pub" || exit 1
			ids+=("$id")
		done < <(grep '^key ' "$REPO/etc/glm-keys.example")
		for id in "${ids[@]}"; do cat "$T/ex-priv-$id" "$T/ex.pub" >"$T/ex-$id"; done
	)
}

REPO=$BATS_TEST_DIRNAME/../..

@test "every etc/*.conf passes its daemon's -n, with the example keyring's key ids" {
	[[ $EUID -eq 0 ]] || skip "glm-agentd's bridges are checked in a network namespace, which needs root"
	[[ -x $GLM_BIN/glm-gatewayd ]] || skip "glm-gatewayd not built in $GLM_BIN"
	example_keyrings
	# the bridge and uplink etc/agentd.conf names, as glm-agentd(8) wants them
	NS=glm-conf-$$-$BATS_TEST_NUMBER
	ip netns add "$NS"
	ip -n "$NS" link add br0 type bridge mcast_snooping 1 || skip "cannot create a bridge (no bridge module?)"
	ip -n "$NS" link add eth0 type veth peer name eth9
	ip -n "$NS" link set eth0 master br0
	local conf daemon id n=0 ims
	ims=$(awk '$1 == "key" && $3 == "ims" { print $2; exit }' "$REPO/etc/glm-keys.example")
	for conf in "$REPO"/etc/*.conf; do
		case ${conf##*/} in
		imsd*.conf) daemon=imsd ;;
		matd.conf) daemon=matd ;;
		agentd.conf | relay.conf) daemon=glm-agentd ;;
		gatewayd.conf) daemon=glm-gatewayd ;;
		*) echo "${conf##*/}: which daemon's is it?"; false ;;
		esac
		id=$(awk '$1 == "key-id" { print $2 }' "$conf")
		[[ -n $id ]] || id=$ims
		# the key id is one of the example keyring's
		grep -q "^key $id " "$REPO/etc/glm-keys.example"
		# the file as shipped, but for the keyring's path
		sed "s|^keyring .*|keyring $T/ex-$id|" "$conf" >"$T/${conf##*/}"
		run ip netns exec "$NS" "$GLM_BIN/$daemon" -n -f "$T/${conf##*/}"
		echo "$daemon -n -f etc/${conf##*/} (key $id): status $status: $output"
		[[ $status -eq 0 && $output == *"configuration OK"* ]]
		n=$((n + 1))
	done
	[[ $n -ge 6 ]]
	# one keyring path in all of them, the one the man pages give
	[[ $(grep -h '^keyring ' "$REPO"/etc/*.conf | sort -u) == "keyring /etc/glm/keys" ]]
}

@test "etc/glm-keys.example as shipped is the keyring matd.conf asks for: -n passes with it at mode 0600" {
	install -m 600 "$REPO/etc/glm-keys.example" "$T/example-keys"
	sed "s|^keyring .*|keyring $T/example-keys|" "$REPO/etc/matd.conf" >"$T/matd.conf"
	run "$GLM_BIN/matd" -n -f "$T/matd.conf"
	echo "$output"
	[[ $status -eq 0 && $output == *"configuration OK"* ]]
	# and refused as the copy cp would make of it
	chmod 644 "$T/example-keys"
	run "$GLM_BIN/matd" -n -f "$T/matd.conf"
	[[ $status -eq 78 && $output == *"keyring $T/example-keys: mode 0644 is readable by others: chmod 600 it"* ]]
}

@test "comments hold any UTF-8; a control character or non-ASCII outside a comment is refused as FILE:LINE" {
	matd_conf "# matd.conf(5) — ein Gast, 一个客人 😀"
	run "$GLM_BIN/matd" -n -f "$T/matd.conf"
	echo "$output"
	[[ $status -eq 0 && $output == *"configuration OK"* ]]
	matd_conf "interface éth0"
	run "$GLM_BIN/matd" -n -f "$T/matd.conf"
	[[ $status -eq 78 && $output == *"$T/matd.conf:3: byte 0xc3 at column 11: only comments may hold non-ASCII text"* ]]
	matd_conf $'lifetime 600\e[2J'
	run "$GLM_BIN/matd" -n -f "$T/matd.conf"
	[[ $status -eq 78 && $output == *"$T/matd.conf:3: control character 0x1b at column 13"* ]]
}
