#!/bin/bash
# Runs inside the VM (see test-selinux.sh), booted with security=selinux: mount selinuxfs, load
# the policy (permissive), then the SELinux integration tests and the leak check. Exits
# non-zero when any of them failed, or when SELinux is not really on.
#
#   integration/vm/selinux-suite.sh POLICY TEST_BINARY BUNDLE_DIR [TEST_FILTER]
set -uo pipefail
if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	echo "usage: $0 POLICY TEST_BINARY BUNDLE_DIR [TEST_FILTER]" >&2
	exit 2
fi
policy=$1 tests=$2 bundle=$3 filter=${4:-selinux}
here=$(cd "$(dirname "$0")" && pwd)
t0=$(date +%s)
sefs=/sys/fs/selinux

if ! grep -qw selinux /sys/kernel/security/lsm 2>/dev/null; then
	echo "selinux-suite: SELinux is not an active LSM ($(cat /sys/kernel/security/lsm 2>/dev/null)); boot with security=selinux" >&2
	exit 1
fi
mount -t selinuxfs selinuxfs "$sefs" || { echo "selinux-suite: cannot mount selinuxfs" >&2; exit 1; }
# The kernel takes the policy in one write(2): dd with one block as large as the file (cat
# writes in pieces, which selinuxfs refuses).
size=$(stat -c %s "$policy")
if ! dd if="$policy" of="$sefs/load" bs="$size" count=1 iflag=fullblock status=none; then
	echo "selinux-suite: loading $policy failed" >&2
	exit 1
fi
# Permissive: the tests look at labels, which the kernel applies as in enforcing mode; the VM's
# files (9p, overlay, never labelled) could not be used under enforcing.
echo 0 >"$sefs/enforce"
echo "== SELinux: $(getenforce), policy $(basename "$policy") (version $(cat "$sefs/policyvers")), mls $(cat "$sefs/mls"), this shell: $(tr -d '\0' </proc/self/attr/current)"

rc=0
echo "== integration tests matching '$filter'"
# --nocapture: the tests print why they skip; a skip here (SELinux is on) is a failure to see.
out=$(mktemp)
HUSK_BUNDLE=$bundle "$tests" "$filter" --test-threads=2 --nocapture 2>&1 | tee "$out"
[ "${PIPESTATUS[0]}" = 0 ] || rc=1
if grep -q '^skipped selinux_' "$out"; then
	echo "selinux-suite: FAILED: SELinux tests skipped although SELinux is on"
	rc=1
fi
rm -f "$out"

echo "== leak check"
"$here/../leak-check.sh" --bundle "$bundle" || rc=1

echo "selinux-suite: $([ $rc = 0 ] && echo passed || echo FAILED) in $(($(date +%s) - t0))s (in the VM)"
exit $rc
