# glm — global live migration that keeps sessions.
# Plain GNU make: PREFIX/DESTDIR, pkg-config for every library, quiet unless V=1.
# Objects and binaries go to $(BUILD); `make check` uses a sanitizer build
# in build/san so the normal build stays untouched.

VERSION := 0.1.0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
LIBEXECDIR ?= $(PREFIX)/libexec/glm
HOOKDIR ?= $(SYSCONFDIR)/libvirt/hooks
BASHCOMPDIR ?= /usr/share/bash-completion/completions
AGENT_SOCKET ?= /run/glm/agentd.sock
SYSTEMDUNITDIR ?= /lib/systemd/system
DESTDIR ?=
BUILD ?= build
SAN ?=
WERROR ?= $(CI)

PKG_CONFIG ?= pkg-config
PKGS := libmnl libnftnl libsodium libxml-2.0
CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -Wformat=2 \
	-D_GNU_SOURCE -DGLM_VERSION='"$(VERSION)"' -Ilib -MMD -MP
ifneq ($(WERROR),)
CFLAGS += -Werror
endif
ifneq ($(SAN),)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CFLAGS += $(PKG_CFLAGS)
LDLIBS += $(PKG_LIBS)
SQLITE_LIBS = $(shell $(PKG_CONFIG) --libs sqlite3 2>/dev/null)
# imsd's etcd client (ims/etcd.c): the JSON gateway over libcurl, json-c
ETCD_LIBS = $(shell $(PKG_CONFIG) --libs libcurl json-c 2>/dev/null)
CMOCKA_LIBS = $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
LIBVIRT_CFLAGS = $(shell $(PKG_CONFIG) --cflags libvirt 2>/dev/null)
LIBVIRT_LIBS = $(shell $(PKG_CONFIG) --libs libvirt 2>/dev/null)

ifeq ($(V),1)
Q :=
E := @true
else
Q := @
E := @printf '  %-7s %s\n'
endif

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
IMSD_SRCS := $(filter-out ims/imsctl.c,$(wildcard ims/*.c))
MATD_SRCS := $(filter-out guest-agent/matctl.c,$(wildcard guest-agent/*.c))
AGENTD_SRCS := $(filter-out agent/glmctl.c,$(wildcard agent/*.c))
GATEWAYD_SRCS := $(filter-out gateway/glm-gatewayctl.c,$(wildcard gateway/*.c))
HELPER_SRCS := $(wildcard helpers/*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

BIN := $(BUILD)/bin
PROGS := $(BIN)/imsd $(BIN)/imsctl $(BIN)/matd $(BIN)/matctl $(BIN)/glm-agentd $(BIN)/glmctl $(BIN)/glm-keys \
	$(BIN)/glm-gatewayd $(BIN)/glm-gatewayctl
HELPERS := $(HELPER_SRCS:helpers/%.c=$(BIN)/%)
TOOLS := $(TOOL_SRCS:tests/tools/%.c=$(BIN)/%)
UNITS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/unit/%)

.SECONDARY:
.PHONY: all tools units deb check check-unit check-bats check-e2e check-guest guest-image fuzz fuzz-run demo demo-gateway bench bench-gateway bench-ims deps install install-units uninstall clean
all: $(PROGS) $(HELPERS) $(TOOLS)

$(BUILD)/obj/%.o: %.c
	$(E) CC $<
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/lib/libglm.a: $(LIB_OBJS)
	$(E) AR $@
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/imsd: $(IMSD_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(SQLITE_LIBS) $(ETCD_LIBS) $(LDLIBS)

$(BIN)/imsctl: $(BUILD)/obj/ims/imsctl.o $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/matd: $(MATD_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/matctl: $(BUILD)/obj/guest-agent/matctl.o $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/agent/%.o: CFLAGS += $(LIBVIRT_CFLAGS)

$(BIN)/glm-agentd: $(AGENTD_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBVIRT_LIBS) $(LDLIBS)

$(BIN)/glmctl: $(BUILD)/obj/agent/glmctl.o $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/glm-gatewayd: $(GATEWAYD_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/glm-gatewayctl: $(BUILD)/obj/gateway/glm-gatewayctl.o $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/glm-keys: $(BUILD)/obj/cli/glm-keys.o $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/glm-%: $(BUILD)/obj/helpers/glm-%.o $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/%: $(BUILD)/obj/tests/tools/%.o $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

# Unit tests link the daemon objects they test (minus main) through the library;
# a test that needs a daemon's file lists it with a '// link: path.c' line.
$(BUILD)/unit/%: tests/unit/%.c $(BUILD)/lib/libglm.a
	$(E) LD $@
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(shell sed -n 's|^// link: ||p' $<) $(BUILD)/lib/libglm.a $(CMOCKA_LIBS) $(SQLITE_LIBS) $(ETCD_LIBS) $(LDLIBS)

tools: $(TOOLS)
units: $(UNITS)

# make check: what this kernel can do and that every program the tests run
# is installed (tests/preflight), then the sanitizer build, unit tests, the
# bats integration tests and the end-to-end tests.
check:
	$(Q)tests/preflight
	$(Q)$(MAKE) --no-print-directory BUILD=build/san SAN=1 all units
	$(Q)$(MAKE) --no-print-directory BUILD=build/san SAN=1 check-unit check-bats

check-unit: $(UNITS)
	$(Q)set -e; for t in $(UNITS); do echo "== $$t"; $$t; done

check-bats: all
	$(Q)GLM_BIN=$(abspath $(BIN)) bats --timing tests/bats
	$(Q)if command -v qemu-system-x86_64 >/dev/null && [ -x /usr/sbin/libvirtd ]; then \
		$(MAKE) --no-print-directory check-e2e; \
	else echo "check-e2e skipped: QEMU or libvirtd not installed (make deps installs them)"; fi

# End-to-end: real QEMU guests (make guest-image) under two libvirtd hosts,
# migrated with plain virsh migrate; the hosts' daemons come from
# GLM_E2E_BIN, the normal build (libvirt's own allocations would drown
# LeakSanitizer; the namespace tests run the daemons under ASan/UBSan).
GLM_E2E_BIN ?= $(abspath build/bin)
check-e2e: guest-image
	$(Q)tests/preflight --programs >/dev/null
	$(Q)GLM_BIN=$(GLM_E2E_BIN) bats --timing tests/e2e

# libFuzzer targets: one per parser, and the handler harnesses that reach
# past the MAC check (tests/fuzz/fuzz_msg.h). `make fuzz` builds them,
# `make fuzz-run FUZZ_SECONDS=N` runs each for N seconds on its corpus in
# git (tests/fuzz/corpus/TARGET, new finds kept in build/corpus) and fails
# if any target cannot run or finds a crash. A harness links the daemon
# files its '// link:' lines name.
FUZZ_SECONDS ?= 60
FUZZ_BIN := build/fuzz
FUZZERS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_BIN)/%)
FUZZ_DEPS := $(wildcard lib/*.h tests/fuzz/*.h ims/*.[ch] agent/*.[ch] guest-agent/*.[ch] gateway/*.[ch])
fuzz: $(FUZZERS)
# '// link-daemon: agentd' links a daemon's files but its main one, so a
# file the daemon gains is linked too; a file the harness #includes
# itself is left out.
agentd_FUZZ_SRCS := $(filter-out agent/agentd.c,$(AGENTD_SRCS))
imsd_FUZZ_SRCS := $(filter-out ims/imsd.c,$(IMSD_SRCS))
matd_FUZZ_SRCS := $(filter-out guest-agent/matd.c,$(MATD_SRCS))
$(FUZZ_BIN)/%: tests/fuzz/%.c $(LIB_SRCS) $(FUZZ_DEPS)
	$(E) FUZZ $@
	@mkdir -p $(@D)
	$(Q)clang -g -O1 -std=gnu11 -D_GNU_SOURCE -DGLM_VERSION='"$(VERSION)"' -Ilib $(PKG_CFLAGS) $(LIBVIRT_CFLAGS) \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(shell sed -n 's|^// link: ||p' $<) \
		$(filter-out $(shell sed -n 's|^#include "\.\./\.\./\(.*\.c\)"$$|\1|p' $<), \
			$(foreach d,$(shell sed -n 's|^// link-daemon: ||p' $<),$($(d)_FUZZ_SRCS))) $(LIB_SRCS) \
		$(PKG_LIBS) $(SQLITE_LIBS) $(ETCD_LIBS) $(LIBVIRT_LIBS)
fuzz-run: fuzz
	$(Q)failed=; for f in $(FUZZERS); do n=$$(basename $$f); mkdir -p build/corpus/$$n; \
		if [ ! -d tests/fuzz/corpus/$$n ]; then echo "== $$n: no corpus tests/fuzz/corpus/$$n"; failed="$$failed $$n"; continue; fi; \
		echo "== $$n ($(FUZZ_SECONDS)s)"; $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		build/corpus/$$n tests/fuzz/corpus/$$n >build/corpus/$$n.log 2>&1; rc=$$?; tail -n 12 build/corpus/$$n.log; \
		if [ $$rc -ne 0 ]; then echo "== $$n FAILED (exit $$rc), log in build/corpus/$$n.log"; failed="$$failed $$n"; fi; done; \
		if [ -n "$$failed" ]; then echo "fuzz-run failed:$$failed"; exit 1; fi

# The test guest, glm-guest-image(7): vmlinux + initrd.img from Debian
# packages; guest/build-image.sh skips the rebuild when no input changed.
# Built from the normal build: sanitizer binaries would drag libasan in.
# Its sshd comes out of the openssh-server package, downloaded once into
# GUEST_DEBS and never installed (guest/fetch-sshd.sh); without it the
# image has no sshd and the tests that need one skip.
GUEST_DIR ?= build/guest
GUEST_DEBS ?= build/debs
guest-image:
	$(Q)$(MAKE) --no-print-directory BUILD=build SAN= all
	$(E) GUEST $(GUEST_DIR)
	$(Q)deb=$$(guest/fetch-sshd.sh $(GUEST_DEBS)) || deb=; \
	guest/build-image.sh --bin $(abspath build/bin) $${deb:+--sshd-deb "$$deb"} $(GUEST_DIR)

check-guest: guest-image
	$(Q)GLM_BIN=$(abspath build/bin) GUEST_DEBS=$(abspath $(GUEST_DEBS)) tests/e2e/guest-boot.sh --image $(abspath $(GUEST_DIR))

# The real-guest demo where QEMU and libvirtd are installed (make deps
# installs them), else the namespace stand-in; tests/demo.sh decides.
demo: all
	$(Q)if command -v qemu-system-x86_64 >/dev/null && [ -x /usr/sbin/libvirtd ]; then \
		$(MAKE) --no-print-directory guest-image; fi
	$(Q)GLM_BIN=$(abspath $(BIN)) tests/demo.sh

# A plain correspondent (no glm software) beside a matd one, through the
# home gateway, on the namespace testbed (tests/demo-gateway.sh).
demo-gateway: all
	$(Q)GLM_BIN=$(abspath $(BIN)) tests/demo-gateway.sh

bench: all
	$(Q)GLM_BIN=$(abspath $(BIN)) bench/handover

# The home gateway: forwarding cost, map size, update latency, a plain
# correspondent's outage (issue 15); BENCH_ARGS=-q for a quick check.
bench-gateway: all
	$(Q)GLM_BIN=$(abspath $(BIN)) bench/gateway $(BENCH_ARGS)

# The IMS: SQLite and etcd stores against a UDP echo (issue 16).
bench-ims: all
	$(Q)GLM_BIN=$(abspath $(BIN)) bench/ims $(BENCH_ARGS)

# Debian packages of glm (debian/, built with debhelper): glm-common,
# glm-host, glm-guest, glm-ims and glm-gateway, in $(DEB_DIR). The tree git
# knows (committed or not, untracked files that .gitignore allows; every
# file but build/ outside git) is
# copied to $(DEB_DIR)/src so that dpkg-buildpackage writes nothing outside
# build/ (it puts the .deb files in the parent of the tree it builds).
# tests/bats/deb.bats installs them in a Debian 12 chroot and purges them.
# The package build gets none of this make's variables (make check's
# BUILD=build/san SAN=1 would put the sanitizer build in the packages).
DEB_DIR ?= build/deb
deb:
	$(E) DEB $(DEB_DIR)
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src/glm-$(VERSION)
	$(Q){ git ls-files -z --cached --others --exclude-standard 2>/dev/null || \
		find . \( -path ./build -o -path ./.git \) -prune -o -type f -print0; } | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar --null -T - -cf - | tar -xf - -C $(DEB_DIR)/src/glm-$(VERSION)
	$(Q)# none of the caller's make variables: make check's SAN=1 BUILD=build/san reach
	$(Q)# its tests (deb.bats) as environment variables, and the packages got the ASan build
	$(Q)cd $(DEB_DIR)/src/glm-$(VERSION) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SAN -u BUILD -u CI \
		-u WERROR -u V -u CFLAGS -u LDFLAGS dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -n 40 ../build.log; echo "deb: dpkg-buildpackage failed, log in $(DEB_DIR)/src/build.log"; exit 1; }
	$(Q)mv $(DEB_DIR)/src/*.deb $(DEB_DIR)/
	$(Q)rm -rf $(DEB_DIR)/src/glm-$(VERSION)
	$(Q)ls $(DEB_DIR)/*.deb
	$(Q)if command -v lintian >/dev/null; then lintian --tag-display-limit 0 $(DEB_DIR)/*.deb || \
		{ echo "deb: lintian found errors"; exit 1; }; fi

# Debian packages for the build, the tests, the benchmarks and the demo
# (tests/preflight lists the programs they run, by package). Idempotent.
# etcd-server may start a system etcd on 127.0.0.1:2379 where an init
# system runs it: the tests never use or touch it (their clusters live in
# namespaces of their own, tests/bats/lib/etcd.bash). prometheus brings
# promtool, which checks the daemons' metrics (tests/bats/metrics.bats);
# its service, if an init system starts it, is not used by the tests.
DEPS := build-essential pkg-config clang libmnl-dev libnftnl-dev libsodium-dev \
	libsqlite3-dev sqlite3 libcmocka-dev libxml2-dev libvirt-dev bats iproute2 \
	nftables radvd ndisc6 smcroute procps psmisc iputils-ping python3 socat \
	tcpdump bc qemu-system-x86 qemu-guest-agent linux-image-amd64 busybox-static \
	cpio xz-utils libvirt-clients libvirt-daemon-system libvirt-daemon-system-sysv \
	gnuplot-nox openssh-client openssh-server etcd-server etcd-client \
	libcurl4-openssl-dev libjson-c-dev openssl systemd curl prometheus \
	debhelper lintian debootstrap fakeroot dpkg-dev mandoc
deps:
	$(Q)missing=$$(for p in $(DEPS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all installed"; fi
	$(Q)deb=$$(guest/fetch-sshd.sh $(GUEST_DEBS)) && echo "deps: the test guest's sshd from $$deb" || \
		echo "deps: no openssh-server package for the test guest: tests/e2e/ssh.bats will skip"

# The hook goes to $(HOOKDIR)/qemu.d/glm (libvirt >= 6.5 runs every file in
# qemu.d): an operator's own $(HOOKDIR)/qemu is never touched.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(HOOKDIR)/qemu.d
	install -m 755 $(BIN)/imsd $(BIN)/matd $(wildcard $(BIN)/glm-agentd) $(BIN)/glm-gatewayd $(DESTDIR)$(SBINDIR)/
	install -m 755 $(BIN)/matctl $(BIN)/imsctl $(BIN)/glm-keys $(wildcard $(BIN)/glmctl) $(BIN)/glm-gatewayctl $(DESTDIR)$(BINDIR)/
	install -m 755 $(HELPERS) $(DESTDIR)$(LIBEXECDIR)/
	sed -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@AGENT_SOCKET@|$(AGENT_SOCKET)|g' hooks/qemu \
		>$(DESTDIR)$(HOOKDIR)/qemu.d/glm.tmp
	chmod 755 $(DESTDIR)$(HOOKDIR)/qemu.d/glm.tmp
	mv $(DESTDIR)$(HOOKDIR)/qemu.d/glm.tmp $(DESTDIR)$(HOOKDIR)/qemu.d/glm
	install -m 644 $(wildcard man/*.8) $(DESTDIR)$(MANDIR)/man8/
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(MANDIR)/man5/
	install -m 644 $(wildcard man/*.7) $(DESTDIR)$(MANDIR)/man7/
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 etc/bash-completion/glmctl $(DESTDIR)$(BASHCOMPDIR)/glmctl
	for c in matctl imsctl glm-gatewayctl; do ln -sf glmctl $(DESTDIR)$(BASHCOMPDIR)/$$c; done
	$(MAKE) --no-print-directory install-units
	install -d -m 755 $(DESTDIR)$(SYSCONFDIR)/glm

# The daemons' systemd units (etc/systemd/*.service.in, their binaries'
# directory filled in); tests/bats/units.bats installs them the same way.
UNIT_FILES := $(patsubst etc/systemd/%.in,%,$(wildcard etc/systemd/*.service.in))
install-units:
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	for u in $(UNIT_FILES); do \
		sed -e 's|@SBINDIR@|$(SBINDIR)|g' etc/systemd/$$u.in >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
		chmod 644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
		mv $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; done

# Everything install put in place; $(SYSCONFDIR)/glm only if empty (an
# operator's configs and keyring stay). The standard directories stay too
# (tests/bats/install.bats checks that nothing else is left).
MAN_PAGES := $(foreach s,5 7 8,$(addprefix man$(s)/,$(notdir $(wildcard man/*.$(s)))))
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/imsd $(DESTDIR)$(SBINDIR)/matd $(DESTDIR)$(SBINDIR)/glm-agentd $(DESTDIR)$(SBINDIR)/glm-gatewayd
	rm -f $(DESTDIR)$(BINDIR)/matctl $(DESTDIR)$(BINDIR)/glm-keys $(DESTDIR)$(BINDIR)/glmctl $(DESTDIR)$(BINDIR)/glm-gatewayctl \
		$(DESTDIR)$(BINDIR)/imsctl
	rm -f $(DESTDIR)$(HOOKDIR)/qemu.d/glm $(DESTDIR)$(HOOKDIR)/qemu.d/glm.tmp
	rm -f $(addprefix $(DESTDIR)$(BASHCOMPDIR)/,glmctl matctl imsctl glm-gatewayctl)
	rm -rf $(DESTDIR)$(LIBEXECDIR)
	rm -f $(UNIT_FILES:%=$(DESTDIR)$(SYSTEMDUNITDIR)/%) $(UNIT_FILES:%=$(DESTDIR)$(SYSTEMDUNITDIR)/%.tmp)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/,$(MAN_PAGES))
	if [ -d $(DESTDIR)$(SYSCONFDIR)/glm ]; then rmdir --ignore-fail-on-non-empty $(DESTDIR)$(SYSCONFDIR)/glm; fi

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
