#!/bin/bash
# Runs inside the VM (see test-cgroup2.sh): a smoke run of the demo bundle, the cgroup
# integration tests, then the leak check. Exits non-zero when any of them failed.
#
#   integration/vm/cgroup2-suite.sh HUSK TEST_BINARY BUNDLE_DIR [TEST_FILTER]
#
# TEST_FILTER: space-separated test name filters; a test runs when its name contains any.
set -uo pipefail
if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: $0 HUSK TEST_BINARY BUNDLE_DIR [TEST_FILTER]" >&2
	exit 2
fi
husk=$1 tests=$2 bundle=$3 filter=${4:-cgroup_v2}
here=$(cd "$(dirname "$0")" && pwd)
rc=0
t0=$(date +%s)

if ! grep -q ' /sys/fs/cgroup .* - cgroup2 ' /proc/self/mountinfo ||
	grep -q ' - cgroup ' /proc/self/mountinfo; then
	echo "cgroup2-suite: this is not a pure cgroup v2 host; refusing to report a pass" >&2
	exit 1
fi

echo "== smoke: husk run of the demo bundle (controllers: $(cat /sys/fs/cgroup/cgroup.controllers))"
root=/run/husk-test-vm-smoke
if "$husk" --root "$root" run --bundle "$bundle/demo" husk-test-vm-demo; then
	echo "smoke: ok"
else
	echo "smoke: FAILED (status $?)"
	rc=1
fi
if [ -e /sys/fs/cgroup/husk-test-vm-demo ]; then
	echo "smoke: FAILED: cgroup /sys/fs/cgroup/husk-test-vm-demo left behind"
	rc=1
fi
rm -rf "$root"

echo "== integration tests matching any of: $filter"
read -ra filters <<<"$filter"
# HUSK_HOG=N: the tests run again with N busy loops beside them (in the VM), where a create
# hung once under load (issue 12, item 6).
HUSK_BUNDLE=$bundle "$tests" "${filters[@]}" --test-threads=2 || rc=1
if [ "${HUSK_HOG:-0}" -gt 0 ]; then
	echo "== the same tests with $HUSK_HOG busy loop(s) beside them"
	HUSK_BUNDLE=$bundle "$here/../with-cpu-hog.sh" "$HUSK_HOG" \
		"$tests" "${filters[@]}" --test-threads=2 || rc=1
fi

echo "== leak check"
"$here/../leak-check.sh" --bundle "$bundle" || rc=1

echo "cgroup2-suite: $([ $rc = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - t0))s (in the VM)"
exit $rc
