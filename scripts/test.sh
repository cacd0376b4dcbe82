#!/usr/bin/env bash
# The whole test suite: setup, build, ctest. Tests read ../shared/fixtures.
#
#   scripts/test.sh               against Debian's LibTorch 1.13.1 (CPU), in build/
#   scripts/test.sh --torch pip   against PyPI's torch (LibTorch 2.x; scripts/setup.sh --torch pip
#                                 installs it into cache/torch-pip), in build-pip/, on the CPU
set -euo pipefail
cd "$(dirname "$0")/.."
torch=debian
while (($#)); do
  case "$1" in
    --torch) torch=${2:-}; shift 2 || { echo "test: --torch needs debian or pip" >&2; exit 2; } ;;
    --torch=*) torch=${1#--torch=}; shift ;;
    *) echo "test: unknown argument '$1' (expected --torch debian|pip)" >&2; exit 2 ;;
  esac
done
case "$torch" in
  debian) scripts/setup.sh; scripts/build.sh; dir=build ;;
  pip) scripts/setup.sh --torch pip; scripts/build.sh --torch pip; dir=build-pip ;;
  *) echo "test: --torch $torch: expected debian or pip" >&2; exit 2 ;;
esac
cd $dir && ctest --output-on-failure -j "${BYTEFORMER_JOBS:-$(nproc)}"
