#!/bin/bash
# `make test-cgroup2`: husk's cgroup tests on a pure cgroup v2 host, in a VM.
#
#   integration/vm/test-cgroup2.sh BUNDLE_DIR [TEST_FILTER]
#
# Everything is compiled here on the host (`make build bundle` ran before): the release husk
# and the integration test binary (cargo test --release --no-run). The VM only runs them
# (integration/vm/cgroup2-suite.sh): the demo bundle, the tests whose names contain any of
# the space-separated filters in TEST_FILTER (one argument; default "cgroup_v2"), and the
# leak check.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUNDLE_DIR [TEST_FILTER]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)
bundle=$(cd "$1" && pwd)
filter=${2:-cgroup_v2}
cargo=${CARGO:-cargo}

cd "$checkout"
# The test binary's path is in cargo's JSON messages (the executable of the integration test).
tests=$("$cargo" test --release --no-run --test integration --message-format=json |
	jq -r 'select(.reason == "compiler-artifact" and .target.name == "integration"
		and .executable != null) | .executable' | tail -n1)
if [ -z "$tests" ] || [ ! -x "$tests" ]; then
	echo "$0: cannot find the integration test binary (cargo test --release --no-run)" >&2
	exit 1
fi
husk=$checkout/target/release/husk
[ -x "$husk" ] || { echo "$0: $husk missing; run make build" >&2; exit 1; }

start=$(date +%s)
rc=0
"$here/run-in-vm.sh" --timeout "${HUSK_VM_TIMEOUT:-900}" --env "HUSK_HOG=${HUSK_HOG:-0}" -- \
	"$here/cgroup2-suite.sh" "$husk" "$tests" "$bundle" "$filter" || rc=$?
echo "test-cgroup2: $([ $rc = 0 ] && echo passed || echo "FAILED (status $rc)") in $(($(date +%s) - start))s (boot included)"
exit $rc
