#!/usr/bin/env bash
# The whole test suite: setup, build, ctest. Tests read ../shared/fixtures.
#
#   scripts/test.sh               against Debian's LibTorch 1.13.1 (CPU), in build/
#   scripts/test.sh --torch pip   against PyPI's torch (LibTorch 2.x; scripts/setup.sh --torch pip
#                                 installs it into cache/torch-pip), in build-pip/, on the CPU
#   --only AREA[,AREA...]         build and run only these areas' test binaries (tests/AREA/,
#                                 ctest label AREA), e.g. --only model,io
set -euo pipefail
cd "$(dirname "$0")/.."
torch=debian
only=""
while (($#)); do
  case "$1" in
    --torch) torch=${2:-}; shift 2 || { echo "test: --torch needs debian or pip" >&2; exit 2; } ;;
    --torch=*) torch=${1#--torch=}; shift ;;
    --only) only=${2:-}; shift 2 || { echo "test: --only needs AREA[,AREA...]" >&2; exit 2; } ;;
    *) echo "test: unknown argument '$1' (expected --torch debian|pip, --only AREAS)" >&2; exit 2 ;;
  esac
done
targets=()
labels=()
if [ -n "$only" ]; then
  IFS=, read -r -a areas <<< "$only"
  for a in "${areas[@]}"; do
    [ -d "tests/$a" ] || { echo "test: --only $a: no tests/$a" >&2; exit 2; }
    targets+=(--target "test_$a")
    labels+=("^$a\$")
  done
fi
case "$torch" in
  debian) scripts/setup.sh; scripts/build.sh "${targets[@]}"; dir=build ;;
  pip) scripts/setup.sh --torch pip; scripts/build.sh --torch pip "${targets[@]}"; dir=build-pip ;;
  *) echo "test: --torch $torch: expected debian or pip" >&2; exit 2 ;;
esac
label_args=()
if ((${#labels[@]})); then label_args=(-L "$(IFS='|'; echo "${labels[*]}")"); fi
cd $dir && ctest --output-on-failure -j "${BYTEFORMER_JOBS:-$(nproc)}" "${label_args[@]}"
