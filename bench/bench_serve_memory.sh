#!/usr/bin/env bash
# The memory of work in flight in `byteformer serve`: peak RSS (VmHWM) while three clients send
# an 11000 x 11000 PNG (353 KB; 121 MP, under the decoders' 2^27-pixel budget) at once, for
# --max-decodes 1 and 3.
#
#   bench/bench_serve_memory.sh RUN_DIR [PORT]     RUN_DIR: any image model, e.g. from `train --data`
set -euo pipefail
run=${1:?usage: bench/bench_serve_memory.sh RUN_DIR [PORT]}
port=${2:-18181}
bin="$(dirname "$0")/../build/byteformer"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/big.png" <<'PY'
import struct, sys, zlib
w = h = 11000
raw = b"".join(b"\x00" + bytes(w * 3) for _ in range(h))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
PY
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'); $(nproc) cores"
for n in 1 3; do
  "$bin" serve --model "$run" --port "$port" --threads 2 --max-decodes "$n" > "$tmp/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/health/ready" > /dev/null && break; sleep 0.2; done
  clients=()
  for _ in 1 2 3; do
    curl -s -o /dev/null -w '%{http_code} ' --data-binary @"$tmp/big.png" -H 'Content-Type: image/png' \
      "http://127.0.0.1:$port/v1/classify" & clients+=($!)
  done
  wait "${clients[@]}"
  echo "--max-decodes $n: peak RSS $(awk '/VmHWM/ {printf "%.2f GB", $2 / 1048576}' /proc/$pid/status)"
  kill "$pid"; wait "$pid" 2> /dev/null || true
done
