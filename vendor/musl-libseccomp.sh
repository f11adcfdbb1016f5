#!/bin/bash
# Build libseccomp as a static library for the musl target, into $1 (lib/libseccomp.a,
# include/). husk's release binary is linked against musl when this library and Rust's musl
# target are there (make deps makes both), else against glibc: musl's start-up does not run
# glibc's CPU feature probing (dozens of CPUID instructions, each a VM exit on a virtual
# machine: about 0.3 ms of every husk command here) and the binary is 0.7 MB smaller.
#
# The source is Debian's own tarball of the same libseccomp that libseccomp-dev is built from,
# checked against its SHA-256. Kernel headers come from Debian's linux-libc-dev, since
# musl-gcc does not look in /usr/include.
set -euo pipefail

out=$(realpath -m "$1")
ver=2.5.4
sha=d82902400405cf0068574ef3dc1fe5f5926207543ba1ae6f8e7a1576351dcbdb
url=http://deb.debian.org/debian/pool/main/libs/libseccomp/libseccomp_${ver}.orig.tar.gz

[ -f "$out/lib/libseccomp.a" ] && exit 0
for t in musl-gcc gperf curl make; do
	command -v "$t" >/dev/null || { echo "$0: $t missing (make deps installs it)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
curl -fsSL --retry 3 --max-time 120 -o "$work/src.tar.gz" "$url"
echo "$sha  $work/src.tar.gz" | sha256sum -c --quiet
tar xzf "$work/src.tar.gz" -C "$work"
mkdir -p "$work/kinc"
ln -s /usr/include/linux "$work/kinc/linux"
ln -s /usr/include/asm-generic "$work/kinc/asm-generic"
ln -s "/usr/include/$(gcc -print-multiarch)/asm" "$work/kinc/asm"
cd "$work/libseccomp-$ver"
CC=musl-gcc CFLAGS="-O2 -I$work/kinc" ./configure --quiet --enable-static --disable-shared \
	--prefix="$work/prefix" >/dev/null
make -s -j"$(nproc)" -C src >/dev/null
make -s -C src install >/dev/null
make -s -C include install >/dev/null
mkdir -p "$out"
cp -r "$work/prefix/lib" "$work/prefix/include" "$out/"
echo "libseccomp $ver for musl: $out"
