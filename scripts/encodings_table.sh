#!/usr/bin/env bash
# The paper's table of input encodings (Horton et al. 2023, Table 2 style) on Fashion-MNIST: the
# quickstart model (C=64, 4 layers) and the same budget for each input, trained from scratch
# and evaluated on the official 10,000 test images. One row per config in configs/fashion_mnist/:
#   TIFF, PNG, fHWC (pixel bytes), JPEG q100, JPEG q60, JPEG q100 with shuffle_bytes reverse,
#   TIFF with byte_permutation (obfuscation), the privacy camera (fHWC, mask_positions keep 5%).
# Each row: test top-1, mean bytes per file and tokens after the Conv1d (as fed to the model),
# training minutes. The table (Markdown) is printed and written to RUNS/table.md.
#
#   scripts/encodings_table.sh [--epochs N] [--only NAME[,NAME...]] [--skip-setup]
# Environment: BYTEFORMER_DATA (default data/), BYTEFORMER_RUNS (default runs/encodings),
# BYTEFORMER_THREADS (default 2). Finished runs are reused (auto-resume).
set -euo pipefail
QS_STEPS=4
source "$(dirname "$0")/quickstart_lib.sh"

epochs=3
only=""
skip_setup=0
while (($#)); do
  case "$1" in
    --epochs) epochs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --skip-setup) skip_setup=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "encodings_table: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
rows=(tiff png fhwc jpeg_q100 jpeg_q60 jpeg_q100_shuffle_reverse tiff_byte_permutation privacy_camera)
if [ -n "$only" ]; then IFS=, read -r -a rows <<< "$only"; fi
data=${BYTEFORMER_DATA:-$QS_ROOT/data}/fashion_mnist
runs=${BYTEFORMER_RUNS:-$QS_ROOT/runs/encodings}
threads=${BYTEFORMER_THREADS:-2}
mkdir -p "$runs"

qs_step "Installing what is missing (Debian packages)"
if ((skip_setup)); then echo "skipped (--skip-setup)"; else qs_setup; fi
qs_step "Building the byteformer CLI"
qs_build
qs_step "Preparing Fashion-MNIST in $data"
"$QS_BIN" data fashion-mnist --out "$data"

qs_step "Training and evaluating ${#rows[@]} encodings, $epochs epochs each"
table=$runs/table.md
{
  echo "| input (configs/fashion_mnist/) | test top-1 | mean bytes per file | tokens after Conv1d | training minutes |"
  echo "|---|---|---|---|---|"
} > "$table.tmp"
for name in "${rows[@]}"; do
  config=$QS_ROOT/configs/fashion_mnist/$name.yaml
  [ -f "$config" ] || { echo "encodings_table: no config $config" >&2; exit 2; }
  label=${name}_e$epochs
  overrides=(--override "dataset.root_train=$data/train" --override "dataset.root_val=$data/val"
             --override "dataset.root_test=$data/test" --override "common.results_loc=$runs"
             --override "common.run_label=$label" --override "scheduler.max_epochs=$epochs")
  echo "--- $name"
  "$QS_BIN" train --config "$config" --threads "$threads" "${overrides[@]}" 2>&1 | grep -v '^epoch .*\[' || true
  [ -f "$runs/$label/checkpoint_best.pt" ] || { echo "encodings_table: $name did not train" >&2; exit 1; }
  "$QS_BIN" eval --config "$config" "${overrides[@]}" --weights "$runs/$label/checkpoint_best.pt" --split test \
    --threads "$threads" --json > "$runs/$label/test_eval.json"
  python3 - "$name" "$runs/$label" >> "$table.tmp" <<'PY'
import json, sys
name, run = sys.argv[1], sys.argv[2]
ev = json.load(open(f"{run}/test_eval.json"))
seconds = {}
for line in open(f"{run}/metrics.jsonl"):
    m = json.loads(line)
    if "epoch" in m: seconds[m["epoch"]] = m.get("train_seconds", 0)
print(f"| {name} | {ev['top1']:.2f}% | {ev['mean_bytes']:.0f} | {ev['mean_tokens']:.1f} | {sum(seconds.values()) / 60:.1f} |")
PY
  tail -n 1 "$table.tmp"
done
mv "$table.tmp" "$table"
qs_done
cat "$table"
