#!/bin/bash
# containerd end to end, against runc and husk in the same run (see lib.sh for the output).
#
#   integration/podman/containerd.sh        (make test-containerd)
#
# Starts Debian's containerd (1.6) with its own root, state, socket and config.toml under
# /tmp/husk-test-containerd-* (no CRI plugin, native snapshotter), imports a busybox-static image
# as an OCI archive made by hand, and drives `ctr run --runc-binary <runtime>` (runc shim v2)
# in the namespace husk-test, cgroups under /husk-test-containerd-*. containerd, its shims and
# every file, mount and cgroup are gone at the end.
set -uo pipefail

SUITE_NAME=containerd
SUITE_FILE=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
. "$(dirname "$SUITE_FILE")/lib.sh"

IMG=localhost/husk-test-busybox:latest
NS=husk-test

suite_setup() {
	for b in containerd ctr containerd-shim-runc-v2; do
		command -v $b >/dev/null || { echo "containerd suite: $b not installed (make deps)" >&2; exit 2; }
	done
	WORK=$(mktemp -d /tmp/husk-test-containerd-XXXXXX)
	CGPARENT=/$(basename "$WORK")
	SOCK=$WORK/containerd.sock
	export WORK CGPARENT SOCK
	trap suite_teardown EXIT
	trap 'exit 130' INT TERM
	cat >"$WORK/config.toml" <<EOF
version = 2
root = "$WORK/root"
state = "$WORK/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.overlayfs"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$WORK/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.service.v1.diff-service"]
  default = ["walking"]
[plugins."io.containerd.transfer.v1.local"]
EOF
	containerd --config "$WORK/config.toml" >"$WORK/containerd.log" 2>&1 &
	echo $! >"$WORK/containerd.pid"
	local n=100
	until ctr -a "$SOCK" version >/dev/null 2>&1; do
		n=$((n - 1))
		if [ $n -le 0 ] || ! kill -0 "$(cat "$WORK/containerd.pid")" 2>/dev/null; then
			echo "containerd did not start:" >&2
			tail -20 "$WORK/containerd.log" >&2
			exit 2
		fi
		sleep 0.2
	done
	make_oci_archive "$WORK/busybox-oci.tar"
	ctr -a "$SOCK" -n "$NS" image import --snapshotter native --base-name localhost/husk-test-busybox \
		"$WORK/busybox-oci.tar" >"$WORK/import.log" 2>&1 || { cat "$WORK/import.log" >&2; exit 2; }
}

# An OCI image layout archive of a busybox-static rootfs, built by hand (no registry here).
make_oci_archive() {
	local out=$1 d=$WORK/oci layer cfg man lsz csz msz
	"$REPO/integration/make-bundle.sh" "$WORK/bundle" >/dev/null
	mkdir -p "$d/blobs/sha256"
	tar -C "$WORK/bundle/rootfs" -cf "$WORK/layer.tar" .
	layer=$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)
	lsz=$(stat -c %s "$WORK/layer.tar")
	mv "$WORK/layer.tar" "$d/blobs/sha256/$layer"
	printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$layer" >"$WORK/cfg"
	cfg=$(sha256sum "$WORK/cfg" | cut -d' ' -f1)
	csz=$(stat -c %s "$WORK/cfg")
	mv "$WORK/cfg" "$d/blobs/sha256/$cfg"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$cfg" "$csz" "$layer" "$lsz" >"$WORK/man"
	man=$(sha256sum "$WORK/man" | cut -d' ' -f1)
	msz=$(stat -c %s "$WORK/man")
	mv "$WORK/man" "$d/blobs/sha256/$man"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"amd64","os":"linux"}}]}' \
		"$man" "$msz" >"$d/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$d/oci-layout"
	tar -C "$d" -cf "$out" oci-layout index.json blobs
}

suite_check_env() { :; }

c() { ctr -a "$SOCK" -n "$NS" "$@"; }

# Deletes what one check left: its tasks and containers (and their snapshots).
suite_after_check() {
	local pre="husk-test-$1-$2" id
	for id in $(c containers ls -q 2>/dev/null | grep "^$pre"); do
		c task kill -s KILL "$id" >/dev/null 2>&1
		c task delete -f "$id" >/dev/null 2>&1
		c containers delete "$id" >/dev/null 2>&1
	done
	return 0
}

suite_teardown() {
	set +e
	[ -n "${WORK:-}" ] && [ -d "$WORK" ] || return 0
	if [ -S "$SOCK" ]; then
		for id in $(c containers ls -q 2>/dev/null); do
			c task kill -s KILL "$id" >/dev/null 2>&1
			c task delete -f "$id" >/dev/null 2>&1
			c containers delete "$id" >/dev/null 2>&1
		done
		c images rm $(c images ls -q 2>/dev/null) >/dev/null 2>&1
	fi
	local pid
	if [ -f "$WORK/containerd.pid" ]; then
		pid=$(cat "$WORK/containerd.pid")
		kill "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	fi
	# Shims (they name the socket, so the work dir, on their command line) and their children.
	for pid in $(pgrep -f "$WORK" 2>/dev/null); do
		[ "$pid" = $$ ] || kill -9 "$pid" 2>/dev/null
	done
	awk -v w="$WORK" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	find /sys/fs/cgroup -depth -type d -path "*$CGPARENT*" -exec rmdir {} \; 2>/dev/null
	if [ -n "${KEEP_WORK:-}" ]; then
		echo "containerd suite: logs kept" >&2
		mkdir -p "${WORK/husk-test-/husk-kept-}"
		cp -r "$WORK/logs" "$WORK/containerd.log" "${WORK/husk-test-/husk-kept-}/" 2>/dev/null
	fi
	rm -rf "$WORK"
}

# ---- helpers -----------------------------------------------------------------------------------------
C() { echo "husk-test-$CHECK-$RT${1:+-$1}"; }
# crun_bg ID ARGS...: a detached task that keeps running.
crun_bg() {
	local id=$1
	shift
	ok c run -d --snapshotter native --runc-binary "$RTBIN" --cgroup "$CGPARENT/$id" "$@" "$IMG" "$id" sleep 1000
	wait_for 20 sh -c "ctr -a '$SOCK' -n '$NS' task ls | grep -q '^$id .*RUNNING'"
}

# ---- checks ------------------------------------------------------------------------------------------
check run_rm
t_run_rm() {
	ok c run --rm --snapshotter native --runc-binary "$RTBIN" --cgroup "$CGPARENT/$(C)" "$IMG" "$(C)" echo hello-containerd
	expect_eq "$OUT" hello-containerd "output"
	rc_of c containers info "$(C)"
	[ "$RC" != 0 ] || fail "container still there after run --rm"
}

check run_exit_code
t_run_exit_code() {
	expect_rc 42 c run --rm --snapshotter native --runc-binary "$RTBIN" --cgroup "$CGPARENT/$(C)" "$IMG" "$(C)" sh -c 'exit 42'
}

check run_detach_kill_delete
t_run_detach_kill_delete() {
	crun_bg "$(C)"
	ok c task kill -s TERM "$(C)"
	ok c task kill -s KILL "$(C)"
	wait_for 20 sh -c "ctr -a '$SOCK' -n '$NS' task ls | grep -q '^$(C) .*STOPPED'"
	ok c task delete "$(C)"
	ok c containers delete "$(C)"
}

check task_ps
t_task_ps() {
	crun_bg "$(C)"
	ok c task ps "$(C)"
	expect_contains "$OUT" "$(inspect_pid "$(C)")" "task ps lists the init pid"
}
inspect_pid() { c task ls | awk -v id="$1" '$1 == id { print $2 }'; }

check task_exec
t_task_exec() {
	crun_bg "$(C)"
	ok c task exec --exec-id e1 "$(C)" sh -c 'echo from-exec; hostname'
	expect_contains "$OUT" from-exec "exec output"
	expect_rc 3 c task exec --exec-id e2 "$(C)" sh -c 'exit 3'
	c task kill -s KILL "$(C)" >/dev/null 2>&1
}

check task_metrics
t_task_metrics() {
	crun_bg "$(C)" --memory-limit 67108864
	ok c task metrics --format json "$(C)"
	expect_contains "$OUT" '"limit": 67108864' "memory limit in metrics"
	ok c task metrics "$(C)"
	expect_contains "$OUT" memory.usage_in_bytes "metrics table"
}

check task_pause_resume
t_task_pause_resume() {
	crun_bg "$(C)"
	ok c task pause "$(C)"
	wait_for 10 sh -c "ctr -a '$SOCK' -n '$NS' task ls | grep -q '^$(C) .*PAUSED'"
	ok c task resume "$(C)"
	wait_for 10 sh -c "ctr -a '$SOCK' -n '$NS' task ls | grep -q '^$(C) .*RUNNING'"
}

check exec_missing_binary
t_exec_missing_binary() {
	rc_of c run --rm --snapshotter native --runc-binary "$RTBIN" --cgroup "$CGPARENT/$(C)" "$IMG" "$(C)" /no/such/binary
	[ "$RC" != 0 ] || fail "running a missing executable succeeded"
	expect_contains "$OUT" "/no/such/binary" "message names the executable"
}

if [ "${1:-}" != __one ]; then
	suite_setup
fi
run_suite "$@"
