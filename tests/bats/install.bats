#!/usr/bin/env bats
# make install DESTDIR=... then make uninstall DESTDIR=...: every file
# install put in place (programs, helpers, the hook, man pages, bash
# completion, systemd units) is gone, /etc/glm too when it is empty, and
# only empty directories are left (the standard ones: bin, sbin,
# share/man/man8, lib/systemd/system...). An operator's file in /etc/glm
# keeps that directory. The programs come from the build under test
# (GLM_BIN, as make check-bats sets it): make runs with that BUILD and
# must find it up to date, so nothing is rebuilt.

bats_require_minimum_version 1.5.0

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
	BIN=${GLM_BIN:-$REPO/build/bin}
	[[ -x $BIN/imsd && -x $BIN/glm-prepare ]] || skip "no build in $BIN (make all, or set GLM_BIN)"
	BUILD=$(dirname "$BIN")
	make -q -C "$REPO" --no-print-directory BUILD="$BUILD" all >/dev/null 2>&1 ||
		skip "the build in $BUILD is not up to date with the sources (make all BUILD=$BUILD first)"
	T=$(mktemp -d /tmp/glm-install.XXXXXX)
}

teardown() {
	[[ -n ${T:-} && -d $T ]] && rm -rf "$T"
}

mk() {
	make -s -C "$REPO" --no-print-directory BUILD="$BUILD" DESTDIR="$T/root" "$@" >"$T/make.log" 2>&1 ||
		{ cat "$T/make.log"; false; }
}

@test "make uninstall removes everything make install put in place" {
	local r=$T/root f left
	mk install
	# what install puts in place, by kind
	for f in usr/local/sbin/imsd usr/local/sbin/glm-agentd usr/local/bin/glmctl usr/local/bin/glm-gatewayctl \
		usr/local/libexec/glm/glm-prepare usr/local/libexec/glm/glm-domxml etc/libvirt/hooks/qemu.d/glm \
		usr/local/share/man/man8/glm-gatewayctl.8 usr/local/share/man/man5/imsd.conf.5 \
		usr/local/share/man/man7/glm-guest-image.7 usr/share/bash-completion/completions/glmctl \
		usr/share/bash-completion/completions/imsctl lib/systemd/system/imsd.service; do
		[[ -e $r/$f || -L $r/$f ]] || { echo "install: no $f"; false; }
	done
	[[ -d $r/etc/glm ]]
	mk uninstall
	left=$(cd "$r" && find . -mindepth 1 ! -type d -print | sort)
	[[ -z $left ]] || { echo "left after uninstall:"; echo "$left"; false; }
	[[ ! -e $r/etc/glm ]] || { echo "etc/glm left although empty"; false; }
	[[ ! -e $r/usr/local/libexec/glm ]] || { echo "libexec/glm left"; false; }
}

@test "make uninstall keeps /etc/glm with an operator's files in it" {
	local r=$T/root
	mk install
	echo "keyring /etc/glm/keys" >"$r/etc/glm/agentd.conf"
	mk uninstall
	[[ -f $r/etc/glm/agentd.conf ]]
	[[ ! -e $r/usr/local/sbin/glm-agentd ]]
}
