#!/bin/bash
# guest/cmdline.sh: the glm.* words of a guest's kernel command line
# (guest/init reads them; glm-guest-image(7)), from a keyring file.
#
#   guest/cmdline.sh --keyring FILE --key-id N [--key ID]... [--ha ADDR]
#                    [--prefix P/LEN]... [--ims [ADDR]:PORT] [--cn ADDR]...
#                    [--if eth0[,eth1]] [--home-gateway yes|no]
#                    [--ssh-key PUBFILE]... [--verbose] [--shell]
#
# FILE is the guest's own keyring (glm-keys(5)): --key-id N names its
# private key, copied with its public line; --key ID adds another node's
# public line (a host agent's, whose PREPARE matd accepts; the IMS's; a
# correspondent's). --ssh-key: an OpenSSH public key that may log in as
# root to the guest's sshd (glm.sshkey=). Prints one line.
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
	--home-gateway) words+=("glm.homegw=$2"); shift ;;
	--ssh-key)
		# "TYPE BASE64 [COMMENT]": the first two fields, as TYPE:BASE64
		# (neither has a space or a comma)
		k=$(awk 'NF >= 2 && $1 !~ /^#/ { print $1 ":" $2; exit }' "$2") && [ -n "$k" ] ||
			{ echo "cmdline: no public key in $2" >&2; exit 1; }
		words+=("glm.sshkey=$k")
		shift
		;;
	--verbose) words+=("glm.verbose=1") ;;
	--shell) words+=("glm.shell=1") ;;
	*) sed -n '5,8p' "$0" | sed 's/^# *//' >&2; exit 64 ;;
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
join sshkey
entry() { # ID: ID:ROLE:HEX[:WORD=VALUE,...] from the keyring's "key ID ROLE HEX WORD VALUE..."
	awk -v id="$1" '$1 == "key" && $2 == id {
		s = $2 ":" $3 ":" $4; w = ""
		for (i = 5; i < NF; i += 2) w = w (w == "" ? "" : ",") $i "=" $(i + 1)
		if (w != "") s = s ":" w
		print s; found = 1; exit }
		END { exit !found }' "$keyring" || { echo "cmdline: key $1 not in $keyring" >&2; exit 1; }
}
private=$(awk -v id="$keyid" '$1 == "private" && $2 == id { print $3; exit }' "$keyring")
[ -n "$private" ] || { echo "cmdline: $keyring has no private key $keyid" >&2; exit 1; }
n=0
words+=("glm.key=$keyid" "glm.private=$private" "glm.key$n=$(entry "$keyid")")
for k in ${keys[@]+"${keys[@]}"}; do
	n=$((n + 1))
	words+=("glm.key$n=$(entry "$k")")
done
echo "${words[*]}"
