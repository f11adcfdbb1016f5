#!/bin/bash
# The test unit of run-in-vm.sh --systemd (Type=simple, so waiting for the system to be up
# cannot deadlock on our own start job): wait until systemd is up, run the command, report
# its status on the console and in the run directory, power off (with a hard deadline).
run=$1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
state=$(timeout 300 systemctl is-system-running --wait 2>&1)
read -r up _ </proc/uptime
echo "husk-vm: systemd $state after ${up}s of uptime; running: $(tail -n1 "$run/cmd.sh")"
systemctl --failed --no-legend --plain | sed 's/^/husk-vm: failed unit: /'
/bin/bash "$run/cmd.sh" </dev/null
rc=$?
echo "$rc" >"$run/status" 2>/dev/null
sync
echo "HUSK-VM-EXIT-STATUS: $rc"
systemctl poweroff --no-block
sleep 60
echo "husk-vm: poweroff took over 60s; forcing it"
systemctl poweroff --force --force
