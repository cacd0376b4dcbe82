#!/usr/bin/env bash
# Peak memory (RSS) and wall time of `byteformer predict` on the memory workload: ByteFormer-Ti
# (bench/configs/tiff224_k32_w128.yaml, 1000 classes, seeded initial weights from
# `info --save-init`, a 67 MB checkpoint) on eight different 224x224 TIFF files (150,668 bytes
# each, written by `byteformer encode --to tiff` from generated gradients), with --batch-size 8
# and --batch-size 1, each run REPS times (default 2). Peak RSS from GNU time's %M (KiB), the
# whole process: LibTorch's own start-up is about 165 MB of it (`byteformer --version`, printed
# first).
#
#   bench/bench_predict_memory.sh [build-dir]     (default: build)
#   REPS=3 bench/bench_predict_memory.sh
set -euo pipefail
shopt -s inherit_errexit
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$root/build}" && pwd)/byteformer
reps=${REPS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x /usr/bin/time ] || { echo "bench_predict_memory: needs GNU time (/usr/bin/time, Debian package 'time')" >&2; exit 1; }

cfg=$root/bench/configs/tiff224_k32_w128.yaml
"$bin" info --config "$cfg" --save-init "$work/ti.pt" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
python3 - "$work" <<'PY'
import struct, sys
w = h = 224
for i in range(8):
    pixels = bytes(((x * 255 // w + y + 7 * i) % 256) for y in range(h) for x in range(w) for _ in range(3))
    header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    open(f"{sys.argv[1]}/p{i}.bmp", "wb").write(header + info + pixels)
PY
for i in 0 1 2 3 4 5 6 7; do "$bin" encode --to tiff "$work/p$i.bmp" "$work/p$i.tiff" >/dev/null; done

measure() {  # label, then the command
  local label=$1
  shift
  /usr/bin/time -f "%M %e" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  read -r kib secs <"$work/time"
  awk -v l="$label" -v k="$kib" -v s="$secs" \
    'BEGIN { printf "%-40s peak RSS %8d KiB = %.3f GB   wall %5.2f s\n", l, k, k * 1024 / 1e9, s }'
}

measure "byteformer --version (start-up alone)" "$bin" --version
for ((r = 1; r <= reps; ++r)); do
  measure "predict, 8 files, --batch-size 8" "$bin" predict --config "$cfg" --weights "$work/ti.pt" \
    --batch-size 8 --threads 2 "$work"/p?.tiff
  measure "predict, 8 files, --batch-size 1" "$bin" predict --config "$cfg" --weights "$work/ti.pt" \
    --batch-size 1 --threads 2 "$work"/p?.tiff
done
