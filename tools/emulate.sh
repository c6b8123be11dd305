#!/usr/bin/env bash
# Runs the cross-built broker under qemu-user for each target architecture,
# on the oldest CPU each build targets (24Kc, ARM926, ARM1176; qemu's
# default for the rest), and drives it from the native client on a
# loopback port: a QoS 0/1/2 round trip, a retained message and a will.
# Then runs the codec and topic-tree unit tests on big-endian MIPS, and the
# hw and platform tests on big-endian MIPS in 32 and 64 bits. There is no
# binfmt_misc, so qemu is named explicitly. Needs qemu-user-static.
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHES=${ARCHES:-"mipsle mips armv5 armv6 armv7 arm64 riscv64"}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$work/midge" ./cmd/midge
client=$work/midge

# target <arch>: sets goenv (the cross-build environment), qemu and cpu.
# The CPU is the oldest core each build targets: qemu's default CPUs run
# hard-float MIPS and GOARM=7 code that dies with SIGILL on a real 24Kc or
# ARM926. 24Kc stands for the ath79 24Kc/74Kc and the MT7621's 1004Kc (all
# MIPS32r2 without an FPU; qemu has no 1004Kc); "" keeps qemu's default.
target() {
	case $1 in
	mipsle) goenv="GOARCH=mipsle GOMIPS=softfloat" qemu=qemu-mipsel-static cpu=24Kc ;;
	mips) goenv="GOARCH=mips GOMIPS=softfloat" qemu=qemu-mips-static cpu=24Kc ;;
	mips64) goenv="GOARCH=mips64" qemu=qemu-mips64-static cpu="" ;;
	armv5) goenv="GOARCH=arm GOARM=5" qemu=qemu-arm-static cpu=arm926 ;;
	armv6) goenv="GOARCH=arm GOARM=6" qemu=qemu-arm-static cpu=arm1176 ;;
	armv7) goenv="GOARCH=arm GOARM=7" qemu=qemu-arm-static cpu="" ;;
	arm64) goenv="GOARCH=arm64" qemu=qemu-aarch64-static cpu="" ;;
	riscv64) goenv="GOARCH=riscv64" qemu=qemu-riscv64-static cpu="" ;;
	*) echo "unknown arch $1" >&2; exit 2 ;;
	esac
}

cat > "$work/midge.toml" <<CONF
allow_anonymous = true
[[listener]]
port = 0
bind_address = "127.0.0.1"
CONF

check() { # what got want
	if [ "$2" != "$3" ]; then
		echo "FAIL $arch: $1: got '$2', want '$3'" >&2
		exit 1
	fi
}

passed=0
for arch in $ARCHES; do
	target "$arch"
	env CGO_ENABLED=0 GOOS=linux $goenv go build -trimpath -ldflags '-s -w' -o "$work/midge-$arch" ./cmd/midge
	env ${cpu:+QEMU_CPU=$cpu} "$qemu" "$work/midge-$arch" -c "$work/midge.toml" 2> "$work/$arch.log" &
	pid=$!
	pids+=("$pid")
	port=""
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listen socket on 127\.0\.0\.1:\([0-9]*\)\./\1/p' "$work/$arch.log" | head -1)
		[ -n "$port" ] && break
		sleep 0.1
	done
	[ -n "$port" ] || { echo "FAIL $arch: broker did not start" >&2; cat "$work/$arch.log" >&2; exit 1; }
	c=(-h 127.0.0.1 -p "$port")
	# QoS 0/1/2 round trip, 3.1.1 and 5.0.
	for v in mqttv311 mqttv5; do
		"$client" sub "${c[@]}" -V $v -t "e/$v/#" -q 2 -C 3 -W 20 > "$work/out" &
		sp=$!
		sleep 0.5
		for q in 0 1 2; do "$client" pub "${c[@]}" -V $v -t "e/$v/$q" -m "m$q" -q $q; done
		wait $sp
		check "QoS round trip $v" "$(tr '\n' ' ' < "$work/out")" "m0 m1 m2 "
	done
	# Retained message.
	"$client" pub "${c[@]}" -t e/ret -m kept -r -q 1
	check retained "$("$client" sub "${c[@]}" -t e/ret -C 1 -W 10)" kept
	# Will on an abnormal close.
	"$client" sub "${c[@]}" -t e/will -C 1 -W 20 > "$work/will" &
	wp=$!
	"$client" sub "${c[@]}" -t e/x -k 60 --will-topic e/will --will-payload gone &
	vp=$!
	sleep 1
	kill -9 $vp
	wait $vp 2>/dev/null || true
	wait $wp
	check will "$(cat "$work/will")" gone
	kill "$pid"; wait "$pid" 2>/dev/null || true
	echo "ok   $arch: QoS 0/1/2 (3.1.1, 5.0), retained, will under $qemu -cpu ${cpu:-default}"
	passed=$((passed + 1))
done

# Unit tests under qemu (go test -exec), on the same CPUs:
#  - codec, topic tree and store on big-endian, 32-bit MIPS;
#  - hw and platform on big-endian MIPS, 32 and 64 bits: the kernel's
#    4-byte ioctl ints read into an 8-byte Go int come back shifted by 32
#    bits on mips64 (watchdog timeouts of 21,474,836,480 s).
unit() { # arch packages...
	target "$1"
	shift
	env CGO_ENABLED=0 GOOS=linux $goenv ${cpu:+QEMU_CPU=$cpu} go test -count=1 -exec "$qemu" "$@"
}
unit mips ./broker/packet ./broker/topic ./persist
unit mips ./hw/... ./platform/...
unit mips64 ./hw/... ./platform/...
echo "emulation: $passed architectures passed"
