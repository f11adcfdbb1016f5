# husk build, test and benchmark entry points. Everything a fresh Debian 12 machine needs is
# installed by `make deps`; nothing has to be installed by hand.

CARGO ?= cargo
PREFIX ?= /usr/local
BUNDLE_DIR ?= $(CURDIR)/target/test-bundle
# Every Debian package the build, the tests and the bench use: the C toolchain, pkg-config and
# libseccomp for the seccomp bindings; busybox-static for the test rootfs; runc and crun, the
# references (HUSK_RUNTIME=/usr/sbin/runc make test, make bench); hyperfine for the bench; bats,
# jq and strace for scripted and manual checks; bsdutils for script(1) (a pty for the -t tests);
# procps, psmisc, iproute2, util-linux, findutils and coreutils for the leak check and for
# looking at containers (ps, ip netns, nsenter, find); podman, conmon, catatonit (--init), uidmap,
# netavark and iptables (its bridge check), containerd and docker.io (dockerd 20.10, the docker
# suite) for the client suites (make
# test-clients); qemu-system-x86 and kmod (depmod/modprobe on the unpacked guest kernel) for the
# test VM (make test-cgroup2; the kernel itself is fetched into target/vm, not installed), xz-utils
# and zstd to unpack the kernel image; selinux-policy-default (the policy modules), policycoreutils
# (semodule, which builds them into a policy under target/selinux-root) and selinux-utils
# (getenforce) for the SELinux VM (make test-selinux). Installing them leaves SELinux off on a
# kernel that does not have it active: the package builds its own store under /etc/selinux and
# /var/lib/selinux, which nothing here uses, and loads nothing. debootstrap makes the Debian image
# of the client suites (make debian-image).
DEB_PACKAGES = bsdutils build-essential pkg-config libseccomp-dev busybox-static runc crun bats jq strace \
	hyperfine util-linux procps psmisc iproute2 findutils coreutils \
	podman conmon catatonit uidmap netavark iptables containerd docker.io \
	qemu-system-x86 kmod xz-utils zstd \
	selinux-policy-default policycoreutils selinux-utils \
	musl-tools gperf curl debootstrap

.PHONY: all deps build release checker bundle test test-integration test-conformance test-clients test-loaded \
	test-host test-podman test-rootless test-containerd test-docker test-cgroup2 test-systemd test-selinux vm-kernel selinux-policy bench \
	demo clean install musl-deps debian-image

all: build

deps:
	@if ! dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES) </dev/null; \
	fi
	@$(MAKE) --no-print-directory musl-deps || \
		echo "make deps: no musl toolchain here; husk will be built against glibc (slower start-up, larger binary)"

# The release binary is static. With Rust's musl target and a musl libseccomp (musl-deps) it
# is linked against musl: glibc's start-up probes the CPU with dozens of CPUID instructions,
# each a VM exit on a virtual machine (about 0.3 ms of every husk command here), and the binary
# is 0.7 MB smaller. Without them (or with HUSK_MUSL=0) it is linked against glibc.
# target/release/husk links to whichever was built; the tests and the bench use it.
MUSL_TARGET = x86_64-unknown-linux-musl
MUSL_SECCOMP = target/musl-libseccomp
HUSK_MUSL ?= 1
HUSK_BIN = target/release/husk

musl-deps:
	@rustup target list --installed 2>/dev/null | grep -qx $(MUSL_TARGET) || \
		timeout 600 rustup target add $(MUSL_TARGET)
	vendor/musl-libseccomp.sh $(MUSL_SECCOMP)

build:
	@mkdir -p target/release
	@if [ "$(HUSK_MUSL)" = 1 ] && [ -f $(MUSL_SECCOMP)/lib/libseccomp.a ] && \
		rustup target list --installed 2>/dev/null | grep -qx $(MUSL_TARGET); then \
		echo "building husk for $(MUSL_TARGET)"; \
		LIBSECCOMP_LIB_PATH=$(CURDIR)/$(MUSL_SECCOMP)/lib $(CARGO) build --release --target $(MUSL_TARGET) && \
		ln -sf ../$(MUSL_TARGET)/release/husk target/release/husk; \
	else \
		echo "building husk for x86_64-unknown-linux-gnu (no musl toolchain: make deps)"; \
		$(CARGO) build --release && \
		ln -sf ../x86_64-unknown-linux-gnu/release/husk target/release/husk; \
	fi

release: build

# The in-container checker: a static binary that prints what the container sees.
checker:
	cd conformance/checker && $(CARGO) build --release

# A busybox rootfs (plus the checker) shared read-only by the tests.
# The checker is built when its sources are present.
bundle:
	@if [ -f conformance/checker/Cargo.toml ]; then $(MAKE) --no-print-directory checker; fi
	integration/make-bundle.sh $(BUNDLE_DIR) conformance/checker/target/x86_64-unknown-linux-gnu/release/husk-checker

# The tests, then the leak check: whatever the tests left behind (state dirs, mounts, processes,
# cgroups, network namespaces named husk-test*) fails the run even when every test passed. What
# was already there before the tests (another run on the same machine) is reported, not blamed.
# HUSK_RUNTIME=/usr/sbin/runc make test runs the same tests against runc.
LEAK_BASELINE = target/leak-baseline.txt
# The runtime the integration and conformance tests drive: the release binary `make build` made
# (musl or glibc), unless set (HUSK_RUNTIME=/usr/sbin/runc).
HUSK_RUNTIME ?= $(CURDIR)/target/release/husk

# Everything CI runs (.ci/run is `make deps` then `make test`): the host suites, the real clients,
# the cgroup suite again on a pure cgroup v2 host and the SELinux suite on a kernel with SELinux
# on. Every suite runs even when one fails.
test: build bundle
	@rc=0; $(MAKE) --no-print-directory test-host || rc=1; \
	$(MAKE) --no-print-directory test-loaded || rc=1; \
	$(MAKE) --no-print-directory test-clients || rc=1; \
	$(MAKE) --no-print-directory test-cgroup2 || rc=1; \
	$(MAKE) --no-print-directory test-selinux || rc=1; \
	exit $$rc

# Unit, integration and conformance tests on this host, then the leak check.
test-host: build bundle
	@mkdir -p target && integration/leak-check.sh --bundle $(BUNDLE_DIR) --snapshot $(LEAK_BASELINE)
	@rc=0; HUSK_RUNTIME=$(HUSK_RUNTIME) HUSK_BUNDLE=$(BUNDLE_DIR) $(CARGO) test --release -- --test-threads=2 || rc=$$?; \
	integration/leak-check.sh --bundle $(BUNDLE_DIR) --baseline $(LEAK_BASELINE) || rc=1; \
	exit $$rc

# The host integration suite again with a CPU hog beside it (HOG busy loops, default one per
# CPU, stopped afterwards; integration/with-cpu-hog.sh), then the leak check: a runtime that
# hangs or a test that times itself fails here first. `make test` runs it after test-host.
HOG ?= 0
LOADED_BASELINE = target/leak-baseline-loaded.txt
test-loaded: build bundle
	@mkdir -p target && integration/leak-check.sh --bundle $(BUNDLE_DIR) --snapshot $(LOADED_BASELINE)
	@rc=0; HUSK_RUNTIME=$(HUSK_RUNTIME) HUSK_BUNDLE=$(BUNDLE_DIR) integration/with-cpu-hog.sh $(HOG) \
		$(CARGO) test --release --test integration -- --test-threads=2 || rc=$$?; \
	integration/leak-check.sh --bundle $(BUNDLE_DIR) --baseline $(LOADED_BASELINE) || rc=1; \
	exit $$rc

test-integration: build bundle
	HUSK_RUNTIME=$(HUSK_RUNTIME) HUSK_BUNDLE=$(BUNDLE_DIR) $(CARGO) test --release --test integration -- --test-threads=2

test-conformance: build bundle
	HUSK_RUNTIME=$(HUSK_RUNTIME) HUSK_BUNDLE=$(BUNDLE_DIR) $(CARGO) test --release --test conformance -- --test-threads=2

# Real clients driving husk and runc side by side (integration/podman/): each check runs against
# both, one line per check; each suite ends with 'N passed, N failed, N skipped'.
# The leak check runs after them too: conmon, containerd and its shims name the suites'
# husk-test-* directories on their command lines, cgroups are under /husk-test-*.
CLIENTS_BASELINE = target/leak-baseline-clients.txt
test-clients: build
	@mkdir -p target && integration/leak-check.sh --bundle $(BUNDLE_DIR) --snapshot $(CLIENTS_BASELINE)
	@rc=0; $(MAKE) --no-print-directory test-podman || rc=1; \
	$(MAKE) --no-print-directory test-rootless || rc=1; \
	$(MAKE) --no-print-directory test-containerd || rc=1; \
	$(MAKE) --no-print-directory test-docker || rc=1; \
	integration/leak-check.sh --bundle $(BUNDLE_DIR) --baseline $(CLIENTS_BASELINE) || rc=1; \
	exit $$rc

# A Debian 12 root filesystem with systemd (target/debian-bookworm.tar), made once from Debian's
# packages by debootstrap (about a minute; kept until make clean): the image of the client
# suites' systemd and distribution checks (HUSK_DEBIAN_TAR). Not committed.
DEBIAN_TAR ?= $(CURDIR)/target/debian-bookworm.tar
DEBIAN_MIRROR ?= http://deb.debian.org/debian
debian-image:
	@integration/podman/debian-image.sh $(DEBIAN_TAR) $(DEBIAN_MIRROR)

test-podman: build debian-image
	HUSK_DEBIAN_TAR=$(DEBIAN_TAR) HUSK_BIN=$(CURDIR)/target/release/husk integration/podman/podman.sh

# A throw-away unprivileged user (made and removed by the suite) runs runc and husk directly and
# under rootless Podman.
test-rootless: build
	HUSK_BIN=$(CURDIR)/target/release/husk integration/podman/rootless.sh

test-containerd: build
	HUSK_BIN=$(CURDIR)/target/release/husk integration/podman/containerd.sh

# Docker (dockerd 20.10 from docker.io, with its own containerd) started by the suite itself.
test-docker: build debian-image
	HUSK_DEBIAN_TAR=$(DEBIAN_TAR) HUSK_BIN=$(CURDIR)/target/release/husk integration/podman/docker.sh

# The cgroup tests on a pure cgroup v2 host: a qemu VM (TCG, no KVM) booting Debian's kernel with
# cgroup_no_v1=all over this machine's own root filesystem. Everything is compiled here; the VM
# runs the release husk and the integration test binary (integration/vm/test-cgroup2.sh).
# CGROUP2_TESTS picks the integration tests by name: space-separated filters, a test runs when
# its name contains any (default: integration/cgroup_v2.rs and integration/cgroups.rs, which
# reads the v2 files on a pure v2 host, and the lifecycle, run and runc-compatibility tests,
# whose kill/delete/frozen-cgroup paths differ on cgroup v2, and the fault injection, whose
# clean-up goes through cgroup.kill there).
VM_CACHE ?= $(CURDIR)/target/vm
CGROUP2_TESTS ?= cgroup_v2 cgroups:: compat:: lifecycle:: run:: faults::
vm-kernel:
	integration/vm/fetch-kernel.sh $(VM_CACHE) >/dev/null

# CGROUP2_HOG=N runs those tests a second time with N busy loops in the VM (0: not).
CGROUP2_HOG ?= 1
test-cgroup2: build bundle vm-kernel
	HUSK_HOG=$(CGROUP2_HOG) HUSK_VM_CACHE=$(VM_CACHE) integration/vm/test-cgroup2.sh $(BUNDLE_DIR) "$(CGROUP2_TESTS)"

# The systemd cgroup driver (--systemd-cgroup) on a systemd + cgroup v2 host: the same VM booted
# with systemd as PID 1 (run-in-vm.sh --systemd), running the tests named by SYSTEMD_TESTS for
# husk and for runc, then checking that no unit or cgroup of theirs is left.
# SYSTEMD_DRIVER_TESTS run a second time with --systemd-cgroup (HUSK_SYSTEMD_CGROUP=1).
SYSTEMD_TESTS ?= systemd::
SYSTEMD_DRIVER_TESTS ?= lifecycle::
test-systemd: build bundle vm-kernel
	SDVM_DRIVER_TESTS="$(SYSTEMD_DRIVER_TESTS)" HUSK_VM_CACHE=$(VM_CACHE) \
		integration/vm/test-systemd.sh $(BUNDLE_DIR) "$(SYSTEMD_TESTS)"

# The SELinux tests (integration/selinux.rs; skipped on this host, which has no SELinux) in a VM
# booted with security=selinux: Debian's default policy, built on the host into a store rooted at
# SELINUX_ROOT (the host's /etc/selinux is not used), loaded in permissive mode in the guest.
# SELINUX_TESTS picks the integration tests by name.
SELINUX_ROOT ?= $(CURDIR)/target/selinux-root
SELINUX_TESTS ?= selinux
selinux-policy:
	integration/vm/build-selinux-policy.sh $(SELINUX_ROOT) >/dev/null

test-selinux: build bundle vm-kernel
	HUSK_VM_CACHE=$(VM_CACHE) integration/vm/test-selinux.sh $(BUNDLE_DIR) $(SELINUX_ROOT) $(SELINUX_TESTS)

bench: build bundle
	bench/bench.sh $(BUNDLE_DIR)

# Build and run a busybox container by hand: what the README's first command ends with.
demo: build bundle
	target/release/husk run --bundle $(BUNDLE_DIR)/demo demo-$$$$

install: build
	install -m 0755 $(HUSK_BIN) $(PREFIX)/bin/husk

clean:
	$(CARGO) clean
	rm -rf conformance/checker/target
