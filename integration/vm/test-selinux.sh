#!/bin/bash
# `make test-selinux`: husk's SELinux tests on a kernel with SELinux on, in a VM.
#
#   integration/vm/test-selinux.sh BUNDLE_DIR POLICY_ROOT [TEST_FILTER]
#
# On the host (`make build bundle` ran before): Debian's default policy is built into a store
# rooted at POLICY_ROOT (build-selinux-policy.sh), and the integration test binary is compiled.
# The VM boots Debian's kernel with `security=selinux` (its CONFIG_LSM lists apparmor first,
# so SELinux needs asking for; `selinux=1` is not needed, and not understood without
# CONFIG_SECURITY_SELINUX_BOOTPARAM) and `enforcing=0`, then selinux-suite.sh loads the policy
# and runs the tests whose names contain TEST_FILTER (default "selinux").
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 BUNDLE_DIR POLICY_ROOT [TEST_FILTER]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)
bundle=$(cd "$1" && pwd)
filter=${3:-selinux}
cargo=${CARGO:-cargo}

start=$(date +%s)
policy=$("$here/build-selinux-policy.sh" "$2")
cd "$checkout"
tests=$("$cargo" test --release --no-run --test integration --message-format=json |
	jq -r 'select(.reason == "compiler-artifact" and .target.name == "integration"
		and .executable != null) | .executable' | tail -n1)
if [ -z "$tests" ] || [ ! -x "$tests" ]; then
	echo "$0: cannot find the integration test binary (cargo test --release --no-run)" >&2
	exit 1
fi

rc=0
"$here/run-in-vm.sh" --timeout "${HUSK_VM_TIMEOUT:-600}" \
	--kernel-args "security=selinux enforcing=0" -- \
	"$here/selinux-suite.sh" "$policy" "$tests" "$bundle" "$filter" || rc=$?
echo "test-selinux: $([ $rc = 0 ] && echo passed || echo "FAILED (status $rc)") in $(($(date +%s) - start))s (policy build and boot included)"
exit $rc
