#!/usr/bin/env bash
# Builds the fuzzers (fuzz/, libFuzzer + ASan + UBSan, clang) in build-fuzz/ and runs each for a
# bounded time: the codecs (jpeg png tiff bmp pnm wav mp3), the server's request parsing
# (requests), the checkpoint reader (pickle: the unpickler and the whole .pt archive path) and
# the config parsers (config: YAML, overrides, key schema, model and pipeline options) and
# byteformer-identify's model file and forward pass (lite).
# Crashing inputs land in build-fuzz/artifacts/; copy any you fix into tests/codec/corpus/
# (decoders) or fuzz/seeds/<target>/ (pickle, config), which the regular test suite replays.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET ...]     e.g. scripts/fuzz.sh 30 png tiff
set -euo pipefail
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(jpeg png tiff bmp pnm wav mp3 requests pickle config lite); fi
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-fuzz
fixtures=$root/../shared/fixtures

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBYTEFORMER_BUILD_FUZZ=ON -DBYTEFORMER_BUILD_TESTS=OFF -DBYTEFORMER_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target "${targets[@]/#/fuzz_}"

# Seed corpora: the checked-in seeds plus the shared fixtures of each format.
seed() {  # target, files...
  local dir=$build/corpus/$1; shift
  mkdir -p "$dir"
  for f in "$@"; do [ -f "$f" ] && cp -f "$f" "$dir/" || true; done
}
seed jpeg "$fixtures"/encoders/*.jpg "$fixtures"/corenet-tiny-k8-w32/inputs/*.jpg
seed png "$fixtures"/encoders/*.png "$fixtures"/corenet-tiny-k8-w32/inputs/*.png
seed tiff "$fixtures"/encoders/*.tiff "$fixtures"/corenet-tiny-k8-w32/inputs/*.tiff
seed wav "$fixtures"/encoders/*.wav "$fixtures"/corenet-tiny-k8-w32/inputs/*.wav
seed bmp; seed pnm; seed mp3; seed requests; seed pickle; seed lite
seed config "$root"/configs/*/*.yaml

mkdir -p "$build/artifacts"
# Leaks inside LibTorch itself are not ours to fix (fuzz/lsan.supp says which).
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
failed=()
for t in "${targets[@]}"; do
  echo "== fuzz_$t for ${seconds}s"
  seeds=()
  [ -d "$root/fuzz/seeds/$t" ] && seeds+=("$root/fuzz/seeds/$t")
  if "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=3072 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
      "$build/corpus/$t" "${seeds[@]}" >"$build/fuzz_$t.log" 2>&1; then
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$build/fuzz_$t.log" | tail -2 || true
  else
    echo "   CRASH or timeout: see $build/fuzz_$t.log and $build/artifacts/$t-*"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}"
  exit 1
fi
echo "all fuzzers ran ${seconds}s without a crash"
