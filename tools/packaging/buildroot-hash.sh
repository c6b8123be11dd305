#!/bin/sh
# buildroot-hash.sh [-n] BUILDROOT_DIR [REF]
#
# Runs Buildroot's own download of the midge package (its git backend, then
# its Go vendoring post-process) from this repository at REF (default: the
# tag MIDGE_VERSION of buildroot/package/midge/midge.mk), prints the
# tarball's sha256 and, without -n, writes it into midge.hash. Run it after
# tagging a release and commit midge.hash. Go modules come from GOPROXY as
# Buildroot's download would; GOPROXY=off GOFLAGS=-mod=mod uses the local
# module cache only.
set -eu
write=1
if [ "${1:-}" = "-n" ]; then
	write=
	shift
fi
[ $# -ge 1 ] || { echo "usage: $0 [-n] BUILDROOT_DIR [REF]" >&2; exit 2; }
br=$(cd "$1" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
pkg="$repo/buildroot/package/midge"
version=$(sed -n 's/^MIDGE_VERSION = //p' "$pkg/midge.mk")
ref=${2:-$version}
# pkg_source_ext: <site method format><post-process format>.tar.gz
file="midge-$version-git4-go2.tar.gz"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/midge"
(cd "$br" && GIT=git TAR=tar BR_NO_CHECK_HASH_FOR="$file" \
	./support/download/dl-wrapper -c "$ref" -d "$tmp/midge" -D "$tmp" -f "$file" \
	-n "midge-$version" -N midge -o "$tmp/midge/$file" -u "git+$repo" -p go -q --) >&2
if ! tar tzf "$tmp/midge/$file" | grep -q '^midge-[^/]*/vendor/modules.txt$'; then
	echo "$0: the tarball has no vendor/modules.txt" >&2
	exit 1
fi
sum=$(sha256sum "$tmp/midge/$file" | cut -d' ' -f1)
echo "sha256  $sum  $file"
if [ -n "$write" ]; then
	grep -v " $file\$" "$pkg/midge.hash" > "$tmp/hash" || true
	echo "sha256  $sum  $file" >> "$tmp/hash"
	cat "$tmp/hash" > "$pkg/midge.hash"
fi
