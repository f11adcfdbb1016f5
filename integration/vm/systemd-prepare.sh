# Sourced by stage 1 (initramfs-init.sh, busybox sh) with run-in-vm.sh --systemd: prepares the
# overlay root for systemd as PID 1 (see shared findings: what slows or breaks a boot here).
#   sd_prepare NEWROOT CHECKOUT RUN
sd_prepare() {
	r=$1 checkout=$2 run=$3
	etc=$r/etc/systemd/system
	mkdir -p "$etc/multi-user.target.wants" "$r/etc/tmpfiles.d" || return 1
	# Debian's tmp.conf (D /tmp) would empty /tmp at boot; nothing here wants that.
	: >"$r/etc/tmpfiles.d/tmp.conf"
	# The host is a docker container: with /.dockerenv visible systemd runs in container mode.
	rm -f "$r/.dockerenv"
	# Units that cannot work in this VM, or only make the boot slower.
	for u in getty.target getty@tty1.service serial-getty@ttyS0.service console-getty.service \
		postgresql.service postgresql@.service systemd-timesyncd.service systemd-pstore.service \
		e2scrub_reap.service apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
		e2scrub_all.timer fstrim.timer man-db.timer podman-auto-update.timer podman.service \
		podman.socket podman-restart.service podman-auto-update.service \
		systemd-networkd-wait-online.service docker.service docker.socket containerd.service \
		systemd-networkd.service systemd-resolved.service networking.service ssh.service \
		cron.service rsyslog.service systemd-logind.service $SDVM_MASK; do
		ln -sf /dev/null "$etc/$u"
	done
	cat >"$etc/husk-vm-test.service" <<UNIT
[Unit]
Description=husk VM tests
After=basic.target
[Service]
Type=simple
ExecStart=/bin/bash $checkout/integration/vm/systemd-unit.sh $run
StandardOutput=journal+console
StandardError=journal+console
UNIT
	ln -sf ../husk-vm-test.service "$etc/multi-user.target.wants/husk-vm-test.service"
}
