#!/usr/bin/env bash
# Installs every build and test dependency from Debian 12's packages. Idempotent: a second run
# installs nothing and returns quickly. Only what is missing is installed: a package is skipped
# when it is installed, or when the tool it provides is already on PATH in another form (a
# cmake, ninja, clang or espeak-ng of the machine's own; see `provides` below), so apt is never
# asked for a package that would conflict with the machine's own copy.
#
#   scripts/setup.sh               Debian's packages (LibTorch 1.13.1, CPU): the default build
#   scripts/setup.sh --torch pip   also LibTorch 2.x with CUDA: PyPI's torch (pinned in
#                                  scripts/torch-pip.txt) in a virtual environment under
#                                  cache/torch-pip/venv, for `scripts/build.sh --torch pip`
#   scripts/setup.sh --corpus      also the Debian packages whose files `byteformer data
#                                  file-types` labels (configs/file_types/packages.txt, about
#                                  1.3 GB; docs/FILE_TYPES.md)
#   scripts/setup.sh --magika      also Google's Magika (PyPI, pinned in
#                                  bench/file_types/requirements.txt) in a virtual environment
#                                  under cache/magika/venv, for bench/file_types/compare.sh
set -euo pipefail
torch=debian
corpus=0
magika=0
while (($#)); do
  case "$1" in
    --torch) torch=${2:-}; shift 2 || { echo "setup: --torch needs debian or pip" >&2; exit 2; } ;;
    --torch=*) torch=${1#--torch=}; shift ;;
    --corpus) corpus=1; shift ;;
    --magika) magika=1; shift ;;
    *) echo "setup: unknown argument '$1' (expected --torch debian|pip, --corpus, --magika)" >&2; exit 2 ;;
  esac
done
case "$torch" in debian|pip) ;; *) echo "setup: --torch $torch: expected debian or pip" >&2; exit 2 ;; esac
packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libopenblas-dev            # LibTorch 1.13.1 (CPU); matrix products via OpenBLAS
  libdnnl-dev                            # oneDNN (LibTorch links it): inference linear layers
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcpp-httplib-dev                     # byteformer serve (HTTP server; tests use its client)
  chromium python3-websocket             # tests: the server's web page in a real headless browser
  libjpeg62-turbo-dev libpng-dev libtiff-dev zlib1g-dev
  libsndfile1-dev libmp3lame-dev libmpg123-dev libsamplerate0-dev
  clang libclang-rt-14-dev               # libFuzzer targets
  python3-torch                          # tests: PyTorch's torch.load reads our .pt files
  libgloo-dev iproute2                   # distributed training (Gloo headers), two-host test (ip netns)
  espeak-ng                              # `byteformer data speech-synth` and its tests
  dataset-fashion-mnist                  # `byteformer data fashion-mnist` (the quickstart) and its tests
  python3-venv                           # --torch pip: the virtual environment of PyPI's torch
)
# package -> commands that, all on PATH, make the package unnecessary.
declare -A provides=(
  [build-essential]="g++ make" [cmake]="cmake" [ninja-build]="ninja" [pkg-config]="pkg-config"
  [clang]="clang" [espeak-ng]="espeak-ng"
)
have_commands() {  # true when every command named is on PATH
  local c
  for c in $1; do command -v "$c" >/dev/null 2>&1 || return 1; done
}
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
  if [ -n "${provides[$p]:-}" ] && have_commands "${provides[$p]}"; then
    echo "setup: $p not installed, but ${provides[$p]} is on PATH: using that"
    continue
  fi
  missing+=("$p")
done
# apt_install WHAT PACKAGE...: installs the packages given (none: says WHAT is present).
apt_install() {
  local what=$1; shift
  if (($#)); then
    echo "setup: installing $what: $*"
    local SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@"
  else
    echo "setup: $what: all present"
  fi
}
apt_install "Debian packages" "${missing[@]}"
# LibTorch's matrix products must go through OpenBLAS, not the reference BLAS.
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 || true)
case "$blas" in
  *openblas*) echo "setup: BLAS is $blas" ;;
  *) echo "setup: switching libblas.so.3 to OpenBLAS (was $blas)"
     SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
     $SUDO update-alternatives --set libblas.so.3-x86_64-linux-gnu \
       /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ;;
esac

# --corpus: the packages of the file-type corpus, one a line in configs/file_types/packages.txt
# (`#` comments). Only the missing ones are installed.
if [ "$corpus" = 1 ]; then
  root=$(cd "$(dirname "$0")/.." && pwd)
  corpus_missing=()
  while read -r p; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || corpus_missing+=("$p")
  done < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$root/configs/file_types/packages.txt")
  apt_install "the file-type corpus's packages" "${corpus_missing[@]}"
fi

# --torch pip: PyPI's torch (LibTorch 2.x, CUDA) in a virtual environment under the ignored
# cache. Reinstalled only when the pinned version is not the one installed.
if [ "$torch" = pip ]; then
  root=$(cd "$(dirname "$0")/.." && pwd)
  venv=$root/cache/torch-pip/venv
  want=$(sed -n 's/^torch==\([^ ]*\).*/\1/p' "$root/scripts/torch-pip.txt")
  have=$("$venv/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null || true)
  if [ "$have" = "$want" ]; then
    echo "setup: torch $have (PyPI) present in $venv"
  else
    echo "setup: installing torch $want from PyPI into $venv (about 4.5 GB with its CUDA libraries)"
    [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q -r "$root/scripts/torch-pip.txt"
    "$venv/bin/python" -c 'import torch; print("setup: torch", torch.__version__, "CUDA", torch.version.cuda)'
  fi
fi

# --magika: Magika from PyPI (its wheel carries the ONNX model and the `magika` CLI) in a virtual
# environment under the ignored cache, for bench/file_types/compare.sh (with Debian's file and
# time). Reinstalled only when the pinned version is not the one installed.
if [ "$magika" = 1 ]; then
  root=$(cd "$(dirname "$0")/.." && pwd)
  compare_missing=()  # the comparison also runs Debian's `file`, and `/usr/bin/time -v`
  for p in file time; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || compare_missing+=("$p")
  done
  apt_install "the comparison's tools" "${compare_missing[@]}"
  venv=$root/cache/magika/venv
  want=$(sed -n 's/^magika==\([^ ]*\).*/\1/p' "$root/bench/file_types/requirements.txt")
  have=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("magika"))' 2>/dev/null || true)
  if [ "$have" = "$want" ] && [ -x "$venv/bin/magika" ]; then
    echo "setup: magika $have (PyPI) present in $venv"
  else
    echo "setup: installing magika $want from PyPI into $venv (about 220 MB with onnxruntime)"
    [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q -r "$root/bench/file_types/requirements.txt"
    echo "setup: $("$venv/bin/magika" --version) (magika $want)"
  fi
fi
