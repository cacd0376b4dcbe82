# Shared steps of scripts/quickstart.sh and scripts/quickstart_speech.sh (sourced, not run).
# Every step prints "==> [i/n] what" and how long it took.

QS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QS_BUILD=${BYTEFORMER_BUILD_DIR:-$QS_ROOT/build}
QS_BIN=$QS_BUILD/byteformer
QS_START=$(date +%s)
QS_STEP=0
QS_STEPS=${QS_STEPS:-7}
QS_STEP_START=$QS_START

# glibc returns every allocation above 32 MiB to the kernel with munmap and page-faults it back in
# on the next batch; a ByteFormer batch's byte embeddings (B, L, C) are that large, which made
# training ~5x slower on 2 cores (measured: 17 vs 97 samples/s). Keep freed memory in the heap.
export MALLOC_MMAP_MAX_=${MALLOC_MMAP_MAX_:-0}
export MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_:-1000000000000}
# OMP_WAIT_POLICY is not set here: `byteformer train` and `eval` re-execute themselves once with
# OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=4 when it is unset, and a value set here
# would keep OpenBLAS's threads spinning (measured on the Fashion-MNIST recipe: 587 samples/s
# with OMP_WAIT_POLICY=PASSIVE exported, 627 without).

qs_step() {
  local now
  now=$(date +%s)
  if ((QS_STEP > 0)); then echo "    (step took $((now - QS_STEP_START)) s)"; fi
  QS_STEP=$((QS_STEP + 1))
  QS_STEP_START=$now
  echo
  echo "==> [$QS_STEP/$QS_STEPS] $* (at $((now - QS_START)) s)"
}

qs_done() {
  local now
  now=$(date +%s)
  echo "    (step took $((now - QS_STEP_START)) s)"
  echo "quickstart: finished in $((now - QS_START)) s"
}

# Debian packages (scripts/setup.sh: it installs only what is missing, and skips a package whose
# command the machine already has in another form).
qs_setup() {
  "$QS_ROOT/scripts/setup.sh"
}

# Builds only the CLI (the tests and benchmarks are not needed here) into build/, the folder
# scripts/build.sh uses, so either reuses the other's work.
qs_build() {
  if [ ! -f "$QS_BUILD/build.ninja" ]; then
    cmake -S "$QS_ROOT" -B "$QS_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
  fi
  cmake --build "$QS_BUILD" -j "${BYTEFORMER_JOBS:-$(nproc)}" --target byteformer
}

# Trains unless the run folder already holds a finished run of this config (auto_resume: a
# finished run resumes at its last epoch and stops at once).
qs_train() {  # config run_dir overrides...
  local config=$1 run_dir=$2
  shift 2
  "$QS_BIN" train --config "$config" --threads "${BYTEFORMER_THREADS:-0}" "$@"
}
