#!/usr/bin/env bats
# The Debian packages (make deb, debian/) on a fresh Debian 12: installed
# with apt from the local .deb files and Debian's own archive for their
# dependencies, checked file by file against what dpkg says they hold, the
# shipped example configurations checked with each daemon's -n, then
# purged, after which nothing of ours may remain.
#
#   build/deb/glm-*.deb --copy--> $C/tmp/debs --apt-get install--> chroot $C
#   build/debootstrap/bookworm-minbase.tar (debootstrap --make-tarball, once)
#       --debootstrap --unpack-tarball--> $C (a fresh minbase bookworm)
#
# glm-agentd -n checks its bridges, so it runs in a network namespace of
# this test's (br0 with snooping, eth0 a port of it, as agentd.conf names
# them), with a sysfs of that namespace mounted on the chroot's /sys inside
# ip netns exec's own mount namespace (gone when it exits).
#
# The chroot, the namespace and /proc in the chroot live from setup_file
# to teardown_file, which always unmounts and removes them. Skips (with
# the reason) when not root, without debootstrap, or when Debian's archive
# cannot be reached.

bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
MIRROR=${GLM_DEB_MIRROR:-http://deb.debian.org/debian}
TARBALL=$REPO/build/debootstrap/bookworm-minbase.tar
APT_CACHE=$REPO/build/debootstrap/archives
PKGS=(glm-common glm-host glm-guest glm-ims glm-gateway)

in_chroot() {
	chroot "$C" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}

# the archive's mirror answers (debootstrap would fail later and slower)
mirror_reachable() {
	local host=${MIRROR#*://}
	host=${host%%/*}
	timeout 10 bash -c "exec 3<>/dev/tcp/$host/80" 2>/dev/null
}

# the five packages, rebuilt when a file they are made of is newer than them
packages() {
	local d=$REPO/build/deb p stale=
	for p in "${PKGS[@]}"; do
		[[ -f $(echo "$d/${p}_"*.deb) ]] || stale=1
	done
	if [[ -z $stale ]]; then
		[[ -n $(cd "$REPO" && find Makefile debian lib agent ims guest-agent gateway helpers hooks cli man etc \
			-type f -newer "$(echo "$d/glm-common_"*.deb)" -print | head -n 1) ]] && stale=1
	fi
	# not make check's variables (BUILD=build/san SAN=1) in the packages
	[[ -z $stale ]] || env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SAN -u BUILD make -s -C "$REPO" --no-print-directory deb >"$BATS_FILE_TMPDIR/make-deb.log" 2>&1 ||
		{ cat "$BATS_FILE_TMPDIR/make-deb.log" >&3; return 1; }
}

# bats 1.8 (Debian 12's) cannot skip from setup_file: it says why in
# $DEB_SKIP and every test skips with that reason
skip_all() {
	export DEB_SKIP=$1
}

setup_file() {
	# the namespace's name here: teardown_file sees what setup_file
	# exports, never what a test sets
	export C= NS=glm-deb-$$ DEB_SKIP=
	[[ $EUID -eq 0 ]] || { skip_all "debootstrap and chroot need root"; return 0; }
	command -v debootstrap >/dev/null || { skip_all "debootstrap not installed (apt-get install debootstrap)"; return 0; }
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
		{ skip_all "debhelper not installed (apt-get install debhelper dpkg-dev fakeroot)"; return 0; }
	mirror_reachable || { skip_all "Debian's archive ($MIRROR) is not reachable"; return 0; }
	packages
	if [[ ! -f $TARBALL ]]; then
		mkdir -p "${TARBALL%/*}"
		local mk rc=0
		mk=$(mktemp -d /tmp/glm-deb-mk.XXXXXX)
		debootstrap --variant=minbase --make-tarball="$TARBALL.tmp" bookworm "$mk" "$MIRROR" \
			>"$BATS_FILE_TMPDIR/mk.log" 2>&1 || rc=$?
		rm -rf --one-file-system "$mk"
		[[ $rc -eq 0 ]] || { tail -n 20 "$BATS_FILE_TMPDIR/mk.log" >&3; return 1; }
		mv "$TARBALL.tmp" "$TARBALL"
	fi
	C=$(mktemp -d /tmp/glm-deb.XXXXXX)
	debootstrap --variant=minbase --unpack-tarball="$TARBALL" bookworm "$C" "$MIRROR" \
		>"$BATS_FILE_TMPDIR/debootstrap.log" 2>&1 || { tail -n 20 "$BATS_FILE_TMPDIR/debootstrap.log" >&3; return 1; }
	mount -t proc proc "$C/proc"
	cp /etc/resolv.conf "$C/etc/resolv.conf"
	# what was there before: the purge test compares with it
	chroot_files >"$BATS_FILE_TMPDIR/before"
	mkdir -p "$C/tmp/debs" "$APT_CACHE"
	for p in "${PKGS[@]}"; do cp "$REPO/build/deb/${p}_"*.deb "$C/tmp/debs/"; done
	# the dependencies downloaded by an earlier run (apt still resolves them)
	cp "$APT_CACHE"/*.deb "$C/var/cache/apt/archives/" 2>/dev/null || true
	in_chroot apt-get -q update >"$BATS_FILE_TMPDIR/apt.log" 2>&1 &&
		(cd "$C/tmp/debs" && chroot "$C" sh -c 'cd /tmp/debs && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ./*.deb') \
		>>"$BATS_FILE_TMPDIR/apt.log" 2>&1 || { tail -n 30 "$BATS_FILE_TMPDIR/apt.log" >&3; return 1; }
	cp "$C/var/cache/apt/archives/"*.deb "$APT_CACHE/" 2>/dev/null || true
	cp "$BATS_FILE_TMPDIR/apt.log" "$C/tmp/apt.log"
}

teardown_file() {
	if [[ -n ${C:-} && -d $C ]]; then
		if mountpoint -q "$C/proc"; then umount "$C/proc"; fi
		# nothing may stay mounted under it when it is removed
		if grep -q " $C/" /proc/mounts; then
			echo "# $C: still mounted, left" >&3
		else
			rm -rf --one-file-system "$C"
		fi
	fi
	if [[ -n ${NS:-} && -e /run/netns/$NS ]]; then ip netns del "$NS"; fi
}

setup() {
	[[ -z $DEB_SKIP ]] || skip "$DEB_SKIP"
}

# every path in the chroot but the kernel's, apt's and dpkg's own records
chroot_files() {
	(cd "$C" && find . -xdev \( -path ./proc -o -path ./tmp -o -path ./var/cache -o -path ./var/lib/apt \
		-o -path ./var/lib/dpkg -o -path ./var/log -o -path ./dev \) -prune -o -print | sort)
}

@test "apt installs the five packages from the local files with Debian's own dependencies" {
	local p
	for p in "${PKGS[@]}"; do
		run in_chroot dpkg-query -W -f='${Status} ${Version}' "$p"
		echo "$p: $output"
		[[ $output == "install ok installed 0.1.0"* ]]
	done
	# their shared libraries came from Debian: every program runs
	for p in /usr/sbin/glm-agentd /usr/sbin/matd /usr/sbin/imsd /usr/sbin/glm-gatewayd \
		/usr/bin/glmctl /usr/bin/matctl /usr/bin/imsctl /usr/bin/glm-gatewayctl /usr/bin/glm-keys; do
		run in_chroot "$p" --version
		echo "$p --version: $status: $output"
		[[ $status -eq 0 && $output == *0.1.0* ]]
		# the normal build, not make check's sanitizer one
		! grep -q libasan "$C$p"
	done
}

@test "every file, unit and man page is where the packages say, and nothing is enabled or started" {
	local p f n=0
	for p in "${PKGS[@]}"; do
		while read -r f; do
			[[ $f == /. ]] && continue
			[[ -e $C$f || -L $C$f ]] || { echo "$p: $f listed by dpkg -L, missing"; false; }
			n=$((n + 1))
		done < <(in_chroot dpkg -L "$p")
	done
	[[ $n -gt 50 ]]
	# each daemon's unit and each program's man page in its package
	local spec pkg prog unit
	for spec in glm-host:glm-agentd:glm-agentd glm-guest:matd:matd glm-ims:imsd:imsd glm-gateway:glm-gatewayd:glm-gatewayd; do
		IFS=: read -r pkg prog unit <<<"$spec"
		in_chroot dpkg -L "$pkg" | grep -qx "/lib/systemd/system/$unit.service"
		in_chroot dpkg -L "$pkg" | grep -qx "/usr/sbin/$prog"
		in_chroot dpkg -L "$pkg" | grep -qx "/usr/share/man/man8/$prog.8.gz"
		grep -q "^ExecStart=/usr/sbin/$prog -d -f /etc/glm/" "$C/lib/systemd/system/$unit.service"
		grep -q "^ConditionPathExists=/etc/glm/" "$C/lib/systemd/system/$unit.service"
		# not enabled: no symlink to it (deb-systemd-helper keeps only what it would make)
		[[ -z $(find "$C/etc/systemd" -name "$unit.service" 2>/dev/null) ]]
	done
	for prog in glmctl matctl imsctl glm-gatewayctl glm-keys glm-prepare glm-domxml glm-hook; do
		[[ -f $C/usr/share/man/man8/$prog.8.gz ]] || { echo "no man page for $prog"; false; }
	done
	for f in glm-agentd.conf glm-keys glm-metadata matd.conf glm-gatewayd.conf imsd.conf; do
		[[ -f $C/usr/share/man/man5/$f.5.gz ]]
	done
	# the hook: libvirt's qemu.d, executable, a conffile, its helper where it says
	[[ -x $C/etc/libvirt/hooks/qemu.d/glm ]]
	in_chroot dpkg-query -W -f='${Conffiles}\n' glm-host | grep -q '^ /etc/libvirt/hooks/qemu.d/glm '
	f=$(sed -n 's|^helper=\${GLM_PREPARE:-\(.*\)}$|\1|p' "$C/etc/libvirt/hooks/qemu.d/glm")
	[[ $f == /usr/libexec/glm/glm-prepare && -x $C$f ]]
	# what the daemons need, and no configuration the operator did not write
	[[ $(stat -c %a "$C/etc/glm") == 755 && $(stat -c %a "$C/var/lib/glm") == 700 ]]
	[[ -z $(ls -A "$C/etc/glm") ]]
	# the examples beside the documentation; no daemon runs (nothing started one)
	for f in glm-host/examples/agentd.conf glm-host/examples/relay.conf glm-guest/examples/matd.conf \
		glm-ims/examples/imsd.conf glm-ims/examples/imsd-etcd.conf glm-gateway/examples/gatewayd.conf \
		glm-common/examples/glm-keys.example; do
		[[ -f $C/usr/share/doc/$f ]]
	done
	[[ -z $(for f in /proc/[0-9]*/root; do [[ $(readlink "$f") == "$C" ]] && echo "$f"; done) ]]
}

@test "each daemon's -n passes on the example configuration as shipped, at /etc/glm with a keyring for its key id" {
	ip netns add "$NS"
	ip -n "$NS" link add br0 type bridge mcast_snooping 1 || skip "cannot create a bridge (no bridge module?)"
	ip -n "$NS" link add eth0 type veth peer name eth9
	ip -n "$NS" link set eth0 master br0
	local ex=$C/usr/share/doc keys=$C/usr/share/doc/glm-common/examples/glm-keys.example
	local spec file conf daemon id ims n=0
	ims=$(awk '$1 == "key" && $3 == "ims" { print $2; exit }' "$keys")
	# a key pair for every node of the example keyring (its keys are
	# examples: glm-keys(5) says make your own), made as glm-keys(5) says
	mkdir -p "$C/tmp/keys"
	in_chroot sh -ec 'umask 077; cd /tmp/keys
		grep "^key " /usr/share/doc/glm-common/examples/glm-keys.example |
		while read -r _ id role _ rest; do
			glm-keys genkey "$id" >"priv-$id"
			glm-keys pubkey "$role" $rest <"priv-$id" >>pub
		done'
	for spec in glm-host/agentd.conf:glm-agentd glm-host/relay.conf:glm-agentd glm-guest/matd.conf:matd \
		glm-ims/imsd.conf:imsd glm-ims/imsd-etcd.conf:imsd glm-gateway/gatewayd.conf:glm-gatewayd; do
		file=${spec%%:*}
		conf=$ex/${file%%/*}/examples/${file#*/}
		daemon=${spec##*:}
		id=$(awk '$1 == "key-id" { print $2 }' "$conf")
		[[ -n $id ]] || id=$ims
		# the keyring each names, /etc/glm/keys: this node's private key, everyone's public ones
		in_chroot sh -ec "umask 077; cat /tmp/keys/priv-$id /tmp/keys/pub >/etc/glm/keys"
		cp "$conf" "$C/etc/glm/${conf##*/}"
		run ip netns exec "$NS" sh -c "mount -t sysfs sysfs '$C/sys' && chroot '$C' /usr/sbin/$daemon -n -f /etc/glm/${conf##*/}"
		echo "$daemon -n -f /etc/glm/${conf##*/} (key $id): status $status: $output"
		[[ $status -eq 0 && $output == *"configuration OK"* ]]
		rm -f "$C/etc/glm/${conf##*/}" "$C/etc/glm/keys"
		n=$((n + 1))
	done
	[[ $n -eq 6 ]]
	ip netns del "$NS"
}

@test "dpkg --purge of all five leaves nothing of ours behind" {
	local p
	# what a run of imsd leaves: its database (imsd.conf's default)
	in_chroot sh -c ': >/var/lib/glm/imsd.db; : >/var/lib/glm/imsd.db-wal'
	for p in "${PKGS[@]}"; do in_chroot dpkg -L "$p"; done | sort -u >"$BATS_FILE_TMPDIR/ours"
	run in_chroot dpkg --purge "${PKGS[@]}"
	echo "$output"
	[[ $status -eq 0 ]]
	for p in "${PKGS[@]}"; do
		run in_chroot dpkg-query -W -f='${Status}' "$p"
		[[ $output != *installed* ]]
	done
	# no path the packages held, unless something still installed holds it
	local f left=
	while read -r f; do
		[[ $f != /. ]] && [[ -e $C$f || -L $C$f ]] || continue
		in_chroot dpkg -S "$f" >/dev/null 2>&1 && continue
		left="$left $f"
	done <"$BATS_FILE_TMPDIR/ours"
	echo "left by the packages:$left"
	[[ -z $left ]]
	[[ ! -e $C/etc/glm && ! -e $C/var/lib/glm && ! -e $C/usr/libexec/glm && ! -e $C/etc/libvirt/hooks/qemu.d/glm ]]
	# and nothing new that no installed package owns: the dependencies' files
	# and their maintainer scripts' work are the only difference from before
	chroot_files >"$BATS_FILE_TMPDIR/after"
	# (dpkg knows /lib/x.so that merged /usr shows as /usr/lib/x.so too)
	cat "$C"/var/lib/dpkg/info/*.list | sed -e 's|^|.|' -e 'p' -e 's#^\./\(lib\|bin\|sbin\)/#./usr/\1/#' |
		sort -u >"$BATS_FILE_TMPDIR/owned"
	comm -13 "$BATS_FILE_TMPDIR/before" "$BATS_FILE_TMPDIR/after" | comm -23 - "$BATS_FILE_TMPDIR/owned" |
		while read -r f; do
			# ldconfig's links to the dependencies' libraries (libfoo.so.1 -> libfoo.so.1.2)
			[[ -L $C/$f && $f == *.so.[0-9]* ]] && continue
			echo "$f"
		done >"$BATS_FILE_TMPDIR/new"
	sed 's/^/# new, owned by no package: /' "$BATS_FILE_TMPDIR/new" >&3
	[[ ! -s $BATS_FILE_TMPDIR/new ]]
}
