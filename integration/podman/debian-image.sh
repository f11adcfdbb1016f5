#!/bin/bash
# Makes the Debian 12 image of the client suites (make debian-image): a minbase root filesystem
# with systemd, systemd-sysv, procps and iproute2 from Debian's packages, by debootstrap, as a
# tar that `podman import` and `docker import` take. Idempotent: an existing tar is kept.
#
#   integration/podman/debian-image.sh OUT.tar [MIRROR]
set -euo pipefail

out=${1:?usage: debian-image.sh OUT.tar [MIRROR]}
mirror=${2:-http://deb.debian.org/debian}
[ -s "$out" ] && exit 0
command -v debootstrap >/dev/null || { echo "debian-image: debootstrap is not installed (make deps)" >&2; exit 2; }

mkdir -p "$(dirname "$out")"
dir=$(mktemp -d "$(dirname "$out")/.debian-rootfs-XXXXXX")
# debootstrap mounts proc and sys in the target while it installs: unmount whatever is left
# there if it stops half-way, then remove the directory, so a failed run leaves nothing.
cleanup() {
	awk -v d="$dir" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$dir" "$dir.log" "$out.part"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "debian-image: debootstrap bookworm into $dir (about a minute)" >&2
if ! debootstrap --variant=minbase --include=systemd,systemd-sysv,procps,iproute2 \
	bookworm "$dir" "$mirror" >"$dir.log" 2>&1; then
	tail -20 "$dir.log" >&2
	echo "debian-image: debootstrap failed (mirror $mirror)" >&2
	exit 1
fi
rm -f "$dir.log"
# Package caches and lists are not needed to run anything and are most of the size.
rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
# The tar's root entry is the image's /: mktemp made it 0700, which locks every user but root
# out of the whole filesystem (Docker applies it).
chmod 755 "$dir"
tar --numeric-owner -C "$dir" -cf "$out.part" .
mv "$out.part" "$out"
echo "debian-image: $out" >&2
