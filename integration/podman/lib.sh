# Shared harness of the client suites (integration/podman/podman.sh, containerd.sh).
#
# A suite defines check functions t_NAME, registers them in order with `check NAME`, and ends
# with `run_suite "$@"`. Every check runs once per runtime (runc, the reference, then husk) in
# the same run, each in a fresh `bash SUITE __one NAME RUNTIME` process under a time guard, so a
# difference between the two shows on one line:
#
#   run_fg                    runc: pass   husk: FAIL  exec: "x": not found
#
# Results: pass, FAIL, skip. A check skips (exit 77) when the host cannot do it (CRIU, ...). A husk
# failure whose output says "not supported yet" is counted as skipped and shown as
# "unsupported" with husk's message: husk refuses that feature on purpose, and the line says so.
# Every other difference is a failure. The suite ends with the plain line
# 'N passed, N failed, N skipped' (both runtimes counted) and exits 1 when anything failed.
#
# Environment:
#   HUSK_BIN          husk to test (default: target/release/husk, else target/debug/husk)
#   RUNC_BIN          the reference (default /usr/sbin/runc)
#   CLIENT_RUNTIMES   which runtimes to run, space separated (default "runc husk")
#   CLIENT_CHECKS     extended regex; only checks whose name matches run
#   CHECK_TIMEOUT     seconds one check may take for one runtime before it is called hung (180)
#   KEEP_WORK=1       keep the temp dir (logs) on exit; stores, mounts and cgroups still go

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
RUNC_BIN=${RUNC_BIN:-/usr/sbin/runc}
if [ -z "${HUSK_BIN:-}" ]; then
	if [ -x "$REPO/target/release/husk" ]; then HUSK_BIN=$REPO/target/release/husk; else HUSK_BIN=$REPO/target/debug/husk; fi
fi
CLIENT_RUNTIMES=${CLIENT_RUNTIMES:-runc husk}
CHECK_TIMEOUT=${CHECK_TIMEOUT:-180}
export REPO RUNC_BIN HUSK_BIN

CHECKS=()
check() { CHECKS+=("$1"); }

# ---- assertions (used inside checks, which run under set -e) ----------------------------------
fail() {
	echo "FAIL: $*"
	exit 1
}
skip() {
	echo "SKIP: $*"
	exit 77
}
# expect_eq ACTUAL EXPECTED WHAT
expect_eq() {
	[ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}
# expect_contains HAYSTACK NEEDLE WHAT
expect_contains() {
	case $1 in
	*"$2"*) ;;
	*) fail "$3: '$2' not in: $1" ;;
	esac
}
expect_not_contains() {
	case $1 in
	*"$2"*) fail "$3: '$2' unexpectedly in: $1" ;;
	esac
}
# rc_of CMD...: run CMD, put stdout+stderr in $OUT and its exit code in $RC; never fails.
rc_of() {
	RC=0
	OUT=$("$@" 2>&1) || RC=$?
	echo "+ $* -> rc=$RC"
	[ -z "$OUT" ] || printf '%s\n' "$OUT" | sed 's/^/  | /' | head -40
}
# expect_rc N CMD...: CMD must exit N; its output is in $OUT.
expect_rc() {
	local want=$1
	shift
	rc_of "$@"
	[ "$RC" = "$want" ] || fail "$*: exit $RC, want $want: $(printf '%s' "$OUT" | tail -3)"
}
# ok CMD...: CMD must succeed; its output is in $OUT.
ok() { expect_rc 0 "$@"; }
# wait_for SECONDS CMD...: poll CMD (quietly) until it succeeds; fails when it never does.
wait_for() {
	local n=$(($1 * 5))
	shift
	while [ $n -gt 0 ]; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 0.2
		n=$((n - 1))
	done
	fail "timed out waiting for: $*"
}

# ---- driver -------------------------------------------------------------------------------------
runtime_bin() {
	case $1 in
	runc) echo "$RUNC_BIN" ;;
	husk) echo "$HUSK_BIN" ;;
	*) echo "unknown runtime $1" >&2; return 1 ;;
	esac
}

# The one-line reason of a failed or skipped check, from its log.
reason_of() {
	local log=$1 r
	r=$(grep -E '^(FAIL|SKIP): ' "$log" | tail -1 | sed -E 's/^(FAIL|SKIP): //')
	[ -n "$r" ] || r=$(grep -E 'FAILED at line' "$log" | tail -1)
	[ -n "$r" ] || r=$(tail -1 "$log")
	printf '%s' "$r" | tr '\n' ' ' | cut -c1-300
}

# run_suite ARGS: the suite's entry point. `__one NAME RUNTIME` runs one check (internal).
run_suite() {
	if [ "${1:-}" = __one ]; then
		local name=$2
		CHECK=$name
		RT=$3
		RTBIN=$(runtime_bin "$RT")
		export RT RTBIN
		set -eEuo pipefail
		trap 'echo "FAILED at line $LINENO: $BASH_COMMAND"' ERR
		suite_check_env
		"t_$name"
		exit 0
	fi

	local start=$SECONDS name rt rc log res reason line
	local -A pass fail skipped
	for rt in $CLIENT_RUNTIMES; do pass[$rt]=0 fail[$rt]=0 skipped[$rt]=0; done
	[ -x "$HUSK_BIN" ] || { echo "$SUITE_NAME: no husk at $HUSK_BIN (cargo build, or set HUSK_BIN)" >&2; exit 2; }
	mkdir -p "$WORK/logs"
	echo "$SUITE_NAME: husk=$HUSK_BIN runc=$RUNC_BIN work=$WORK"
	local failures=()
	for name in "${CHECKS[@]}"; do
		if [ -n "${CLIENT_CHECKS:-}" ] && ! [[ $name =~ $CLIENT_CHECKS ]]; then continue; fi
		line=$(printf '%-22s' "$name")
		for rt in $CLIENT_RUNTIMES; do
			log=$WORK/logs/$name.$rt.log
			rc=0
			timeout -k 10 "$CHECK_TIMEOUT" bash "$SUITE_FILE" __one "$name" "$rt" >"$log" 2>&1 </dev/null || rc=$?
			suite_after_check "$name" "$rt" >>"$log" 2>&1 || true
			case $rc in
			0) res=pass reason= ;;
			77) res=skip reason=$(reason_of "$log") ;;
			124 | 137) res=FAIL reason="hung: still running after ${CHECK_TIMEOUT}s" ;;
			*) res=FAIL reason=$(reason_of "$log") ;;
			esac
			if [ "$res" = FAIL ] && [ "$rt" = husk ] && grep -q 'not supported yet' "$log"; then
				res=unsupported
				reason=$(grep -o '[^"|:]*: not supported yet' "$log" | head -1 | sed 's/^ *//' | cut -c1-200)
				[ -n "$reason" ] || reason=$(grep -o "[^\"|]*not supported yet" "$log" | head -1 | cut -c1-200)
			fi
			case $res in
			pass) pass[$rt]=$((pass[$rt] + 1)) ;;
			FAIL) fail[$rt]=$((fail[$rt] + 1)); failures+=("$name [$rt]: $reason (log: $log)") ;;
			*) skipped[$rt]=$((skipped[$rt] + 1)) ;;
			esac
			line+=$(printf '  %s: %-11s' "$rt" "$res")
			[ -z "$reason" ] || line+=" ($reason)"
		done
		echo "$line"
	done

	local tp=0 tf=0 ts=0
	echo
	for rt in $CLIENT_RUNTIMES; do
		echo "$SUITE_NAME [$rt]: ${pass[$rt]} passed, ${fail[$rt]} failed, ${skipped[$rt]} skipped"
		tp=$((tp + pass[$rt])) tf=$((tf + fail[$rt])) ts=$((ts + skipped[$rt]))
	done
	if [ ${#failures[@]} -gt 0 ]; then
		echo "failures:"
		printf '  %s\n' "${failures[@]}"
	fi
	echo "$SUITE_NAME took $((SECONDS - start))s"
	echo "$tp passed, $tf failed, $ts skipped"
	[ "$tf" -eq 0 ]
}
