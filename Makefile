# husk build, test and benchmark entry points. Everything a fresh Debian 12 machine needs is
# installed by `make deps`; nothing has to be installed by hand.

CARGO ?= cargo
PREFIX ?= /usr/local
BUNDLE_DIR ?= $(CURDIR)/target/test-bundle
DEB_PACKAGES = busybox-static libseccomp-dev pkg-config runc crun bats jq strace hyperfine util-linux iproute2

.PHONY: all deps build release checker bundle test test-integration test-conformance bench demo clean install

all: build

deps:
	@if ! dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PACKAGES); \
	fi

build:
	$(CARGO) build --release

release: build

# The in-container checker: a static binary that prints what the container sees.
checker:
	cd conformance/checker && $(CARGO) build --release

# A busybox rootfs (plus the checker) shared read-only by the tests.
bundle: checker
	integration/make-bundle.sh $(BUNDLE_DIR) conformance/checker/target/release/husk-checker

test: build bundle
	HUSK_BUNDLE=$(BUNDLE_DIR) $(CARGO) test --release -- --test-threads=2

bench: build bundle
	bench/bench.sh $(BUNDLE_DIR)

# Build and run a busybox container by hand: what the README's first command ends with.
demo: build bundle
	target/release/husk run --bundle $(BUNDLE_DIR)/demo demo-$$$$

install: build
	install -m 0755 target/release/husk $(PREFIX)/bin/husk

clean:
	$(CARGO) clean
	rm -rf conformance/checker/target
