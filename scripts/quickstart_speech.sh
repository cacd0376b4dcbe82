#!/usr/bin/env bash
# The speech quickstart: train a small ByteFormer on the WAV bytes of spoken commands, 12-way
# like Google Speech Commands v2 (yes no up down left right on off stop go, unknown, silence),
# on a CPU. The speech is synthesized by espeak-ng with ~400 voices, so nothing is downloaded:
#   1. installs what is missing (scripts/setup.sh; espeak-ng is among its packages)
#   2. builds the CLI (build/byteformer)
#   3. synthesizes the data set (data/speech_synth; `byteformer data speech-synth`; split by voice)
#   4. trains (configs/quickstart/speech_synth.yaml: each clip re-encoded as 8-bit WAV, 16 KB)
#   5. evaluates on the test split (top-1, confusion matrix)
#   6. classifies one test clip per keyword with `byteformer predict`
#   7. writes an HTML report; its path is the last line printed.
# Running it again reuses the build, the data and a finished training run.
#
#   scripts/quickstart_speech.sh [--epochs N] [--seed S] [--skip-setup]
set -euo pipefail
source "$(dirname "$0")/quickstart_lib.sh"

epochs=""
seed=0
skip_setup=0
while (($#)); do
  case "$1" in
    --epochs) epochs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --skip-setup) skip_setup=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "quickstart_speech: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
config=$QS_ROOT/configs/quickstart/speech_synth.yaml
data=${BYTEFORMER_DATA:-$QS_ROOT/data}/speech_synth
runs=${BYTEFORMER_RUNS:-$QS_ROOT/runs/quickstart}
label=speech_synth_wav_uint8_2x8
run_dir=$runs/$label
mkdir -p "$runs"

qs_step "Installing what is missing (Debian packages, espeak-ng among them)"
if ((skip_setup)); then echo "skipped (--skip-setup)"; else qs_setup; fi

qs_step "Building the byteformer CLI"
qs_build

qs_step "Synthesizing speech commands with espeak-ng into $data"
"$QS_BIN" data speech-synth --out "$data" --seed "$seed" --threads "$(nproc)"

qs_step "Training ($(basename "$config"); run folder $run_dir)"
overrides=(--override "dataset.root_train=$data" --override "dataset.root_val=$data"
           --override "common.results_loc=$runs" --override "common.run_label=$label")
[ -n "$epochs" ] && overrides+=(--override "scheduler.max_epochs=$epochs")
# Two data-parallel processes of one thread each (the recipe's batch is 8 per process, 16 in
# all): the model is small and a batch of 8 is too short to split over threads (measured on 2
# cores: one process 117 samples/s with 1 thread, 88 with 2; two processes 213).
BYTEFORMER_THREADS=${BYTEFORMER_THREADS:-1} qs_train "$config" "$run_dir" "${overrides[@]}" \
  --nproc-per-node "${BYTEFORMER_NPROC:-2}"

qs_step "Evaluating the run's best weights on the test split (voices never heard in training)"
"$QS_BIN" eval --model "$run_dir" --split test \
  --threads "${BYTEFORMER_THREADS:-0}" --json --confusion-csv "$run_dir/confusion.csv" \
  --predictions "$run_dir/test_predictions.jsonl" | tee "$run_dir/eval.json"
weights=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["weights"])' "$run_dir/eval.json")

qs_step "Classifying one test clip per keyword with byteformer predict"
examples=()
for word in yes no up down left right on off stop go; do
  clip=$(grep "^$word/" "$data/testing_list.txt" | head -1)
  [ -n "$clip" ] || continue
  # The original clip: predict runs the config's evaluation pipeline (16 kHz mono, fixed
  # length, 8-bit WAV) on it, as eval does.
  examples+=("$data/$clip")
done
"$QS_BIN" predict --model "$run_dir" --top-k 3 "${examples[@]}" \
  | tee "$run_dir/predictions.txt"

qs_step "Writing the report"
report=$("$QS_BIN" report --run "$run_dir" --confusion "$run_dir/confusion.csv" --eval-json "$run_dir/eval.json" \
  --eval-samples "$run_dir/test_predictions.jsonl" --eval-samples-title "test split" \
  --predictions "$run_dir/predictions.txt" --title "ByteFormer quickstart: synthesized speech commands from WAV bytes" \
  --note "config=$config" --note "data=$data (espeak-ng, seed $seed)" --note "weights=$weights" \
  --note "evaluated on=test split" --out "$run_dir/report.html")
qs_done
echo "$report"
