#!/bin/bash
# Stage 2 of the test VM, PID 1 in the overlay root (see run-in-vm.sh): mount what a host
# has (proc, sys, cgroup2 alone at /sys/fs/cgroup, tmpfs /run and /tmp), make the guest
# kernel's modules findable by modprobe, run the command, report its status, power off.
run=$1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8

report() { # report STATUS
	echo "$1" >"$run/status" 2>/dev/null
	sync
	echo "HUSK-VM-EXIT-STATUS: $1"
	busybox poweroff -f
	# poweroff -f does not return; if it did, ending PID 1 panics and qemu (-no-reboot) exits.
	exit "$1"
}
must() {
	"$@" || {
		echo "husk-vm stage 2: '$*' failed"
		report 125
	}
}

must mount -t proc proc /proc
must mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm /dev/mqueue
must mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
must mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t mqueue mqueue /dev/mqueue 2>/dev/null
[ -e /dev/ptmx ] || ln -sf pts/ptmx /dev/ptmx
must mount -t tmpfs -o mode=0755 tmpfs /run
must mount -t tmpfs -o mode=1777 tmpfs /tmp
# nsdelegate as systemd mounts it; with cgroup_no_v1=all this is the only hierarchy.
must mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
for fs in securityfs:/sys/kernel/security debugfs:/sys/kernel/debug; do
	mount -t "${fs%%:*}" "${fs%%:*}" "${fs#*:}" 2>/dev/null
done
hostname husk-vm

moddir=""
for a in $(cat /proc/cmdline); do
	case $a in husk_vm.modules=*) moddir=${a#*=} ;; esac
done
if [ -n "$moddir" ] && [ -d "$moddir" ]; then
	mkdir -p "/lib/modules/$(uname -r)" && mount --bind "$moddir" "/lib/modules/$(uname -r)"
fi
ip link set lo up 2>/dev/null
# One small block device (/dev/ram0) for tests of io limits; the VM has no disk otherwise.
modprobe brd rd_nr=1 rd_size=4096 2>/dev/null

read -r up _ </proc/uptime
echo "husk-vm: kernel $(uname -r), up ${up}s, running $(tail -n1 "$run/cmd.sh")"

# CMD runs as a child, so this shell stays PID 1 and reaps the orphans it inherits.
bash "$run/cmd.sh" </dev/null &
wait $!
report $?
