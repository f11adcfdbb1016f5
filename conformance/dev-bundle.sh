#!/bin/sh
# Development-only rootfs for the conformance suite (the official one is made by
# integration/make-bundle.sh via `make bundle`). Usage: dev-bundle.sh BUNDLE_DIR [CHECKER]
# Makes BUNDLE_DIR/rootfs: busybox and every applet in /bin, the checker as /bin/husk-checker,
# and the empty directories a container needs as mount points.
set -eu
bundle=${1:?usage: dev-bundle.sh BUNDLE_DIR [CHECKER]}
here=$(cd "$(dirname "$0")" && pwd)
checker=${2:-$here/checker/target/release/husk-checker}
if [ ! -x "$checker" ]; then
    (cd "$here/checker" && cargo build --release)
fi
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "dev-bundle.sh: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
tmp="$bundle/rootfs.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/etc" "$tmp/tmp" "$tmp/root"
chmod 0755 "$tmp" "$tmp/bin" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/etc" "$tmp/root"
chmod 1777 "$tmp/tmp"
cp "$busybox" "$tmp/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$tmp/bin/$applet" ] || ln -s busybox "$tmp/bin/$applet"
done
cp "$checker" "$tmp/bin/husk-checker"
chmod 0755 "$tmp/bin/husk-checker"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$tmp/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$tmp/etc/group"
rm -rf "$bundle/rootfs"
mv "$tmp" "$bundle/rootfs"
echo "dev-bundle.sh: made $bundle/rootfs"
