#!/bin/sh
# deb.sh: Debian / Raspberry Pi OS packages of midge, built with dpkg-deb
# (no debhelper): dist/midge_<version>-<release>_<arch>.deb for each of
# ARCHES (default: amd64 arm64 armhf). armhf is GOARM=6, which Raspberry Pi
# OS's armhf (ARMv6 hard-float, Pi Zero/1) and Debian's (ARMv7) both run.
set -eu
cd "$(dirname "$0")/../.."
GO=${GO:-go}
OUT=${OUT:-dist}
ARCHES=${ARCHES:-amd64 arm64 armhf}
RELEASE=${RELEASE:-1}
TAGS=${TAGS:-tls}
version=$(sed -n 's/^var Version = "\(.*\)"/\1/p' broker/broker.go)
[ -n "$version" ] || { echo "$0: no Version in broker/" >&2; exit 1; }
mkdir -p "$OUT"
for arch in $ARCHES; do
	case "$arch" in
	amd64) goarch=amd64 goarm= ;;
	arm64) goarch=arm64 goarm= ;;
	armhf) goarch=arm goarm=6 ;;
	*) echo "$0: unknown architecture $arch" >&2; exit 1 ;;
	esac
	root=$(mktemp -d)
	chmod 0755 "$root"
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/etc/midge" "$root/usr/lib/systemd/system" \
		"$root/usr/share/doc/midge"
	CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm $GO build -trimpath -tags "$TAGS" \
		-ldflags "-s -w -X midge/broker.Version=$version" -o "$root/usr/bin/midge" ./cmd/midge
	for l in pub sub rr; do ln -s midge "$root/usr/bin/midge-$l"; done
	install -m 0644 packaging/midge.toml "$root/etc/midge/midge.toml"
	install -m 0644 packaging/midge.service "$root/usr/lib/systemd/system/midge.service"
	install -m 0644 docs/packaging.md "$root/usr/share/doc/midge/packaging.md"
	install -m 0644 packaging/debian/conffiles "$root/DEBIAN/conffiles"
	for s in postinst prerm postrm; do install -m 0755 "packaging/debian/$s" "$root/DEBIAN/$s"; done
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	sed -e "s/@VERSION@/$version-$RELEASE/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
		packaging/debian/control > "$root/DEBIAN/control"
	deb="$OUT/midge_${version}-${RELEASE}_$arch.deb"
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
	echo "$deb"
	rm -rf "$root"
	trap - EXIT
done
