#!/bin/bash
# guest/fetch-sshd.sh: the openssh-server package for the test guest's
# sshd (glm-guest-image(7)), kept in DIR and fetched once.
#
#   guest/fetch-sshd.sh DIR
#
# Prints the path of DIR/openssh-server_*.deb. The first run downloads it
# with `apt-get download` (the package, not installed: its maintainer
# scripts would start an sshd on this machine; guest/build-image.sh only
# copies /usr/sbin/sshd out of it). Later runs reuse the file, so the image
# stays cached and a machine without the archive still builds it from a
# DIR filled before. Exits 69 (EX_UNAVAILABLE) when there is none and none
# can be had: the image is then built without sshd.
set -euo pipefail
[ $# = 1 ] || { sed -n '5p' "$0" | sed 's/^# *//' >&2; exit 64; }
dir=$1
have() { ls "$dir"/openssh-server_*.deb 2>/dev/null | sort -V | tail -n 1; }
deb=$(have || true)
if [ -z "$deb" ]; then
	command -v apt-get >/dev/null || { echo "fetch-sshd: no apt-get: no openssh-server package" >&2; exit 69; }
	mkdir -p "$dir"
	# The client's version when the archive still has it: sshd and the
	# ssh-keygen the image copies from openssh-client then match.
	v=$(dpkg-query -W -f='${Version}' openssh-client 2>/dev/null || true)
	# apt-get downloads as _apt where it can write, else as root with a
	# warning: a directory of our own it may write keeps that quiet.
	chown _apt "$dir" 2>/dev/null || true
	(cd "$dir" && { { [ -n "$v" ] && apt-get -q download "openssh-server=$v"; } ||
		apt-get -q download openssh-server; }) >&2 ||
		{ echo "fetch-sshd: apt-get download openssh-server failed: the guest image gets no sshd" >&2; exit 69; }
	deb=$(have || true)
	[ -n "$deb" ] || { echo "fetch-sshd: apt-get left no openssh-server_*.deb in $dir" >&2; exit 69; }
fi
dpkg-deb -f "$deb" Package >/dev/null || { echo "fetch-sshd: $deb is not a Debian package" >&2; exit 65; }
echo "$deb"
