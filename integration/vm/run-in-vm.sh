#!/bin/bash
# Run a command inside a small throw-away VM (qemu, TCG: no KVM) whose userland is this
# machine's own root filesystem, read-only through 9p with a tmpfs overlay on top, and whose
# kernel is Debian's generic one booted with `cgroup_no_v1=all`: a pure cgroup v2 host, or
# whatever else --kernel-args ask for (e.g. `security=selinux enforcing=0`).
#
#   integration/vm/run-in-vm.sh [OPTIONS] -- CMD [ARG...]
#
#   --kernel-args "..."  more kernel command line arguments (after the defaults)
#   --no-cgroup-v2       leave out cgroup_no_v1=all and mount no cgroup filesystem (CMD
#                        mounts what it wants)
#   --systemd            boot systemd as PID 1 (systemd.unified_cgroup_hierarchy=1; systemd
#                        mounts cgroup2): CMD runs in a test unit once the system is up,
#                        then the VM powers off (integration/vm/systemd-unit.sh)
#   --env NAME=VALUE     set an environment variable for CMD (repeatable)
#   --timeout SECONDS    kill the VM after this long (default 900, $HUSK_VM_TIMEOUT)
#   --memory MIB         guest memory (default 2048); --cpus N (default 2)
#   --cache DIR          kernel cache (default <checkout>/target/vm, $HUSK_VM_CACHE)
#
# The checkout this script lives in is shared read-write at the same path, and CMD runs in
# the current directory (which must be visible in the guest: inside the checkout, or anywhere
# in the read-only host tree). Everything else the guest writes lands in its tmpfs and is gone
# when it powers off. The guest's serial console (kernel messages, CMD's stdout and stderr) is
# this script's stdout; the last line the guest prints is `HUSK-VM-EXIT-STATUS: N`. The exit
# status is CMD's, 124 when the VM timed out, 125 when the VM could not run CMD at all.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
checkout=$(cd "$here/../.." && pwd)

kargs=""
cgroup_v2=1
systemd=0
envs=()
timeout=${HUSK_VM_TIMEOUT:-900}
memory=2048
cpus=2
cache=${HUSK_VM_CACHE:-$checkout/target/vm}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
	exit 125
}
need_arg() { [ $# -ge 2 ] || { echo "$0: $1 needs a value" >&2; exit 125; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--kernel-args) need_arg "$@"; kargs="$kargs $2"; shift 2 ;;
	--no-cgroup-v2) cgroup_v2=0; shift ;;
	--systemd) systemd=1; shift ;;
	--env)
		need_arg "$@"
		case $2 in
		[A-Za-z_]*=*) envs+=("$2") ;;
		*) echo "$0: --env wants NAME=VALUE, got '$2'" >&2; exit 125 ;;
		esac
		shift 2
		;;
	--timeout) need_arg "$@"; timeout=$2; shift 2 ;;
	--memory) need_arg "$@"; memory=$2; shift 2 ;;
	--cpus) need_arg "$@"; cpus=$2; shift 2 ;;
	--cache) need_arg "$@"; cache=$2; shift 2 ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) echo "$0: unknown option '$1' (the command goes after --)" >&2; exit 125 ;;
	esac
done
[ $# -gt 0 ] || { echo "$0: no command given (run-in-vm.sh [OPTIONS] -- CMD...)" >&2; exit 125; }
for n in "$timeout" "$memory" "$cpus"; do
	case $n in '' | *[!0-9]*) echo "$0: --timeout/--memory/--cpus want a number, got '$n'" >&2; exit 125 ;; esac
done
for tool in qemu-system-x86_64 busybox modprobe; do
	command -v "$tool" >/dev/null || { echo "$0: $tool is missing; run make deps" >&2; exit 125; }
done

# Absolute: the guest finds the run directory inside it by its path.
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
kdir=$("$here/fetch-kernel.sh" "$cache") || { echo "$0: fetching the kernel failed" >&2; exit 125; }
release=$(cat "$kdir/release")
moddir=$kdir/root/lib/modules/$release

# The run directory is inside the checkout (or the read-only host tree when --cache points
# elsewhere) so the guest finds it at the same path; the guest writes CMD's status into it
# when it is in the read-write checkout.
mkdir -p "$cache"
run=$(mktemp -d "$cache/run.XXXXXX")
qemu_pid="" watchdog=""
# Background jobs get process groups of their own (job control), so that cleanup can kill a
# job with everything it started.
set -m
cleanup() {
	for job in "$watchdog" "$qemu_pid"; do
		if [ -n "$job" ] && kill -0 "$job" 2>/dev/null; then
			kill -KILL -- "-$job" 2>/dev/null || true
			{ wait "$job"; } 2>/dev/null || true
		fi
	done
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the initramfs: busybox, the modules needed to reach the 9p root, and stage 1 -------------
ird=$run/initramfs
mkdir -p "$ird/bin" "$ird/modules" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/newroot" "$ird/lower" "$ird/rw"
cp "$(command -v busybox)" "$ird/bin/busybox"
if ! "$ird/bin/busybox" --list >/dev/null 2>&1 || ldd "$ird/bin/busybox" >/dev/null 2>&1; then
	echo "$0: $(command -v busybox) must be the static busybox (busybox-static)" >&2
	exit 125
fi
: >"$ird/modules.list"
for m in virtio_pci 9pnet_virtio 9p overlay; do
	# Built-in modules print "builtin ..." lines; only insmod lines name files to load.
	modprobe -d "$kdir/root" -S "$release" --show-depends "$m" | while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		name=$(basename "$path")
		if ! grep -qx "$name" "$ird/modules.list"; then
			cp "$path" "$ird/modules/$name"
			echo "$name" >>"$ird/modules.list"
		fi
	done
done
# brd (a ram disk for io limit tests) is loaded by stage 1 with parameters, not from the list.
brd=$(modprobe -d "$kdir/root" -S "$release" --show-depends brd 2>/dev/null | awk '$1 == "insmod" { print $2 }' | tail -n1)
[ -n "$brd" ] && cp "$brd" "$ird/modules/brd.ko"
cp "$here/initramfs-init.sh" "$ird/init"
chmod 0755 "$ird/init"
(cd "$ird" && find . | busybox cpio -o -H newc 2>/dev/null) >"$run/initramfs.cpio"

# --- the command --------------------------------------------------------------------------
{
	echo "cd $(printf '%q' "$PWD") || exit 125"
	for e in "${envs[@]+"${envs[@]}"}"; do
		echo "export $(printf '%q' "$e")"
	done
	printf 'exec'
	printf ' %q' "$@"
	echo
} >"$run/cmd.sh"

append="console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off no_timer_check"
append="$append rdinit=/init husk_vm.checkout=$checkout husk_vm.run=$run husk_vm.modules=$moddir"
append="$append husk_vm.busybox=$(command -v busybox)"
if [ "$cgroup_v2" = 1 ]; then
	append="$append cgroup_no_v1=all husk_vm.cgroup=cgroup2"
else
	append="$append husk_vm.cgroup=none"
fi
if [ "$systemd" = 1 ]; then
	# systemd mounts cgroup2 itself (nsdelegate,memory_recursiveprot); v1 stays off.
	append="${append/husk_vm.cgroup=cgroup2/husk_vm.cgroup=none}"
	append="$append husk_vm.systemd=1 systemd.unified_cgroup_hierarchy=1 systemd.show_status=0"
fi
append="$append$kargs"

# -nodefaults: no VGA, NIC or floppy to probe; the serial console is the only output.
qemu-system-x86_64 \
	-accel tcg,thread=multi -M pc -cpu max -smp "$cpus" -m "$memory" \
	-nodefaults -no-user-config -display none -no-reboot \
	-serial stdio \
	-kernel "$kdir/vmlinux" -initrd "$run/initramfs.cpio" -append "$append" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
	-virtfs "local,path=$checkout,mount_tag=checkout,security_model=passthrough,multidevs=remap" \
	</dev/null &
qemu_pid=$!

# The timeout: a watchdog that kills qemu; `wait` returns when qemu ends either way.
(
	sleep "$timeout"
	echo "run-in-vm: timed out after ${timeout}s; killing the VM" >&2
	touch "$run/timed-out"
	kill -KILL -- "-$qemu_pid"
) </dev/null >/dev/null 2>&1 &
watchdog=$!
# Not a job to report on: it is killed below once qemu is gone.
disown "$watchdog"
set +m
qrc=0
{ wait "$qemu_pid"; } 2>/dev/null || qrc=$?
qemu_pid=""
kill -KILL -- "-$watchdog" 2>/dev/null || true
watchdog=""

if [ -e "$run/timed-out" ]; then
	echo "run-in-vm: the VM did not finish within ${timeout}s" >&2
	exit 124
fi
if [ -f "$run/status" ]; then
	rc=$(cat "$run/status")
	case $rc in '' | *[!0-9]*) rc=125 ;; esac
	exit "$rc"
fi
echo "run-in-vm: the VM ended (qemu status $qrc) without reporting CMD's status" >&2
exit 125
