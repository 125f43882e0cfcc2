#!/usr/bin/env bats
# The man pages (man/*.[578]): `mandoc -T lint -W warning` says nothing
# about any of them, and each has the sections its kind needs.
#
# A program's page (section 8): NAME, SYNOPSIS, DESCRIPTION, OPTIONS,
# FILES, EXIT STATUS, EXAMPLES, SEE ALSO. A configuration or file-format
# page (section 5) describes a file, not a command: no OPTIONS and no EXIT
# STATUS (the program that reads it has them), the rest as above, its
# SYNOPSIS being the file's path. An overview (section 7, the test guest)
# is neither: NAME, DESCRIPTION, SEE ALSO. Every program make install puts
# in place has a page, and every page a program or file to describe.

bats_require_minimum_version 1.5.0

REPO=$BATS_TEST_DIRNAME/../..

setup() {
	command -v mandoc >/dev/null || skip "mandoc not installed (make deps installs it)"
}

# The .SH headings of a page, one a line, without quotes.
sections() {
	sed -n 's/^\.SH  *//p' "$1" | tr -d '"'
}

@test "mandoc -T lint -W warning: no warning on any page" {
	local out
	out=$(cd "$REPO" && mandoc -T lint -W warning man/*.[578] 2>&1) || true
	[[ -z $out ]] || { echo "$out"; false; }
}

@test "every page has the sections its kind needs" {
	local p s req missing=
	for p in "$REPO"/man/*.[578]; do
		case $p in
		*.8) req=(NAME SYNOPSIS DESCRIPTION OPTIONS FILES "EXIT STATUS" EXAMPLES "SEE ALSO") ;;
		*.5) req=(NAME SYNOPSIS DESCRIPTION FILES EXAMPLES "SEE ALSO") ;;
		*.7) req=(NAME DESCRIPTION "SEE ALSO") ;;
		esac
		for s in "${req[@]}"; do
			sections "$p" | grep -qx "$s" || missing+="$(basename "$p"): no $s"$'\n'
		done
	done
	[[ -z $missing ]] || { printf '%s' "$missing"; false; }
}

@test "every installed program and config file has its page" {
	local f n missing=
	for n in imsd imsctl matd matctl glm-agentd glmctl glm-keys glm-gatewayd glm-gatewayctl \
		glm-domxml glm-prepare glm-hook; do
		[[ -f $REPO/man/$n.8 ]] || missing+=" $n.8"
	done
	for f in "$REPO"/etc/*.conf; do
		n=$(basename "$f")
		case $n in
		imsd-etcd.conf) n=imsd.conf ;;
		relay.conf | agentd.conf) n=glm-agentd.conf ;;
		gatewayd.conf) n=glm-gatewayd.conf ;;
		esac
		[[ -f $REPO/man/$n.5 ]] || missing+=" $n.5 (for etc/$(basename "$f"))"
	done
	[[ -f $REPO/man/glm-keys.5 ]] || missing+=" glm-keys.5"
	[[ -z $missing ]] || { echo "no page:$missing"; false; }
}

@test "one keyring path: /etc/glm/keys wherever a page or a config names one" {
	local out
	out=$(cd "$REPO" && grep -nE '^keyring |keyring[^.]*/etc/' etc/*.conf man/* | grep -v '/etc/glm/keys\b') || true
	[[ -z $out ]] || { echo "$out"; false; }
}
