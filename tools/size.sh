#!/usr/bin/env bash
# Cross-builds midge for every target (full and minimal), prints the size
# table (file size and xz size, which is close to what squashfs-xz costs),
# writes docs/size.md, and fails when a budget is exceeded.
# Budgets (mipsle): full <= 6.0 MiB stripped and <= 2.0 MiB compressed;
# minimal (plain TCP broker: -tags nocli,nopersist,nonet,notoml,noauth,nows,nogpio) <= 2.8 MiB stripped.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-docs/size.md}
MINIMAL_TAGS=nocli,nopersist,nonet,notoml,noauth,nows,nogpio
mkdir -p dist
targets=(
	"amd64|GOARCH=amd64"
	"arm64|GOARCH=arm64"
	"armv5|GOARCH=arm GOARM=5"
	"armv6|GOARCH=arm GOARM=6"
	"armv7|GOARCH=arm GOARM=7"
	"mips|GOARCH=mips GOMIPS=softfloat"
	"mipsle|GOARCH=mipsle GOMIPS=softfloat"
	"riscv64|GOARCH=riscv64"
)
build() { # name env tags out
	env CGO_ENABLED=0 GOOS=linux $2 go build -trimpath -ldflags '-s -w' ${3:+-tags $3} -o "$4" ./cmd/midge
}
mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
xzsize() { xz -9e -T1 -c "$1" | wc -c; }
rows=()
fail=0
for t in "${targets[@]}"; do
	name=${t%%|*}; env=${t#*|}
	full=dist/midge-linux-$name; min=dist/midge-linux-$name-minimal
	build "$name" "$env" "" "$full"
	build "$name" "$env" "$MINIMAL_TAGS" "$min"
	fs=$(stat -c %s "$full"); fx=$(xzsize "$full")
	ms=$(stat -c %s "$min"); mx=$(xzsize "$min")
	build "$name" "$env" "tls" "dist/midge-linux-$name-tls"
	ts=$(stat -c %s "dist/midge-linux-$name-tls"); tx=$(xzsize "dist/midge-linux-$name-tls")
	rows+=("| $name | $(mib "$fs") | $(mib "$fx") | $(mib "$ms") | $(mib "$mx") | $(mib "$ts") | $(mib "$tx") |")
	if [ "$name" = mipsle ]; then
		awk -v f="$fs" -v x="$fx" -v m="$ms" 'BEGIN { exit !(f > 6*1048576 || x > 2*1048576 || m > 2.8*1048576) }' && fail=1 || true
		mipsle_full=$fs mipsle_xz=$fx mipsle_min=$ms
	fi
done
# Where the bytes go: symbol sizes per package, mipsle full build (unstripped).
CGO_ENABLED=0 GOOS=linux GOARCH=mipsle GOMIPS=softfloat go build -trimpath -o dist/.midge-mipsle-syms ./cmd/midge
pkgs=$(go tool nm -size dist/.midge-mipsle-syms | awk '$3 ~ /[TtRrDd]/ {n=$4; p=n; sub(/\(.*/, "", p); if (p ~ /^go:/) p="go: (func metadata)"; else if (p ~ /^type:/) p="type: (type descriptors)"; else { sub(/\.[^.\/]*$/, "", p); sub(/\.[^\/]*$/, "", p) } s[p]+=$2} END {for (k in s) printf "%d %s\n", s[k], k}' | sort -rn | awk 'NR <= 15')
rm -f dist/.midge-mipsle-syms
{
	echo "# Binary size"
	echo
	echo "Written by \`make size\` (tools/size.sh) on $(date -u +%Y-%m-%d) with $(go version | awk '{print $3}')."
	echo "Static (\`CGO_ENABLED=0\`), stripped (\`-trimpath -ldflags '-s -w'\`), MiB. The xz column is"
	echo "\`xz -9e\` of the file, close to what it costs in an xz squashfs. Minimal = \`-tags $MINIMAL_TAGS\`:"
	echo "the broker alone (no pub/sub/bench/log tools, no persistence, no password/ACL files, no"
	echo "WebSockets, no TOML, no resolver, no GPIO LEDs: sysfs LEDs stay). Full + TLS = \`-tags tls\`: TLS listeners (crypto/tls and"
	echo "x509) cost about 1.5 MiB on MIPS (0.3 MiB xz), which is why release cross builds leave them out unless"
	echo "asked (\`BUILD_TAGS=tls\`, \`MIDGE_TAGS = tls\` in Buildroot, \`GO_PKG_TAGS:=tls\` in OpenWrt);"
	echo "the full budget is checked without them, and compressed they stay under 2 MiB."
	echo
	echo "| target | full | full xz | minimal | minimal xz | full + TLS | + TLS xz |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Budgets (mipsle): full <= 6.0 MiB and <= 2.0 MiB xz; minimal <= 2.8 MiB."
	echo "This run: full $(mib "$mipsle_full") MiB, $(mib "$mipsle_xz") MiB xz; minimal $(mib "$mipsle_min") MiB."
	echo
	echo "## Where the bytes go (mipsle, full build, symbol bytes by package)"
	echo
	echo '```'
	echo "$pkgs"
	echo '```'
	echo
	echo "## What was done to shrink it"
	echo
	echo "- No crypto in builds without TLS: assigned client ids use math/rand (they must be unique,"
	echo "  not secret), so crypto/rand and its 32 MiB FIPS DRBG buffer in BSS are not linked."
	echo "- No net/http, no WebSocket library, no JSON outside \`midge logdump\` and go-toml."
	echo "- The broker does not need the \`net\` package: sockets, sd_notify and syslog go through"
	echo "  x/sys/unix, addresses are net/netip. Only the CLI clients and host-name bind addresses"
	echo "  use \`net\`; \`nonet\` builds take IP literals (and localhost) only."
	echo "- Build tags: \`nocli\` (no pub/sub/bench/convert/log tools), \`nopersist\` (no"
	echo "  persistence), \`noauth\` (no password/ACL files, so no crypto), \`nows\` (no WebSocket listeners), \`nonet\` (no resolver), \`notoml\` (mosquitto.conf only; the embedded"
	echo "  defaults become a Go value that a test keeps equal to default.toml), \`nogpio\` (no"
	echo "  periph.io GPIO LEDs, about 15 KiB; sysfs LEDs stay). The minimal build uses all seven:"
	echo "  the broker with Mosquitto-compatible configuration."
	echo "- Still large: the Go runtime (about 0.8 MiB of symbols on MIPS) and, in the full build,"
	echo "  go-toml's reflection-driven decoder (about 0.2 MiB of symbols plus its share of reflect)."
} > "$OUT"
printf '%s\n' "| target | full MiB | full xz | minimal MiB | minimal xz | +TLS MiB | +TLS xz |" "${rows[@]}"
echo "wrote $OUT"
if [ $fail = 1 ]; then
	echo "size budget exceeded (mipsle: full <= 6.0 MiB / 2.0 MiB xz, minimal <= 2.8 MiB)" >&2
	exit 1
fi
