#!/usr/bin/env bash
# The whole test suite: setup, build, ctest. Tests read ../shared/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
cd build && ctest --output-on-failure -j "${BYTEFORMER_JOBS:-$(nproc)}"
