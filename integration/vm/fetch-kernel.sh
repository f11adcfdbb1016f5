#!/bin/bash
# Fetch Debian's generic amd64 kernel for the test VM into a cache directory, without
# installing it: the .deb is unpacked with dpkg -x, its modules get a modules.dep (depmod -b)
# and the compressed bzImage is unpacked to an ELF vmlinux, which qemu boots directly (PVH
# entry point) and which saves the in-guest decompression, seconds under TCG.
#
#   integration/vm/fetch-kernel.sh CACHEDIR
#
# Prints the kernel directory (CACHEDIR/<release>) on stdout; it holds
#   vmlinux             the uncompressed kernel
#   root/lib/modules/   the kernel's modules with modules.dep
#   release             the release string (uname -r)
# The generic flavour is used because the cloud flavour lacks 9p. Which version: the one the
# linux-image-amd64 metapackage currently points at ($HUSK_VM_KERNEL_PKG overrides it, e.g.
# linux-image-6.1.0-56-amd64). A second run with the kernel already unpacked does nothing.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: $0 CACHEDIR" >&2
	exit 2
fi
mkdir -p "$1"
CACHE=$(cd "$1" && pwd)

pkg=${HUSK_VM_KERNEL_PKG:-}
if [ -z "$pkg" ]; then
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	if [ -z "$pkg" ]; then
		# An old package list may not know the metapackage; refresh it once.
		apt-get update -qq >&2
		pkg=$(apt-cache depends linux-image-amd64 |
			awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	fi
fi
case $pkg in
linux-image-[0-9]*-amd64) ;;
*)
	echo "$0: cannot tell which kernel package to fetch (got ${pkg:-nothing}); set HUSK_VM_KERNEL_PKG" >&2
	exit 1
	;;
esac
release=${pkg#linux-image-}
dir=$CACHE/$release

if [ -f "$dir/vmlinux" ] && [ -f "$dir/root/lib/modules/$release/modules.dep" ]; then
	echo "$dir"
	exit 0
fi

rm -rf "$dir"
mkdir -p "$dir/deb"
echo "fetching $pkg into $dir" >&2
# apt-get download writes to the current directory; the _apt sandbox user may not be able to
# write there, which only earns a warning.
(cd "$dir/deb" && apt-get download -q "$pkg" 2>&1 | grep -v 'unsandboxed' >&2) || true
deb=$(ls "$dir"/deb/"$pkg"_*.deb 2>/dev/null | head -n1)
if [ -z "$deb" ]; then
	echo "$0: apt-get download $pkg produced no .deb" >&2
	exit 1
fi
dpkg -x "$deb" "$dir/root"
rm -rf "$dir/deb"
depmod -b "$dir/root" "$release"
"$(dirname "$0")/extract-vmlinux.sh" "$dir/root/boot/vmlinuz-$release" >"$dir/vmlinux.tmp"
mv "$dir/vmlinux.tmp" "$dir/vmlinux"
echo "$release" >"$dir/release"
echo "$dir"
