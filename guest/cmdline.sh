#!/bin/bash
# guest/cmdline.sh: the glm.* words of a guest's kernel command line
# (guest/init reads them; glm-guest-image(7)), from a keyring file.
#
#   guest/cmdline.sh --keyring FILE --key-id N [--key ID]... [--ha ADDR]
#                    [--prefix P/LEN]... [--ims [ADDR]:PORT] [--cn ADDR]...
#                    [--if eth0[,eth1]] [--verbose] [--shell]
#
# --key-id N   matd's own key (its secret and home addresses are copied
#              from the keyring); --key ID adds another entry (a host
#              agent's, whose PREPARE matd accepts). Prints one line.
set -euo pipefail
keyring="" keyid="" keys=() words=()
while [ $# -gt 0 ]; do
	case $1 in
	--keyring) keyring=$2; shift ;;
	--key-id) keyid=$2; shift ;;
	--key) keys+=("$2"); shift ;;
	--ha) words+=("glm.ha=$2"); shift ;;
	--prefix) words+=("glm.prefix=$2"); shift ;;
	--ims) words+=("glm.ims=$2"); shift ;;
	--cn) words+=("glm.cn=$2"); shift ;;
	--if) words+=("glm.if=$2"); shift ;;
	--verbose) words+=("glm.verbose=1") ;;
	--shell) words+=("glm.shell=1") ;;
	*) sed -n '5,7p' "$0" | sed 's/^# *//' >&2; exit 64 ;;
	esac
	shift
done
if [ -z "$keyring" ] || [ -z "$keyid" ]; then echo "cmdline: --keyring and --key-id are required" >&2; exit 64; fi
# Several glm.cn/glm.prefix words: the init takes the last; join them.
join() { # NAME
	local v="" w out=()
	for w in "${words[@]}"; do
		case $w in "glm.$1="*) v="${v:+$v,}${w#*=}" ;; *) out+=("$w") ;; esac
	done
	words=(${out[@]+"${out[@]}"})
	[ -z "$v" ] || words+=("glm.$1=$v")
}
join cn
join prefix
entry() { # ID: ID:HEX[:HOME,...] from the keyring
	awk -v id="$1" '$1 == "key" && $2 == id {
		s = $2 ":" $3; h = ""
		for (i = 4; i < NF; i++) if ($i == "home") h = h (h == "" ? "" : ",") $(i + 1)
		if (h != "") s = s ":" h
		print s; found = 1; exit }
		END { exit !found }' "$keyring" || { echo "cmdline: key $1 not in $keyring" >&2; exit 1; }
}
n=0
words+=("glm.key=$keyid" "glm.key$n=$(entry "$keyid")")
for k in ${keys[@]+"${keys[@]}"}; do
	n=$((n + 1))
	words+=("glm.key$n=$(entry "$k")")
done
echo "${words[*]}"
