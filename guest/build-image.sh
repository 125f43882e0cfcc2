#!/bin/bash
# guest/build-image.sh: build glm's test guest image from the Debian
# packages installed on this machine, nothing downloaded.
#
#   guest/build-image.sh [--two-nics] [--bin DIR] [--kernel VERSION]
#                        [--compress none|gzip|zstd] [--sshd-deb DEB] [--force] OUTDIR
#
# OUTDIR/vmlinux      the Debian kernel (linux-image-amd64), decompressed
#                     from its bzImage (QEMU boots the ELF through PVH;
#                     under TCG that halves the boot: LAB.md)
# OUTDIR/initrd.img   cpio newc: busybox (static), the virtio and nftables
#                     modules, qemu-ga, matd, matctl, nft, seqstream,
#                     mcstream and their shared libraries, guest/init
# OUTDIR/initrd-ssh.img  with --sshd-deb: initrd.img and a second archive
#                     with sshd, ssh-keygen and their libraries (a guest
#                     of 192 MiB or more; see below)
# OUTDIR/manifest     kernel, modules in load order, files, sizes
# OUTDIR/stamp        hash of every input: an unchanged input set skips
#                     the rebuild (--force rebuilds anyway)
#
# The guest is configured from the kernel command line: see guest/init and
# glm-guest-image(7). --two-nics makes eth0 and eth1 the default managed
# interfaces (glm.if= overrides it at boot). Needs root (mknod of
# /dev/console in the archive; without root the init opens it itself).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)

two_nics=0 bin="$top/build/bin" kver="" compress=none force=0 out="" sshd_deb=""
usage() {
	sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2
	exit 64
}
while [ $# -gt 0 ]; do
	case $1 in
	--two-nics) two_nics=1 ;;
	--bin) bin=$2; shift ;;
	--kernel) kver=$2; shift ;;
	--compress) compress=$2; shift ;;
	--sshd-deb) sshd_deb=$2; shift ;;
	--force) force=1 ;;
	-h | --help) usage ;;
	-*) echo "build-image: unknown option $1" >&2; usage ;;
	*) [ -z "$out" ] || usage; out=$1 ;;
	esac
	shift
done
[ -n "$out" ] || usage
case $compress in none | gzip | zstd) ;; *) echo "build-image: --compress none|gzip|zstd" >&2; exit 64 ;; esac

die() { echo "build-image: $*" >&2; exit 1; }

# Everything the image needs from the host, and the Debian package each
# comes from (for the error message: `make deps` installs them).
need() { # FILE PACKAGE
	[ -e "$1" ] || die "$1 missing: apt-get install $2"
}
need /bin/busybox busybox-static
need /usr/sbin/qemu-ga qemu-guest-agent
need /usr/sbin/nft nftables
command -v cpio >/dev/null || die "cpio missing: apt-get install cpio"
command -v xz >/dev/null || die "xz missing: apt-get install xz-utils"
# busybox-static's /bin/busybox is static: ldd says so.
! ldd /bin/busybox >/dev/null 2>&1 || die "/bin/busybox is not static: apt-get install busybox-static"
for p in matd matctl seqstream mcstream; do
	[ -x "$bin/$p" ] || die "$bin/$p missing: run make first"
done

# The kernel: the one linux-image-amd64 depends on, else the newest in /boot
# that has its modules.
if [ -z "$kver" ]; then
	dep=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null | sed -n 's/.*linux-image-\([^ ,]*\).*/\1/p')
	if [ -n "$dep" ] && [ -f "/boot/vmlinuz-$dep" ] && [ -f "/lib/modules/$dep/modules.dep" ]; then
		kver=$dep
	else
		for v in $(printf '%s\n' /boot/vmlinuz-* | sed 's|^/boot/vmlinuz-||' | sort -V); do
			[ -f "/lib/modules/$v/modules.dep" ] && kver=$v
		done
	fi
fi
[ -n "$kver" ] || die "no Debian kernel with modules: apt-get install linux-image-amd64"
vmlinuz=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
need "$vmlinuz" linux-image-amd64
need "$moddir/modules.dep" linux-image-amd64

# Modules, in load order (dependencies from modules.dep come first). The
# virtio ones in the order LAB.md measured; crc32c_generic before
# libcrc32c, which nf_tables needs and which asks the crypto API for
# "crc32c" at load time (a softdep modprobe would honour, insmod does not).
# nf_tables: tables, chains (filter and the ip6 route type are in the
# core), payload, lookup, maps; nft_ct: the notrack expression, which
# pulls in nf_conntrack; inet_diag, tcp_diag: matd lists the TCP sessions
# of the home address (sock_diag) to restart them after a move. IPv6 and
# AF_PACKET are built in.
modules_wanted="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
failover net_failover virtio_net virtio_console crc32c_generic nf_tables nft_ct inet_diag tcp_diag"
declare -A modpath=() seen=()
while IFS=: read -r m _; do
	b=${m##*/}
	b=${b%%.ko*}
	modpath[${b//-/_}]=$m
done <"$moddir/modules.dep"
order=()
add_mod() { # NAME: dependencies first, each once
	local n=${1//-/_} d deps
	[ -n "${seen[$n]:-}" ] && return 0
	[ -n "${modpath[$n]:-}" ] || {
		grep -q "/$1.ko" "$moddir/modules.builtin" 2>/dev/null && return 0
		die "module $1 is neither in $moddir/modules.dep nor built in"
	}
	seen[$n]=1
	deps=$(grep -m1 "^${modpath[$n]}:" "$moddir/modules.dep" | cut -d: -f2)
	# modules.dep lists the deepest dependency last: load from the end.
	for d in $(echo "$deps" | tr ' ' '\n' | tac); do
		d=${d##*/}
		add_mod "${d%%.ko*}"
	done
	[ "$n" = libcrc32c ] && add_mod crc32c_generic
	order+=("$n")
}
for m in $modules_wanted; do add_mod "$m"; done

# OpenSSH's sshd, for tests with an unmodified SSH client: the binary
# only, out of the package (never installed on this machine: its
# maintainer scripts would start an sshd here), and ssh-keygen from the
# installed client for the host key the init makes at boot.
tmp=$(mktemp -d)
work=""
trap 'rm -rf "$tmp" ${work:+"$work"}' EXIT
extra=()
if [ -n "$sshd_deb" ]; then
	need "$sshd_deb" "openssh-server (guest/fetch-sshd.sh)"
	need /usr/bin/ssh-keygen openssh-client
	dpkg-deb --fsys-tarfile "$sshd_deb" | tar -x -C "$tmp" ./usr/sbin/sshd ||
		die "$sshd_deb has no ./usr/sbin/sshd"
	extra=("$tmp/usr/sbin/sshd:usr/sbin/sshd" "/usr/bin/ssh-keygen:usr/bin/ssh-keygen")
fi

progs=("$bin/matd:usr/sbin/matd" "$bin/matctl:usr/bin/matctl" "$bin/seqstream:usr/bin/seqstream"
	"$bin/mcstream:usr/bin/mcstream" "/usr/sbin/qemu-ga:usr/sbin/qemu-ga" "/usr/sbin/nft:usr/sbin/nft")
ldd_libs() { # PROG:DEST...: the shared libraries ldd finds, one a line
	local p l
	for p in "$@"; do
		for l in $(ldd "${p%%:*}" | awk '/=>/ { print $3 } /^[ \t]*\// { print $1 }'); do
			[ -f "$l" ] && echo "$l"
		done
	done | sort -u
}
mapfile -t libs < <(ldd_libs "${progs[@]}")
# sshd's and ssh-keygen's own libraries (13 MB, libcrypto the most) go in
# initrd-ssh.img only, with them
ssh_only=()
if [ ${#extra[@]} -gt 0 ]; then
	mapfile -t ssh_libs < <(ldd_libs "${extra[@]}" | LC_ALL=C comm -23 - <(printf '%s\n' "${libs[@]}" | LC_ALL=C sort))
	for p in "${extra[@]}"; do ssh_only+=("./${p#*:}"); done
	for l in ${ssh_libs[@]+"${ssh_libs[@]}"}; do ssh_only+=(".$l"); done
	ssh_only+=(./etc/ssh ./etc/ssh/sshd_config ./run/sshd)
	progs+=("${extra[@]}")
	libs+=(${ssh_libs[@]+"${ssh_libs[@]}"})
fi

# The stamp: every input file's content, the options, the package versions.
inputs() {
	echo "options two_nics=$two_nics compress=$compress kver=$kver"
	dpkg-query -W -f='${Package} ${Version}\n' linux-image-amd64 "linux-image-$kver" busybox-static \
		qemu-guest-agent nftables libc6 2>/dev/null || true
	[ -z "$sshd_deb" ] || echo "sshd $(dpkg-deb -f "$sshd_deb" Version) $(sha256sum <"$sshd_deb" | cut -d' ' -f1)"
	# contents only: the same tree invoked by another path is the same input
	echo "libs ${libs[*]}"
	echo "modules ${order[*]}"
	sha256sum "${BASH_SOURCE[0]}" "$here/init" /bin/busybox "$vmlinuz" "${libs[@]}" | cut -d' ' -f1
	for p in "${progs[@]}"; do echo "${p#*:} $(sha256sum <"${p%%:*}" | cut -d' ' -f1)"; done
	for m in "${order[@]}"; do sha256sum "$moddir/${modpath[$m]}" | cut -d' ' -f1; done
}
stamp=$(inputs | sha256sum | cut -d' ' -f1)
if [ $force = 0 ] && [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] &&
	[ -f "$out/vmlinux" ] && [ -f "$out/initrd.img" ] && { [ -z "$sshd_deb" ] || [ -f "$out/initrd-ssh.img" ]; }; then
	echo "guest image in $out is up to date"
	exit 0
fi

mkdir -p "$out"
work=$(cd "$(mktemp -d "$out/.build.XXXXXX")" && pwd) # absolute: mkcpio reads its lists from the tree

# --- vmlinux: the kernel tree's scripts/extract-vmlinux, in the script ---
# Find each compressor's magic in the bzImage, decompress from there, keep
# the first result that is an ELF file. (The magics without their NUL
# bytes, which a shell string cannot hold; a false match just fails.)
extract_vmlinux() { # BZIMAGE OUT
	local img=$1 o=$2 magic tool off
	while read -r magic tool; do
		# shellcheck disable=SC2059,SC2013 # the magic is an octal-escaped format
		for off in $(LC_ALL=C grep -aboF -- "$(printf "$magic")" "$img" 2>/dev/null | cut -d: -f1); do
			tail -c +$((off + 1)) "$img" | $tool >"$o" 2>/dev/null || true
			if [ "$(head -c 4 "$o" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
				return 0
			fi
		done
	done <<'EOF'
\3757zXZ xz -dc
\037\213\010 gzip -dc
(\265/\375 zstd -dc
BZh91AY&SY bzip2 -dc
EOF
	return 1
}
extract_vmlinux "$vmlinuz" "$work/vmlinux" || die "could not find a compressed ELF kernel in $vmlinuz"

# --- the initramfs tree ---
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,proc,sys,dev,run,tmp,var/log,var/lib,etc/glm,lib/modules/glm,root}
ln -s ../run "$root/var/run"
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list-full); do
	[ -e "$root/$a" ] || [ -L "$root/$a" ] || ln -s /bin/busybox "$root/$a"
done
for p in "${progs[@]}"; do
	rm -f "$root/${p#*:}"
	install -m 755 "${p%%:*}" "$root/${p#*:}"
done
for l in "${libs[@]}"; do
	mkdir -p "$root$(dirname "$l")"
	cp -L "$l" "$root$l"
done
: >"$root/etc/glm/modules"
for m in "${order[@]}"; do
	cp "$moddir/${modpath[$m]}" "$root/lib/modules/glm/$m.ko"
	echo "$m" >>"$root/etc/glm/modules"
done
install -m 755 "$here/init" "$root/init"
ifaces=eth0
[ $two_nics = 1 ] && ifaces="eth0 eth1"
cat >"$root/etc/glm/image.conf" <<EOF
# written by guest/build-image.sh
GLM_IMAGE_IFACES="$ifaces"
GLM_IMAGE_KERNEL=$kver
GLM_IMAGE_STAMP=$stamp
EOF
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
if [ -n "$sshd_deb" ]; then
	# sshd's privilege separation user and its empty chroot; the init
	# makes the host key and root's authorized_keys (glm.sshkey=) at boot
	# and starts sshd only then. Key login for root, nothing else: no
	# PAM, no passwords, no forwarding.
	printf 'sshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n' >>"$root/etc/passwd"
	printf 'nogroup:x:65534:\n' >>"$root/etc/group"
	mkdir -p "$root/etc/ssh" "$root/run/sshd"
	chmod 755 "$root/run/sshd"
	cat >"$root/etc/ssh/sshd_config" <<'EOF'
# written by guest/build-image.sh (glm-guest-image(7))
ListenAddress [::]:22
HostKey /etc/ssh/ssh_host_ed25519_key
AllowUsers root
PermitRootLogin prohibit-password
AuthenticationMethods publickey
AuthorizedKeysFile /root/.ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PidFile /run/sshd.pid
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
EOF
fi
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
echo glm-guest >"$root/etc/hostname"
# The kernel opens /dev/console before init runs: without it init has no
# stdio until it mounts devtmpfs.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true

# initrd.img: everything but sshd's files; initrd-ssh.img: the same
# archive with a second one holding those appended (the kernel unpacks
# concatenated archives in turn). Two images, because sshd's 13 MB in the
# one every test boots would cost each guest that memory and each
# migration its transfer, and a 128 MiB guest's rootfs (tmpfs, half of the
# memory the kernel sees when it unpacks) cannot hold them: the sshd image
# needs a guest of 192 MiB.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort) >"$work/all.list"
printf '%s\n' ${ssh_only[@]+"${ssh_only[@]}"} | LC_ALL=C sort >"$work/ssh.list"
LC_ALL=C comm -23 "$work/all.list" "$work/ssh.list" >"$work/base.list"
mkcpio() { # LIST: the archive of those paths of the tree, on stdout
	(cd "$root" && cpio --quiet -o -H newc -R 0:0 --reproducible <"$1")
}
squeeze() {
	case $compress in
	none) cat ;;
	gzip) gzip -6 -n ;;
	zstd) zstd -q -19 ;;
	esac
}
mkcpio "$work/base.list" >"$work/initrd.cpio"
squeeze <"$work/initrd.cpio" >"$work/initrd.img"
if [ ${#ssh_only[@]} -gt 0 ]; then
	mkcpio "$work/ssh.list" >"$work/ssh.cpio"
	cat "$work/initrd.cpio" "$work/ssh.cpio" | squeeze >"$work/initrd-ssh.img"
fi

{
	echo "kernel $kver ($vmlinuz, $(dpkg-query -W -f='${Version}' "linux-image-$kver" 2>/dev/null))"
	echo "vmlinux $(stat -c %s "$work/vmlinux") bytes"
	echo "initrd.img $(stat -c %s "$work/initrd.img") bytes ($compress)"
	[ ! -f "$work/initrd-ssh.img" ] ||
		echo "initrd-ssh.img $(stat -c %s "$work/initrd-ssh.img") bytes ($compress): initrd.img and sshd"
	echo "interfaces $ifaces"
	echo "modules ${order[*]}"
	echo "files:"
	(cd "$root" && find . -type f | LC_ALL=C sort | grep -vxFf "$work/ssh.list" | sed 's/^\./  /')
	if [ -s "$work/ssh.list" ]; then
		echo "initrd-ssh.img adds:"
		(cd "$root" && find . -type f | LC_ALL=C sort | grep -xFf "$work/ssh.list" | sed 's/^\./  /')
	fi
} >"$work/manifest"

mv -f "$work/vmlinux" "$out/vmlinux"
mv -f "$work/initrd.img" "$out/initrd.img"
if [ -f "$work/initrd-ssh.img" ]; then
	mv -f "$work/initrd-ssh.img" "$out/initrd-ssh.img"
else
	rm -f "$out/initrd-ssh.img"
fi
mv -f "$work/manifest" "$out/manifest"
echo "$stamp" >"$out/stamp"
echo "guest image in $out: vmlinux $(du -h "$out/vmlinux" | cut -f1), initrd.img $(du -h "$out/initrd.img" | cut -f1)${ssh_only[0]:+, initrd-ssh.img $(du -h "$out/initrd-ssh.img" | cut -f1)}, kernel $kver"
