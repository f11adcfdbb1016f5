#!/bin/bash
# Docker end to end, against runc and husk in the same run (see lib.sh for the output).
#
#   integration/podman/docker.sh        (make test-docker)
#
# Starts Debian's dockerd (docker.io 20.10) with a private data root, exec root, pid file,
# socket and daemon.json under /tmp/husk-test-docker-*, no bridge and no iptables (every
# container runs with --network none), cgroups under /husk-test-docker-*, and the runtimes runc
# (its default) and husk (--add-runtime). dockerd starts its own containerd under the exec root.
# The image is imported offline (`docker import` of a busybox-static rootfs). Every check runs
# `docker run --runtime RUNTIME`. dockerd, its containerd and shims, and every container,
# mount, cgroup and file are gone at the end, whatever failed; so are /etc/docker/key.json and
# /run/docker, which dockerd 20.10 makes outside its roots, when they were not there before.
set -uo pipefail

SUITE_NAME=docker
SUITE_FILE=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
. "$(dirname "$SUITE_FILE")/lib.sh"

IMG=husk-test-busybox:latest
# Debian 12 with systemd (make debian-image), for the systemd and distribution checks.
DEBIMG=husk-test-debian:latest
HUSK_DEBIAN_TAR=${HUSK_DEBIAN_TAR:-$REPO/target/debian-bookworm.tar}
export HUSK_DEBIAN_TAR
# The client of the same release as the daemon (a newer one may be earlier in PATH).
DOCKER_CLI=${DOCKER_CLI:-$([ -x /usr/bin/docker ] && echo /usr/bin/docker || command -v docker)}

suite_setup() {
	for b in dockerd containerd containerd-shim-runc-v2 "$DOCKER_CLI"; do
		command -v "$b" >/dev/null || { echo "docker suite: $b not installed (make deps)" >&2; exit 2; }
	done
	WORK=$(mktemp -d /tmp/husk-test-docker-XXXXXX)
	CGPARENT=/$(basename "$WORK")
	SOCK=$WORK/docker.sock
	export WORK CGPARENT SOCK
	# What dockerd makes outside its roots; removed at the end only if it was not there.
	[ -e /etc/docker/key.json ] && touch "$WORK/.had-key"
	[ -e /run/docker ] && touch "$WORK/.had-run-docker"
	trap suite_teardown EXIT
	trap 'exit 130' INT TERM
	local refrunc=runc
	# dockerd's "runc" is the one in PATH; another reference is added under its own name.
	if [ "$(command -v runc)" != "$RUNC_BIN" ]; then refrunc=husk-ref-runc; fi
	echo "$refrunc" >"$WORK/runc-name"
	cat >"$WORK/daemon.json" <<EOF
{
  "runtimes": {"husk": {"path": "$HUSK_BIN"}$([ "$refrunc" = runc ] || printf ', "%s": {"path": "%s"}' "$refrunc" "$RUNC_BIN")},
  "storage-driver": "vfs",
  "cgroup-parent": "$CGPARENT",
  "iptables": false,
  "ip-masq": false,
  "ip-forward": false,
  "bridge": "none",
  "log-level": "warn"
}
EOF
	dockerd --config-file "$WORK/daemon.json" --data-root "$WORK/data" --exec-root "$WORK/exec" \
		--pidfile "$WORK/dockerd.pid" -H "unix://$SOCK" >"$WORK/dockerd.log" 2>&1 &
	echo $! >"$WORK/dockerd.started"
	local n=150
	until "$DOCKER_CLI" -H "unix://$SOCK" version >/dev/null 2>&1; do
		n=$((n - 1))
		if [ $n -le 0 ] || ! kill -0 "$(cat "$WORK/dockerd.started")" 2>/dev/null; then
			echo "dockerd did not start:" >&2
			tail -20 "$WORK/dockerd.log" >&2
			exit 2
		fi
		sleep 0.2
	done
	"$REPO/integration/make-bundle.sh" "$WORK/bundle" >/dev/null
	tar -C "$WORK/bundle/rootfs" -c . | d import -c 'CMD ["/bin/sh"]' \
		-c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$IMG" >"$WORK/import.log" 2>&1 ||
		{ cat "$WORK/import.log" >&2; exit 2; }
	rm -rf "$WORK/bundle"
	# The Debian image, when made (make test-docker makes it; without it its checks skip).
	if [ -s "$HUSK_DEBIAN_TAR" ]; then
		d import -c 'CMD ["/bin/bash"]' \
			-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			"$HUSK_DEBIAN_TAR" "$DEBIMG" >"$WORK/import.log" 2>&1 ||
			{ cat "$WORK/import.log" >&2; exit 2; }
	fi
}

suite_check_env() { DRT=$RT; [ "$RT" != runc ] || DRT=$(cat "$WORK/runc-name"); export DRT; }

d() { "$DOCKER_CLI" -H "unix://$SOCK" "$@"; }

# Removes what one check left: its containers (by name).
suite_after_check() {
	local ids
	ids=$(d ps -aq --filter "name=husk-test-$1-$2" 2>/dev/null)
	[ -z "$ids" ] || d rm -f $ids >/dev/null 2>&1
	return 0
}

suite_teardown() {
	set +e
	[ -n "${WORK:-}" ] && [ -d "$WORK" ] || return 0
	if [ -S "$SOCK" ]; then
		local ids
		ids=$(d ps -aq 2>/dev/null)
		[ -z "$ids" ] || d rm -f $ids >/dev/null 2>&1
		d rmi -f "$IMG" "$DEBIMG" >/dev/null 2>&1
	fi
	local pid
	if [ -f "$WORK/dockerd.started" ]; then
		pid=$(cat "$WORK/dockerd.started")
		kill "$pid" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	fi
	# containerd and the shims name the exec root on their command lines; so do containers'
	# leftover processes only through them.
	for pid in $(pgrep -f "$WORK" 2>/dev/null); do
		[ "$pid" = $$ ] || kill -9 "$pid" 2>/dev/null
	done
	awk -v w="$WORK" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	find /sys/fs/cgroup -depth -type d -path "*$CGPARENT*" -exec rmdir {} \; 2>/dev/null
	[ -e "$WORK/.had-key" ] || rm -f /etc/docker/key.json
	[ -e "$WORK/.had-run-docker" ] || rm -rf /run/docker
	if [ -n "${KEEP_WORK:-}" ]; then
		echo "docker suite: logs kept" >&2
		mkdir -p "${WORK/husk-test-/husk-kept-}"
		cp -r "$WORK/logs" "$WORK/dockerd.log" "${WORK/husk-test-/husk-kept-}/" 2>/dev/null
	fi
	rm -rf "$WORK"
}

# ---- helpers -----------------------------------------------------------------------------------------
C() { echo "husk-test-$CHECK-$RT${1:+-$1}"; }
# drun ARGS...: docker run --rm of the test image with this check's runtime, no network.
drun() { d run --rm --runtime "$DRT" --network none "$@"; }
# dbg NAME ARGS...: a detached container that keeps running (extra docker run options in ARGS).
dbg() {
	local name=$1
	shift
	ok d run -d --name "$name" --runtime "$DRT" --network none "$@" "$IMG" sleep 100000
	wait_for 20 sh -c "[ \"\$('$DOCKER_CLI' -H 'unix://$SOCK' inspect -f '{{.State.Running}}' '$name')\" = true ]"
}
# cgfile NAME CONTROLLER FILE: a cgroup file of a running container (v1 on a hybrid host, the
# cgroup2 file on a pure v2 host), through its init's /proc/PID/cgroup.
cgfile() {
	local pid line path
	pid=$(d inspect -f '{{.State.Pid}}' "$1")
	if ! grep -q ' - cgroup ' /proc/self/mountinfo; then
		path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
		cat "/sys/fs/cgroup$path/$3"
		return
	fi
	line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$pid/cgroup")
	path=${line#*:}
	cat "/sys/fs/cgroup/${path%%:*}${path#*:}/$3"
}
full_bounding_set() {
	local last bnd
	last=$(cat /proc/sys/kernel/cap_last_cap)
	bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
	[ $((16#$bnd)) -eq $(((1 << (last + 1)) - 1)) ]
}
v2_host() { ! grep -q ' - cgroup ' /proc/self/mountinfo; }

# ---- checks ------------------------------------------------------------------------------------------
check run_echo
t_run_echo() {
	ok drun --name "$(C)" "$IMG" echo hello-docker
	expect_eq "$OUT" hello-docker "output"
}

check exit_codes
t_exit_codes() {
	expect_rc 0 drun "$IMG" true
	expect_rc 1 drun "$IMG" false
	expect_rc 126 drun "$IMG" /etc/passwd
	expect_rc 127 drun "$IMG" /no/such/binary
	expect_rc 42 drun "$IMG" sh -c 'exit 42'
}

check exec
t_exec() {
	dbg "$(C)"
	ok d exec "$(C)" sh -c 'echo from-exec; hostname'
	expect_contains "$OUT" from-exec "exec output"
	expect_rc 3 d exec "$(C)" sh -c 'exit 3'
	ok d exec -u 1000:1000 "$(C)" id -u
	expect_eq "$OUT" 1000 "exec --user"
}

check run_stdin
t_run_stdin() {
	OUT=$(echo piped-input | d run --rm -i --runtime "$DRT" --network none "$IMG" cat)
	expect_eq "$OUT" piped-input "stdin reached the container"
}

check limits
t_limits() {
	dbg "$(C)" --memory 64m --memory-swap 128m --cpus 0.5 --cpu-shares 512 --pids-limit 50
	if v2_host; then
		expect_eq "$(cgfile "$(C)" memory memory.max)" 67108864 "memory.max"
		expect_eq "$(cgfile "$(C)" cpu cpu.max)" "50000 100000" "cpu.max"
	else
		expect_eq "$(cgfile "$(C)" memory memory.limit_in_bytes)" 67108864 "memory limit"
		local sw
		sw=$(cgfile "$(C)" memory memory.memsw.limit_in_bytes 2>/dev/null) || sw=
		[ -z "$sw" ] || expect_eq "$sw" 134217728 "memory+swap limit"
		expect_eq "$(cgfile "$(C)" cpu cpu.cfs_quota_us)" 50000 "cpu quota"
		expect_eq "$(cgfile "$(C)" cpu cpu.shares)" 512 "cpu shares"
	fi
	expect_eq "$(cgfile "$(C)" pids pids.max)" 50 "pids.max"
}

check update
t_update() {
	dbg "$(C)" --memory 64m --memory-swap 128m
	ok d update --memory 96m --memory-swap 192m "$(C)"
	ok d update --cpus 0.25 "$(C)"
	ok d update --pids-limit 20 "$(C)"
	if v2_host; then
		expect_eq "$(cgfile "$(C)" memory memory.max)" 100663296 "memory.max"
		expect_eq "$(cgfile "$(C)" cpu cpu.max)" "25000 100000" "cpu.max"
	else
		expect_eq "$(cgfile "$(C)" memory memory.limit_in_bytes)" 100663296 "memory limit"
		expect_eq "$(cgfile "$(C)" cpu cpu.cfs_quota_us)" 25000 "cpu quota"
		# The zeros docker update sends left the shares alone.
		expect_eq "$(cgfile "$(C)" cpu cpu.shares)" 1024 "cpu shares"
	fi
	expect_eq "$(cgfile "$(C)" pids pids.max)" 20 "pids.max"
}

check user
t_user() {
	ok drun --user 1000:1001 "$IMG" sh -c 'echo $(id -u):$(id -g)'
	expect_eq "$OUT" 1000:1001 "uid:gid"
	ok drun --user 1000:1001 --group-add 2000 "$IMG" id -G
	expect_contains "$OUT" 2000 "supplementary group"
}

check caps
t_caps() {
	ok drun "$IMG" grep CapEff /proc/self/status
	expect_contains "$OUT" 00000000a80425fb "docker's default set"
	ok drun --cap-drop ALL "$IMG" grep CapEff /proc/self/status
	expect_contains "$OUT" 0000000000000000 "--cap-drop ALL"
	ok drun --cap-drop ALL --cap-add NET_ADMIN "$IMG" grep CapEff /proc/self/status
	expect_contains "$OUT" 0000000000001000 "--cap-add NET_ADMIN"
	expect_rc 1 drun --cap-drop CHOWN "$IMG" chown 1000 /etc/passwd
}

check read_only
t_read_only() {
	rc_of drun --read-only "$IMG" touch /x
	[ "$RC" != 0 ] || fail "wrote to a read-only rootfs"
	expect_contains "$OUT" "Read-only file system" "error"
	ok drun --read-only --tmpfs /scratch "$IMG" touch /scratch/x
}

check seccomp
t_seccomp() {
	# The default profile filters; it denies unshare(CLONE_NEWUSER) without CAP_SYS_ADMIN.
	rc_of drun "$IMG" grep Seccomp: /proc/self/status
	expect_contains "$OUT" "Seccomp:	2" "default profile is on"
	ok drun --security-opt seccomp=unconfined "$IMG" grep Seccomp: /proc/self/status
	expect_contains "$OUT" "Seccomp:	0" "unconfined"
	rc_of drun "$IMG" unshare -r true
	[ "$RC" != 0 ] || fail "unshare -r succeeded under the default profile"
}

check privileged
t_privileged() {
	rc_of d run -d --name "$(C)" --runtime "$DRT" --network none --privileged "$IMG" sleep 100000
	if [ "$RC" != 0 ]; then
		# runc fails ("unable to apply caps") when the host's bounding set lacks a capability
		# --privileged asks for (CAP_SYS_RESOURCE on this host); husk runs without it.
		if [ "$RT" = runc ] && ! full_bounding_set; then
			skip "runc fails: this host's bounding set lacks capabilities --privileged asks for"
		fi
		fail "--privileged: $OUT"
	fi
	ok d exec "$(C)" grep CapEff /proc/self/status
	local eff bnd
	eff=$(printf '%s' "$OUT" | awk '{ print $2 }')
	bnd=$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)
	[ $((16#$eff & ~16#$bnd)) -eq 0 ] || fail "CapEff $eff has capabilities the host's bounding set $bnd lacks"
	[ $((16#$eff)) -ne 0 ] || fail "no capabilities under --privileged"
	# (husk's warning naming the dropped capabilities goes to its log only with --debug:
	# without it the JSON log dockerd reads carries errors only.)
}

check mounts
t_mounts() {
	mkdir -p "$WORK/share-$RT"
	echo from-host >"$WORK/share-$RT/f"
	ok drun -v "$WORK/share-$RT:/data" "$IMG" cat /data/f
	expect_eq "$OUT" from-host "-v bind"
	ok drun --mount "type=bind,source=$WORK/share-$RT,target=/m,readonly" "$IMG" cat /m/f
	expect_eq "$OUT" from-host "--mount bind"
	rc_of drun --mount "type=bind,source=$WORK/share-$RT,target=/m,readonly" "$IMG" touch /m/g
	[ "$RC" != 0 ] || fail "wrote through a readonly bind"
	ok drun -v "$WORK/share-$RT:/data" "$IMG" sh -c 'echo from-ctr > /data/g'
	expect_eq "$(cat "$WORK/share-$RT/g")" from-ctr "write through -v"
}

check tmpfs
t_tmpfs() {
	ok drun --tmpfs /t:size=1m "$IMG" sh -c 'grep " /t " /proc/mounts'
	expect_contains "$OUT" "tmpfs /t tmpfs" "tmpfs mount"
	expect_contains "$OUT" "size=1024k" "size"
}

check init
t_init() {
	ok drun --init "$IMG" ps -o pid,comm
	expect_contains "$OUT" "1 docker-init" "pid 1 is docker-init"
}

check pause_unpause
t_pause_unpause() {
	dbg "$(C)"
	ok d pause "$(C)"
	expect_eq "$(d inspect -f '{{.State.Status}}' "$(C)")" paused "status"
	ok d unpause "$(C)"
	expect_eq "$(d inspect -f '{{.State.Status}}' "$(C)")" running "status"
	ok d exec "$(C)" true
}

check top
t_top() {
	dbg "$(C)"
	ok d top "$(C)"
	expect_contains "$OUT" "sleep 100000" "top lists the process"
}

check stats
t_stats() {
	dbg "$(C)" --memory 64m
	ok d stats --no-stream --format '{{.MemUsage}}' "$(C)"
	expect_contains "$OUT" "64MiB" "memory limit in stats"
}

check restart_policy
t_restart_policy() {
	ok d run -d --name "$(C)" --runtime "$DRT" --network none --restart on-failure:2 "$IMG" sh -c 'exit 3'
	wait_for 60 sh -c "[ \"\$('$DOCKER_CLI' -H 'unix://$SOCK' inspect -f '{{.RestartCount}} {{.State.Running}}' '$(C)')\" = '2 false' ]"
	expect_eq "$(d inspect -f '{{.State.ExitCode}}' "$(C)")" 3 "exit code"
}

check kill_signal
t_kill_signal() {
	ok d run -d --name "$(C)" --runtime "$DRT" --network none "$IMG" sh -c 'trap "exit 7" USR1; while :; do sleep 0.1; done'
	wait_for 20 sh -c "[ \"\$('$DOCKER_CLI' -H 'unix://$SOCK' inspect -f '{{.State.Running}}' '$(C)')\" = true ]"
	sleep 0.5
	ok d kill -s USR1 "$(C)"
	ok d wait "$(C)"
	expect_eq "$OUT" 7 "exit code after USR1"
	dbg "$(C)-k"
	ok d kill "$(C)-k"
	ok d wait "$(C)-k"
	expect_eq "$OUT" 137 "exit code after KILL"
}

check oom
t_oom() {
	rc_of d run --name "$(C)" --runtime "$DRT" --network none --memory 32m --memory-swap 32m "$IMG" \
		sh -c 'x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while :; do x=$x$x; done'
	expect_eq "$RC" 137 "exit code"
	expect_eq "$(d inspect -f '{{.State.OOMKilled}}' "$(C)")" true "OOMKilled"
}

check healthcheck
t_healthcheck() {
	dbg "$(C)" --health-cmd 'test -e /tmp/ok' --health-interval 1s --health-retries 1
	ok d exec "$(C)" touch /tmp/ok
	wait_for 30 sh -c "[ \"\$('$DOCKER_CLI' -H 'unix://$SOCK' inspect -f '{{.State.Health.Status}}' '$(C)')\" = healthy ]"
	ok d exec "$(C)" rm /tmp/ok
	wait_for 30 sh -c "[ \"\$('$DOCKER_CLI' -H 'unix://$SOCK' inspect -f '{{.State.Health.Status}}' '$(C)')\" = unhealthy ]"
}

check events
t_events() {
	local since
	since=$(date +%s)
	ok drun --name "$(C)" "$IMG" true
	ok d events --since "$since" --until "$(($(date +%s) + 1))" --filter "container=$(C)" --format '{{.Action}}'
	expect_contains "$OUT" start "start event"
	expect_contains "$OUT" die "die event"
}

check diff
t_diff() {
	ok d run --name "$(C)" --runtime "$DRT" --network none "$IMG" sh -c 'echo x > /new-file; rm /etc/hostname.orig 2>/dev/null; true'
	ok d diff "$(C)"
	expect_contains "$OUT" "A /new-file" "diff lists the new file"
}

check cp
t_cp() {
	dbg "$(C)"
	echo to-ctr >"$WORK/cp-$RT"
	ok d cp "$WORK/cp-$RT" "$(C):/tmp/in"
	ok d exec "$(C)" cat /tmp/in
	expect_eq "$OUT" to-ctr "cp into"
	ok d exec "$(C)" sh -c 'echo from-ctr > /tmp/out'
	ok d cp "$(C):/tmp/out" "$WORK/cp-out-$RT"
	expect_eq "$(cat "$WORK/cp-out-$RT")" from-ctr "cp out of"
}

# ---- systemd and Debian (the image of make debian-image) ------------------------------------------
need_debian() {
	d image inspect "$DEBIMG" >/dev/null 2>&1 || skip "no Debian image: make debian-image ($HUSK_DEBIAN_TAR)"
}
# systemd_up NAME: systemd as the container's init, as Docker users run it on a cgroup v1 host
# (tmpfs /run, the host's name=systemd hierarchy bound writable, SIGRTMIN+3 to stop), until
# `systemctl is-system-running` says running or degraded (bounded).
systemd_up() {
	need_debian
	v2_host && skip "written for a cgroup v1 or hybrid host (Docker 20.10 gives systemd no writable cgroup2)"
	ok d run -d --name "$1" --runtime "$DRT" --network none --tmpfs /run --tmpfs /run/lock \
		-v /sys/fs/cgroup/systemd:/sys/fs/cgroup/systemd --stop-signal SIGRTMIN+3 \
		"$DEBIMG" /lib/systemd/systemd
	local n=600 st=
	while [ $n -gt 0 ]; do
		st=$(d exec "$1" systemctl is-system-running 2>/dev/null || true)
		case $st in running | degraded) return 0 ;; esac
		[ "$(d inspect -f '{{.State.Running}}' "$1")" = true ] ||
			fail "systemd exited: $(d inspect -f 'exit code {{.State.ExitCode}}' "$1")"
		sleep 0.2
		n=$((n - 1))
	done
	fail "systemd not up after 120s: is-system-running says '$st'"
}

check systemd_boot
t_systemd_boot() {
	systemd_up "$(C)"
	ok d exec "$(C)" systemctl list-units --failed --plain --no-legend
	local failed extra
	failed=$(printf '%s\n' "$OUT" | awk '{ print $1 }' | grep . | sort || true)
	printf '%s\n' "$failed" >"$WORK/systemd-failed.$RT"
	if [ -n "$failed" ] && [ "$RT" != runc ]; then
		[ -f "$WORK/systemd-failed.runc" ] || fail "failed units (and no runc run to compare): $failed"
		extra=$(comm -23 <(printf '%s\n' "$failed") "$WORK/systemd-failed.runc" | grep . || true)
		[ -z "$extra" ] || fail "units failed here and not under runc: $(echo $extra)"
	fi
	ok d exec "$(C)" systemctl status --no-pager
	expect_contains "$OUT" "State: " "systemctl status"
}

check systemd_stop
t_systemd_stop() {
	systemd_up "$(C)"
	# docker stop sends SIGRTMIN+3; systemd shuts down and exits 0 well before the timeout
	# (after it, Docker kills it: exit code 137).
	ok d stop -t 60 "$(C)"
	expect_eq "$(d inspect -f '{{.State.Running}} {{.State.ExitCode}}' "$(C)")" "false 0" "stopped by systemd itself"
}

check debian_use
t_debian_use() {
	need_debian
	ok drun "$DEBIMG" bash -c 'apt-get --version | head -1
		useradd -m husky && su - husky -c "id -un; pwd"
		ps -eo pid=,comm= | head -1
		ip -o addr show lo | grep -o "inet [0-9./]*"'
	expect_contains "$OUT" "apt " "apt-get --version"
	expect_contains "$OUT" "husky"$'\n'"/home/husky" "su - to a user"
	expect_contains "$OUT" "1 bash" "ps"
	expect_contains "$OUT" "inet 127.0.0.1/8" "ip: lo up"
}

if [ "${1:-}" != __one ]; then
	suite_setup
fi
run_suite "$@"
