#!/usr/bin/env bash
# The GPU check: one prepared script for a machine with an NVIDIA GPU and a CUDA
# PyTorch in its python3, where nothing can be fetched (this project's lent GPU machines).
#
#   scripts/gpu_check.sh --prepare   here (Debian 12, apt reachable): Debian's -dev packages
#                                    the build needs, with their libraries, and the CoreNet
#                                    fixture, into .gpu-check/ (ignored; about 20 MB)
#   scripts/gpu_check.sh             there: unpack .gpu-check/ when the machine lacks the
#                                    libraries, build build-gpu/ against python3's torch (CUDA,
#                                    c10d NCCL), run the tests labelled cuda (`ctest -L cuda`),
#                                    then time ByteFormer-Ti's TIFF-224 and JPEG k=4 workloads
#                                    (eval and train step, fp32 and bf16) in our build and in
#                                    that python3's torch (bench/torch_byteformer.py, the same
#                                    model: its logits are CoreNet's within 1e-4, tested)
#
# With the device tool: run(command="scripts/gpu_check.sh", carry=[".gpu-check"], timeout_s=600).
# Everything it prints also goes to $OUT/gpu_check.log when OUT is set.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
kit=$root/.gpu-check

if [ "${1:-}" = "--prepare" ]; then
  # Build dependencies of scripts/setup.sh's list (the ones a CUDA PyTorch image lacks), with
  # everything they depend on except the base system (glibc, libstdc++, PAM, ...).
  pkgs=(pkgconf libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libfmt-dev libgtest-dev libgmock-dev
        libbenchmark-dev libcpp-httplib-dev libjpeg62-turbo-dev libpng-dev libtiff-dev zlib1g-dev
        libsndfile1-dev libmp3lame-dev libmpg123-dev libsamplerate0-dev libgloo-dev)
  base='^(adduser|cdebconf|debconf|dpkg|gcc-12-base|install-info|libacl1|libaudit.*|libbz2-1.0|libc-dev-bin|libc6|libc6-dev|libcap-ng0|libcom-err2|libcrypt.*|libdb5.3|libdebian-installer4|libgcc-s1|libgssapi-krb5-2|libk5crypto3|libkeyutils1|libkrb5.*|libmd0|libnewt0.52|libnsl.*|libpam.*|libpcre2-8-0|libreadline8|libselinux1|libsemanage.*|libsepol2|libslang2|libstdc\+\+6|libtextwrap1|libtinfo6|libtirpc.*|linux-libc-dev|passwd|readline-common|rpcsvc-proto|tar)$'
  rm -rf "$kit.tmp" && mkdir -p "$kit.tmp/debs" "$kit.tmp/fixtures"
  closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
              --no-enhances "${pkgs[@]}" | grep -v '^ ' | grep -v '^<' | sort -u | grep -Ev "$base")
  # shellcheck disable=SC2086
  (cd "$kit.tmp/debs" && apt-get download -q $closure >/dev/null)
  cp -r "$root/../shared/fixtures/corenet-tiny-k8-w32" "$kit.tmp/fixtures/"
  rm -rf "$kit" && mv "$kit.tmp" "$kit"
  echo "gpu_check: $(ls "$kit/debs" | wc -l) packages and the fixture in $kit ($(du -sh "$kit" | cut -f1));" \
       "on the GPU machine: run(command=\"scripts/gpu_check.sh\", carry=[\".gpu-check\"])"
  exit 0
fi
[ $# -eq 0 ] || { echo "gpu_check: unknown argument '$1' (expected --prepare or nothing)" >&2; exit 2; }

if [ -n "${OUT:-}" ]; then exec > >(tee "$OUT/gpu_check.log") 2>&1; fi
t0=$(date +%s)
stamp() { echo "=== $(($(date +%s) - t0)) s: $*"; }
py=${BYTEFORMER_GPU_PYTHON:-python3}
stamp "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "nvidia-smi: none"
"$py" -c 'import torch; print("python torch", torch.__version__, "CUDA", torch.version.cuda, "devices", torch.cuda.device_count())'
command -v nvcc >/dev/null && nvcc --version | tail -1
jobs=$(nproc)

# Libraries: the machine's own where pkg-config and the headers are there, else the carried ones.
prefix_args=()
fixtures=$root/../shared/fixtures
[ -d "$fixtures/corenet-tiny-k8-w32" ] || fixtures=$kit/fixtures
if ! pkg-config --exists sndfile cpp-httplib 2>/dev/null || [ ! -f /usr/include/yaml-cpp/yaml.h ]; then
  [ -d "$kit/debs" ] || { echo "gpu_check: the build's libraries are missing here and .gpu-check/ was not carried (run scripts/gpu_check.sh --prepare where apt works, then carry .gpu-check)" >&2; exit 1; }
  sysroot=/tmp/bf-gpu-deps
  stamp "unpacking $(ls "$kit/debs" | wc -l) carried Debian packages into $sysroot"
  rm -rf "$sysroot" && mkdir -p "$sysroot"
  for deb in "$kit"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
  # Absolute links (libz.so -> /lib/...libz.so.1.2.13) point into the sysroot instead.
  find "$sysroot" -type l -lname '/*' | while read -r l; do ln -sfn "$sysroot$(readlink "$l")" "$l"; done
  lib=$sysroot/usr/lib/x86_64-linux-gnu
  export LD_LIBRARY_PATH=$lib:$sysroot/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  # pkg-config from the packages, reading only their .pc files, paths under the sysroot.
  cat > "$sysroot/pkg-config" <<EOF
#!/bin/sh
PKG_CONFIG_SYSROOT_DIR=$sysroot PKG_CONFIG_LIBDIR=$lib/pkgconfig:$sysroot/usr/share/pkgconfig \
LD_LIBRARY_PATH=$lib exec $sysroot/usr/bin/pkgconf "\$@"
EOF
  chmod +x "$sysroot/pkg-config"
  export CPATH=$sysroot/usr/include${CPATH:+:$CPATH}
  prefix_args=(-DPKG_CONFIG_EXECUTABLE="$sysroot/pkg-config" -DCMAKE_LIBRARY_PATH="$lib")
  extra_prefix=";$sysroot/usr"
else
  extra_prefix=""
fi

stamp "configure build-gpu/ against $py's torch"
torch_prefix=$("$py" -c 'import os, torch, torch.utils; print(torch.utils.cmake_prefix_path + ";" + os.path.dirname(torch.__file__))')
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix$extra_prefix" \
  -DBYTEFORMER_TEST_PYTHON="$(command -v "$py")" -DBYTEFORMER_FIXTURES_DIR="$fixtures" "${prefix_args[@]}" \
  | grep -E "CUDA|NCCL|Torch|oneDNN|Error|error" || true
stamp "build (byteformer, test_cuda, bench_model; $jobs jobs)"
cmake --build build-gpu -j "$jobs" --target byteformer test_cuda bench_model
build-gpu/byteformer --version

stamp "ctest -L cuda"
(cd build-gpu && ctest -L cuda --output-on-failure --timeout 300) || echo "gpu_check: some cuda tests FAILED (above)"

stamp "bench_model --device cuda (ours)"
timeout 240 build-gpu/bench/bench_model --device cuda --reps 5 || echo "gpu_check: bench_model failed or timed out"

stamp "the same model in $py's torch (bench/torch_byteformer.py)"
for w in tiff jpeg; do
  for mode in "" "--train"; do
    for prec in "" "--bf16"; do
      timeout 120 "$py" bench/torch_byteformer.py --bench $w $mode $prec --device cuda --reps 5 \
        || echo "gpu_check: torch_byteformer $w $mode $prec failed"
    done
  done
done
stamp "done"
