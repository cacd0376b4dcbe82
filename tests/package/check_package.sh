#!/usr/bin/env bash
# The installed package as a user meets it: installs the build tree into a temporary prefix,
# moves the prefix (the package must not remember where it was installed), builds the programs
# of tests/package/consumer against it, the C++ one with find_package(byteformer), the C one
# with `pkg-config --cflags --libs byteformer_c`, and runs both on the fixture model: the C++
# one checks its logits against CoreNet's (1e-4), the C one must give the same (1e-5). Both
# identify programs must find the installed file-type model and answer alike.
# Run by ctest (test `package`, label package):
#   check_package.sh BUILD_DIR FIXTURE_DIR
# Environment (set by tests/CMakeLists.txt): CMAKE_COMMAND, CC, CXX, CMAKE_GENERATOR, and
# BYTEFORMER_DEPS_PREFIX_PATH, the build's CMAKE_PREFIX_PATH (':'-separated; a pip LibTorch).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR FIXTURE_DIR" >&2; exit 64; }
build=$(cd "$1" && pwd -P)
fixture=$2
here=$(cd "$(dirname "$0")" && pwd -P)
source_dir=$(cd "$here/../.." && pwd -P)
cmake=${CMAKE_COMMAND:-cmake}
work=$(mktemp -d "${TMPDIR:-/tmp}/byteformer-package.XXXXXX")
trap 'rm -rf "$work"' EXIT

fail() {
  echo "package: $*" >&2
  exit 1
}
# Runs a step quietly; on failure shows its output and stops.
step() {
  local what=$1
  shift
  echo "package: $what"
  "$@" >"$work/step.log" 2>&1 || { cat "$work/step.log" >&2; fail "$what failed"; }
}

step "cmake --install $build" "$cmake" --install "$build" --prefix "$work/staged"
[ -d "$work/staged" ] || fail "cmake --install $build installed nothing"
mv "$work/staged" "$work/prefix"
prefix=$work/prefix
pc=$(find "$prefix" -name byteformer_c.pc -path '*/pkgconfig/*')
[ -n "$pc" ] || fail "no byteformer_c.pc under $prefix"
libdir=$(dirname "$(dirname "$pc")")
for f in "$libdir/cmake/byteformer/byteformerConfig.cmake" "$libdir/cmake/byteformer/byteformerConfigVersion.cmake" \
         "$libdir/cmake/byteformer/byteformerTargets.cmake" "$libdir/libbyteformer_c.so" "$prefix/bin/byteformer" \
         "$prefix/bin/byteformer-identify" "$prefix/share/byteformer/models/file-types/model.bfm" \
         "$prefix/include/byteformer/byteformer_c.h" "$prefix/include/byteformer/classify/classifier.h"; do
  [ -e "$f" ] || fail "not installed: ${f#"$prefix"/}"
done
for area in portable lite runtime io model codec transforms data prepare classify train report serve; do
  [ -f "$libdir/libbf_$area.a" ] || fail "not installed: ${libdir#"$prefix"/}/libbf_$area.a"
done
# Nothing installed may point back into the source or build tree.
if grep -rlF -e "$source_dir" -e "$build" "$libdir/cmake" "$libdir/pkgconfig"; then
  fail "the files above name $source_dir or $build"
fi
for bin in "$libdir/libbyteformer_c.so" "$prefix/bin/byteformer" "$prefix/bin/byteformer-identify"; do
  if readelf -d "$bin" | grep -E 'R(UN)?PATH' | grep -qF -e "$source_dir" -e "$build"; then
    fail "$bin: its RUNPATH names the build tree"
  fi
done

# C++: find_package(byteformer) from the moved prefix.
export CMAKE_PREFIX_PATH="$prefix${BYTEFORMER_DEPS_PREFIX_PATH:+:$BYTEFORMER_DEPS_PREFIX_PATH}"
step "configure the consumer (find_package(byteformer))" "$cmake" -S "$here/consumer" -B "$work/consumer"
step "build the consumer" "$cmake" --build "$work/consumer"
"$work/consumer/consumer_cpp" "$fixture" >"$work/cpp.out" || { cat "$work/cpp.out"; fail "consumer_cpp failed"; }
grep -qx "cpp ok" "$work/cpp.out" || fail "consumer_cpp: no 'cpp ok' in its output"
name=$(sed -n 's/^file //p' "$work/cpp.out")
cli=$(cat "$work/consumer/cli_path.txt")
[ "$cli" = "$prefix/bin/byteformer" ] || fail "byteformer::cli is $cli, expected $prefix/bin/byteformer"
"$cli" --version | grep -q '^byteformer ' || fail "$cli --version: not byteformer's"

# identify, both programs, with the shipped model installed beside them (found from the program's
# own folder in the moved prefix, not from the source tree): the same answer for an ELF file.
elf=$(command -v ls)
"$prefix/bin/byteformer-identify" --timings --mode best-guess "$elf" >"$work/lite.out" 2>"$work/lite.err" ||
  { cat "$work/lite.err" >&2; fail "byteformer-identify $elf failed"; }
grep -qF "model load" "$work/lite.err" && grep -qF "($prefix/share/byteformer/models/file-types/model.bfm)" "$work/lite.err" ||
  { cat "$work/lite.err" >&2; fail "byteformer-identify did not use the installed model"; }
grep -q ": elf (" "$work/lite.out" || fail "byteformer-identify $elf: $(cat "$work/lite.out")"
"$prefix/bin/byteformer" identify --timings --mode best-guess "$elf" >"$work/identify.out" 2>"$work/identify.err" ||
  { cat "$work/identify.err" >&2; fail "byteformer identify $elf failed"; }
grep -qF "($prefix/share/byteformer/models/file-types/checkpoint_best.pt)" "$work/identify.err" ||
  { cat "$work/identify.err" >&2; fail "byteformer identify did not use the installed model"; }
cmp -s "$work/lite.out" "$work/identify.out" ||
  fail "byteformer-identify and byteformer identify disagree: $(cat "$work/lite.out") / $(cat "$work/identify.out")"

# C: pkg-config byteformer_c from the moved prefix.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs byteformer_c) || fail "pkg-config byteformer_c failed"
rpath=$(pkg-config --variable=libdir byteformer_c)
step "cc consumer.c \$(pkg-config --cflags --libs byteformer_c)" \
  "${CC:-cc}" -std=c99 -Wall -Werror "$here/consumer/consumer.c" $flags "-Wl,-rpath,$rpath" -o "$work/consumer_c"
"$work/consumer_c" "$fixture/config.yaml" "$fixture/model.pt" "$fixture/inputs/$name" >"$work/c.out" ||
  { cat "$work/c.out"; fail "consumer_c failed"; }
grep -qx "c ok" "$work/c.out" || fail "consumer_c: no 'c ok' in its output"

# The C API's logits are the C++ library's (one model, one file, as they are).
awk '$1 == "logit" { if (FILENAME == ARGV[1]) { want[$2] = $3; m++ } else { got[$2] = $3; n++ } }
     END {
       if (n == 0 || n != m) { print "package: " n " C logits, " m " C++ ones"; exit 1 }
       for (i in want) { d = want[i] - got[i]; if (d < 0) d = -d
         if (d > 1e-5) { print "package: logit " i ": C " got[i] ", C++ " want[i]; exit 1 } }
     }' "$work/cpp.out" "$work/c.out" >&2 || fail "the C and C++ consumers disagree"
echo "package: ok ($name: $(grep -c '^logit ' "$work/c.out") logits, C++ within 1e-4 of CoreNet's, C within 1e-5 of C++)"
