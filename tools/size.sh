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
# crypto/internal/fips140/drbg.memory is BSS (no file bytes): counted below, not here.
pkgs=$(go tool nm -size dist/.midge-mipsle-syms | awk '$3 ~ /[TtRrDd]/ && $4 != "crypto/internal/fips140/drbg.memory" {n=$4; p=n; sub(/\(.*/, "", p); if (p ~ /^go:/) p="go: (func metadata)"; else if (p ~ /^type:/) p="type: (type descriptors)"; else { sub(/\.[^.\/]*$/, "", p); sub(/\.[^\/]*$/, "", p) } s[p]+=$2} END {for (k in s) printf "%d %s\n", s[k], k}' | sort -rn | awk 'NR <= 15')
# The FIPS 140-3 scratch buffer (32 MiB of BSS in Go 1.26): which builds
# link it, and through which of midge's imports of the standard crypto
# packages (each of those imports crypto/internal/fips140/drbg).
drbg=crypto/internal/fips140/drbg
scratch=$(go tool nm -size dist/.midge-mipsle-syms | awk -v s="$drbg.memory" '$4 == s {print $2}')
rm -f dist/.midge-mipsle-syms
scratch_row() { # label tags
	local deps via="" imp p last=""
	deps=$(GOOS=linux GOARCH=mipsle go list -deps ${2:+-tags $2} ./cmd/midge)
	if ! grep -qx "$drbg" <<< "$deps"; then
		echo "| $1 | no | |"
		return
	fi
	# "pkg crypto/x" pairs, grouped per pkg: "`pkg` (crypto/x, crypto/y)".
	while read -r p imp; do
		GOOS=linux GOARCH=mipsle go list -deps "$imp" | grep -qx "$drbg" || continue
		if [ "$p" = "$last" ]; then
			via+=", $imp"
		else
			via+="${last:+), }\`$p\` ($imp"
			last=$p
		fi
	done < <(GOOS=linux GOARCH=mipsle go list -deps ${2:+-tags $2} -f '{{.ImportPath}} {{join .Imports " "}}' ./cmd/midge |
		awk '$1 !~ /^(crypto|vendor|internal|runtime)/ { for (i = 2; i <= NF; i++) if ($i ~ /^crypto\//) print $1, $i }')
	echo "| $1 | yes | $via) |"
}
scratch_rows=("$(scratch_row full "")" "$(scratch_row minimal "$MINIMAL_TAGS")" "$(scratch_row "full + TLS" tls)")
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
	echo "## Virtual memory: the 32 MiB FIPS 140-3 scratch buffer"
	echo
	echo "Go 1.26's \`crypto/internal/fips140/drbg\` declares \`var memory entropy.ScratchBuffer\`:"
	echo "$(mib "${scratch:-0}") MiB in \`.noptrbss\` in the mipsle full build (${scratch:-0} bytes). Only the FIPS 140-3 entropy"
	echo "source touches it (\`GODEBUG=fips140=on\`), so it costs no file bytes, no flash and no RSS:"
	echo "its pages are never backed. It does add 32 MiB to the virtual size: the mipsle full"
	echo "binary maps about 38 MiB (file 6 MiB + BSS 32 MiB) against 2.8 MiB for the minimal one, so"
	echo "\`top\`/\`ps\` show a VSZ near 40 MiB on a 64 MiB router while RSS stays a few MiB."
	echo "Harmless with \`vm.overcommit_memory\` 0 (the kernel's default, and OpenWrt's) or 1; with"
	echo "strict accounting (2) it counts against CommitLimit and can stop midge from starting on a"
	echo "small board."
	echo
	echo "Not calling crypto/rand does not keep it out. The drbg package's init creates a"
	echo "\`sync.Pool\` whose \`New\` seeds from it, and the package is imported by"
	echo "\`crypto/internal/fips140only\`, which every standard crypto package imports (crypto/sha1,"
	echo "sha256, sha512, hmac, pbkdf2, rand, ecdsa, ed25519, rsa, x509, tls; not crypto/subtle or"
	echo "crypto/elliptic): importing any one of them links all of it. In midge:"
	echo
	echo "| build | 32 MiB buffer linked | through |"
	echo "|---|---|---|"
	printf '%s\n' "${scratch_rows[@]}"
	echo
	echo "So every build with password/ACL files (\`noauth\` unset), WebSockets (\`nows\` unset) or"
	echo "the client tools (\`nocli\` unset) carries it; the minimal build does not. Password files,"
	echo "SCRAM and JWT need the standard crypto packages, so the full build keeps it. A build"
	echo "without \`noauth\`'s features could lose it if the WebSocket handshake computed its SHA-1"
	echo "itself (broker) and \`midge rr\` took its correlation data from getrandom(2) through"
	echo "x/sys/unix instead of crypto/rand (cmd/midge)."
	echo
	echo "## What was done to shrink it"
	echo
	echo "- Assigned client ids use math/rand (they must be unique, not secret), not crypto/rand."
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
