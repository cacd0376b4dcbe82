#!/usr/bin/env bash
# `byteformer serve` under load on this machine, beside offline `predict` on the same files in
# the same run: requests/s and p50/p99 latency at concurrency 1, 8 and 32 (ApacheBench, `ab`,
# from Debian's apache2-utils; installed when missing), and the server's RSS over 10,000
# requests. Loopback only; every load is bounded in count and time.
#
#   bench/bench_serve.sh [build-dir]     (default: build)
#   BENCH_WORKLOADS="tiff224" bench/bench_serve.sh     (only the workloads named)
#
# Workloads:
#   quickstart  the quickstart's model (runs/quickstart/fashion_mnist_tiff, or BYTEFORMER_RUN):
#               original test PNG files through the evaluation pipeline (server-side decode,
#               re-encode as TIFF); skipped when the quickstart has not been run
#   tiff224     ByteFormer-Ti (bench/configs/tiff224_k32_w128.yaml, seeded initial weights from
#               `info --save-init`) on a 224x224 TIFF of 150,702 bytes sent raw (raw=1), as the
#               privacy client sends prepared bytes
# Printed per workload: offline files/s (predict -r --batch-size 8 over hard links to the
# request's file, start-up cancelled out by timing 8 and 8+N files, N large enough for 5 s of
# compute), one offline forward (batch 1, same way), then per concurrency (1 also over one
# kept-alive connection) requests/s, p50 and p99 ms, and the ratios the issue sets targets for.
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the bench too
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$root/build}" && pwd)/byteformer
work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v ab >/dev/null 2>&1; then
  echo "bench_serve: installing apache2-utils (ab)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -q --no-install-recommends apache2-utils >/dev/null
fi

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
# Seconds a command takes (its output discarded); a failing command stops the bench with its
# error, rather than giving the seconds of a failure as a figure.
seconds() {
  local t0 rc=0; t0=$(now)
  "$@" >/dev/null 2>"$work/seconds.err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "bench_serve: failed ($rc): $*" >&2; tail -5 "$work/seconds.err" >&2; exit 1
  fi
  calc "$(now) - $t0"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_server() {  # model flags...; sets server_pid and port
  port=$(free_port)
  "$bin" serve --port "$port" --max-batch-size 8 --max-queue-delay-ms 5 --max-queue 256 --http-threads 40 "$@" \
    >"$work/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
    sleep 0.1
  done
  echo "bench_serve: the server did not get ready in 60 s"; exit 1
}

stop_server() {
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$server_pid/status"; }

# ab -n N -c C (-t before -n: a -t after it would raise N to 50,000) against /v1/classify with FILE as the body: "reqs/s p50_ms p99_ms failed".
load() {
  local n=$1 c=$2 file=$3 query=$4 keep=${5:-} out
  out=$(ab -q $keep -t 300 -n "$n" -c "$c" -s 120 -p "$file" -T application/octet-stream \
          "http://127.0.0.1:$port/v1/classify?$query" 2>&1) || true  # reported below
  local rps p50 p99 failed non2xx
  rps=$(awk '/^Requests per second/ {print $4}' <<<"$out")
  if [ -z "$rps" ]; then  # ab gave up (a reset connection, a timeout): say so, not 0 req/s
    echo "bench_serve: ab -n $n -c $c failed:" >&2; tail -5 <<<"$out" >&2; tail -5 "$work/serve.log" >&2
    echo "- - - $n"; return
  fi
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  # ab counts an answer whose length differs from the first one's as "Length" failed; the
  # answers' JSON differs in its last digits from batch to batch, so only connection, receive
  # and exception failures and non-2xx answers count here.
  failed=$(sed -n 's/.*(Connect: \([0-9]*\), Receive: \([0-9]*\), Length: [0-9]*, Exceptions: \([0-9]*\)).*/\1 + \2 + \3/p' <<<"$out")
  non2xx=$(awk '/^Non-2xx responses/ {print $3}' <<<"$out")
  echo "$rps $p50 $p99 $(( ${failed:-0} + ${non2xx:-0} ))"
}

# offline_seconds N BATCH FLAGS...: seconds `predict -r` takes over a folder of N hard links to
# $file (made once per N), with --batch-size BATCH.
offline_seconds() {
  local n=$1 batch=$2 dir; shift 2
  dir=$work/files_$n
  if [ ! -d "$dir" ]; then
    mkdir "$dir"
    local i; for ((i = 0; i < n; i++)); do ln "$file" "$dir/$i"; done
  fi
  seconds "$bin" predict "$@" --batch-size "$batch" -r "$dir"
}

# seconds_per_file BATCH FLAGS...: offline compute seconds per file at --batch-size BATCH.
# Start-up is cancelled out by timing BATCH files and BATCH+N files; N grows (x4) until the N
# files take at least 5 s, so that a small model's figure is not start-up noise.
seconds_per_file() {
  local batch=$1 n=64 t0 tn; shift
  t0=$(offline_seconds "$batch" "$batch" "$@")
  while :; do
    tn=$(offline_seconds $((batch + n)) "$batch" "$@")
    awk "BEGIN { exit !($tn - $t0 >= 5 || $n >= 16384) }" && break
    n=$((n * 4))
  done
  calc "($tn - $t0) / $n"
}

# workload NAME FILE QUERY PREDICT_FLAGS... -- MODEL_FLAGS...
workload() {
  local name=$1 file=$2 query=$3; shift 3
  local predict_flags=() model_flags=()
  while [ "$1" != "--" ]; do predict_flags+=("$1"); shift; done; shift
  model_flags=("$@")
  echo "== $name: $(stat -c %s "$file") bytes a request ($query)"
  local offline forward_ms
  offline=$(calc "1 / $(seconds_per_file 8 "${predict_flags[@]}" "${model_flags[@]}")")
  forward_ms=$(calc "1000 * $(seconds_per_file 1 "${predict_flags[@]}" "${model_flags[@]}")")
  printf "offline predict --batch-size 8: %.2f files/s; one forward (batch 1): %.1f ms\n" "$offline" "$forward_ms"
  start_server "${model_flags[@]}"
  load 16 4 "$file" "$query" >/dev/null  # warm-up
  printf "%-12s %10s %9s %9s %7s\n" concurrency "req/s" "p50 ms" "p99 ms" failed
  local c n r rps p50 p99 failed rps32="-" p99_1="-" keep label
  # Concurrency 1 runs about 30 s worth of requests (100 to 1,000) for a p99 that is not one
  # outlier; "1 keep-alive" is the same over one kept-alive connection (ab -k), as browsers and
  # HTTP client libraries send.
  local n1; n1=$(awk "BEGIN { n = int(30000 / $forward_ms); print n < 100 ? 100 : (n > 1000 ? 1000 : n) }")
  for c in 1 1k 8 32; do
    keep=""; label=$c
    if [ "$c" = 1k ]; then c=1; keep=-k; label="1 keep-alive"; fi
    n=$((c * 12 > 100 ? c * 12 : 100)); [ "$c" = 1 ] && n=$n1
    read -r rps p50 p99 failed <<<"$(load "$n" "$c" "$file" "$query" $keep)"
    printf "%-12s %10s %9s %9s %7s\n" "$label" "$rps" "$p50" "$p99" "$failed"
    [ "$label" = 32 ] && rps32=$rps
    [ "$label" = 1 ] && p99_1=$p99
  done
  ratio() { [ "$1" = - ] && echo "n/a" || awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
  printf "concurrency 32 vs offline: %sx (target >= 0.8); p99 at concurrency 1 vs one forward: %sx (target <= 1.2)\n" \
    "$(ratio "$rps32" "$offline")" "$(ratio "$p99_1" "$forward_ms")"
  if [ "${RSS_REQUESTS:-0}" -gt 0 ]; then
    load 1000 8 "$file" "$query" >/dev/null
    local before after
    before=$(rss_mb)
    read -r rps p50 p99 failed <<<"$(load "$RSS_REQUESTS" 8 "$file" "$query")"
    after=$(rss_mb)
    printf "RSS after 1,000 warm-up requests %s MB, after %s more %s MB (%+.1f%%; target within 10%%), %s failed\n" \
      "$before" "$RSS_REQUESTS" "$after" "$(calc "100 * ($after - $before) / $before")" "$failed"
  fi
  stop_server
}

echo "bench_serve: $("$bin" --version | head -1); $(nproc) cores"

# quickstart: the quickstart's run folder and one original test PNG.
run=${BYTEFORMER_RUN:-$root/runs/quickstart/fashion_mnist_tiff}
png=$(find "${BYTEFORMER_DATA:-$root/data}/fashion_mnist/test" -name '*.png' 2>/dev/null | sort | head -1 || true)
wanted() { [[ " ${BENCH_WORKLOADS:-quickstart tiff224} " == *" $1 "* ]]; }
if ! wanted quickstart; then
  :
elif [ -f "$run/config.yaml" ] && [ -n "$png" ]; then
  RSS_REQUESTS=10000 workload quickstart "$png" "top_k=3" -- --threads 2 --model "$run"
else
  echo "== quickstart: skipped (run scripts/quickstart.sh first: no $run or no test PNG files)"
fi

# tiff224: ByteFormer-Ti with seeded initial weights, a 150,702-byte TIFF sent raw.
wanted tiff224 || exit 0
cfg=$root/bench/configs/tiff224_k32_w128.yaml
"$bin" info --config "$cfg" --save-init "$work/ti.pt" >/dev/null 2>&1
python3 - "$work/photo.bmp" <<'PY'
import struct, sys
w = h = 224
pixels = bytes((x * 255 // w + y) % 256 for y in range(h) for x in range(w) for _ in range(3))
header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
open(sys.argv[1], "wb").write(header + info + pixels)
PY
"$bin" encode --to tiff "$work/photo.bmp" "$work/photo.tiff" >/dev/null 2>&1 || true
if [ ! -s "$work/photo.tiff" ]; then echo "bench_serve: cannot write the TIFF input"; exit 1; fi
workload tiff224 "$work/photo.tiff" "raw=1&top_k=3" --raw -- --threads 2 --config "$cfg" --weights "$work/ti.pt"
