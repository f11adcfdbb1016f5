#!/bin/bash
# Build Debian's default SELinux policy (selinux-policy-default's modules) into a store rooted
# in a directory of the checkout, for the SELinux test VM (make test-selinux): semodule -p puts
# the module store and the binary policy under ROOT, so the host's own /etc/selinux and
# /var/lib/selinux are neither read nor written. The VM loads ROOT's binary policy.
#
#   integration/vm/build-selinux-policy.sh ROOT
#
# Prints the binary policy's path (ROOT/etc/selinux/default/policy/policy.NN). A second run
# with a policy newer than the modules does nothing.
set -euo pipefail
if [ $# -ne 1 ]; then
	echo "usage: $0 ROOT" >&2
	exit 2
fi
mods=/usr/share/selinux/default
for tool in semodule; do
	command -v "$tool" >/dev/null || { echo "$0: $tool is missing; run make deps" >&2; exit 1; }
done
if [ ! -f "$mods/base.pp.bz2" ] || [ ! -f "$mods/.modules" ]; then
	echo "$0: no policy modules in $mods; run make deps (selinux-policy-default)" >&2
	exit 1
fi
mkdir -p "$1"
root=$(cd "$1" && pwd)

# The newest binary policy under ROOT, or nothing.
policy() {
	local f last=""
	for f in "$root"/etc/selinux/default/policy/policy.*; do
		[ -f "$f" ] && last=$f
	done
	echo "$last"
}

p=$(policy)
if [ -n "$p" ] && [ "$p" -nt "$mods/base.pp.bz2" ]; then
	echo "$p"
	exit 0
fi

# A fresh store: the package's modules (the list its postinst installs), nothing of a
# previous build. -n: never load it here (this kernel has no SELinux; a host that has it
# must keep its own policy).
rm -rf "$root/var/lib/selinux" "$root/etc/selinux"
mkdir -p "$root/var/lib/selinux" "$root/etc/selinux/default"
args=()
while read -r m; do
	[ -n "$m" ] && args+=(-i "$mods/$m.pp.bz2")
done <"$mods/.modules"
echo "building the SELinux policy ($((${#args[@]} / 2)) modules) into $root" >&2
# "user sddm not in password file" and the like: the policy names users this host lacks.
semodule -p "$root" -s default -n -X 100 "${args[@]}" 2>&1 | grep -v 'not in password file' >&2 || true
p=$(policy)
if [ -z "$p" ]; then
	echo "$0: semodule built no binary policy under $root/etc/selinux/default/policy" >&2
	exit 1
fi
echo "$p"
