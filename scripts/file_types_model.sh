#!/usr/bin/env bash
# Makes the shipped file-type model, models/file-types/, from nothing but Debian's packages:
#   1. installs the corpus's packages (scripts/setup.sh --corpus) and builds the CLI
#   2. builds the corpus (byteformer data file-types --out data/file_types; reused when complete)
#   3. trains the file-types recipe on it (byteformer train --data ... --recipe file-types)
#   4. evaluates the weights on the package-held-out test split (eval --per-class --json)
#   5. copies what identify reads into models/file-types/: config.yaml (data paths made relative
#      to the repository), checkpoint_best.pt and its .json (the class names), thresholds.json,
#      metrics.jsonl and eval_test.json; models/file-types/README.md says what they are.
#   6. exports model.bfm from them (byteformer export), what byteformer-identify reads.
# A second run reuses the corpus and a finished training run (runs/file_types_model).
#
#   scripts/file_types_model.sh                 # the whole of it (about 45 minutes on 2 cores)
#   scripts/file_types_model.sh --skip-setup    # the packages are installed already
# Environment: BYTEFORMER_BUILD_DIR (default build/), BYTEFORMER_THREADS (default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
skip_setup=0
while (($#)); do
  case "$1" in
    --skip-setup) skip_setup=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "file_types_model: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
build=${BYTEFORMER_BUILD_DIR:-build}
threads=${BYTEFORMER_THREADS:-2}
bf=$build/byteformer
data=data/file_types
run=runs/file_types_model
out=models/file-types

if ((!skip_setup)); then
  scripts/setup.sh --corpus
  scripts/build.sh
fi
[[ -x $bf ]] || { echo "file_types_model: no $bf: run scripts/build.sh" >&2; exit 1; }

"$bf" data file-types --out "$data"
"$bf" train --data "$data" --recipe file-types --out "$run" --threads "$threads"
"$bf" eval --model "$run" --split test --per-class --threads "$threads"
"$bf" eval --model "$run" --split test --per-class --json --threads "$threads" > "$run/eval_test.json"

mkdir -p "$out"
# The run's config names the corpus by absolute paths; the shipped one by the repository's.
sed "s#$root/##" "$run/config.yaml" > "$out/config.yaml"
for f in checkpoint_best.pt checkpoint_best.pt.json thresholds.json metrics.jsonl eval_test.json; do
  cp "$run/$f" "$out/$f"
done
# byteformer-identify's copy: the same weights, labels, window and thresholds in one file that
# needs no LibTorch (docs/LITE.md).
"$bf" export "$out" -o "$out/model.bfm"
echo "file_types_model: $out ($(du -sh "$out" | cut -f1)): test top-1 $(python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(round(j['top1'], 2), 'macro-F1', round(j['macro_f1'], 4))" "$out/eval_test.json")"
