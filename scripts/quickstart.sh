#!/usr/bin/env bash
# The quickstart: train a small ByteFormer on the file bytes of Fashion-MNIST (Zalando's 70,000
# 28x28 clothing images, from Debian's package dataset-fashion-mnist) on a CPU, from a fresh
# Debian 12 machine, nothing downloaded but Debian packages:
#   1. installs what is missing (scripts/setup.sh: Debian packages, dataset-fashion-mnist among them)
#   2. builds the CLI (build/byteformer)
#   3. prepares the data: PNG files in class folders, 55,000 train / 5,000 val (a seeded
#      stratified split of the training set) / 10,000 test (data/fashion_mnist;
#      `byteformer data fashion-mnist`)
#   4. trains (configs/fashion_mnist/tiff.yaml: each image re-encoded as an RGB TIFF file in the
#      pipeline, as CoreNet's pil_save does; a 4-layer ByteFormer, C=64)
#   5. evaluates on the official 10,000 test images (top-1, confusion matrix, per-sample records)
#   6. classifies ten original test PNG files, one per class, with `byteformer predict` (which
#      runs the config's evaluation pipeline on each file, as eval does)
#   7. writes an HTML report (curves, confusion matrix, per-class accuracy, the most confident
#      mistakes, the ten files with their predictions); its path is the last line printed.
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
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$encoding" in
  tiff) config=$QS_ROOT/configs/fashion_mnist/tiff.yaml ;;
  jpeg) config=$QS_ROOT/configs/fashion_mnist/jpeg_q100.yaml ;;
  *) echo "quickstart: --encoding must be tiff or jpeg, got '$encoding'" >&2; exit 2 ;;
esac

data=${BYTEFORMER_DATA:-$QS_ROOT/data}/fashion_mnist
runs=${BYTEFORMER_RUNS:-$QS_ROOT/runs/quickstart}
label=fashion_mnist_$encoding
run_dir=$runs/$label
mkdir -p "$runs"

qs_step "Installing what is missing (Debian packages)"
if ((skip_setup)); then echo "skipped (--skip-setup)"; else qs_setup; fi

qs_step "Building the byteformer CLI"
qs_build

qs_step "Preparing Fashion-MNIST: 55,000 train / 5,000 val / 10,000 test PNG files in $data"
"$QS_BIN" data fashion-mnist --out "$data"

qs_step "Training ($(basename "$config"); run folder $run_dir)"
overrides=(--override "dataset.root_train=$data/train" --override "dataset.root_val=$data/val"
           --override "dataset.root_test=$data/test"
           --override "common.results_loc=$runs" --override "common.run_label=$label")
[ -n "$epochs" ] && overrides+=(--override "scheduler.max_epochs=$epochs")
qs_train "$config" "$run_dir" "${overrides[@]}"

qs_step "Evaluating the run's best weights on the 10,000 test images"
"$QS_BIN" eval --model "$run_dir" --split test \
  --threads "${BYTEFORMER_THREADS:-0}" --json --confusion-csv "$run_dir/confusion.csv" \
  --predictions "$run_dir/test_predictions.jsonl" | tee "$run_dir/eval.json"
weights=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["weights"])' "$run_dir/eval.json")

qs_step "Classifying ten original test PNG files (one per class) with byteformer predict"
examples=()
for dir in "$data"/test/*/; do
  pngs=("$dir"*.png)  # sorted by the glob; the first file of each class
  examples+=("${pngs[0]}")
done
"$QS_BIN" predict --model "$run_dir" --top-k 3 --json "${examples[@]}" \
  > "$run_dir/predictions.jsonl"
"$QS_BIN" predict --model "$run_dir" --top-k 3 "${examples[@]}" 2>/dev/null

qs_step "Writing the report"
report=$("$QS_BIN" report --run "$run_dir" --confusion "$run_dir/confusion.csv" --eval-json "$run_dir/eval.json" \
  --eval-samples "$run_dir/test_predictions.jsonl" --eval-samples-title "test split" \
  --predictions "$run_dir/predictions.jsonl" \
  --title "ByteFormer quickstart: Fashion-MNIST from $encoding file bytes" \
  --note "config=$config" --note "data=$data (Debian package dataset-fashion-mnist)" --note "weights=$weights" \
  --out "$run_dir/report.html")
qs_done
echo "$report"
