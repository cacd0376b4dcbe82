#!/usr/bin/env bash
# Configures and builds into build/ (Release). Reuses an existing build.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${BYTEFORMER_JOBS:-$(nproc)}
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build -j "$jobs"
