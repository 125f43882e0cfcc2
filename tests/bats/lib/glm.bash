# shellcheck shell=bash
# glm.bash: start glm's daemons on the namespace testbed (testbed.bash) the
# way an operator would: a keyring, imsd on link C, matd in the vm (mobile
# node, home address 2001:db8:100::10) and in cn (correspondent for the
# home prefix). Every daemon is started with tb_spawn, so tb_teardown
# stops it by pid. Plain bash: sourced by bats files, the demo and bench.
# The etcd cluster of imsd's etcd store (etcd_cluster_start...) is in
# etcd.bash, sourced here.

# shellcheck source=etcd.bash
source "$(dirname "${BASH_SOURCE[0]}")/etcd.bash"

GLM_HA=2001:db8:100::10
GLM_HOME_PREFIX=2001:db8:100::/64
GLM_IMS_PORT=5300
GLM_MATD_PORT=5301

# Keys: one key pair per node, new for every testbed (glm-keys(5)).
# 10 = the vm (owns its HA), 20 = cn (its address is its home), 66 = a
# rogue guest that owns nothing, 30/31/32 = the agents on hA/hB/hA2 (the
# prefixes they serve), 40 = the relay, 5 = the IMS, 50 = the home gateway
# on rt (the address it subscribes from, rt's on link C), 51 = the site
# gateway sg (tb_setup --site: the network of plain hosts it serves, link
# D, and its own address on link C, where the IMS and the vm reach it).
# Each node reads
# $TB_DIR/keys-ID: its own private line and every node's public line
# (also alone in $TB_DIR/keys.pub). GLM_KEYS_EXTRA (array) adds keys of
# the same form, "ID ROLE [home ADDR | prefix P/L]..." (bench/gateway:
# a guest owning test home addresses).
glm_keys() {
	local spec id ids=()
	(
		umask 077
		: >"$TB_DIR/keys.pub"
		for spec in "10 guest home $GLM_HA" "20 guest home $TB_CN_ADDR home 2001:db8:c::11" "66 guest" \
			"30 agent prefix 2001:db8:a::/64" "31 agent prefix 2001:db8:b::/64" \
			"32 agent prefix 2001:db8:a::/64" "40 agent prefix ${GLM_RELAY_ADDR:-2001:db8:c::20}/128" \
			"5 ims" "50 gateway prefix 2001:db8:c::1/128" \
			"51 gateway prefix ${TB_PREFIX_D:-2001:db8:d::/64} prefix ${TB_SG_ADDR:-2001:db8:c::40}/128" \
			${GLM_KEYS_EXTRA[@]+"${GLM_KEYS_EXTRA[@]}"}; do
			id=${spec%% *}
			ids+=("$id")
			"$GLM_BIN/glm-keys" genkey "$id" >"$TB_DIR/priv-$id" || exit 1
			# shellcheck disable=SC2086 # the role and its words
			"$GLM_BIN/glm-keys" pubkey ${spec#* } <"$TB_DIR/priv-$id" >>"$TB_DIR/keys.pub" || exit 1
		done
		for id in "${ids[@]}"; do
			cat "$TB_DIR/priv-$id" "$TB_DIR/keys.pub" >"$TB_DIR/keys-$id" || exit 1
		done
	)
}

# glm_keyring ID: the keyring file of node ID.
glm_keyring() { echo "$TB_DIR/keys-$1"; }

glm__wait_sock() {
	local i
	for i in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	echo "glm: $2 did not come up; its log:" >&2
	cat "$3" >&2
	return 1
}

# glm__imsd_store NAME: imsd's store options: SQLite in $TB_DIR/NAME.db,
# or, with GLM_IMS_STORE=etcd, the running etcd cluster (etcd_cluster_start)
# through a config file of NAME's own: frontends over the same mappings.
# GLM_IMSD_CONF (array): more lines for that config file.
glm__imsd_store() {
	if [ "${GLM_IMS_STORE:-sqlite}" = etcd ]; then
		printf 'store etcd\netcd-endpoints %s\netcd-timeout 3000\n' "$(etcd_endpoints | tr , ' ')" \
			>"$TB_DIR/$1.conf"
	else
		: >"$TB_DIR/$1.conf"
		echo "-D $TB_DIR/$1.db"
	fi
	printf '%s\n' ${GLM_IMSD_CONF[@]+"${GLM_IMSD_CONF[@]}"} >>"$TB_DIR/$1.conf"
	echo "-f $TB_DIR/$1.conf"
}

glm_start_imsd() {
	[ -f "$TB_DIR/keys.pub" ] || glm_keys
	rm -f "$TB_DIR/ims.sock"
	# shellcheck disable=SC2046 # two or four words
	tb_spawn ims "$GLM_BIN/imsd" -d $(glm__imsd_store ims) -k "$TB_DIR/keys-5" -l "[$TB_IMS_ADDR]:$GLM_IMS_PORT" \
		-s "$TB_DIR/ims.sock" -p "$TB_DIR/imsd.pid" "$@" \
		>>"$TB_DIR/imsd.log" 2>&1 || return 1
	GLM_IMSD_PID=$TB_PID
	glm__wait_sock "$TB_DIR/ims.sock" imsd "$TB_DIR/imsd.log"
}

# glm_start_imsd2 [imsd options...]: a second IMS for the clients given
# two ('ims' with both addresses): imsd on GLM_IMS2_ADDR, a second address
# of the ims node, with a store of its own (ims2.db), its own socket, pid
# file and log (imsd2.log).
GLM_IMS2_ADDR=2001:db8:c::6
glm_start_imsd2() {
	[ -f "$TB_DIR/keys.pub" ] || glm_keys
	tb_exec ims ip -6 addr show dev eth0 | grep -q " $GLM_IMS2_ADDR/" ||
		tb_exec ims ip -6 addr add "$GLM_IMS2_ADDR/64" dev eth0 nodad || return 1
	rm -f "$TB_DIR/ims2.sock"
	# shellcheck disable=SC2046 # two or four words
	tb_spawn ims "$GLM_BIN/imsd" -d $(glm__imsd_store ims2) -k "$TB_DIR/keys-5" -l "[$GLM_IMS2_ADDR]:$GLM_IMS_PORT" \
		-s "$TB_DIR/ims2.sock" -p "$TB_DIR/imsd2.pid" "$@" \
		>>"$TB_DIR/imsd2.log" 2>&1 || return 1
	GLM_IMSD2_PID=$TB_PID
	glm__wait_sock "$TB_DIR/ims2.sock" "the second imsd" "$TB_DIR/imsd2.log"
}

# glm_start_matd NODE [config lines...]: write NODE's matd.conf from the
# role defaults plus extra lines, start matd, wait for its socket.
glm_start_matd() {
	local node=$1 conf="$TB_DIR/matd-$1.conf" l key
	shift
	[ -f "$TB_DIR/keys.pub" ] || glm_keys
	case $node in
	vm) key=10; printf 'home-address %s\ninterface eth0\nkey-id 10\n' "$GLM_HA" >"$conf" ;;
	cn) key=20; printf 'key-id 20\nhome-prefix %s\n' "$GLM_HOME_PREFIX" >"$conf" ;;
	*) echo "glm_start_matd: no role for node $node" >&2; return 1 ;;
	esac
	printf 'ims [%s]:%s\nkeyring %s\n' "$TB_IMS_ADDR" "$GLM_IMS_PORT" "$TB_DIR/keys-$key" >>"$conf"
	for l in "$@"; do echo "$l" >>"$conf"; done
	rm -f "$TB_DIR/matd-$node.sock"
	tb_spawn "$node" "$GLM_BIN/matd" -d -v -f "$conf" -s "$TB_DIR/matd-$node.sock" \
		-p "$TB_DIR/matd-$node.pid" >>"$TB_DIR/matd-$node.log" 2>&1 || return 1
	eval "GLM_MATD_${node^^}_PID=\$TB_PID"
	glm__wait_sock "$TB_DIR/matd-$node.sock" "matd in $node" "$TB_DIR/matd-$node.log"
}

glm_matctl() {
	local node=$1
	shift
	tb_exec "$node" "$GLM_BIN/matctl" -s "$TB_DIR/matd-$node.sock" "$@"
}

# Print a python3 expression over d = `matctl status --json` of NODE.
glm_status_field() {
	glm_matctl "$1" status --json | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"
}

# glm_wait_handovers NODE N [TIMEOUT]: until matd in NODE has finished N handovers.
glm_wait_handovers() {
	local node=$1 n=$2 t=${3:-5} i
	for i in $(seq $((t * 25))); do
		if glm_matctl "$node" status --json 2>/dev/null | python3 -c "
import json,sys
m=json.load(sys.stdin)['mobile']
sys.exit(0 if m['handovers']>=$n and not m['in_progress'] else 1)" 2>/dev/null; then
			return 0
		fi
		sleep 0.02
	done
	echo "glm: matd in $node did not finish $n handovers in ${t}s; its log:" >&2
	tail -n 30 "$TB_DIR/matd-$node.log" >&2
	return 1
}

# glm_wait_peer NODE HA MA [TIMEOUT]: until matd in NODE maps HA to MA.
glm_wait_peer() {
	local node=$1 ha=$2 ma=$3 t=${4:-5} i
	for i in $(seq $((t * 25))); do
		if glm_matctl "$node" status --json 2>/dev/null | python3 -c "
import json,sys,ipaddress as ip
p=json.load(sys.stdin)['peers']
sys.exit(0 if any(ip.ip_address(x['ha'])==ip.ip_address('$ha') and ip.ip_address(x['ma'])==ip.ip_address('$ma') for x in p) else 1)"; then
			return 0
		fi
		sleep 0.02
	done
	echo "glm: matd in $node has no mapping $ha -> $ma after ${t}s" >&2
	tail -n 30 "$TB_DIR/matd-$node.log" >&2
	return 1
}

# The vm's current MA, and the MA it would get in a prefix (EUI-64 of eth0).
glm_vm_ma() { glm_status_field vm "d['mobile']['ma']"; }

# start_stream tcp|udp RECEIVER CLIENT [SECONDS]: a seqstream between a
# peer (STREAM_PEER, default cn; pd behind the site gateway; at its own
# address TB_<PEER>_ADDR) and the
# vm (its HA), RECEIVER (vm or the peer) receiving, CLIENT (vm or the
# peer) connecting; the sender sends for SECONDS (default 4), the receiver
# runs until the end of the stream (TCP: FIN, UDP: the sender's FIN
# records or 2 s idle); SECONDS 0: until stop_stream. Sets SERVER_PID,
# CLIENT_PID, SENDER_PID, RECV_JSON, SEND_JSON
# (tests/tools/seqstream.c's JSON summaries) and STREAM_TAG's files.
# Several streams at once: a STREAM_TAG (files $TB_DIR/server$TAG.json..)
# and a STREAM_PORT (default 7000) each; keep_stream NAME saves the
# variables as NAME_*, use_stream NAME brings them back. STREAM_SIZE sets
# the record size (default 64; 1400 makes every TCP segment full-size).
start_stream() {
	local proto=$1 recv=$2 client=$3 dur=${4:-4} peer=${STREAM_PEER:-cn} tag=${STREAM_TAG:-} server addr
	local port=${STREAM_PORT:-7000} pvar size=${STREAM_SIZE:-64}
	[ "$client" = vm ] && server=$peer || server=vm
	pvar="TB_${peer^^}_ADDR"
	[ "$server" = vm ] && addr=$GLM_HA || addr=${!pvar}
	local srole=(--recv --duration 0 --size "$size") crole=(--send --duration "$dur" --size "$size")
	[ "$recv" = "$client" ] && srole=(--send --duration "$dur" --size "$size") crole=(--recv --duration 0 --size "$size")
	tb_spawn "$server" "$GLM_BIN/seqstream" server --$proto --listen "[$addr]:$port" "${srole[@]}" \
		--json >"$TB_DIR/server$tag.json" 2>"$TB_DIR/server$tag.err"
	SERVER_PID=$TB_PID SERVER_ERR=$TB_DIR/server$tag.err
	sleep 0.2
	local bind=()
	[ "$client" = vm ] && bind=(--bind "$GLM_HA")
	tb_spawn "$client" "$GLM_BIN/seqstream" client --$proto --connect "[$addr]:$port" "${bind[@]}" "${crole[@]}" \
		--rate 1000 --json >"$TB_DIR/client$tag.json" 2>"$TB_DIR/client$tag.err"
	CLIENT_PID=$TB_PID CLIENT_ERR=$TB_DIR/client$tag.err
	if [ "$recv" = "$client" ]; then
		RECV_JSON=$TB_DIR/client$tag.json SEND_JSON=$TB_DIR/server$tag.json SENDER_PID=$SERVER_PID
	else
		RECV_JSON=$TB_DIR/server$tag.json SEND_JSON=$TB_DIR/client$tag.json SENDER_PID=$CLIENT_PID
	fi
	sleep 0.3
}

# stop_stream: end a stream started with SECONDS 0 (the sender sends
# until told): SIGTERM to the sender, which hands the kernel what it has
# queued and closes; then finish_stream as usual. A stream so stopped
# after the last move spans every move however slow the machine is.
stop_stream() {
	sleep "${1:-0.5}"
	kill -TERM "$SENDER_PID"
}

keep_stream() {
	local v
	for v in SERVER_PID CLIENT_PID SENDER_PID SERVER_ERR CLIENT_ERR RECV_JSON SEND_JSON; do
		printf -v "${1}_$v" '%s' "${!v}"
	done
}

use_stream() {
	local v n
	for v in SERVER_PID CLIENT_PID SENDER_PID SERVER_ERR CLIENT_ERR RECV_JSON SEND_JSON; do
		n="${1}_$v"
		printf -v "$v" '%s' "${!n}"
	done
}

# pcap_last_udp_payload FILE: the UDP payload of the last packet in a
# tcpdump capture (Ethernet, IPv6 without extension headers), in hex:
# what a test replays with glmsend --replay.
pcap_last_udp_payload() {
	python3 - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off, last = 24, None
while off + 16 <= len(d):
    incl = struct.unpack('<I', d[off+8:off+12])[0]
    pkt = d[off+16:off+16+incl]
    off += 16 + incl
    last = pkt[14+40+8:]          # Ethernet, IPv6, UDP
print(last.hex())
PY
}

# Read a field of a seqstream JSON summary: jf FILE "['key']".
jf() { python3 -c "import json,sys; print(json.load(open('$1'))$2)"; }

# finish_stream: wait for the stream start_stream began to end; report its
# gaps (over 20 ms) on the test's output and its summaries on stderr.
finish_stream() {
	tb_wait_pid "$CLIENT_PID" 30 || { cat "$CLIENT_ERR" >&2; return 1; }
	tb_wait_pid "$SERVER_PID" 30 || { cat "$SERVER_ERR" >&2; return 1; }
	python3 -c "
import json
r = json.load(open('$RECV_JSON'))
big = [round(g['ms'], 1) for g in r['gaps'] if g['ms'] > 20]
print('# receiver: max gap %.1f ms, gaps over 20 ms: %s, lost %d' % (r['max_gap_ms'], big, r['lost']))" >&3
	echo "receiver: $(cat "$RECV_JSON")" >&2
	echo "sender: $(cat "$SEND_JSON")" >&2
}

# A TCP stream arrived whole: no error either side, nothing lost,
# reordered or duplicated, every record the sender wrote.
assert_tcp_intact() {
	[ "$(jf "$RECV_JSON" "['error']")" = None ]
	[ "$(jf "$SEND_JSON" "['error']")" = None ]
	[ "$(jf "$RECV_JSON" "['lost']")" = 0 ]
	[ "$(jf "$RECV_JSON" "['reordered']")" = 0 ]
	[ "$(jf "$RECV_JSON" "['dup']")" = 0 ]
	[ "$(jf "$RECV_JSON" "['received']")" -gt 1000 ]
	[ "$(jf "$RECV_JSON" "['received']")" -eq "$(jf "$SEND_JSON" "['sent']")" ]
}

# A UDP stream across moves: in order, no duplicate; only what was in
# flight during the moves lost (well under 10%), and it ran to its end
# after the last move.
assert_udp_in_order() {
	[ "$(jf "$RECV_JSON" "['reordered']")" = 0 ]
	[ "$(jf "$RECV_JSON" "['dup']")" = 0 ]
	local sent recv lost
	sent=$(jf "$SEND_JSON" "['sent']")
	recv=$(jf "$RECV_JSON" "['received']")
	lost=$(jf "$RECV_JSON" "['lost']")
	echo "# udp: sent $sent received $recv lost $lost" >&3
	[ "$recv" -gt $((sent * 9 / 10)) ]
	[ $((recv + lost)) -ge $((sent - 2)) ]
}

# A full glm testbed: imsd, matd in cn and vm (vm notifies cn); extra
# arguments go to tb_setup; GLM_VM_CONF (array) adds lines to the vm's config.
# glm_setup_two_ims: glm_setup with two IMSes, imsd on TB_IMS_ADDR and
# imsd2 on GLM_IMS2_ADDR (each its SQLite file, or with GLM_IMS_STORE=etcd
# both frontends of a 3-member etcd cluster started here); matd in cn and
# in the vm are given both, TB_IMS_ADDR first.
glm_setup_two_ims() {
	tb_setup || return 1
	glm_keys
	if [ "${GLM_IMS_STORE:-sqlite}" = etcd ]; then etcd_cluster_start 3 || return 1; fi
	glm_start_imsd || return 1
	glm_start_imsd2 || return 1
	glm_start_matd cn "ims [$GLM_IMS2_ADDR]:$GLM_IMS_PORT" || return 1
	glm_start_matd vm "correspondent $TB_CN_ADDR" "ims [$GLM_IMS2_ADDR]:$GLM_IMS_PORT" || return 1
	glm_wait_handovers vm 1 5 || return 1
	glm_wait_peer cn "$GLM_HA" "$(glm_vm_ma)" 5
}

glm_setup() {
	tb_setup "$@" || return 1
	glm_keys
	glm_start_imsd || return 1
	glm_start_matd cn || return 1
	glm_start_matd vm "correspondent $TB_CN_ADDR" ${GLM_VM_CONF[@]+"${GLM_VM_CONF[@]}"} || return 1
	glm_wait_handovers vm 1 5 || return 1
	glm_wait_peer cn "$GLM_HA" "$(glm_vm_ma)" 5
}

# Stop glm's daemons (SIGTERM, as an operator would) and fail if a log
# holds a sanitizer report: leaks show only at exit, so stop first.
glm_stop_and_check_logs() {
	local pid f bad=0
	[ -n "${TB_DIR:-}" ] && [ -d "$TB_DIR" ] || return 0
	for pid in ${GLM_MATD_VM_PID:-} ${GLM_MATD_CN_PID:-} ${GLM_IMSD_PID:-} ${GLM_IMSD2_PID:-} ${GLM_GATEWAYD_PID:-} ${GLM_SITEGW_PID:-} ${GLM_AGENT_HA_PID:-} \
		${GLM_AGENT_HB_PID:-} ${GLM_AGENT_HA2_PID:-} ${GLM_AGENT_RELAY_PID:-}; do
		kill -TERM "$pid" 2>/dev/null && tb_wait_pid "$pid" 5 >/dev/null 2>&1
	done
	for f in "$TB_DIR"/matd-*.log "$TB_DIR"/imsd.log "$TB_DIR"/imsd2.log "$TB_DIR"/agent-*.log "$TB_DIR"/gatewayd.log "$TB_DIR"/sitegw.log; do
		[ -f "$f" ] || continue
		if grep -qE 'Sanitizer|runtime error:' "$f"; then
			echo "glm: sanitizer report in $f:" >&2
			cat "$f" >&2
			bad=1
		fi
	done
	GLM_MATD_VM_PID='' GLM_MATD_CN_PID='' GLM_IMSD_PID='' GLM_IMSD2_PID='' GLM_AGENT_HA_PID='' GLM_AGENT_HB_PID='' GLM_GATEWAYD_PID='' GLM_SITEGW_PID=''
	GLM_AGENT_HA2_PID='' GLM_AGENT_RELAY_PID=''
	return $bad
}

# glm_start_gatewayd [config lines...]: glm-gatewayd on the router rt,
# the home gateway for GLM_HOME_PREFIX: packets to a home address that
# reach rt leave for its MA; an MA may be on link A or B only (the sites).
GLM_GATEWAY_PORT=5302
glm_start_gatewayd() {
	local conf="$TB_DIR/gatewayd.conf" l
	[ -f "$TB_DIR/keys.pub" ] || glm_keys
	printf 'keyring %s\nkey-id 50\nims [%s]:%s\nlisten [::]:%s\nhome-prefix %s\nsite-prefix %s\nsite-prefix %s\ncontrol %s\n' \
		"$TB_DIR/keys-50" "$TB_IMS_ADDR" "$GLM_IMS_PORT" "$GLM_GATEWAY_PORT" "$GLM_HOME_PREFIX" "$TB_PREFIX_A" \
		"$TB_PREFIX_B" "$TB_DIR/gatewayd.sock" >"$conf"
	for l in "$@"; do echo "$l" >>"$conf"; done
	# the route glm-gatewayd(8) asks for: rt's own packets to an HA (its
	# Packet Too Big to a guest above all) need one to be sent at all. A
	# veth whose peer stays down discards as a dummy would (the testbed's
	# kernel may lack dummy; its ports start with IPv6 off).
	tb_exec rt ip link show glmhome >/dev/null 2>&1 ||
		tb_exec rt ip link add glmhome type veth peer name glmhome0 || return 1
	tb_exec rt sysctl -q -w net.ipv6.conf.glmhome.disable_ipv6=0 || return 1
	tb_exec rt ip link set glmhome up || return 1
	tb_exec rt ip -6 route replace "$GLM_HOME_PREFIX" dev glmhome || return 1
	rm -f "$TB_DIR/gatewayd.sock"
	tb_spawn rt "$GLM_BIN/glm-gatewayd" -d -v -f "$conf" -p "$TB_DIR/gatewayd.pid" \
		>>"$TB_DIR/gatewayd.log" 2>&1 || return 1
	GLM_GATEWAYD_PID=$TB_PID
	glm__wait_sock "$TB_DIR/gatewayd.sock" "glm-gatewayd in rt" "$TB_DIR/gatewayd.log"
}

glm_gatewayctl() { tb_exec rt "$GLM_BIN/glm-gatewayctl" -s "$TB_DIR/gatewayd.sock" "$@"; }

# glm_start_site_gateway [config lines...]: glm-gatewayd on sg (tb_setup
# --site), the site gateway for the plain hosts of link D: it subscribes
# to the IMS for GLM_HOME_PREFIX and answers the vm's binding updates on
# GLM_GATEWAY_PORT; MAs on link A or B only.
glm_start_site_gateway() {
	local conf="$TB_DIR/sitegw.conf" l
	[ -f "$TB_DIR/keys.pub" ] || glm_keys
	printf 'keyring %s\nkey-id 51\nims [%s]:%s\nlisten [::]:%s\nhome-prefix %s\nsite-prefix %s\nsite-prefix %s\nserve %s\ncontrol %s\n' \
		"$TB_DIR/keys-51" "$TB_IMS_ADDR" "$GLM_IMS_PORT" "$GLM_GATEWAY_PORT" "$GLM_HOME_PREFIX" "$TB_PREFIX_A" \
		"$TB_PREFIX_B" "$TB_PREFIX_D" "$TB_DIR/sitegw.sock" >"$conf"
	for l in "$@"; do echo "$l" >>"$conf"; done
	rm -f "$TB_DIR/sitegw.sock"
	tb_spawn sg "$GLM_BIN/glm-gatewayd" -d -v -f "$conf" -p "$TB_DIR/sitegw.pid" \
		>>"$TB_DIR/sitegw.log" 2>&1 || return 1
	GLM_SITEGW_PID=$TB_PID
	glm__wait_sock "$TB_DIR/sitegw.sock" "glm-gatewayd in sg" "$TB_DIR/sitegw.log"
}

glm_sitegwctl() { tb_exec sg "$GLM_BIN/glm-gatewayctl" -s "$TB_DIR/sitegw.sock" "$@"; }

# The kernel's map in the gateway: "HA MA" lines (glm_gw_map [NODE [MAP]]:
# the gateway on NODE, default rt; MAP ha2ma or ma2ha).
glm_gw_map() {
	tb_exec "${1:-rt}" nft -j list map ip6 glm_gw "${2:-ha2ma}" | python3 -c "
import json,sys
for o in json.load(sys.stdin)['nftables']:
    for e in o.get('map',{}).get('elem',[]) or []:
        print(e[0], e[1])"
}

# glm_gw_wait HA MA [TIMEOUT [NODE]]: until the gateway's kernel map (on
# NODE, default rt) sends HA to MA.
glm_gw_wait() {
	local ha=$1 ma=$2 t=${3:-5} node=${4:-rt} i log=gatewayd.log
	[ "$node" = sg ] && log=sitegw.log
	for i in $(seq $((t * 25))); do
		glm_gw_map "$node" 2>/dev/null | grep -qx "$ha $ma" && return 0
		sleep 0.04
	done
	echo "glm: the gateway's map on $node has no $ha -> $ma after ${t}s: $(glm_gw_map "$node" | tr '\n' ' ')" >&2
	tail -n 20 "$TB_DIR/$log" >&2
	return 1
}

GLM_RELAY_ADDR=2001:db8:c::20
GLM_GROUP=ff3e::1234
GLM_GROUP2=ff3e::5678

# glm_start_agent NODE [config lines...]: glm-agentd on a host (hA hB hA2)
# or, on "relay", in the relay role. glm-agentd refuses a bridge that does
# not snoop MLD; a testbed set up without --mcast has br0 with snooping off,
# so it is turned on here as an operator would (--mcast: already on). The
# host's uplink, up0, is br0's "uplink" (RA guard), unless GLM_AGENT_UPLINK
# names another port, or none when set empty.
glm_start_agent() {
	local node=$1 conf="$TB_DIR/agent-$1.conf" key l uplink=${GLM_AGENT_UPLINK-up0}
	shift
	[ -f "$TB_DIR/keys.pub" ] || glm_keys
	case $node in
	hA) key=30 ;;
	hB) key=31 ;;
	hA2) key=32 ;;
	relay) key=40 ;;
	*) echo "glm_start_agent: no agent for node $node" >&2; return 1 ;;
	esac
	if [ "$node" = relay ]; then
		printf 'role relay\nrelay-interface eth0\nsession-timeout 5\n' >"$conf"
	else
		ip -n "$TB-$node" link set br0 type bridge mcast_snooping 1 || return 1
		printf 'bridge br0%s\nrelay [%s]:5310\nims [%s]:%s\nreception-timeout 100\n' \
			"${uplink:+ uplink $uplink}" "$GLM_RELAY_ADDR" "$TB_IMS_ADDR" "$GLM_IMS_PORT" >"$conf"
	fi
	printf 'key-id %s\nkeyring %s\ncontrol %s\n' "$key" "$TB_DIR/keys-$key" "$TB_DIR/agent-$node.sock" >>"$conf"
	for l in "$@"; do echo "$l" >>"$conf"; done
	rm -f "$TB_DIR/agent-$node.sock"
	tb_spawn "$node" "$GLM_BIN/glm-agentd" -d -v -f "$conf" -p "$TB_DIR/agent-$node.pid" \
		>>"$TB_DIR/agent-$node.log" 2>&1 || return 1
	eval "GLM_AGENT_${node^^}_PID=\$TB_PID"
	glm__wait_sock "$TB_DIR/agent-$node.sock" "glm-agentd in $node" "$TB_DIR/agent-$node.log"
}

glm_glmctl() {
	local node=$1
	shift
	tb_exec "$node" "$GLM_BIN/glmctl" -s "$TB_DIR/agent-$node.sock" "$@"
}

# The vm's libvirt domain XML as the destination's hook gets it: one
# virtio NIC on br0 (tap vnet0; two with --two-nics), glm metadata with the
# home address, the relay and the groups given (default GLM_GROUP).
glm_domain_xml() {
	local groups=("$@") g
	[ ${#groups[@]} -gt 0 ] || groups=("$GLM_GROUP")
	cat <<XML
<domain type='qemu'>
  <name>vm</name>
  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>
  <metadata>
    <glm:mobility xmlns:glm="urn:x-glm:mobility:1">
      <glm:home address="$GLM_HA" key-id="10"/>
      <glm:relay address="[$GLM_RELAY_ADDR]:5310"/>
XML
	for g in "${groups[@]}"; do echo "      <glm:group address=\"$g\"/>"; done
	cat <<XML
    </glm:mobility>
  </metadata>
  <memory unit='MiB'>128</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <interface type='bridge'>
      <mac address='$TB_VM_MAC0'/>
      <source bridge='br0'/>
      <target dev='vnet0'/>
      <model type='virtio'/>
    </interface>
XML
	if [ "$(cat "$TB_DIR/two_nics" 2>/dev/null)" = 1 ]; then
		cat <<XML
    <interface type='bridge'>
      <mac address='$TB_VM_MAC1'/>
      <source bridge='br0'/>
      <target dev='vnet1'/>
      <model type='virtio'/>
    </interface>
XML
	fi
	echo "  </devices>"
	echo "</domain>"
}

# glm_hook NODE OPERATION SUBOP: run hooks/qemu the way libvirtd runs it on
# NODE (domain XML on stdin, from glm_domain_xml unless GLM_XML_FILE names
# a file). Prints the hook's stdout (which must stay empty); its wall time
# in ms goes to $TB_DIR/hook-times. It runs in the test's own network
# namespace: glm-prepare only speaks to NODE's agent through its socket's
# path, and `ip netns exec` cost 15 ms a call (scale.bats makes 2,000).
glm_hook() {
	local node=$1 op=$2 sub=$3 xml="${GLM_XML_FILE:-}" t0 t1 rc
	if [ -z "$xml" ]; then
		xml=$TB_DIR/domain.xml
		glm_domain_xml >"$xml"
	fi
	t0=${EPOCHREALTIME/[.,]/}
	GLM_PREPARE="$GLM_BIN/glm-prepare" GLM_AGENT_SOCKET="$TB_DIR/agent-$node.sock" \
		"$GLM_HOOKS_DIR/qemu" vm "$op" "$sub" - <"$xml"
	rc=$?
	t1=${EPOCHREALTIME/[.,]/}
	printf '%s %s %s %d.%03d %s\n' "$node" "$op" "$sub" $(((t1 - t0) / 1000)) $(((t1 - t0) % 1000)) $rc >>"$TB_DIR/hook-times"
	return $rc
}
GLM_HOOKS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../../hooks" && pwd)

# glm_move DEST N: move the vm's NIC to DEST (tb_migrate) and wait for
# matd's Nth handover, then half a second for the streams to settle.
glm_move() {
	tb_migrate "$1" || return 1
	glm_wait_handovers vm "$2" 5 || return 1
	sleep 0.5
}

# glm_migrate DEST: a live migration of the vm as libvirt drives the hooks:
# on the destination migrate and prepare before the tap exists, started
# once it does (the guest has no carrier yet), then the switch-over, then
# the source's stopped and release.
glm_migrate() {
	local dst=$1 src
	src=$(tb_vm_host)
	glm_hook "$dst" migrate begin
	glm_hook "$dst" prepare begin
	sleep "${GLM_COPY_S:-0.3}" # the memory copy: the guest still runs on the source
	tb_migrate --attach-only "$dst"
	glm_hook "$dst" started begin
	tb_migrate --resume
	glm_hook "$src" stopped end
	glm_hook "$src" release end
}

# bats teardown for glm tests: stop the daemons, fail on a sanitizer
# report, stop the etcd cluster if one was started (its data's tmpfs is
# in TB_DIR), then tear the testbed down whatever happened.
glm_teardown() {
	local rc=0
	glm_stop_and_check_logs || rc=1
	etcd_cluster_stop
	tb_teardown
	return $rc
}
