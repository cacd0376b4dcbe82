#!/usr/bin/env bash
# Data-parallel throughput on this machine: one process vs two (Gloo over loopback), one
# intra-op thread each, the same global batch, and the gradient all-reduce time left exposed
# per step (with the all-reduce overlapped with the backward pass, and without).
#
#   bench/bench_distributed.sh [build-dir]     (default: build)
#
# Model: ByteFormer tiny width (C=192, 12 layers, 5.6 M parameters, 22 MB of gradients: one
# 25 MB bucket) on 16x16 images as fCHW bytes (768 tokens -> 96 after the Conv1d), batch 8.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$root/build}" && pwd)/byteformer
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 128 + 16 small BMPs (two colour classes) written with the standard library only.
python3 - "$work" <<'PY'
import os, random, struct, sys
root = sys.argv[1]
random.seed(0)
def bmp(path, rgb):
    w = h = 32
    row = b"".join(bytes((min(255, max(0, rgb[2] + random.randint(-30, 30))),
                          min(255, max(0, rgb[1] + random.randint(-30, 30))),
                          min(255, max(0, rgb[0] + random.randint(-30, 30))))) for _ in range(w))
    pixels = row * h
    header = b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    open(path, "wb").write(header + info + pixels)
for split, n in (("train", 64), ("val", 8)):
    for name, rgb in (("red", (200, 60, 40)), ("blue", (40, 60, 200))):
        os.makedirs(f"{root}/{split}/{name}", exist_ok=True)
        for i in range(n):
            bmp(f"{root}/{split}/{name}/{i:03d}.bmp", rgb)
PY

common=(train --threads 1 --config "$root/configs/test/tiny_image.yaml"
  --override "dataset.root_train=$work/train" --override "dataset.root_val=$work/val"
  --override dataset.workers=0 --override common.accum_freq=1 --override scheduler.max_epochs=2
  --override common.save_interval_freq=0 --override ema.enable=false
  --override model.classification.byteformer.embed_dim=192 --override model.classification.byteformer.n_attn_heads=3
  --override model.classification.byteformer.ffn_dim=768 --override model.classification.byteformer.n_transformer_layers=12
  --override "model.classification.byteformer.window_sizes=[128]"
  --override "model.classification.byteformer.window_shifts=[0,64,0,64,0,64,0,64,0,64,0,64]"
  --override "model.classification.byteformer.downsample=[true,false,false,false,false,false,false,false,false,false,false,false]")

run() {  # label, batch per process, extra args...
  local label=$1 batch=$2; shift 2
  local log="$work/$label.log"
  "$bin" "${common[@]}" --override "common.results_loc=$work/$label" --override "dataset.train_batch_size0=$batch" "$@" \
    >"$log" 2>&1 || { cat "$log"; exit 1; }
  # Epoch 2 (warm): samples/s of all ranks together, as rank 0 reports it.
  local rate comm
  rate=$(grep -o 'epoch 2/2: .*' "$log" | grep -o '[0-9.]* samples/s' | head -1)
  comm=$(grep -o 'gloo over .*' "$log" || true)
  printf '%-44s %-18s %s\n' "$label" "$rate" "${comm:-}"
}

echo "machine: $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
run "1 process, batch 8" 8
run "2 processes x batch 4, overlap" 4 --nproc-per-node 2 --master-port 29561
BYTEFORMER_DIST_OVERLAP=0 run "2 processes x batch 4, no overlap" 4 --nproc-per-node 2 --master-port 29562
BYTEFORMER_DIST_BUCKET_MB=4 run "2 processes x batch 4, overlap, 4 MB buckets" 4 --nproc-per-node 2 --master-port 29563
run "2 processes x batch 8, overlap" 8 --nproc-per-node 2 --master-port 29564
