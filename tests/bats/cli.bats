#!/usr/bin/env bats
# The control CLIs (glmctl, matctl, glm-gatewayctl, imsctl) share one
# main (lib/cli.c): usage generated from each one's command table, help,
# version, the errors for an unknown command, a bad use of a known one and
# a daemon that is not there, with sysexits codes. No daemon, no root.
# The bash completion (etc/bash-completion/glmctl) completes each one's
# commands from that same usage text.

setup() {
	GLM_BIN=${GLM_BIN:-$BATS_TEST_DIRNAME/../../build/bin}
	for c in glmctl matctl glm-gatewayctl imsctl; do
		[[ -x $GLM_BIN/$c ]] || skip "$c not built in $GLM_BIN"
	done
}

@test "glmctl, matctl, glm-gatewayctl, imsctl: usage from one table, help, unknown commands" {
	local c
	for c in glmctl matctl glm-gatewayctl imsctl; do
		run "$GLM_BIN/$c" --help
		[[ $status -eq 0 && ${lines[0]} == "Usage: $c [-s SOCKET] [-j] COMMAND [ARGS]" ]]
		[[ $output == *$'\n  status\n'* && $output == *$'\n  stats\n'* && $output == *$'\n  help\n'* ]]
		[[ $output == *"Exit status: 0 done, 64 usage, 65 refused by "*", 69 "*" not reachable."* ]]
		[[ $("$GLM_BIN/$c" help) == "$output" ]]
		run "$GLM_BIN/$c" frobnicate
		[[ $status -eq 64 && $output == "$c: unknown command 'frobnicate' ($c help lists them)" ]]
		run "$GLM_BIN/$c"
		[[ $status -eq 64 && ${lines[0]} == "$c: no command given" ]]
		run "$GLM_BIN/$c" --version
		[[ $status -eq 0 && $output == "$c "* ]]
		run "$GLM_BIN/$c" -s /nonexistent/sock status
		[[ $status -eq 69 && $output == "$c: no control socket at /nonexistent/sock: is "*" running? (-s names another socket)" ]]
		run "$GLM_BIN/$c" status extra
		[[ $status -eq 64 && $output == "Usage: $c status" ]]
	done
	"$GLM_BIN/glmctl" --help | grep -q '^  migrations$'
	"$GLM_BIN/imsctl" --help | grep -q '^  query HA$'
	"$GLM_BIN/matctl" --help | grep -q '^  prepare --prefix P/64'
}

# complete WORD...: what bash would offer for the last word.
complete_words() {
	PATH=$GLM_BIN:$PATH
	source "$BATS_TEST_DIRNAME/../../etc/bash-completion/glmctl"
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_glm_ctl "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	echo "${COMPREPLY[*]}"
}

@test "bash completion: each CLI's commands from its own table, options, -s takes a file" {
	[[ $(complete_words glmctl "") == "status stats migrations help" ]]
	[[ $(complete_words imsctl "") == "status stats dump query help" ]]
	[[ $(complete_words matctl "") == "status stats prepare unprepare handover query help" ]]
	[[ $(complete_words glm-gatewayctl "") == "status stats dump help" ]]
	[[ $(complete_words glmctl mi) == migrations ]]
	[[ $(complete_words imsctl -j q) == query ]]
	[[ $(complete_words imsctl -s /tmp/x st) == "status stats" ]]
	[[ $(complete_words imsctl --j) == --json ]]
	[[ $(complete_words glmctl status --) == --json ]]
	[[ $(complete_words matctl prepare --p) == --prefix ]]
	[[ $(complete_words imsctl -s "$BATS_TEST_DIRNAME/cli.ba") == "$BATS_TEST_DIRNAME/cli.bats" ]]
	# every one's completion is this one function
	source "$BATS_TEST_DIRNAME/../../etc/bash-completion/glmctl"
	[[ $(complete -p imsctl) == "complete -F _glm_ctl imsctl" ]]
}
