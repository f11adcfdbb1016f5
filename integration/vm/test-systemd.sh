#!/bin/bash
# `make test-systemd`: the systemd cgroup driver's tests on a systemd + cgroup v2 host: the
# test VM booted with systemd as PID 1 (run-in-vm.sh --systemd), for husk and runc.
#
#   integration/vm/test-systemd.sh BUNDLE_DIR [TEST_FILTER]
#
# Everything is compiled here (make build bundle ran before); the VM runs the release husk and
# the integration test binary (systemd-suite.sh). TEST_FILTER: space-separated test name
# filters (default "systemd::").
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 BUNDLE_DIR [TEST_FILTER]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)
bundle=$(cd "$1" && pwd)
read -ra filters <<<"${2:-systemd::}"
cargo=${CARGO:-cargo}
cd "$checkout"
tests=$("$cargo" test --release --no-run --test integration --message-format=json |
	jq -r 'select(.reason == "compiler-artifact" and .target.name == "integration"
		and .executable != null) | .executable' | tail -n1)
[ -x "$tests" ] || { echo "$0: cannot find the integration test binary" >&2; exit 1; }
husk=$checkout/target/release/husk
[ -x "$husk" ] || { echo "$0: $husk missing; run make build" >&2; exit 1; }
start=$(date +%s)
# Console lines get the seconds since launch, for the boot time.
set +e
"$here/run-in-vm.sh" --systemd --memory 1024 --timeout "${HUSK_VM_TIMEOUT:-1200}" \
	--env "SDVM_DRIVER_TESTS=${SDVM_DRIVER_TESTS:-}" -- \
	"$here/systemd-suite.sh" "$husk" "$tests" "$bundle" "${filters[@]}" |
	while IFS= read -r l; do printf '[%4ds] %s\n' $(($(date +%s) - start)) "$l"; done
rc=${PIPESTATUS[0]}
set -e
echo "test-systemd: $([ "$rc" = 0 ] && echo passed || echo "FAILED (status $rc)") in $(($(date +%s) - start))s (boot included)"
exit "$rc"
