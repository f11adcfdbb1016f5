#!/bin/busybox sh
# Stage 1 of the test VM: /init of the initramfs run-in-vm.sh builds (static busybox, the
# modules listed in /modules.list, this script). Reach the host's root over 9p, put a tmpfs
# overlay on it, mount the checkout read-write at its own path, mount what a host has (proc,
# sys, dev, cgroup2 alone at /sys/fs/cgroup, tmpfs /run and /tmp) and hand over to stage 2
# (guest-init.sh) in the new root. The mounting happens here, with the busybox already in
# memory, because every program started from the 9p root costs a second or more under TCG.
/bin/busybox --install -s /bin
export PATH=/bin
fail() {
	echo "husk-vm stage 1: $*"
	echo "HUSK-VM-EXIT-STATUS: 125"
	poweroff -f
	sleep 5
	exit 1
}
mount -t proc proc /proc || fail "mount /proc"
mount -t sysfs sysfs /sys || fail "mount /sys"
mount -t devtmpfs devtmpfs /dev || fail "mount /dev"
for m in $(cat /modules.list); do
	insmod "/modules/$m" || fail "insmod $m"
done
checkout="" run="" modules="" busybox="" cgroup=cgroup2 systemd=0
for a in $(cat /proc/cmdline); do
	case $a in
	husk_vm.checkout=*) checkout=${a#*=} ;;
	husk_vm.run=*) run=${a#*=} ;;
	husk_vm.modules=*) modules=${a#*=} ;;
	husk_vm.busybox=*) busybox=${a#*=} ;;
	husk_vm.cgroup=*) cgroup=${a#*=} ;;
	husk_vm.systemd=*) systemd=${a#*=} ;;
	esac
done
[ -n "$checkout" ] && [ -n "$run" ] && [ -n "$busybox" ] ||
	fail "husk_vm.checkout/run/busybox missing from the kernel command line"

# cache=loose: the host tree is read-only for the guest and the VM is short-lived, so caching
# lookups and pages is safe and saves most 9p round trips.
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostroot /lower ||
	fail "mount the host root (9p tag hostroot)"
mount -t tmpfs -o mode=0755 tmpfs /rw || fail "mount the overlay's tmpfs"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
	fail "mount the overlay root"
n=/newroot
mount --move /dev $n/dev || fail "move /dev"
mkdir -p $n/dev/pts $n/dev/shm $n/dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts $n/dev/pts || fail "mount devpts"
[ -e $n/dev/ptmx ] || ln -s pts/ptmx $n/dev/ptmx
mount -t tmpfs -o mode=1777 shm $n/dev/shm || fail "mount /dev/shm"
mount -t mqueue mqueue $n/dev/mqueue 2>/dev/null
mount -t proc proc $n/proc || fail "mount proc"
mount -t sysfs sysfs $n/sys || fail "mount sysfs"
mount -t tmpfs -o mode=0755 tmpfs $n/run || fail "mount /run"
mount -t tmpfs -o mode=1777 tmpfs $n/tmp || fail "mount /tmp"
# After /tmp and /run: a checkout under them must not be hidden by their tmpfs.
mkdir -p "$n$checkout"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=mmap checkout "$n$checkout" ||
	fail "mount the checkout (9p tag checkout)"
case $cgroup in
# nsdelegate as systemd mounts it; with cgroup_no_v1=all this is the only hierarchy.
cgroup2) mount -t cgroup2 -o nsdelegate cgroup2 $n/sys/fs/cgroup || fail "mount cgroup2" ;;
none) ;;
*) fail "husk_vm.cgroup=$cgroup: expected cgroup2 or none" ;;
esac
mount -t securityfs securityfs $n/sys/kernel/security 2>/dev/null
mount -t debugfs debugfs $n/sys/kernel/debug 2>/dev/null
# The guest kernel's modules where modprobe looks for them.
if [ -n "$modules" ] && [ -d "$n$modules" ]; then
	mkdir -p "$n/lib/modules/$(uname -r)" &&
		mount --bind "$n$modules" "$n/lib/modules/$(uname -r)"
fi
# One small block device (/dev/ram0) for tests of io limits; the VM has no disk otherwise.
[ -f /modules/brd.ko ] && insmod /modules/brd.ko rd_nr=1 rd_size=4096
hostname husk-vm
ip link set lo up
umount /proc /sys
if [ "$systemd" = 1 ]; then
	# systemd as PID 1 (run-in-vm.sh --systemd): the overlay gets the masks and the test unit.
	. "$n$checkout/integration/vm/systemd-prepare.sh"
	sd_prepare "$n" "$checkout" "$run" || fail "preparing the root for systemd"
	exec switch_root /newroot /lib/systemd/systemd
fi
exec switch_root /newroot "$busybox" sh "$checkout/integration/vm/guest-init.sh" "$run"
