#!/bin/bash
# Fail if the tests left anything behind on the host.
#
#   integration/leak-check.sh [--bundle DIR] [--snapshot FILE | --baseline FILE]
#
# Looks for, by the "husk-test" marker every test puts in its ids and directories:
#   - the tests' --root and work directories (/run/husk-test-*, /tmp/husk-test-*) and any
#     state directory left in them
#   - mounts whose mount point or source contains husk-test or the bundle directory
#   - processes whose command line contains husk-test
#   - cgroups named *husk-test* in any hierarchy under /sys/fs/cgroup
#   - network namespaces named husk-test*
# The client suites (integration/podman/) name their stores /tmp/husk-test-{podman,containerd}-*
# and their cgroup parents /husk-test-*, so a leftover conmon, containerd, shim, mount or cgroup
# of theirs is caught by the same marker.
#
# --snapshot FILE  record what is there now (before the tests) and exit 0, reporting it
# --baseline FILE  ignore what FILE recorded (left by something that ran before the tests)
# Exits 1 and lists every leftover when anything (new) is found.
set -euo pipefail

BUNDLE=${HUSK_BUNDLE:-$(cd "$(dirname "$0")/.." && pwd)/target/test-bundle}
MODE=check
FILE=
while [ $# -gt 0 ]; do
	case $1 in
	--bundle) BUNDLE=$2; shift 2 ;;
	--snapshot) MODE=snapshot; FILE=$2; shift 2 ;;
	--baseline) FILE=$2; shift 2 ;;
	*) echo "usage: $0 [--bundle DIR] [--snapshot FILE | --baseline FILE]" >&2; exit 2 ;;
	esac
done

self=$$
list_leftovers() {
	local d p cmd

	# Root and work directories; a state dir inside one is listed by name.
	# (/var/run is a link to /run on Debian.)
	for d in /run/husk-test* /tmp/husk-test*; do
		[ -e "$d" ] || [ -L "$d" ] || continue
		echo "dir: $d"
		if [ -d "$d" ]; then
			find "$d" -mindepth 1 -maxdepth 1 -type d -printf 'state dir: %p\n' 2>/dev/null || true
		fi
	done

	# Mounts: field 5 of mountinfo is the mount point, the source follows the " - " separator.
	awk -v b="$BUNDLE" '
		{ sep = 0; for (i = 1; i <= NF; i++) if ($i == "-") { sep = i; break } }
		$5 ~ /husk-test/ || (sep && $(sep + 2) ~ /husk-test/) || (b != "" && index($5, b) == 1) {
			print "mount: " $5 " (" $(sep + 1) " from " $(sep + 2) ")"
		}' /proc/self/mountinfo

	# Processes (not this script nor its helpers, whose command lines do not name husk-test).
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[ "$p" = "$self" ] && continue
		# (A process may end between the glob and the read.)
		cmd=$({ tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null) || continue
		case $cmd in
		*husk-test*) echo "process: $p $cmd" ;;
		esac
	done

	# Cgroups, in every v1 hierarchy and in the unified one.
	find /sys/fs/cgroup -mindepth 1 -type d -name '*husk-test*' -printf 'cgroup: %p\n' 2>/dev/null || true

	# Network namespaces named as ip-netns names them (files under /run/netns).
	for d in /run/netns/husk-test*; do
		if [ -e "$d" ]; then echo "netns: ${d#/run/netns/}"; fi
	done
	return 0
}

now=$(list_leftovers | sort -u)

if [ "$MODE" = snapshot ]; then
	printf '%s\n' "$now" | sed '/^$/d' >"$FILE"
	if [ -s "$FILE" ]; then
		echo "leak-check: already present before the tests (not blamed on them):" >&2
		sed 's/^/  /' "$FILE" >&2
	fi
	exit 0
fi

new=$now
if [ -n "$FILE" ] && [ -s "$FILE" ]; then
	new=$(comm -23 <(printf '%s\n' "$now") <(sort -u "$FILE"))
fi
new=$(printf '%s\n' "$new" | sed '/^$/d')

if [ -n "$new" ]; then
	echo "leak-check: FAILED: the tests left these behind:" >&2
	printf '%s\n' "$new" | sed 's/^/  /' >&2
	exit 1
fi
echo "leak-check: nothing left behind"
