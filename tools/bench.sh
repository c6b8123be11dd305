#!/usr/bin/env bash
# Side-by-side benchmark of midge and Debian's mosquitto on loopback.
# Each broker is pinned to CPU 0 and the load (midge bench) to CPU 1; every
# scenario runs RUNS times against both, alternating; the medians and the
# midge/Mosquitto ratios go to docs/benchmarks.md. Not a test: nothing here
# runs in CI. Needs: mosquitto (apt-get install mosquitto), taskset.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
OUT=${OUT:-docs/benchmarks.md}
MOSQUITTO=${MOSQUITTO:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
[ -x "$MOSQUITTO" ] || { echo "mosquitto not found: apt-get install mosquitto" >&2; exit 1; }
command -v taskset >/dev/null || { echo "taskset not found (util-linux)" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

make -s build
MIDGE=$PWD/bin/midge

# A throwaway CA and server certificate for the TLS scenarios.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench-ca \
	-keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > "$work/san.ext"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 \
	-extfile "$work/san.ext" -out "$work/server.pem" 2>/dev/null
chmod a+rx "$work"; chmod a+r "$work"/* # mosquitto started as root reads them as user mosquitto

# One mosquitto.conf for both brokers: queues large enough that nothing is
# dropped, so throughput compares like with like; a TLS listener 10 ports up.
conf() {
	cat <<CONF
listener $1 127.0.0.1
max_connections 20000
listener $(($1 + 10)) 127.0.0.1
max_connections 20000
cafile $work/ca.pem
certfile $work/server.pem
keyfile $work/server.key
allow_anonymous true
max_queued_messages 2000000
max_queued_bytes 1073741824
max_inflight_messages 100
memory_limit 1073741824
log_dest none
CONF
}
conf 18831 > "$work/mosquitto.conf"
conf 18832 > "$work/midge.conf"

start() { # name port
	if [ "$1" = mosquitto ]; then
		taskset -c 0 "$MOSQUITTO" -c "$work/mosquitto.conf" >/dev/null 2>&1 &
	else
		taskset -c 0 "$MIDGE" -c "$work/midge.conf" >/dev/null 2>>"$work/midge.log" &
	fi
	pids+=($!)
	echo $!
}

# A fresh broker per run keeps runs independent.
run() { # broker port args...
	local name=$1 port=$2; shift 2
	local pid
	pid=$(start "$name" "$port")
	for _ in $(seq 50); do
		"$MIDGE" pub -p "$port" -t ping -m x >/dev/null 2>&1 && break
		sleep 0.1
	done
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "$name did not start:" >&2
		cat "$work/midge.log" >&2 2>/dev/null
		return 1
	fi
	local rss0
	rss0=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)
	taskset -c 1 "$MIDGE" bench -p "$port" -pid "$pid" -quiet "$@" | sed "s/^/broker=$name idle_rss_kb=$rss0 /" || true
	kill "$pid"; wait "$pid" 2>/dev/null || true
}

scenarios=(
	"fanin-qos0|-s fanin -q 0 -P 4 -n 400000"
	"fanin-qos1|-s fanin -q 1 -P 4 -n 200000 -w 64"
	"fanin-qos2|-s fanin -q 2 -P 4 -n 100000 -w 64"
	"fanout-qos0|-s fanout -q 0 -K 10 -n 40000"
	"tls-fanin-qos0|-s fanin -q 0 -P 4 -n 200000"
	"tls-fanin-qos1|-s fanin -q 1 -P 4 -n 100000 -w 64"
	"latency-1000|-s latency -q 0 -r 1000 -d 10s"
	"idle-15000|-s idle -c 15000 -d 2s"
)
results=$work/results.txt
: > "$results"
for sc in "${scenarios[@]}"; do
	name=${sc%%|*}; args=${sc#*|}
	for i in $(seq "$RUNS"); do
		for b in mosquitto midge; do
			port=18831; [ $b = midge ] && port=18832
			tls=()
			case $name in tls-*) tls=(-cafile "$work/ca.pem" -p $((port + 10))) ;; esac # a later -p wins
			echo "== $name run $i $b" >&2
			# shellcheck disable=SC2086
			run $b $port "${tls[@]}" $args | sed "s/^/name=$name /" | tee -a "$results" >&2
		done
	done
done

# median of field F for broker B in scenario S
median() {
	grep "name=$1 " "$results" | grep "broker=$2 " | tr ' ' '\n' | awk -F= -v k="$3" '$1==k {print $2}' |
		sort -g | awk '{v[NR]=$1} END {if (NR==0) print "-"; else print v[int((NR+1)/2)]}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a=="-"||b=="-"||b==0) print "-"; else printf "%.2f", a/b }'; }

{
	echo "# Benchmarks: midge against Mosquitto"
	echo
	echo "Written by \`make bench\` (tools/bench.sh) on $(date -u +%Y-%m-%d)."
	echo "Machine: $(nproc) CPUs, $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//'), $(uname -sr)."
	echo "Mosquitto: $("$MOSQUITTO" -h 2>&1 | head -1). midge: $("$MIDGE" version | head -1)."
	echo "Each broker is pinned to CPU 0 and the load generator (\`midge bench\`) to CPU 1;"
	echo "medians of $RUNS runs, alternating brokers, one fresh broker per run, both on the same"
	echo "mosquitto.conf (large queues, so nothing is dropped). The machine is shared: read the ratios."
	echo
	echo "| scenario | metric | Mosquitto | midge | midge/Mosquitto |"
	echo "|---|---|---|---|---|"
	for sc in "${scenarios[@]}"; do
		name=${sc%%|*}
		case $name in
			latency*) metrics="p50_ms p99_ms p999_ms max_ms lost" ;;
			idle*) metrics="rss_per_conn_bytes idle_rss_kb" ;;
			fanin-qos0|tls-fanin-qos0|fanout*) metrics="msgs_per_s broker_cpu_us_per_msg lost" ;;
			*) metrics="msgs_per_s broker_cpu_us_per_msg lost dup reordered" ;;
		esac
		for m in $metrics; do
			a=$(median "$name" mosquitto "$m"); b=$(median "$name" midge "$m")
			echo "| $name | $m | $a | $b | $(ratio "$b" "$a") |"
		done
	done
	echo
	echo "Raw lines:"
	echo
	echo '```'
	cat "$results"
	echo '```'
} > "$OUT"
echo "wrote $OUT" >&2
