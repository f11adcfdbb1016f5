#!/bin/bash
# Podman end to end, against runc and husk in the same run (see lib.sh for the output).
#
#   integration/podman/podman.sh        (make test-podman)
#
# Podman runs as `podman --root R --runroot RR --runtime <abs path>` in a store of its own under
# /tmp/husk-test-podman-*: its own containers.conf (CONTAINERS_CONF) and storage.conf
# (CONTAINERS_STORAGE_CONF), cgroupfs manager, file events, no network by default (bridge with
# netavark in one check, inside a throwaway network namespace so the host's ip_forward and
# firewall are not touched), ulimits under root's hard limits (root lacks CAP_SYS_RESOURCE), on
# an image imported from a busybox-static rootfs tar. Every container's cgroups live under
# /husk-test-podman-<pid> (--cgroup-parent) and are removed at the end.
set -uo pipefail

SUITE_NAME=podman
SUITE_FILE=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
. "$(dirname "$SUITE_FILE")/lib.sh"

IMG=localhost/husk-test-busybox:latest
# Debian 12 with systemd (make debian-image), for the systemd and distribution checks.
DEBIMG=localhost/husk-test-debian:latest
HUSK_DEBIAN_TAR=${HUSK_DEBIAN_TAR:-$REPO/target/debian-bookworm.tar}
export HUSK_DEBIAN_TAR

# ---- environment ----------------------------------------------------------------------------------
# The parent creates WORK and exports everything a check process needs.
suite_setup() {
	for b in podman conmon; do
		command -v $b >/dev/null || { echo "podman suite: $b not installed (make deps)" >&2; exit 2; }
	done
	WORK=$(mktemp -d /tmp/husk-test-podman-XXXXXX)
	CGPARENT=/$(basename "$WORK")
	export WORK CGPARENT
	trap suite_teardown EXIT
	trap 'exit 130' INT TERM
	local hn hu
	hn=$(ulimit -Hn) hu=$(ulimit -Hu)
	[ "$hn" = unlimited ] && hn=1048576
	[ "$hu" = unlimited ] && hu=65536
	[ "$hn" -gt 4096 ] && hn=4096
	[ "$hu" -gt 4096 ] && hu=4096
	HN=$hn HU=$hu
	export HN HU
	mkdir -p "$WORK/root" "$WORK/runroot" "$WORK/tmp" "$WORK/networks"
	cat >"$WORK/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=$hn:$hn", "nproc=$hu:$hu"]
init_path = "/usr/libexec/podman/catatonit"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$WORK/events.log"
tmp_dir = "$WORK/tmp"
static_dir = "$WORK/root/libpod"
volume_path = "$WORK/root/volumes"
# husk writes runc's JSON error log: podman shows its message.
runtime_supports_json = ["crun", "runc", "husk"]

[engine.runtimes]
husk = ["$HUSK_BIN"]

[network]
network_backend = "netavark"
network_config_dir = "$WORK/networks"
EOF
	cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$WORK/runroot"
graphroot = "$WORK/root"
EOF
	export CONTAINERS_CONF=$WORK/containers.conf CONTAINERS_STORAGE_CONF=$WORK/storage.conf
	# The image: a busybox-static rootfs, imported.
	"$REPO/integration/make-bundle.sh" "$WORK/bundle" >/dev/null
	tar -C "$WORK/bundle/rootfs" -cf "$WORK/rootfs.tar" .
	podman --root "$WORK/root" --runroot "$WORK/runroot" import \
		--change 'CMD ["/bin/sh"]' --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		"$WORK/rootfs.tar" "$IMG" >/dev/null 2>"$WORK/import.err" ||
		{ cat "$WORK/import.err" >&2; exit 2; }
	# The Debian image, when made (make test-podman makes it; without it its checks skip).
	if [ -s "$HUSK_DEBIAN_TAR" ]; then
		podman --root "$WORK/root" --runroot "$WORK/runroot" import \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'CMD ["/bin/bash"]' "$HUSK_DEBIAN_TAR" "$DEBIMG" >/dev/null 2>"$WORK/import.err" ||
			{ cat "$WORK/import.err" >&2; exit 2; }
	fi
	ls /run/netns 2>/dev/null | sort >"$WORK/netns.before"
}

suite_check_env() { :; }

# p ARGS: podman in the test store with the runtime under test; run/create (not in a pod) get
# the suite's cgroup parent.
p() {
	local sub=$1
	shift
	local a extra=()
	case $sub in
	run | create)
		extra=(--cgroup-parent "$CGPARENT")
		for a in "$@"; do case $a in --pod | --pod=*) extra=() ;; esac; done
		;;
	pod)
		if [ "${1:-}" = create ]; then shift; set -- create --cgroup-parent "$CGPARENT" "$@"; fi
		;;
	esac
	podman --root "$WORK/root" --runroot "$WORK/runroot" --runtime "$RTBIN" "$sub" "${extra[@]}" "$@"
}
P() { podman --root "$WORK/root" --runroot "$WORK/runroot" "$@"; }

# Removes what one check left (containers, pods, volumes named after it).
suite_after_check() {
	local pre="husk-test-$1-$2"
	P pod ls -q --filter "name=^$pre" 2>/dev/null | xargs -r podman --root "$WORK/root" --runroot "$WORK/runroot" pod rm -f -t 0 >/dev/null 2>&1
	P ps -aq --filter "name=^$pre" 2>/dev/null | xargs -r podman --root "$WORK/root" --runroot "$WORK/runroot" rm -f -t 0 >/dev/null 2>&1
	P volume ls -q --filter "name=^$pre" 2>/dev/null | xargs -r podman --root "$WORK/root" --runroot "$WORK/runroot" volume rm -f >/dev/null 2>&1
	return 0
}

suite_teardown() {
	set +e
	[ -n "${WORK:-}" ] && [ -d "$WORK" ] || return 0
	P pod rm -a -f -t 0 >/dev/null 2>&1
	P rm -a -f -t 0 >/dev/null 2>&1
	P volume rm -a -f >/dev/null 2>&1
	P network ls -q 2>/dev/null | grep '^husk-test' | xargs -r podman --root "$WORK/root" --runroot "$WORK/runroot" network rm -f >/dev/null 2>&1
	P rmi -a -f >/dev/null 2>&1
	# conmon (and anything else) still running from this store.
	local pid cmd
	for pid in $(pgrep -f "$WORK" 2>/dev/null); do
		[ "$pid" = $$ ] || kill -9 "$pid" 2>/dev/null
	done
	P system reset -f >/dev/null 2>&1
	# Mounts under the store, deepest first.
	awk -v w="$WORK" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
	# Network namespaces that appeared during the run and no longer belong to anything.
	if [ -f "$WORK/netns.before" ]; then
		comm -13 "$WORK/netns.before" <(ls /run/netns 2>/dev/null | sort) | while read -r n; do
			echo "podman suite: network namespace $n left behind; removing" >&2
			ip netns delete "$n" 2>/dev/null
		done
	fi
	# The cgroup parent in every hierarchy, deepest first.
	find /sys/fs/cgroup -depth -type d -path "*$CGPARENT*" -exec rmdir {} \; 2>/dev/null
	if [ -n "${KEEP_WORK:-}" ]; then
		echo "podman suite: logs kept in $WORK/logs" >&2
		find "$WORK" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} + 2>/dev/null
		mv "$WORK" "${WORK/husk-test-/husk-kept-}"
	else
		rm -rf "$WORK"
	fi
}

# ---- helpers for checks -----------------------------------------------------------------------
C() { echo "husk-test-$CHECK-$RT${1:+-$1}"; }
# run_bg NAME ARGS...: a detached container that stays up (ARGS end with the image and command).
run_bg() {
	local n=$1
	shift
	ok p run -d --name "$n" "$@"
	wait_for 20 sh -c "[ \"\$(podman --root '$WORK/root' --runroot '$WORK/runroot' inspect -f '{{.State.Running}}' '$n')\" = true ]"
}
inspect() { P inspect -f "$2" "$1"; }
# cgfile NAME CONTROLLER FILE: a cgroup v1 file of the container, read on the host.
cgfile() {
	local pid path
	pid=$(inspect "$1" '{{.State.Pid}}')
	path=$(awk -F: -v c="$2" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")
	cat "/sys/fs/cgroup/$2$path/$3"
}
# in_ctr ARGS: run a one-shot container, output in $OUT, must exit 0.
in_ctr() { ok p run --rm "$@"; }

# ---- checks: lifecycle ------------------------------------------------------------------------------
check run_fg
t_run_fg() {
	in_ctr "$IMG" echo hello-husk
	expect_eq "$OUT" hello-husk "output"
	rc_of P ps -a --filter "name=^$(C)" -q
}

check run_exit_code
t_run_exit_code() {
	expect_rc 42 p run --rm "$IMG" sh -c 'exit 42'
}

check run_short_lived
t_run_short_lived() {
	# A program that exits at once, again and again: start must not race with its exit.
	local i
	for i in 1 2 3 4 5 6 7 8; do
		in_ctr "$IMG" true
	done
}

check run_rm_removes
t_run_rm_removes() {
	in_ctr --name "$(C)" "$IMG" true
	rc_of P container exists "$(C)"
	expect_eq "$RC" 1 "container still exists after run --rm"
}

check run_stdin
t_run_stdin() {
	OUT=$(echo piped-data | p run -i --rm "$IMG" cat 2>&1) || fail "run -i: $OUT"
	expect_eq "$OUT" piped-data "stdin echoed"
}

check run_tty
t_run_tty() {
	in_ctr -t "$IMG" sh -c 'tty; stty size'
	expect_contains "$OUT" /dev/pts/ "tty"
}

check run_detach_logs
t_run_detach_logs() {
	run_bg "$(C)" "$IMG" sh -c 'echo to-stdout; echo to-stderr >&2; exec sleep 1000'
	wait_for 10 sh -c "podman --root '$WORK/root' --runroot '$WORK/runroot' logs '$(C)' 2>&1 | grep -q to-stderr"
	ok P logs "$(C)"
	expect_contains "$OUT" to-stdout "logs"
	expect_contains "$OUT" to-stderr "logs"
	ok P ps --filter "name=^$(C)$" --format '{{.Names}} {{.Status}}'
	expect_contains "$OUT" "$(C) Up" "ps"
	[ "$(inspect "$(C)" '{{.State.Pid}}')" -gt 1 ] || fail "inspect: no pid"
}

check exit_code_127
t_exit_code_127() {
	expect_rc 127 p run --rm "$IMG" /no/such/binary
	expect_contains "$OUT" "/no/such/binary" "message names the missing executable"
}

check exit_code_126
t_exit_code_126() {
	expect_rc 126 p run --rm "$IMG" /etc/passwd
	expect_contains "$OUT" "permission denied" "message"
}

check create_start
t_create_start() {
	ok p create --name "$(C)" "$IMG" echo created-then-started
	expect_eq "$(inspect "$(C)" '{{.State.Status}}')" created "status after create"
	ok p start -a "$(C)"
	expect_contains "$OUT" created-then-started "start -a output"
	expect_eq "$(inspect "$(C)" '{{.State.Status}}')" exited "status after start"
}

check stop_sigterm
t_stop_sigterm() {
	run_bg "$(C)" "$IMG" sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done'
	ok p stop -t 10 "$(C)"
	expect_eq "$(inspect "$(C)" '{{.State.ExitCode}}')" 7 "exit code after SIGTERM"
}

check stop_timeout_kill
t_stop_timeout_kill() {
	# sh as pid 1 ignores SIGTERM: stop must fall back to SIGKILL.
	run_bg "$(C)" "$IMG" sh -c 'while :; do sleep 0.1; done'
	ok p stop -t 1 "$(C)"
	expect_eq "$(inspect "$(C)" '{{.State.ExitCode}}')" 137 "exit code after SIGKILL"
}

check kill_signals
t_kill_signals() {
	run_bg "$(C)" "$IMG" sh -c 'trap "echo got-usr1" USR1; trap "echo got-hup" HUP; while :; do sleep 0.1; done'
	ok p kill -s USR1 "$(C)"
	ok p kill -s HUP "$(C)"
	wait_for 10 sh -c "podman --root '$WORK/root' --runroot '$WORK/runroot' logs '$(C)' | grep -q got-hup"
	ok P logs "$(C)"
	expect_contains "$OUT" got-usr1 "USR1 delivered"
	ok p kill "$(C)"
	ok p wait "$(C)"
	expect_eq "$OUT" 137 "wait after kill"
}

check wait_exit
t_wait_exit() {
	ok p run -d --name "$(C)" "$IMG" sh -c 'sleep 0.5; exit 5'
	ok p wait "$(C)"
	expect_eq "$OUT" 5 "wait"
}

check restart
t_restart() {
	run_bg "$(C)" "$IMG" sleep 1000
	local before
	before=$(inspect "$(C)" '{{.State.Pid}}')
	ok p restart -t 0 "$(C)"
	expect_eq "$(inspect "$(C)" '{{.State.Running}}')" true "running after restart"
	[ "$(inspect "$(C)" '{{.State.Pid}}')" != "$before" ] || fail "restart kept pid $before"
}

check rm_force
t_rm_force() {
	run_bg "$(C)" "$IMG" sleep 1000
	ok p rm -f -t 0 "$(C)"
	rc_of P container exists "$(C)"
	expect_eq "$RC" 1 "exists after rm -f"
}

check inspect_ps
t_inspect_ps() {
	run_bg "$(C)" "$IMG" sleep 1000
	expect_eq "$(inspect "$(C)" '{{.OCIRuntime}}')" "$RTBIN" "OCIRuntime"
	expect_eq "$(inspect "$(C)" '{{.State.Status}}')" running "status"
	ok P ps -a --filter "name=^$(C)$" --format '{{.Command}}'
	expect_contains "$OUT" sleep "ps command"
}

check top
t_top() {
	run_bg "$(C)" "$IMG" sleep 1000
	ok p top "$(C)"
	expect_contains "$OUT" "sleep 1000" "top"
}

check stats
t_stats() {
	run_bg "$(C)" "$IMG" sleep 1000
	ok p stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' "$(C)"
	expect_contains "$OUT" "$(C) " "stats"
	expect_not_contains "$OUT" "--" "stats values"
}

check events
t_events() {
	ok p run --name "$(C)" "$IMG" true
	ok P events --stream=false --filter "container=$(C)" --format '{{.Status}}'
	expect_contains "$OUT" start "events"
	expect_contains "$OUT" died "events"
}

check pause_unpause
t_pause_unpause() {
	run_bg "$(C)" "$IMG" sleep 1000
	ok p pause "$(C)"
	expect_eq "$(inspect "$(C)" '{{.State.Status}}')" paused "status"
	expect_eq "$(cgfile "$(C)" freezer freezer.state)" FROZEN "freezer.state"
	ok p unpause "$(C)"
	expect_eq "$(inspect "$(C)" '{{.State.Status}}')" running "status after unpause"
}

check update
t_update() {
	run_bg "$(C)" --memory 64m "$IMG" sleep 1000
	ok p update --memory 96m --cpu-shares 256 "$(C)"
	expect_eq "$(cgfile "$(C)" memory memory.limit_in_bytes)" 100663296 "memory.limit_in_bytes"
	expect_eq "$(cgfile "$(C)" cpu cpu.shares)" 256 "cpu.shares"
}

# ---- exec ---------------------------------------------------------------------------------------
check exec_basic
t_exec_basic() {
	run_bg "$(C)" "$IMG" sleep 1000
	ok p exec "$(C)" echo from-exec
	expect_eq "$OUT" from-exec "exec output"
	expect_rc 3 p exec "$(C)" sh -c 'exit 3'
}

check exec_env_workdir_user
t_exec_env_workdir_user() {
	run_bg "$(C)" "$IMG" sleep 1000
	ok p exec -e HUSK_X=yes "$(C)" sh -c 'echo $HUSK_X'
	expect_eq "$OUT" yes "exec -e"
	ok p exec -w /tmp "$(C)" pwd
	expect_eq "$OUT" /tmp "exec -w"
	ok p exec -u 1000:1001 "$(C)" sh -c 'echo $(id -u):$(id -g)'
	expect_eq "$OUT" 1000:1001 "exec -u"
}

check exec_stdin_tty
t_exec_stdin_tty() {
	run_bg "$(C)" "$IMG" sleep 1000
	OUT=$(echo exec-stdin | p exec -i "$(C)" cat 2>&1) || fail "exec -i: $OUT"
	expect_eq "$OUT" exec-stdin "exec -i"
	ok p exec -t "$(C)" tty
	expect_contains "$OUT" /dev/pts/ "exec -t"
}

check exec_errors
t_exec_errors() {
	run_bg "$(C)" "$IMG" sleep 1000
	expect_rc 127 p exec "$(C)" /no/such/binary
	expect_rc 126 p exec "$(C)" /etc/passwd
}

# ---- limits -----------------------------------------------------------------------------------------
check memory
t_memory() {
	run_bg "$(C)" --memory 64m "$IMG" sleep 1000
	expect_eq "$(cgfile "$(C)" memory memory.limit_in_bytes)" 67108864 "memory.limit_in_bytes"
}

check memory_swap
t_memory_swap() {
	[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ] || skip "no swap accounting (memory.memsw.*) on this kernel"
	run_bg "$(C)" --memory 64m --memory-swap 128m "$IMG" sleep 1000
	expect_eq "$(cgfile "$(C)" memory memory.memsw.limit_in_bytes)" 134217728 "memsw.limit_in_bytes"
}

check oom_kill
t_oom_kill() {
	local swap=()
	[ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ] && swap=(--memory-swap 32m)
	rc_of p run --name "$(C)" --memory 32m "${swap[@]}" "$IMG" sh -c 'tail /dev/zero'
	expect_eq "$RC" 137 "exit of the OOM-killed container"
	# State.OOMKilled stays false here with runc too: conmon 2.1.6 misses the v1 OOM event on
	# this hybrid host. The exit by SIGKILL is what the runtime controls; the flag is logged.
	echo "State.OOMKilled: $(inspect "$(C)" '{{.State.OOMKilled}}')"
}

check cpus
t_cpus() {
	run_bg "$(C)" --cpus 0.5 --cpu-shares 512 "$IMG" sleep 1000
	expect_eq "$(cgfile "$(C)" cpu cpu.cfs_quota_us)" 50000 "cfs_quota_us"
	expect_eq "$(cgfile "$(C)" cpu cpu.cfs_period_us)" 100000 "cfs_period_us"
	expect_eq "$(cgfile "$(C)" cpu cpu.shares)" 512 "cpu.shares"
}

check cpuset
t_cpuset() {
	run_bg "$(C)" --cpuset-cpus 0 "$IMG" sleep 1000
	expect_eq "$(cgfile "$(C)" cpuset cpuset.cpus)" 0 "cpuset.cpus"
	in_ctr --cpuset-cpus 0 "$IMG" sh -c 'grep Cpus_allowed_list /proc/self/status'
	expect_contains "$OUT" "Cpus_allowed_list:	0" "affinity"
}

check pids_limit
t_pids_limit() {
	rc_of p run --rm --pids-limit 10 "$IMG" sh -c 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null; for i in $(seq 30); do sleep 30 & done 2>&1; echo spawned'
	expect_contains "$OUT" "fork" "fork refused past the pids limit"
}

check ulimit
t_ulimit() {
	# (Given --ulimit, podman drops default_ulimits and asks for nproc=1048576: say it too.)
	in_ctr --ulimit nofile=512:512 --ulimit "nproc=$HU:$HU" "$IMG" sh -c 'ulimit -n; ulimit -Hn'
	expect_eq "$OUT" "512
512" "ulimit -n"
}

check oom_score_adj
t_oom_score_adj() {
	in_ctr --oom-score-adj 300 "$IMG" cat /proc/self/oom_score_adj
	expect_eq "$OUT" 300 "oom_score_adj"
}

# ---- security ----------------------------------------------------------------------------------------
check caps_default
t_caps_default() {
	in_ctr "$IMG" sh -c 'grep CapEff /proc/self/status'
	# containers-common's default_capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_BIND_SERVICE
	# SETFCAP SETGID SETPCAP SETUID SYS_CHROOT NET_RAW MKNOD AUDIT_WRITE.
	expect_eq "$OUT" "CapEff:	00000000a80425fb" "default CapEff (podman's default list)"
}

check cap_drop_add
t_cap_drop_add() {
	in_ctr --cap-drop ALL "$IMG" sh -c 'grep -E "Cap(Eff|Bnd)" /proc/self/status'
	expect_eq "$OUT" "CapEff:	0000000000000000
CapBnd:	0000000000000000" "cap-drop ALL"
	in_ctr --cap-drop ALL --cap-add NET_ADMIN "$IMG" sh -c 'grep CapEff /proc/self/status'
	expect_eq "$OUT" "CapEff:	0000000000001000" "cap-add NET_ADMIN"
}

check privileged
t_privileged() {
	local bnd
	bnd=$(awk '/CapBnd/ { print $2 }' /proc/self/status)
	in_ctr --privileged "$IMG" sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status; test -c /dev/kmsg && echo has-kmsg'
	expect_contains "$OUT" "CapEff:	$bnd" "privileged CapEff = host bounding set"
	expect_contains "$OUT" "Seccomp:	0" "no seccomp"
	expect_contains "$OUT" has-kmsg "host devices"
}

check seccomp_default
t_seccomp_default() {
	in_ctr "$IMG" sh -c 'grep "^Seccomp:" /proc/self/status'
	expect_eq "$OUT" "Seccomp:	2" "default profile loaded"
}

check seccomp_unconfined
t_seccomp_unconfined() {
	in_ctr --security-opt seccomp=unconfined "$IMG" sh -c 'grep "^Seccomp:" /proc/self/status'
	expect_eq "$OUT" "Seccomp:	0" "unconfined"
}

check seccomp_custom
t_seccomp_custom() {
	local prof=$WORK/seccomp-$RT.json
	cat >"$prof" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
EOF
	rc_of p run --rm --security-opt "seccomp=$prof" "$IMG" mkdir /tmp/x
	expect_eq "$RC" 1 "mkdir under a profile that refuses it"
	expect_contains "$OUT" "Operation not permitted" "errno"
	in_ctr --security-opt "seccomp=$prof" "$IMG" touch /tmp/y
}

check no_new_privs
t_no_new_privs() {
	in_ctr --security-opt no-new-privileges "$IMG" sh -c 'grep NoNewPrivs /proc/self/status'
	expect_eq "$OUT" "NoNewPrivs:	1" "NoNewPrivs"
}

check read_only
t_read_only() {
	rc_of p run --rm --read-only "$IMG" touch /husk-x
	[ "$RC" != 0 ] || fail "write to a read-only rootfs succeeded"
	expect_contains "$OUT" "Read-only file system" "error"
	in_ctr --read-only "$IMG" touch /tmp/ok
}

check masked_paths
t_masked_paths() {
	# (/proc/kcore does not exist on this kernel: /proc/timer_list and /proc/keys do.)
	in_ctr "$IMG" sh -c 'wc -c </proc/timer_list; wc -c </proc/keys; ls /sys/firmware | wc -l; (echo 1 >/proc/sys/kernel/panic) 2>/dev/null || echo ro-proc-sys'
	expect_eq "$(echo $OUT)" "0 0 0 ro-proc-sys" "timer_list and keys masked, /sys/firmware empty, /proc/sys read-only"
}

# ---- storage ---------------------------------------------------------------------------------------------
check bind_rw_ro
t_bind_rw_ro() {
	local d=$WORK/bind-$RT
	mkdir -p "$d"
	echo host-file >"$d/in"
	in_ctr -v "$d:/data" "$IMG" sh -c 'cat /data/in; echo from-ctr >/data/out'
	expect_eq "$OUT" host-file "read through rw bind"
	expect_eq "$(cat "$d/out")" from-ctr "write through rw bind"
	rc_of p run --rm -v "$d:/data:ro" "$IMG" touch /data/x
	[ "$RC" != 0 ] || fail "write to a :ro bind succeeded"
}

check mount_options
t_mount_options() {
	local d=$WORK/mopt-$RT
	mkdir -p "$d"
	in_ctr --mount "type=bind,src=$d,dst=/data,ro=true" -v "$d:/d2:rw,noexec,nosuid,nodev" "$IMG" \
		sh -c 'grep -E " /(data|d2) " /proc/self/mountinfo'
	expect_contains "$(echo "$OUT" | grep ' /data ')" " ro," "--mount ro"
	local d2
	d2=$(echo "$OUT" | grep ' /d2 ')
	expect_contains "$d2" nosuid "nosuid"
	expect_contains "$d2" nodev "nodev"
	expect_contains "$d2" noexec "noexec"
}

check named_volume
t_named_volume() {
	ok p volume create "$(C)-vol"
	in_ctr -v "$(C)-vol:/vol" "$IMG" sh -c 'echo persisted >/vol/f'
	in_ctr -v "$(C)-vol:/vol" "$IMG" cat /vol/f
	expect_eq "$OUT" persisted "volume content"
}

check tmpfs
t_tmpfs() {
	in_ctr --tmpfs /scratch:size=1m,mode=1777 "$IMG" sh -c 'grep " /scratch " /proc/self/mountinfo; stat -c %a /scratch'
	expect_contains "$OUT" "tmpfs" "fs type"
	expect_contains "$OUT" "size=1024k" "size"
	expect_contains "$OUT" "1777" "mode"
}

check tmpfs_copyup
t_tmpfs_copyup() {
	# podman asks for tmpcopyup on --tmpfs: the tmpfs starts with the image's /home/user.
	in_ctr --tmpfs /home:size=1m "$IMG" sh -c 'grep -c " /home .* tmpfs " /proc/self/mountinfo; ls /home'
	expect_eq "$(echo $OUT)" "1 user" "tmpfs over /home with its content copied up"
}

check shm_size
t_shm_size() {
	in_ctr --shm-size 8m "$IMG" sh -c 'grep " /dev/shm " /proc/self/mountinfo'
	expect_contains "$OUT" "size=8192k" "shm size"
}

# ---- identity and namespaces ---------------------------------------------------------------------------
check user_groups
t_user_groups() {
	in_ctr --user 1000:1001 --group-add 2000 "$IMG" sh -c 'echo $(id -u):$(id -g):$(id -G)'
	expect_eq "$OUT" "1000:1001:1001 2000" "id"
}

check hostname_env_workdir
t_hostname_env_workdir() {
	in_ctr --hostname husk-host --env HUSK_E=val --workdir /tmp "$IMG" sh -c 'hostname; echo $HUSK_E; pwd'
	expect_eq "$OUT" "husk-host
val
/tmp" "hostname, env, workdir"
}

check init
t_init() {
	in_ctr --init "$IMG" sh -c 'tr "\0" " " </proc/1/cmdline'
	# podman binds catatonit in as /run/podman-init.
	expect_contains "$OUT" "/run/podman-init -- sh" "pid 1"
}

check device
t_device() {
	in_ctr --device /dev/zero:/dev/husk-zero "$IMG" sh -c 'head -c 5 /dev/husk-zero | wc -c'
	expect_eq "$OUT" 5 "read from the added device"
}

check sysctl
t_sysctl() {
	in_ctr --sysctl kernel.shm_rmid_forced=1 "$IMG" cat /proc/sys/kernel/shm_rmid_forced
	expect_eq "$OUT" 1 "kernel.shm_rmid_forced"
}

check host_namespaces
t_host_namespaces() {
	in_ctr --pid=host --ipc=host --uts=host "$IMG" sh -c 'for n in pid ipc uts; do readlink /proc/self/ns/$n; done'
	expect_eq "$(echo $OUT)" "$(readlink /proc/self/ns/pid) $(readlink /proc/self/ns/ipc) $(readlink /proc/self/ns/uts)" "namespaces"
	in_ctr "$IMG" sh -c 'readlink /proc/self/ns/pid'
	[ "$OUT" != "$(readlink /proc/self/ns/pid)" ] || fail "default pid namespace is the host's"
}

check cgroupns_private
t_cgroupns_private() {
	in_ctr --cgroupns=private "$IMG" sh -c 'readlink /proc/self/ns/cgroup; grep ":memory:" /proc/self/cgroup'
	[ "$(echo "$OUT" | head -1)" != "$(readlink /proc/self/ns/cgroup)" ] || fail "cgroup namespace is the host's"
	expect_eq "$(echo "$OUT" | tail -1 | cut -d: -f3)" / "memory cgroup path inside"
}

check uidmap
t_uidmap() {
	in_ctr --uidmap 0:200000:65536 --gidmap 0:200000:65536 "$IMG" sh -c 'cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/f'
	expect_eq "$(echo $OUT)" "0 200000 65536 0 200000 65536" "uid_map, gid_map"
}

check network_bridge
t_network_bridge() {
	# Netavark turns on ip_forward and adds firewall rules in the network namespace it runs in:
	# run podman in a throwaway one, so the host's are never touched.
	local net=husk-test-net-$RT
	ok P network create --internal --disable-dns --subnet 10.233.$([ "$RT" = runc ] && echo 77 || echo 78).0/24 "$net"
	rc_of unshare -n sh -c "ip link set lo up; exec podman --root '$WORK/root' --runroot '$WORK/runroot' --runtime '$RTBIN' run --rm --cgroup-parent '$CGPARENT' --network '$net' '$IMG' ip -4 -o addr show eth0"
	P network rm -f "$net" >/dev/null 2>&1 || true
	[ "$RC" = 0 ] || fail "run on a bridge network: $OUT"
	expect_contains "$OUT" "inet 10.233." "container address"
}

check pod
t_pod() {
	ok p pod create --name "$(C)-pod" --hostname husk-pod
	run_bg "$(C)-a" --pod "$(C)-pod" "$IMG" sleep 1000
	in_ctr --pod "$(C)-pod" "$IMG" hostname
	expect_eq "$OUT" husk-pod "hostname shared in the pod"
	ok p pod stop -t 0 "$(C)-pod"
	ok p pod rm -f "$(C)-pod"
}

check healthcheck
t_healthcheck() {
	run_bg "$(C)" --health-cmd 'test -e /tmp/healthy' --health-interval disable "$IMG" sleep 1000
	expect_rc 1 p healthcheck run "$(C)"
	ok p exec "$(C)" touch /tmp/healthy
	ok p healthcheck run "$(C)"
	expect_eq "$(inspect "$(C)" '{{.State.Health.Status}}')" healthy "health status"
}

check checkpoint
t_checkpoint() {
	command -v criu >/dev/null || skip "checkpoint needs CRIU, which is not installed and does not work on this kernel"
	criu check >/dev/null 2>&1 || skip "criu check fails on this kernel: checkpoint cannot work in any runtime"
	run_bg "$(C)" "$IMG" sleep 1000
	ok p container checkpoint "$(C)"
	ok p container restore "$(C)"
}

# ---- checks: systemd and Debian (the image of make debian-image) ------------------------------------
need_debian() {
	P image exists "$DEBIMG" || skip "no Debian image: make debian-image ($HUSK_DEBIAN_TAR)"
}
# The systemd container of this runtime, shared by the systemd_* checks (booted by the first
# that needs it; the suite's teardown removes it).
SYSD() { echo "husk-test-systemd-$RT"; }
# systemd_state: `systemctl is-system-running` in it (running, degraded, starting, ...).
systemd_state() { P exec "$(SYSD)" systemctl is-system-running 2>/dev/null || true; }
systemd_up() {
	need_debian
	if [ "$(inspect "$(SYSD)" '{{.State.Running}}' 2>/dev/null)" != true ]; then
		P rm -f -t 0 "$(SYSD)" >/dev/null 2>&1 || true
		ok p run -d --name "$(SYSD)" --systemd=always "$DEBIMG" /lib/systemd/systemd
	fi
	local n=600 st=
	while [ $n -gt 0 ]; do
		st=$(systemd_state)
		case $st in running | degraded) break ;; esac
		if [ "$(inspect "$(SYSD)" '{{.State.Running}}' 2>/dev/null)" != true ]; then
			fail "systemd exited: $(inspect "$(SYSD)" 'exit code {{.State.ExitCode}}') $(P logs "$(SYSD)" 2>&1 | tail -5)"
		fi
		sleep 0.2
		n=$((n - 1))
	done
	case $st in running | degraded) ;; *) fail "systemd not up after 120s: is-system-running says '$st'" ;; esac
	SYSTEMD_STATE=$st
}

check systemd_boot
t_systemd_boot() {
	systemd_up
	rc_of P exec "$(SYSD)" systemctl list-units --failed --plain --no-legend
	local failed
	failed=$(printf '%s\n' "$OUT" | awk '{ print $1 }' | grep . | sort || true)
	echo "is-system-running: $SYSTEMD_STATE; failed units: ${failed:-none}"
	printf '%s\n' "$failed" >"$WORK/systemd-failed.$RT"
	[ -n "$failed" ] || return 0
	# Degraded is fine when runc's systemd fails the same units (a container lacks things a
	# unit wants, whatever the runtime).
	[ "$RT" != runc ] || return 0
	[ -f "$WORK/systemd-failed.runc" ] || fail "failed units (and no runc run to compare): $failed"
	local extra
	extra=$(comm -23 <(printf '%s\n' "$failed") "$WORK/systemd-failed.runc" | grep . || true)
	[ -z "$extra" ] || fail "units failed here and not under runc: $(echo $extra)"
}

check systemd_exec_status
t_systemd_exec_status() {
	systemd_up
	ok p exec "$(SYSD)" systemctl status --no-pager
	expect_contains "$OUT" "State: $SYSTEMD_STATE" "systemctl status"
	ok p exec "$(SYSD)" systemctl status --no-pager systemd-journald.service
	expect_contains "$OUT" "active (running)" "journald"
}

check systemd_stop
t_systemd_stop() {
	systemd_up
	expect_eq "$(inspect "$(SYSD)" '{{.Config.StopSignal}}')" 37 "stop signal (SIGRTMIN+3)"
	# systemd shuts down on SIGRTMIN+3; podman falls back to SIGKILL (and says so) only when
	# it does not stop within the timeout.
	ok p stop -t 60 "$(SYSD)"
	expect_not_contains "$OUT" "resorting to SIGKILL" "podman stop"
	expect_eq "$(inspect "$(SYSD)" '{{.State.Running}}')" false "running after stop"
	expect_eq "$(inspect "$(SYSD)" '{{.State.ExitCode}}')" 0 "systemd's exit code"
	ok p rm "$(SYSD)"
}

check debian_apt
t_debian_apt() {
	need_debian
	in_ctr "$DEBIMG" apt-get --version
	expect_contains "$OUT" "apt " "apt-get --version"
}

check debian_bash
t_debian_bash() {
	need_debian
	in_ctr "$DEBIMG" bash -c 'a=(x y z); echo "${#a[@]} $BASH_VERSION"'
	expect_contains "$OUT" "3 5." "bash array and version"
}

check debian_su
t_debian_su() {
	need_debian
	in_ctr "$DEBIMG" bash -c 'useradd -m -s /bin/bash husky && su - husky -c "id -un; pwd; echo \$HOME"'
	expect_eq "$(echo $OUT)" "husky /home/husky /home/husky" "su - to a user"
}

check debian_ps
t_debian_ps() {
	need_debian
	in_ctr "$DEBIMG" bash -c 'sleep 100 & ps -eo pid=,comm= | sort -n; kill %1'
	expect_eq "$(echo "$OUT" | head -1 | awk '{ print $1 $2 }')" 1bash "ps: pid 1"
	expect_contains "$OUT" sleep "ps sees the container's processes"
}

check debian_ip
t_debian_ip() {
	need_debian
	in_ctr "$DEBIMG" ip -o addr show lo
	expect_contains "$OUT" "inet 127.0.0.1/8" "ip addr"
	in_ctr "$DEBIMG" ip -o link
	expect_eq "$(echo "$OUT" | wc -l)" 1 "links with --network none (lo only)"
}

# ---- main -----------------------------------------------------------------------------------------
if [ "${1:-}" != __one ]; then
	suite_setup
fi
run_suite "$@"
