#!/bin/bash
# Rootless: the runtime run by an unprivileged user, directly and under rootless Podman, against
# runc and husk in the same run (see lib.sh for the output).
#
#   integration/podman/rootless.sh        (make test-rootless, part of make test-clients)
#
# Run as root: the suite makes a throw-away user (useradd) with its own /etc/subuid and
# /etc/subgid ranges, a home and an XDG_RUNTIME_DIR under /tmp/husk-test-rootless-*, a copy of the
# busybox rootfs it owns, and a Podman store in that home with an image imported from the rootfs
# (no network). Every command of a check runs as that user (runuser, a clean environment). At the
# end the user's processes (by pid), containers, store, files, subuid/subgid lines and the user
# itself are removed, also when the suite fails or is interrupted.
set -uo pipefail

SUITE_NAME=rootless
SUITE_FILE=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
. "$(dirname "$SUITE_FILE")/lib.sh"

IMG=localhost/husk-test-busybox:latest

# ---- environment ----------------------------------------------------------------------------------
suite_setup() {
	[ "$(id -u)" = 0 ] || { echo "rootless suite: run as root (it creates a throw-away user)" >&2; exit 2; }
	for b in podman conmon newuidmap newgidmap useradd userdel runuser jq; do
		command -v $b >/dev/null || { echo "rootless suite: $b not installed (make deps)" >&2; exit 2; }
	done
	WORK=$(mktemp -d /tmp/husk-test-rootless-XXXXXX)
	chmod 755 "$WORK"
	RLUSER=hrl$$
	RLHOME=$WORK/home
	XDG=$WORK/xdg
	export WORK RLUSER RLHOME XDG
	trap suite_teardown EXIT
	trap 'exit 130' INT TERM
	# Subordinate ids above every range already given out (65536 of each).
	local start
	start=$(cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: 'BEGIN { m = 200000 } $2 + $3 > m { m = $2 + $3 } END { print m }')
	SUBSTART=$start
	export SUBSTART
	useradd -M -d "$RLHOME" -s /bin/sh "$RLUSER" || { echo "rootless suite: useradd failed" >&2; exit 2; }
	echo "$RLUSER" >"$WORK/user"
	# useradd may have given ranges already; the suite's own replace them.
	sed -i "/^$RLUSER:/d" /etc/subuid /etc/subgid
	echo "$RLUSER:$start:65536" >>/etc/subuid
	echo "$RLUSER:$start:65536" >>/etc/subgid
	RLUID=$(id -u "$RLUSER") RLGID=$(id -g "$RLUSER")
	export RLUID RLGID
	mkdir -p "$RLHOME" "$XDG" "$RLHOME/bundles"
	"$REPO/integration/make-bundle.sh" "$WORK/bundle" >/dev/null
	cp -a "$WORK/bundle/rootfs" "$RLHOME/rootfs"
	tar -C "$RLHOME/rootfs" -cf "$RLHOME/rootfs.tar" .
	# A directory the user may not write, for the unwritable state root check.
	mkdir -p "$WORK/not-yours"
	cat >"$RLHOME/containers.conf" <<EOF
[containers]
netns = "none"
init_path = "/usr/libexec/podman/catatonit"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$RLHOME/events.log"
runtime_supports_json = ["crun", "runc", "husk"]

[engine.runtimes]
husk = ["$HUSK_BIN"]
EOF
	cat >"$RLHOME/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$XDG/containers"
graphroot = "$RLHOME/storage"
EOF
	chown -R "$RLUSER:" "$RLHOME" "$XDG"
	chmod 700 "$XDG"
	as_user podman import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
		"$RLHOME/rootfs.tar" "$IMG" >/dev/null 2>"$WORK/import.err" ||
		{ cat "$WORK/import.err" >&2; exit 2; }
}

suite_check_env() { :; }

# as_user CMD...: CMD as the throw-away user, in its home, with a clean environment.
as_user() {
	(cd "$RLHOME" && runuser -u "$RLUSER" -- env -i HOME="$RLHOME" USER="$RLUSER" LOGNAME="$RLUSER" \
		XDG_RUNTIME_DIR="$XDG" PATH="${UPATH:-/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin}" \
		CONTAINERS_CONF="$RLHOME/containers.conf" CONTAINERS_STORAGE_CONF="$RLHOME/storage.conf" "$@")
}
# rt ARGS: the runtime under test, as the user.
rt() { as_user "$RTBIN" "$@"; }
# p ARGS: rootless podman with the runtime under test.
p() { as_user podman --runtime "$RTBIN" "$@"; }
P() { as_user podman "$@"; }

# The runtime's default state root for the user (runc's rule, which husk follows).
state_root() { echo "$XDG/$RT"; }

# bundle JQ-FILTER: a bundle of this check (in $B) whose config is the runtime's own
# `spec --rootless`, on the user's rootfs, changed by JQ-FILTER.
bundle() {
	B=$RLHOME/bundles/$CHECK-$RT
	as_user mkdir -p "$B"
	rm -f "$B/config.json"
	ok rt spec --rootless --bundle "$B"
	as_user sh -c "jq '.process.terminal = false | .root.path = \"$RLHOME/rootfs\" | $1' '$B/config.json' >'$B/c.tmp' && mv '$B/c.tmp' '$B/config.json'"
}

# rt_create ARGS: `create` as the user, its output (and the container's, which keeps it open)
# in a file rather than the pipe $(...) would wait on.
rt_create() {
	rc_of as_user sh -c '"$0" "$@" >"$HOME/create-$$.log" 2>&1 </dev/null; rc=$?; cat "$HOME/create-$$.log"; rm -f "$HOME/create-$$.log"; exit $rc' "$RTBIN" create "$@"
	[ "$RC" = 0 ] || fail "create $*: exit $RC: $(printf '%s' "$OUT" | tail -3)"
}

# nothing_left ID: no state and no process of a container whose create failed.
nothing_left() {
	[ ! -e "$(state_root)/$1" ] || fail "state of $1 left in $(state_root)"
	rc_of rt state "$1"
	[ "$RC" != 0 ] || fail "state $1 still answers after the failed create"
	! pgrep -u "$RLUSER" -f "sleep 4242" >/dev/null || fail "a process of $1 was left running"
}

suite_after_check() {
	local pre="husk-test-$1-$2" id
	P ps -aq --filter "name=^$pre" 2>/dev/null | xargs -r runuser -u "$RLUSER" -- env XDG_RUNTIME_DIR="$XDG" \
		CONTAINERS_CONF="$RLHOME/containers.conf" CONTAINERS_STORAGE_CONF="$RLHOME/storage.conf" podman rm -f -t 0 >/dev/null 2>&1
	for id in "$pre" "$pre-2"; do rt_bin_delete "$2" "$id"; done
	rm -rf "$RLHOME/bundles/$1-$2"
	return 0
}
rt_bin_delete() {
	local bin
	bin=$(runtime_bin "$1") || return 0
	RT=$1 RTBIN=$bin rt delete -f "$2" >/dev/null 2>&1 || true
}

suite_teardown() {
	set +e
	[ -n "${WORK:-}" ] && [ -d "$WORK" ] || return 0
	if [ -f "$WORK/user" ]; then
		P rm -a -f -t 0 >/dev/null 2>&1
		P system reset -f >/dev/null 2>&1
		# Whatever still runs as the throw-away user (podman's pause process, conmon), by pid.
		local pid
		for pid in $(ps -u "$RLUSER" -o pid= 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
		sleep 0.2
		userdel "$RLUSER" >/dev/null 2>&1 || echo "rootless suite: userdel $RLUSER failed" >&2
		sed -i "/^$RLUSER:/d" /etc/subuid /etc/subgid
	fi
	if [ -n "${KEEP_WORK:-}" ]; then
		echo "rootless suite: logs kept in $WORK/logs" >&2
		find "$WORK" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} + 2>/dev/null
		mv "$WORK" "${WORK/husk-test-/husk-kept-}"
	else
		rm -rf "$WORK"
	fi
}

C() { echo "husk-test-$CHECK-$RT${1:+-$1}"; }

# ---- checks: the runtime run directly by the user ------------------------------------------------
check spec_rootless
t_spec_rootless() {
	bundle .
	local c=$B/config.json
	expect_eq "$(jq -c '[.linux.namespaces[].type]' "$c")" '["pid","ipc","uts","mount","user"]' "namespaces"
	expect_eq "$(jq -c '.linux.uidMappings' "$c")" "[{\"containerID\":0,\"hostID\":$RLUID,\"size\":1}]" "uidMappings"
	expect_eq "$(jq -c '.linux.gidMappings' "$c")" "[{\"containerID\":0,\"hostID\":$RLGID,\"size\":1}]" "gidMappings"
	expect_eq "$(jq -c '.linux.resources' "$c")" null "resources"
	expect_eq "$(jq -c '.mounts[] | select(.destination == "/sys") | [.type, .source, .options]' "$c")" \
		'["none","/sys",["rbind","nosuid","noexec","nodev","ro"]]' "/sys mount"
	expect_not_contains "$(jq -c '.mounts' "$c")" 'gid=5' "mount options"
	# /sys replaced in place, the cgroup and mqueue mounts kept (runc 1.1).
	expect_eq "$(jq -c '[.mounts[].destination]' "$c")" \
		'["/proc","/dev","/dev/pts","/dev/shm","/dev/mqueue","/sys","/sys/fs/cgroup"]' "mount destinations"
}

check direct_run
t_direct_run() {
	bundle '.process.args = ["sh", "-c", "id -u; cat /proc/self/uid_map; echo hi"]'
	ok rt run --bundle "$B" "$(C)"
	expect_contains "$OUT" hi "output"
	expect_eq "$(printf '%s\n' "$OUT" | head -1)" 0 "uid in the container"
	expect_eq "$(printf '%s\n' "$OUT" | sed -n 2p | tr -s ' ' | sed 's/^ //')" "0 $RLUID 1" "uid_map"
	[ ! -e "$(state_root)/$(C)" ] || fail "state left after run"
}

check direct_lifecycle
t_direct_lifecycle() {
	bundle '.process.args = ["sleep", "4242"]'
	rt_create --bundle "$B" "$(C)"
	# The default state root: $XDG_RUNTIME_DIR/<runtime>.
	[ -d "$(state_root)/$(C)" ] || fail "no state in $(state_root)"
	ok rt state "$(C)"
	expect_eq "$(printf '%s' "$OUT" | jq -r .status)" created "status after create"
	ok rt list
	expect_contains "$OUT" "$(C)" "list"
	ok rt start "$(C)"
	ok rt state "$(C)"
	expect_eq "$(printf '%s' "$OUT" | jq -r .status)" running "status after start"
	ok rt exec "$(C)" sh -c 'echo in-exec; id -u'
	expect_eq "$OUT" "in-exec
0" "exec"
	# No cgroup of its own on this host: pause has nothing to freeze.
	expect_rc 1 rt pause "$(C)"
	[ "$RT" != husk ] || expect_contains "$OUT" "has no cgroup" "pause message"
	ok rt kill "$(C)" KILL
	wait_for 10 sh -c "runuser -u '$RLUSER' -- env XDG_RUNTIME_DIR='$XDG' '$RTBIN' state '$(C)' | grep -q stopped"
	ok rt delete "$(C)"
	[ ! -e "$(state_root)/$(C)" ] || fail "state left after delete"
}

check multi_range_map
t_multi_range_map() {
	bundle ".linux.uidMappings = [{containerID: 0, hostID: $RLUID, size: 1}, {containerID: 1, hostID: $SUBSTART, size: 65536}]
		| .linux.gidMappings = [{containerID: 0, hostID: $RLGID, size: 1}, {containerID: 1, hostID: $SUBSTART, size: 65536}]
		| .process.args = [\"sh\", \"-c\", \"cat /proc/self/uid_map /proc/self/gid_map; ls -ln /etc/passwd\"]"
	ok rt run --bundle "$B" "$(C)"
	expect_eq "$(printf '%s\n' "$OUT" | grep -c "1 *$SUBSTART *65536")" 2 "uid_map and gid_map through newuidmap/newgidmap"
}

check limits_refused
t_limits_refused() {
	bundle '.linux.resources = {memory: {limit: 67108864}} | .process.args = ["sleep", "4242"]'
	expect_rc 1 rt run --bundle "$B" "$(C)"
	[ "$RT" != husk ] || expect_contains "$OUT" "linux.resources.memory.limit" "message names the field"
	nothing_left "$(C)"
}

check bad_unowned_map
t_bad_unowned_map() {
	# Host uid 0 is not the user's: neither written directly nor granted by /etc/subuid.
	bundle '.linux.uidMappings = [{containerID: 0, hostID: 0, size: 1}] | .process.args = ["sleep", "4242"]'
	expect_rc 1 rt run --bundle "$B" "$(C)"
	[ "$RT" != husk ] || expect_contains "$OUT" "linux.uidMappings" "message names the field"
	nothing_left "$(C)"
}

check bad_no_newuidmap
t_bad_no_newuidmap() {
	bundle ".linux.uidMappings = [{containerID: 0, hostID: $RLUID, size: 1}, {containerID: 1, hostID: $SUBSTART, size: 65536}]
		| .process.args = [\"sleep\", \"4242\"]"
	UPATH=/nonexistent expect_rc 1 rt run --bundle "$B" "$(C)"
	[ "$RT" != husk ] || expect_contains "$OUT" "linux.uidMappings: mapping more than your own uid ($RLUID) needs newuidmap" "message"
	nothing_left "$(C)"
}

check bad_state_root
t_bad_state_root() {
	bundle '.process.args = ["true"]'
	expect_rc 1 rt --root "$WORK/not-yours/state" run --bundle "$B" "$(C)"
	[ "$RT" != husk ] || expect_contains "$OUT" "state root $WORK/not-yours/state: permission denied" "message"
	[ ! -e "$WORK/not-yours/state" ] || fail "state root created"
}

check bad_rootless_flag
t_bad_rootless_flag() {
	# runc 1.1 reads the flag only where it picks a cgroup manager; husk checks it up front.
	if [ "$RT" = husk ]; then
		expect_rc 1 rt --rootless maybe list
		expect_contains "$OUT" "--rootless" "message"
	fi
	ok rt --rootless true list
	ok rt --rootless auto list
}

check host_privileges
t_host_privileges() {
	# What needs the host's privileges, as runc handles it: devices bound from the host instead
	# of mknod, a sysctl of a namespace the container owns written, an oom_score_adj below the
	# current one and additional groups (setgroups is denied) refused.
	local dev=/dev/fuse
	[ -c $dev ] || dev=/dev/kmsg
	local mm
	mm=$(stat -c '%t,%T' $dev)
	bundle ".linux.devices = [{path: \"$dev\", type: \"c\", major: $((16#${mm%,*})), minor: $((16#${mm#*,})), fileMode: 438}]
		| .linux.sysctl = {\"kernel.shmmax\": \"1234567\"}
		| .process.args = [\"sh\", \"-c\", \"stat -c %t,%T $dev; cat /proc/sys/kernel/shmmax\"]"
	ok rt run --bundle "$B" "$(C)"
	expect_eq "$OUT" "$mm
1234567" "device and sysctl"
	as_user sh -c "jq '.process.oomScoreAdj = -500 | del(.linux.devices) | del(.linux.sysctl)' '$B/config.json' >'$B/c.tmp' && mv '$B/c.tmp' '$B/config.json'"
	expect_rc 1 rt run --bundle "$B" "$(C)"
	[ "$RT" != husk ] || expect_contains "$OUT" "process.oomScoreAdj -500: permission denied" "message"
	nothing_left "$(C)"
	as_user sh -c "jq 'del(.process.oomScoreAdj) | .process.user.additionalGids = [1]' '$B/config.json' >'$B/c.tmp' && mv '$B/c.tmp' '$B/config.json'"
	expect_rc 1 rt run --bundle "$B" "$(C)"
	[ "$RT" != husk ] || expect_contains "$OUT" "process.user.additionalGids" "message"
	nothing_left "$(C)"
}

# ---- checks: rootless Podman ------------------------------------------------------------------------
check podman_run_none
t_podman_run_none() {
	ok p run --rm --network none "$IMG" echo hi
	expect_eq "$OUT" hi "output"
}

check podman_detach_exec_logs_stop
t_podman_detach_exec_logs_stop() {
	ok p run -d --name "$(C)" "$IMG" sh -c 'echo started; trap "exit 3" TERM; while :; do sleep 0.1; done'
	wait_for 20 sh -c "[ \"\$(runuser -u '$RLUSER' -- env XDG_RUNTIME_DIR='$XDG' CONTAINERS_CONF='$RLHOME/containers.conf' CONTAINERS_STORAGE_CONF='$RLHOME/storage.conf' HOME='$RLHOME' podman inspect -f '{{.State.Running}}' '$(C)')\" = true ]"
	ok p exec "$(C)" sh -c 'echo in-exec; id -u'
	expect_eq "$OUT" "in-exec
0" "exec"
	ok P logs "$(C)"
	expect_contains "$OUT" started "logs"
	ok p stop -t 10 "$(C)"
	expect_eq "$(P inspect -f '{{.State.ExitCode}}' "$(C)")" 3 "exit code after stop"
}

check podman_network_host
t_podman_network_host() {
	ok p run --rm --network host "$IMG" cat /proc/net/dev
	local host_if
	host_if=$(awk -F: 'NR > 2 { gsub(/ /, "", $1); if ($1 != "lo") { print $1; exit } }' /proc/net/dev)
	[ -z "$host_if" ] || expect_contains "$OUT" "$host_if:" "the host's interfaces"
}

check podman_keep_id
t_podman_keep_id() {
	ok p run --rm --userns=keep-id "$IMG" sh -c 'id -u; id -g'
	expect_eq "$OUT" "$RLUID
$RLGID" "ids"
}

check podman_volume
t_podman_volume() {
	local d=$RLHOME/vol-$RT
	as_user mkdir -p "$d"
	ok p run --rm -v "$d:/data" "$IMG" sh -c 'echo from-ctr >/data/f; cat /data/f'
	expect_eq "$OUT" from-ctr "output"
	expect_eq "$(stat -c %u "$d/f")" "$RLUID" "owner of the file on the host"
	rm -rf "$d"
}

check podman_read_only
t_podman_read_only() {
	rc_of p run --rm --read-only "$IMG" touch /x
	[ "$RC" != 0 ] || fail "touch /x succeeded on a read-only root"
	expect_contains "$OUT" "Read-only file system" "message"
	ok p run --rm --read-only "$IMG" sh -c 'touch /tmp/x && echo tmp-ok'
	expect_eq "$OUT" tmp-ok "/tmp writable"
}

# ---- main -----------------------------------------------------------------------------------------
if [ "${1:-}" != __one ]; then
	suite_setup
fi
run_suite "$@"
