#!/bin/bash
# Print the uncompressed ELF kernel inside a bzImage (what the kernel's own
# scripts/extract-vmlinux does, rewritten here): find each place where a compressed stream
# could start (gzip, xz, zstd, lz4, bzip2 magic), decompress from there, and keep the first
# result that is an ELF file.
#
#   integration/vm/extract-vmlinux.sh BZIMAGE > vmlinux
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
	echo "usage: $0 BZIMAGE > vmlinux" >&2
	exit 2
fi
img=$1
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

try() { # try MAGIC(printf escapes) DECOMPRESSOR...
	local magic=$1 off
	shift
	command -v "$1" >/dev/null 2>&1 || return 1
	# grep -b reports byte offsets of each match; -a treats the image as text.
	for off in $(LC_ALL=C grep -abo "$(printf "$magic")" "$img" 2>/dev/null | cut -d: -f1); do
		# Decompressors complain about the trailing bytes after the stream; what counts is
		# whether the output is an ELF image.
		tail -c "+$((off + 1))" "$img" | "$@" >"$tmp" 2>/dev/null || true
		if [ "$(head -c 4 "$tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
			cat "$tmp"
			return 0
		fi
	done
	return 1
}

try '\375\067\172\130\132' xz -dc ||
	try '\050\265\057\375' zstd -dc ||
	try '\037\213\010' gzip -dc ||
	try '\002\041\114\030' lz4 -dc ||
	try 'BZh' bzip2 -dc ||
	{
		echo "$0: no compressed ELF kernel found in $img" >&2
		exit 1
	}
