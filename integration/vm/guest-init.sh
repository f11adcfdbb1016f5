#!/bin/sh
# Stage 2 of the test VM: PID 1 in the overlay root, run by the host's static busybox sh
# (initramfs-init.sh mounted everything). Runs the command from run-in-vm.sh, reports its
# status on the console and in the run directory, powers off.
run=$1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
read -r up _ </proc/uptime
echo "husk-vm: kernel $(uname -r), up ${up}s, running: $(tail -n1 "$run/cmd.sh")"

# CMD runs as a child, so this shell stays PID 1 and reaps the orphans it inherits.
/bin/bash "$run/cmd.sh" </dev/null &
wait $!
rc=$?
echo "$rc" >"$run/status" 2>/dev/null
sync
echo "HUSK-VM-EXIT-STATUS: $rc"
poweroff -f
# poweroff -f does not return; if it did, ending PID 1 panics and qemu (-no-reboot) exits.
exit "$rc"
