#!/bin/bash
# Build the busybox bundle shared (read-only) by the integration tests, the conformance suite,
# the benchmarks and `make demo`.
#
#   integration/make-bundle.sh OUTDIR [CHECKER]
#
# OUTDIR/rootfs       a busybox root filesystem (Debian's busybox-static, one link per applet)
# OUTDIR/demo/        a runc-style bundle whose config.json points at ../rootfs
#
# CHECKER, if the file exists, is copied to rootfs/bin/husk-checker. The script is idempotent:
# a second run only refreshes what changed (the checker, the demo config).
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 OUTDIR [CHECKER]" >&2
	exit 2
fi
OUTDIR=$1
CHECKER=${2:-}
BUSYBOX=${BUSYBOX:-/bin/busybox}

if [ ! -x "$BUSYBOX" ]; then
	echo "$0: $BUSYBOX not found; install busybox-static (make deps)" >&2
	exit 1
fi
# A dynamically linked busybox would not run in a rootfs without libc.
if ! "$BUSYBOX" --list >/dev/null 2>&1; then
	echo "$0: $BUSYBOX cannot list its applets; is it busybox-static?" >&2
	exit 1
fi

mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
ROOTFS=$OUTDIR/rootfs

mkdir -p "$ROOTFS"
for d in bin sbin usr/bin usr/sbin proc sys dev etc tmp root run var/tmp home/user; do
	mkdir -p "$ROOTFS/$d"
done
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/var/tmp"
chmod 0700 "$ROOTFS/root"

# busybox itself: copy only when it differs, so a rebuilt bundle keeps its mtimes.
if ! cmp -s "$BUSYBOX" "$ROOTFS/bin/busybox"; then
	install -m 0755 "$BUSYBOX" "$ROOTFS/bin/busybox"
fi

# One link per applet. Debian's busybox lists bare names; put them in /bin and add /sbin and
# /usr/bin links for the names scripts usually expect there (init, env, ...).
link() { # link NAME DIR TARGET
	if [ ! -e "$ROOTFS/$2/$1" ] && [ ! -L "$ROOTFS/$2/$1" ]; then
		ln -s "$3" "$ROOTFS/$2/$1"
	fi
}
for applet in $("$ROOTFS/bin/busybox" --list); do
	case $applet in
	busybox | */*) continue ;;
	esac
	link "$applet" bin busybox
done
for applet in init halt poweroff reboot ifconfig route ip sysctl modprobe mdev switch_root pivot_root; do
	[ -e "$ROOTFS/bin/$applet" ] && link "$applet" sbin ../bin/busybox
done
for applet in env id whoami tr wc head tail sort uniq cut awk nproc timeout seq yes xargs test printf; do
	[ -e "$ROOTFS/bin/$applet" ] && link "$applet" usr/bin ../../bin/busybox
done

write_if_changed() { # write_if_changed FILE MODE  (content on stdin)
	local tmp
	tmp=$(mktemp "$1.XXXXXX")
	cat >"$tmp"
	chmod "$2" "$tmp"
	if cmp -s "$tmp" "$1"; then
		rm -f "$tmp"
	else
		mv -f "$tmp" "$1"
	fi
}

write_if_changed "$ROOTFS/etc/passwd" 0644 <<'EOF'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
write_if_changed "$ROOTFS/etc/group" 0644 <<'EOF'
root:x:0:
user:x:1000:
nogroup:x:65534:
EOF
write_if_changed "$ROOTFS/etc/hostname" 0644 <<'EOF'
husk
EOF
write_if_changed "$ROOTFS/etc/hosts" 0644 <<'EOF'
127.0.0.1	localhost
::1	localhost
EOF
# Empty files that runtimes and engines like to bind-mount over.
for f in etc/resolv.conf etc/mtab; do
	[ -e "$ROOTFS/$f" ] || [ -L "$ROOTFS/$f" ] || : >"$ROOTFS/$f"
done
chown 1000:1000 "$ROOTFS/home/user"

if [ -n "$CHECKER" ]; then
	if [ -f "$CHECKER" ]; then
		if ! cmp -s "$CHECKER" "$ROOTFS/bin/husk-checker"; then
			install -m 0755 "$CHECKER" "$ROOTFS/bin/husk-checker"
		fi
	else
		echo "$0: note: checker $CHECKER not built; rootfs has no /bin/husk-checker" >&2
	fi
fi

# The demo bundle: what `runc spec` would write, without a terminal, running a short script.
mkdir -p "$OUTDIR/demo"
write_if_changed "$OUTDIR/demo/config.json" 0644 <<'EOF'
{
	"ociVersion": "1.0.2",
	"process": {
		"terminal": false,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh",
			"-c",
			"echo hello from husk; echo \"hostname: $(cat /etc/hostname) (uts: $(hostname))\"; echo \"pid: $$\"; echo \"id: $(id)\"; echo \"kernel: $(uname -sr)\""
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "../rootfs",
		"readonly": true
	},
	"hostname": "husk-demo",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": ["nosuid", "strictatime", "mode=755", "size=65536k"]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": ["nosuid", "noexec", "nodev"]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": ["nosuid", "noexec", "nodev", "ro"]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": ["nosuid", "noexec", "nodev", "relatime", "ro"]
		},
		{
			"destination": "/tmp",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": ["nosuid", "nodev", "mode=1777", "size=16m"]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{ "type": "pid" },
			{ "type": "network" },
			{ "type": "ipc" },
			{ "type": "uts" },
			{ "type": "mount" },
			{ "type": "cgroup" }
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
}
EOF

echo "bundle ready: $OUTDIR (rootfs: $(find "$ROOTFS" -maxdepth 1 | wc -l) entries, demo: $OUTDIR/demo)"
