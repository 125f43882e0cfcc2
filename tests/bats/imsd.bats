#!/usr/bin/env bats
# imsd, the IP address Mapping Server, end to end: a real imsd and the
# imsclient test tool in a network namespace of their own per test.
#
#   netns glm-ims-$$-N (one per test, only lo, up)
#   +-------------------------------------------------------------+
#   |  imsclient --UDP--> [::1]:PORT imsd --> $T/ims.db (SQLite)  |
#   |                                  |                          |
#   |  socat --unix--> $T/ctl ---------+  (stats, dump)           |
#   +-------------------------------------------------------------+
#
# Key 1 is imsd's; guest 7 owns 2001:db8:100::10 and ::11, guest 8 owns
# nothing (it may query and subscribe, not update), agent 20 serves
# 2001:db8:2::/64 (it vouches for MAs there); each has a keyring
# of its own, $T/keys-ID (imsd's is $T/keys), made with glm-keys.
# Everything lives in a mktemp -d directory.
HA=2001:db8:100::10
HA2=2001:db8:100::11

setup() {
	GLM_BIN=${GLM_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	[[ -x $GLM_BIN/imsd && -x $GLM_BIN/imsclient ]] || skip "imsd or imsclient not built in $GLM_BIN"
	[[ $EUID -eq 0 ]] || skip "network namespaces need root"
	command -v socat >/dev/null || skip "socat is not installed"
	NS=glm-ims-$$-$BATS_TEST_NUMBER
	PORT=5300
	PID=
	T=$(mktemp -d /tmp/glm-ims.XXXXXX)
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	# the MAs of the tests are ours here (and bindable; 2001:db8:7::/48
	# is nowhere, a victim's): an
	# update is sent from its MA, where the IMS's PROVE token comes
	for p in 2001:db8:2::/48 2001:db8:3::/48 2001:db8:666::/48; do ip -n "$NS" -6 route add local $p dev lo; done
	ip netns exec "$NS" sysctl -qw net.ipv6.ip_nonlocal_bind=1
	(
		umask 077
		for id in 1 7 8 9 20; do "$GLM_BIN/glm-keys" genkey $id >"$T/priv-$id"; done
		{
			"$GLM_BIN/glm-keys" pubkey ims <"$T/priv-1"
			"$GLM_BIN/glm-keys" pubkey guest home $HA home $HA2 <"$T/priv-7"
			"$GLM_BIN/glm-keys" pubkey guest <"$T/priv-8"
			"$GLM_BIN/glm-keys" pubkey agent prefix 2001:db8:2::/64 <"$T/priv-20"
		} >"$T/keys.pub"
		"$GLM_BIN/glm-keys" pubkey guest <"$T/priv-9" >"$T/key-9.pub"
		cat "$T/priv-1" "$T/keys.pub" >"$T/keys"
		for id in 7 8 20; do cat "$T/priv-$id" "$T/keys.pub" >"$T/keys-$id"; done
		cat "$T/priv-9" "$T/keys.pub" "$T/key-9.pub" >"$T/keys-9"
	)
	cat >"$T/imsd.conf" <<-EOC
	listen [::1]:$PORT
	database $T/ims.db
	keyring $T/keys
	control $T/ctl
	max-lifetime 3600
	EOC
}

teardown() {
	local rc=0

	[[ -n ${SLOW:-} ]] && kill "$SLOW" 2>/dev/null
	stop_imsd || rc=1
	[[ -n ${NS:-} ]] && ip netns del "$NS" 2>/dev/null
	[[ -n ${T:-} && -d $T ]] && rm -rf "$T"
	return $rc
}

start_imsd() {
	rm -f "$T/pid"
	ip netns exec "$NS" "$GLM_BIN/imsd" -d -v -f "$T/imsd.conf" -p "$T/pid" "$@" 2>>"$T/imsd.log" &
	PID=$!
	for _ in $(seq 50); do
		[[ -s $T/pid ]] && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$T/imsd.log" >&2
	false
}

stop_imsd() {
	[[ -n ${PID:-} ]] || return 0
	kill "$PID" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	PID=
	# Under SAN=1 a sanitizer report is a failure even if the test passed.
	! grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/imsd.log" >&2 || false
}

# ims [-i ID] ...: imsclient as guest ID (8 unless -i says), with its keyring.
ims() {
	local id=8 prev= a
	for a in "$@"; do
		[[ $prev == -i ]] && id=$a
		prev=$a
	done
	ip netns exec "$NS" "$GLM_BIN/imsclient" -s "[::1]:$PORT" -k "$T/keys-$id" "$@"
}

ctl() {
	socat - "UNIX-CONNECT:$T/ctl" <<<"$*"
}

stat_of() {
	ctl stats | sed -n "s/^$1=//p"
}

@test "update then query returns the MA" {
	start_imsd
	run ims -i 7 update $HA 2001:db8:2::10 60
	[[ $status -eq 0 ]]
	# to an address not proven by a cookie, an answer is no larger than
	# its request: the update sent again with the IMS's PROOF token (the
	# MA was new) leaves room for the whole ACK
	[[ $output == "ACK status=ok ha=$HA ma=2001:db8:2::10 lifetime=60 seq="* ]]
	run ims -i 8 query $HA
	[[ $status -eq 0 ]]
	[[ $output == "REPLY status=ok ha=$HA ma=2001:db8:2::10 lifetime="* ]]
	run ims -i 8 query $HA2
	[[ $status -eq 1 ]]
	[[ $output == "REPLY status=not_found ha=$HA2 "* ]]
	[[ $(stat_of updates_ok) -eq 1 && $(stat_of queries) -eq 2 && $(stat_of mappings) -eq 1 ]]
	run ctl dump
	[[ ${lines[0]} == ok && ${lines[1]} == "$HA 2001:db8:2::10 "* ]]
}

@test "forged MAC is refused, unanswered and counted; mapping unchanged" {
	start_imsd
	ims -i 7 update $HA 2001:db8:2::10 60
	run ims -t 300 -i 7 --forge update $HA 2001:db8:666::1 60
	[[ $status -eq 2 && $output == *"no answer"* ]]
	run ims -i 8 query $HA
	[[ $output == *"ma=2001:db8:2::10 "* ]]
	[[ $(stat_of drop_bad_MAC) -eq 1 && $(stat_of updates_ok) -eq 1 ]]
}

@test "replayed update is refused as stale; mapping unchanged" {
	start_imsd
	# The same sealed bytes twice: the second is stale.
	run ims -i 7 --replay update $HA 2001:db8:2::10 60
	[[ $status -eq 1 ]]
	[[ ${lines[0]} == "ACK status=ok "* && ${lines[1]} == "ACK status=stale "* ]]
	# A captured old update replayed after a newer one must not win.
	ims -i 7 --save "$T/old.hex" update $HA 2001:db8:2::20 60
	ims -i 7 update $HA 2001:db8:2::30 60
	run ims -t 300 --raw "$(cat "$T/old.hex")"
	[[ $output == "ACK status=stale ha=$HA "* ]]
	run ims -i 8 query $HA
	[[ $output == *"ma=2001:db8:2::30 "* ]]
	# Queries have no durable seq: a replayed one is dropped, not answered.
	run ims -t 300 -i 8 --replay query $HA
	[[ $status -eq 2 && ${#lines[@]} -ge 2 ]]
	[[ $(stat_of updates_stale) -eq 2 && $(stat_of drop_replay) -eq 1 ]]
	grep -q "update $HA from key 7 refused: stale seq" "$T/imsd.log"
}

@test "update with a stale seq is refused" {
	start_imsd
	# seqs are the sender's clock in ns (within the window of glm-keys(5))
	local s=$(date +%s%N)
	ims -i 7 --seq $s update $HA 2001:db8:2::10 60
	run ims -i 7 --seq $((s - 1)) update $HA 2001:db8:2::99 60
	[[ $status -eq 1 && $output == "ACK status=stale ha=$HA seq=$((s - 1))" ]]
	run ims -i 7 --seq $s update $HA 2001:db8:2::99 60
	[[ $status -eq 1 && $output == "ACK status=stale "* ]]
	run ims -i 8 query $HA
	[[ $output == *"ma=2001:db8:2::10 "*"seq=$s" ]]
	grep -q "update $HA from key 7 refused: stale seq $((s - 1)) <= $s" "$T/imsd.log"
}

@test "an UPDATE's MA is not taken on the sender's word: vouched for by the agent of its prefix, or proven at the MA" {
	start_imsd
	# no vouch, and the token not answered: refused, nothing stored
	run ims -i 7 --no-prove update $HA 2001:db8:2::10 60
	echo "$output"
	[[ $status -eq 1 && $output == *"status=prove"* ]]
	run ims -i 8 query $HA
	[[ $status -eq 1 && $output == *"status=not_found"* ]]
	# an MA the sender is not at (2001:db8:7::1 is nobody's here): the
	# token goes there, the sender gets nothing, nothing is stored
	run ims -t 300 -i 7 update $HA 2001:db8:7::1 60
	[[ $status -eq 2 ]]
	run ims -i 8 query $HA
	[[ $status -eq 1 ]]
	# at the MA, answered with the token: stored
	run ims -i 7 update $HA 2001:db8:2::10 60
	[[ $status -eq 0 && ${lines[-1]} == *"status=ok"* ]]
	# the same MA again (a refresh): no token needed
	run ims -i 7 --no-prove update $HA 2001:db8:2::10 60
	[[ $status -eq 0 && $output != *"status=prove"* ]]
	# agent 20's vouch for an MA in its prefix: taken at once
	run ims -i 7 --vouch "$T/keys-20" --no-prove update $HA 2001:db8:2::20 60
	[[ $status -eq 0 && $output != *"status=prove"* ]]
	# its vouch for an MA outside its prefix, or a guest's "vouch": not
	run ims -i 7 --vouch "$T/keys-20" --no-prove update $HA 2001:db8:3::10 60
	[[ $status -eq 1 && $output == *"status=prove"* ]]
	run ims -i 7 --vouch "$T/keys-8" --no-prove update $HA 2001:db8:2::30 60
	[[ $status -eq 1 && $output == *"status=prove"* ]]
	run ims -i 8 query $HA
	[[ $status -eq 0 && $output == *"ma=2001:db8:2::20 "* ]]
	grep -q "MA outside the signer's prefixes; asking it to prove the MA" "$T/imsd.log"
	grep -q "signer not an agent; asking it to prove the MA" "$T/imsd.log"
	[[ $(stat_of updates_prove) -eq 5 ]]
}

@test "a key that does not own the HA is denied" {
	start_imsd
	run ims -i 8 update $HA 2001:db8:666::1 60
	[[ $status -eq 1 && $output == "ACK status=denied ha=$HA "* ]]
	run ims -i 7 query $HA
	[[ $status -eq 1 && $output == *"status=not_found"* ]]
	[[ $(stat_of updates_denied) -eq 1 && $(stat_of mappings) -eq 0 ]]
	grep -q "update $HA from key 8 refused: key does not own" "$T/imsd.log"
}

@test "mappings and their seqs survive a restart of imsd" {
	start_imsd
	# a seq 20 s ahead (inside the window): after the restart, one
	# sent then but older than the stored one is still stale
	local s=$(($(date +%s%N) + 20000000000))
	ims -i 7 --seq $s update $HA 2001:db8:2::10 600
	stop_imsd
	[[ ! -e $T/pid && ! -e $T/ctl ]]   # a clean exit removes its files
	start_imsd
	run ims -i 8 query $HA
	[[ $status -eq 0 && $output == *"ma=2001:db8:2::10 "*"seq=$s" ]]
	run ims -i 7 --seq $(($(date +%s%N) + 10000000000)) update $HA 2001:db8:2::99 600
	[[ $status -eq 1 && $output == *"status=stale"* ]]
}

@test "QUERY and SUBSCRIBE captured before a restart of imsd are dropped after it, unanswered" {
	start_imsd
	ims -i 7 update $HA 2001:db8:2::10 600
	run ims -i 8 --save "$T/query.hex" query $HA
	[[ $status -eq 0 && $output == *"ma=2001:db8:2::10 "* ]]
	run ims -i 8 --save "$T/sub.hex" subscribe 2001:db8:100::/64 60 0
	[[ $status -eq 0 && ${lines[0]} == "NOTIFY status=ok prefix=2001:db8:100::/64 "* ]]
	stop_imsd
	start_imsd
	# the same bytes, authentic and their key's newest: sent before
	# this imsd started, so neither answered nor subscribed
	run ims -t 300 --raw "$(cat "$T/query.hex")"
	[[ $status -eq 2 ]]
	run ims -t 300 --raw "$(cat "$T/sub.hex")"
	[[ $status -eq 2 ]]
	[[ $(stat_of drop_seq_before_start) -eq 2 && $(stat_of queries) -eq 0 ]]
	[[ $(stat_of subscribes) -eq 0 && $(stat_of subscribers) -eq 0 && $(stat_of notifies_sent) -eq 0 ]]
	# the same key's new requests are served
	run ims -i 8 query $HA
	[[ $status -eq 0 && $output == *"ma=2001:db8:2::10 "* ]]
}

@test "an UPDATE with seq 2^64-1 is dropped and stores nothing; updates go on, also after a restart" {
	start_imsd
	run ims -t 300 -i 7 --seq 18446744073709551615 update $HA 2001:db8:2::66 600
	[[ $status -eq 2 ]]
	[[ $(stat_of drop_seq_ahead) -eq 1 && $(stat_of mappings) -eq 0 && $(stat_of updates_ok) -eq 0 ]]
	run ims -i 7 update $HA 2001:db8:2::10 600
	[[ $status -eq 0 && $output == "ACK status=ok "* ]]
	stop_imsd
	start_imsd
	run ims -i 7 update $HA 2001:db8:2::20 600
	[[ $status -eq 0 && $output == "ACK status=ok "* ]]
	run ims -i 8 query $HA
	[[ $output == *"ma=2001:db8:2::20 "* ]]
}

@test "a stored seq far ahead of the clock (written before seqs were bounded) no longer blocks updates" {
	command -v python3 >/dev/null && python3 -c "import sqlite3" 2>/dev/null || skip "python3 with sqlite3 needed"
	start_imsd
	ims -i 7 update $HA 2001:db8:2::10 600
	stop_imsd
	# what an UPDATE with seq 2^64-1 left behind (SQLite keeps a u64 as its i64 bit pattern)
	python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('UPDATE mappings SET seq=-1'); c.commit()" "$T/ims.db"
	start_imsd
	run ims -i 8 query $HA
	[[ $output == *"seq=18446744073709551615" ]]
	run ims -i 7 update $HA 2001:db8:2::20 600
	[[ $status -eq 0 && $output == "ACK status=ok "* ]]
	run ims -i 8 query $HA
	[[ $output == *"ma=2001:db8:2::20 "* && $output != *"seq=18446744073709551615" ]]
	grep -q "update $HA from key 7: stored seq 18446744073709551615 is ahead of our clock beyond the window; replaced" "$T/imsd.log"
}

@test "a seq more than 60 s old or 30 s ahead is dropped unanswered; one from before the start too" {
	local before=$(date +%s%N)
	old() { echo $(($(date +%s%N) - 61000000000)); }
	ahead() { echo $(($(date +%s%N) + 35000000000)); }
	start_imsd
	ims -i 7 update $HA 2001:db8:2::10 600
	run ims -t 300 -i 8 --seq "$(old)" query $HA
	[[ $status -eq 2 ]]
	run ims -t 300 -i 8 --seq "$(ahead)" query $HA
	[[ $status -eq 2 ]]
	run ims -t 300 -i 7 --seq "$(old)" update $HA 2001:db8:2::66 600
	[[ $status -eq 2 ]]
	run ims -t 300 -i 7 --seq "$(ahead)" update $HA 2001:db8:2::66 600
	[[ $status -eq 2 ]]
	[[ $(stat_of drop_seq_too_old) -eq 2 && $(stat_of drop_seq_ahead) -eq 2 && $(stat_of queries) -eq 0 ]]
	# inside the window but sent before imsd started
	run ims -t 300 -i 7 --seq $before update $HA 2001:db8:2::66 600
	[[ $status -eq 2 && $(stat_of drop_seq_before_start) -eq 1 ]]
	# nothing of it stored; key 8's own requests were not locked out
	run ims -i 8 query $HA
	[[ $status -eq 0 && $output == *"ma=2001:db8:2::10 "* ]]
	[[ $(stat_of updates_ok) -eq 1 ]]
}

@test "malformed datagrams are counted and dropped; imsd still answers" {
	start_imsd
	run ims -t 300 --raw 0102
	[[ $status -eq 2 ]]
	# A valid update with another version byte.
	ims -t 100 -i 7 --save "$T/good.hex" --forge update $HA 2001:db8:2::10 60 || true
	run ims -t 300 --raw "02$(cut -c3- "$T/good.hex")"
	[[ $status -eq 2 ]]
	# Header says 56 bytes; the HA TLV claims 16 bytes but 4 remain before the MAC.
	run ims -t 300 --raw "0107003800000007000000000000000100010010aabbccdd$(printf '00%.0s' $(seq 32))"
	[[ $status -eq 2 ]]
	run ims -t 300 --raw "$(head -c 200 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	[[ $status -eq 2 ]]
	[[ $(stat_of drop_short) -eq 1 && $(stat_of drop_bad_version) -ge 1 ]]
	[[ $(stat_of drop_truncated_TLV) -eq 1 && $(stat_of drop_bad_MAC) -eq 1 ]]
	drops=$(ctl stats | sed -n 's/^drop_[^=]*=//p' | paste -sd+ | bc)
	[[ $drops -eq 5 && $(stat_of rx) -eq 5 ]]
	run ims -i 7 update $HA 2001:db8:2::10 60
	[[ $status -eq 0 ]]
	kill -0 "$PID"
}

@test "a mapping whose lifetime ran out is removed" {
	start_imsd
	# 2 s, not 1: expiry counts whole wall-clock seconds, so a 1 s
	# lifetime given at x.99 may be over before the query below
	ims -i 7 update $HA 2001:db8:2::10 2
	ims -i 7 update $HA2 2001:db8:2::11 600
	run ims -i 8 query $HA
	[[ $status -eq 0 ]]
	sleep 3.5
	run ims -i 8 query $HA
	[[ $status -eq 1 && $output == *"status=not_found"* ]]
	[[ $(stat_of mappings) -eq 1 ]]
	run ctl dump
	[[ ${#lines[@]} -eq 2 && ${lines[1]} == "$HA2 "* ]]
	grep -q "mapping $HA -> 2001:db8:2::10 expired" "$T/imsd.log"
}

@test "subscribe gets the current mappings, then a push on every change" {
	start_imsd
	ims -i 7 update $HA 2001:db8:2::10 600
	ims -i 8 subscribe 2001:db8:100::/64 60 3 >"$T/sub.out" &
	sub=$!
	for _ in $(seq 30); do grep -q "ha=$HA" "$T/sub.out" && break; sleep 0.1; done
	ims -i 7 update $HA2 2001:db8:2::11 600      # new
	ims -i 7 update $HA 2001:db8:3::10 600       # moved
	ims -i 7 update $HA 2001:db8:3::10 0         # withdrawn
	wait "$sub"
	cat "$T/sub.out"
	run cat "$T/sub.out"
	[[ ${lines[0]} == "NOTIFY status=ok prefix=2001:db8:100::/64 lifetime=60 "* ]]
	[[ ${lines[1]} == "NOTIFY status=ok ha=$HA ma=2001:db8:2::10 lifetime="* ]]
	[[ ${lines[2]} == "NOTIFY status=ok ha=$HA2 ma=2001:db8:2::11 lifetime=600 "* ]]
	[[ ${lines[3]} == "NOTIFY status=ok ha=$HA ma=2001:db8:3::10 lifetime=600 "* ]]
	[[ ${lines[4]} == "NOTIFY status=ok ha=$HA ma=2001:db8:3::10 lifetime=0 "* ]]
	[[ ${#lines[@]} -eq 5 ]]
	[[ $(stat_of notifies_sent) -eq 4 && $(stat_of subscribers) -eq 1 ]]
}

@test "imsd -n reports a bad config line as FILE:LINE and fails" {
	run "$GLM_BIN/imsd" -n -f "$T/imsd.conf"
	[[ $status -eq 0 && $output == *"configuration OK"* ]]
	echo "subscription-lifetime forever" >>"$T/imsd.conf"
	run "$GLM_BIN/imsd" -n -f "$T/imsd.conf"
	[[ $status -eq 78 ]]   # EX_CONFIG
	[[ $output == *"$T/imsd.conf:6: bad subscription-lifetime 'forever'"* ]]
	echo "key 9 guest nothex" >>"$T/keys"
	run "$GLM_BIN/imsd" -n -f /dev/null -k "$T/keys"
	[[ $status -eq 78 && $output == *"$T/keys:6: key 9: public key must be 64 hex digits (glm-keys pubkey)"* ]]
}

# A control client that sends one byte every 0.5 s for 5 s. Each byte
# comes well within a per-read timeout; the request line never comes.
# Prints "connected", then "dropped after N bytes, T s" when the daemon
# closes on it, or "never dropped" if it got to send everything.
slow_client() {
	python3 - "$1" <<-'EOP'
	import socket, sys, time
	s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
	s.connect(sys.argv[1])
	print("connected", flush=True)
	t0, sent = time.monotonic(), 0
	try:
	    while time.monotonic() - t0 < 5:
	        s.send(b"s")
	        sent += 1
	        time.sleep(0.5)
	    print("never dropped")
	except OSError:
	    print("dropped after %d bytes, %.1f s" % (sent, time.monotonic() - t0))
	EOP
}

@test "a control client that trickles its request is dropped; stats and UDP are served meanwhile" {
	start_imsd
	ims -i 7 update $HA 2001:db8:2::10 60
	slow_client "$T/ctl" >"$T/slow.out" &
	SLOW=$!
	for _ in $(seq 50); do
		grep -q connected "$T/slow.out" && break
		sleep 0.05
	done
	# imsd is reading the slow client's request: a normal one waits at
	# most for that request's deadline (1 s from its accept)
	local t0=$EPOCHREALTIME t1
	run timeout 8 socat -t 8 - "UNIX-CONNECT:$T/ctl" <<<stats
	t1=$EPOCHREALTIME
	local ms=$(((${t1/./} - ${t0/./}) / 1000))
	echo "stats answered in $ms ms: ${lines[0]}"
	[[ $status -eq 0 && ${lines[0]} == ok && $output == *"updates_ok=1"* ]]
	[[ $ms -lt 1500 ]]
	# and UDP is served while the slow client is still sending
	run ims -t 500 -i 8 query $HA
	[[ $status -eq 0 && $output == *"ma=2001:db8:2::10 "* ]]
	wait "$SLOW"
	SLOW=
	cat "$T/slow.out"
	grep -qE '^dropped after [1-3] bytes' "$T/slow.out"
	grep -E "control: client pid [0-9]+ \(uid 0\) too slow: no request line after 1000 ms \([1-3] bytes\), dropped" "$T/imsd.log"
}

@test "SIGHUP reloads the keyring; a broken keyring keeps the old keys" {
	start_imsd
	run ims -i 9 query $HA
	[[ $status -ne 0 ]]
	cat "$T/key-9.pub" >>"$T/keys"
	kill -HUP "$PID"
	sleep 0.3
	run ims -i 9 query $HA
	[[ $status -eq 1 && $output == *"status=not_found"* ]]
	cp "$T/keys" "$T/keys.good"
	echo "garbage" >>"$T/keys"
	kill -HUP "$PID"
	sleep 0.3
	run ims -i 9 query $HA
	[[ $status -eq 1 && $output == *"status=not_found"* ]]
	grep -q "keeping the 5 keys in use" "$T/imsd.log"
	# a good keyring others may read is as broken: refused, and why
	cp "$T/keys.good" "$T/keys"
	chmod 644 "$T/keys"
	kill -HUP "$PID"
	sleep 0.3
	run ims -i 9 query $HA
	[[ $status -eq 1 && $output == *"status=not_found"* ]]
	grep -q "keyring $T/keys: mode 0644 is readable by others: chmod 600 it" "$T/imsd.log"
	[[ $(grep -c "keeping the 5 keys in use" "$T/imsd.log") -eq 2 ]]
}

@test "a second imsd whose UDP port is taken exits 69 and creates no database" {
	start_imsd
	run ip netns exec "$NS" timeout 10 "$GLM_BIN/imsd" -d -f "$T/imsd.conf" -s "$T/ctl2" -D "$T/other.db"
	echo "$output"
	[ "$status" -eq 69 ]
	[[ $output == *"listen on [::1]:$PORT: Address already in use"* ]]
	[ ! -e "$T/other.db" ]
	[ ! -e "$T/ctl2" ]
	# the first one still answers
	run ims -i 7 update $HA 2001:db8:2::10 60
	[[ $status -eq 0 ]]
}

# imsctl, imsd's CLI: every command in text and in JSON (-j, or --json
# after the command), the errors an operator meets and their exit codes.
imsctl() { "$GLM_BIN/imsctl" -s "$T/ctl" "$@"; }

@test "imsctl: status, stats, dump and query HA, in text and JSON" {
	start_imsd
	run ims -i 7 update $HA 2001:db8:2::10 60
	[[ $status -eq 0 ]]
	run imsctl status
	[[ $status -eq 0 && ${lines[0]} == store=sqlite && ${lines[1]} == "database=$T/ims.db" ]]
	run imsctl stats
	[[ $status -eq 0 && $output == *updates_ok=1* ]]
	run imsctl dump
	[[ $status -eq 0 && ${#lines[@]} -eq 1 && ${lines[0]} == "$HA 2001:db8:2::10 "* ]]
	run imsctl query $HA
	[[ $status -eq 0 && $output == "$HA 2001:db8:2::10 "* ]]
	# the address as imsd writes it, whatever the spelling asked
	run imsctl query 2001:0db8:100:0::10
	[[ $status -eq 0 && $output == "$HA 2001:db8:2::10 "* ]]
	for cmd in status stats dump "query $HA"; do
		run imsctl -j $cmd
		[[ $status -eq 0 ]]
		python3 -m json.tool <<<"$output" >/dev/null
		run imsctl $cmd --json
		[[ $status -eq 0 ]]
		python3 -m json.tool <<<"$output" >/dev/null
	done
	[[ $(imsctl -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["store"])') == sqlite ]]
	[[ $(imsctl -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["updates_ok"])') == 1 ]]
	[[ $(imsctl -j dump | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d), d[0]["ma"])') == "1 2001:db8:2::10" ]]
	[[ $(imsctl -j query $HA | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ha"], d["ma"], d["expires_in"] > 0)') == "$HA 2001:db8:2::10 True" ]]
	# the older spelling still answers
	run ctl stats json
	[[ ${lines[0]} == ok ]]
	python3 -m json.tool <<<"${lines[1]}" >/dev/null
}

@test "imsctl: no mapping, bad HA, unknown command, no imsd" {
	start_imsd
	run imsctl query $HA2
	[[ $status -eq 65 && $output == "imsctl: imsd: query $HA2: no mapping" ]]
	run imsctl query 2001:db8::zz
	[[ $status -eq 64 && $output == *"'2001:db8::zz' is not an IPv6 address"* ]]
	run imsctl query
	[[ $status -eq 64 && $output == "Usage: imsctl query HA" ]]
	run imsctl frobnicate
	[[ $status -eq 64 && $output == "imsctl: unknown command 'frobnicate' (imsctl help lists them)" ]]
	run imsctl -j dump
	[[ $status -eq 0 && $output == "[]" ]]
	run ctl query nonsense
	[[ ${lines[0]} == "error: query: 'nonsense' is not an IPv6 address" ]]
	run ctl status format=xml
	[[ ${lines[0]} == "error: request 'status' not understood"* ]]
	stop_imsd
	# the socket is left behind by a killed daemon, or missing
	run imsctl status
	[[ $status -eq 69 ]]
	[[ $output == "imsctl: nothing listens on $T/ctl: imsd is not running" ||
		$output == "imsctl: no control socket at $T/ctl: is imsd running? (-s names another socket)" ]]
	run "$GLM_BIN/imsctl" -s "$T/none" status
	[[ $status -eq 69 && $output == "imsctl: no control socket at $T/none: is imsd running? (-s names another socket)" ]]
}

@test "metrics: GET /metrics passes promtool, counts updates and queries, refuses other requests" {
	command -v curl >/dev/null || skip "curl is not installed"
	source "$BATS_TEST_DIRNAME/lib/metrics.bash"
	echo "metrics [::1]:9464" >>"$T/imsd.conf"
	start_imsd
	metrics_get "$NS" ::1 9464 >"$T/m0"
	run metrics_check "$T/m0"
	echo "$output"
	[[ $status -eq 0 ]]
	[[ $(metric "$T/m0" 'glm_imsd_updates_total{result="ok"}') == 0 ]]
	run ims -i 7 update $HA 2001:db8:2::10 60
	[[ $status -eq 0 ]]
	run ims -i 8 query $HA
	[[ $status -eq 0 ]]
	run ims -i 8 update $HA 2001:db8:2::10 60
	metrics_get "$NS" ::1 9464 >"$T/m1"
	run metrics_check "$T/m1"
	[[ $status -eq 0 ]]
	[[ $(metric "$T/m1" 'glm_imsd_updates_total{result="ok"}') == 1 ]]
	[[ $(metric "$T/m1" 'glm_imsd_updates_total{result="denied"}') == 1 ]]
	[[ $(metric "$T/m1" 'glm_imsd_refused_total{reason="update_denied"}') == 1 ]]
	[[ $(metric "$T/m1" glm_imsd_queries_total) == 1 ]]
	[[ $(metric "$T/m1" glm_imsd_mappings) == 1 ]]
	[[ $(metric "$T/m1" glm_imsd_store_write_seconds_count) -ge 1 ]]
	[[ $(metric "$T/m1" 'glm_imsd_store_write_seconds_bucket{le="+Inf"}') -ge 1 ]]
	# the same numbers as stats
	[[ $(stat_of updates_ok) -eq 1 && $(stat_of queries) -eq 1 ]]
	# only GET /metrics: another path, another method, garbage
	run ip netns exec "$NS" curl -gs -o /dev/null -w '%{http_code}' "http://[::1]:9464/"
	[[ $output == 404 ]]
	run ip netns exec "$NS" curl -gs -o /dev/null -w '%{http_code}' -X POST "http://[::1]:9464/metrics"
	[[ $output == 405 ]]
	run ip netns exec "$NS" bash -c 'printf "\x01\x02garbage\r\n\r\n" | socat -t 2 - "TCP6:[::1]:9464"'
	[[ $output == "HTTP/1.1 400 Bad Request"* ]]
	# a client that sends nothing is dropped after its deadline, and the
	# server keeps serving meanwhile
	ip netns exec "$NS" socat -u "TCP6:[::1]:9464" - >/dev/null &
	SLOW=$!
	metrics_get "$NS" ::1 9464 >/dev/null
	kill -0 "$PID"
}

@test "metrics: a metrics line without a port is refused by -n" {
	echo "metrics [::1]" >>"$T/imsd.conf"
	run "$GLM_BIN/imsd" -n -f "$T/imsd.conf"
	[[ $status -eq 78 ]]
	[[ $output == *"imsd.conf:6: metrics [::1]: no port"* ]]
}
