#!/bin/bash
# Runs inside the systemd VM (see test-systemd.sh): the systemd-driver tests, for husk and for
# runc, then the check that nothing of theirs is left in systemd or /sys/fs/cgroup.
#
#   integration/vm/systemd-suite.sh HUSK TEST_BINARY BUNDLE_DIR FILTER...
#
# $SDVM_DRIVER_TESTS (space-separated filters): these tests run again for both with
# HUSK_SYSTEMD_CGROUP=1 (the harness passes --systemd-cgroup and the systemd cgroupsPath form).
set -uo pipefail
husk=$1 tests=$2 bundle=$3
shift 3
rc=0
t0=$(date +%s)
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ] || [ ! -S /run/dbus/system_bus_socket ]; then
	echo "systemd-suite: no cgroup2 at /sys/fs/cgroup or no system bus; refusing to report a pass" >&2
	exit 1
fi
echo "systemd-suite: $(systemctl --version | head -n1), controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
for rt in "$husk" /usr/sbin/runc; do
	t=$(date +%s)
	echo "== $rt: integration tests matching: $*"
	HUSK_RUNTIME=$rt HUSK_BUNDLE=$bundle "$tests" "$@" --test-threads=2 || rc=1
	echo "== $rt: $(($(date +%s) - t))s"
	if [ -n "${SDVM_DRIVER_TESTS:-}" ]; then
		t=$(date +%s)
		read -ra more <<<"$SDVM_DRIVER_TESTS"
		echo "== $rt --systemd-cgroup: integration tests matching: ${more[*]}"
		HUSK_SYSTEMD_CGROUP=1 HUSK_RUNTIME=$rt HUSK_BUNDLE=$bundle "$tests" "${more[@]}" --test-threads=2 || rc=1
		echo "== $rt --systemd-cgroup: $(($(date +%s) - t))s"
	fi
done
left=$(systemctl list-units --all --plain --no-legend 'husk-test*' 'runc-husk-test*' 'husktest*' 2>/dev/null)
if [ -n "$left" ]; then
	echo "systemd-suite: units left: $left"
	rc=1
fi
if find /sys/fs/cgroup -name '*husk-test*' | grep -q .; then
	echo "systemd-suite: cgroups left: $(find /sys/fs/cgroup -name '*husk-test*')"
	rc=1
fi
echo "systemd-suite: $([ $rc = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - t0))s (in the VM)"
exit $rc
