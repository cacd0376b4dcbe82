// What this binary was built with and runs on, for `byteformer --version` and bug reports.
#pragma once
#include <string>

namespace byteformer {

/// Several lines: "byteformer 0.1.0", then LibTorch, BLAS, oneDNN, CUDA, threads, e.g.
/// "LibTorch 1.13.0 (CPU)", "BLAS: /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3".
std::string build_info();
/// "0.1.0".
std::string byteformer_version_string();

}  // namespace byteformer
