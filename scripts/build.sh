#!/usr/bin/env bash
# Configures and builds (Release). Reuses an existing build.
#
#   scripts/build.sh               into build/, against Debian's LibTorch 1.13.1 (CPU)
#   scripts/build.sh --torch pip   into build-pip/, against PyPI's torch (LibTorch 2.x) from
#                                  `scripts/setup.sh --torch pip`; CUDA (and c10d's NCCL) on
#                                  when the torch has CUDA and the CUDA toolkit (nvcc) is here
#   --target T (repeatable)        only these targets (e.g. test_model), not everything
set -euo pipefail
cd "$(dirname "$0")/.."
torch=debian
targets=()
while (($#)); do
  case "$1" in
    --torch) torch=${2:-}; shift 2 || { echo "build: --torch needs debian or pip" >&2; exit 2; } ;;
    --torch=*) torch=${1#--torch=}; shift ;;
    --target) [ -n "${2:-}" ] || { echo "build: --target needs a target name" >&2; exit 2; }; targets+=(--target "$2"); shift 2 ;;
    *) echo "build: unknown argument '$1' (expected --torch debian|pip, --target T)" >&2; exit 2 ;;
  esac
done
jobs=${BYTEFORMER_JOBS:-$(nproc)}
case "$torch" in
  debian)
    dir=build
    [ -f $dir/build.ninja ] || cmake -S . -B $dir -G Ninja -DCMAKE_BUILD_TYPE=Release ;;
  pip)
    dir=build-pip
    py=$PWD/cache/torch-pip/venv/bin/python
    if ! "$py" -c 'import torch' 2>/dev/null; then
      echo "build: no PyPI torch in cache/torch-pip/venv: run scripts/setup.sh --torch pip first" >&2
      exit 1
    fi
    if [ ! -f $dir/build.ninja ]; then
      # torch's CMake files, and torch itself so that <prefix>/lib finds its libraries before
      # Debian's libtorch in the system folders.
      prefix=$("$py" -c 'import os, torch, torch.utils; print(torch.utils.cmake_prefix_path + ";" + os.path.dirname(torch.__file__))')
      # A CUDA torch needs the CUDA toolkit to configure against (its CMake files look for nvcc).
      if "$py" -c 'import sys, torch; sys.exit(0 if torch.version.cuda else 1)' && ! command -v nvcc >/dev/null 2>&1; then
        echo "build: the PyPI torch is built with CUDA $("$py" -c 'import torch; print(torch.version.cuda)'), but nvcc is not on PATH: install the CUDA toolkit (or put /usr/local/cuda/bin on PATH)" >&2
        exit 1
      fi
      cmake -S . -B $dir -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
        -DBYTEFORMER_TEST_PYTHON="$py"
    fi ;;
  *) echo "build: --torch $torch: expected debian or pip" >&2; exit 2 ;;
esac
cmake --build $dir -j "$jobs" "${targets[@]}"
