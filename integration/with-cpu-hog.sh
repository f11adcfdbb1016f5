#!/bin/sh
# Run a command with a CPU hog beside it: N busy loops (default: one per CPU) for as long as the
# command runs, killed afterwards (by pid, each one, also when the command fails or is
# interrupted), so nothing is left behind. The command's exit status is the script's.
#   integration/with-cpu-hog.sh N CMD [ARGS...]
# The tests must pass on a loaded machine: waits are bounded guards, never timed assertions,
# and the runtime itself must never hang while init is slow (issue 12, item 6).
set -u
if [ $# -lt 2 ]; then
	echo "usage: $0 N CMD [ARGS...]" >&2
	exit 2
fi
n=$1
shift
case $n in '' | *[!0-9]*) echo "$0: N must be a number, got '$n'" >&2; exit 2 ;; esac
[ "$n" -gt 0 ] || n=$(nproc)
hogs=""
stop_hogs() {
	for p in $hogs; do
		kill -KILL "$p" 2>/dev/null
	done
	for p in $hogs; do
		wait "$p" 2>/dev/null
	done
	hogs=""
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM
i=0
while [ "$i" -lt "$n" ]; do
	# A subshell busy loop: no external program, so killing its pid ends it.
	( while :; do :; done ) &
	hogs="$hogs $!"
	i=$((i + 1))
done
echo "with-cpu-hog: $n busy loop(s) running (pids$hogs)" >&2
"$@"
rc=$?
stop_hogs
echo "with-cpu-hog: busy loops stopped" >&2
exit $rc
