#include "byteformer/runtime/build_info.h"

#include <fmt/format.h>
#include <link.h>
#include <torch/torch.h>
#include <torch/version.h>
#ifdef BYTEFORMER_WITH_CUDA
#include <cuda.h>  // CUDA_VERSION
#endif

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "byteformer/runtime/runtime.h"

#ifndef BYTEFORMER_VERSION
#define BYTEFORMER_VERSION "unknown"
#endif

namespace byteformer {

namespace {

// The shared libraries loaded into this process whose file name contains `part`.
std::vector<std::string> loaded_libraries(const std::string& part) {
  struct Search {
    std::string part;
    std::vector<std::string> found;
  } search{part, {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        const std::string name = info->dlpi_name ? info->dlpi_name : "";
        const auto slash = name.rfind('/');
        if (name.find(s->part, slash == std::string::npos ? 0 : slash) == std::string::npos) return 0;
        // The file behind the link (libblas.so.3 -> .../openblas-pthread/libblas.so.3).
        std::error_code ec;
        const auto real = std::filesystem::canonical(name, ec);
        s->found.push_back(ec ? name : real.string());
        return 0;
      },
      &search);
  return search.found;
}

std::string join_or(const std::vector<std::string>& v, const char* none) {
  return v.empty() ? std::string(none) : fmt::format("{}", fmt::join(v, ", "));
}

}  // namespace

std::string byteformer_version_string() { return BYTEFORMER_VERSION; }

std::string build_info() {
  std::string out = fmt::format("byteformer {}\n", BYTEFORMER_VERSION);
  out += fmt::format("LibTorch {}.{}.{} ({})\n", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH,
                     torch::cuda::is_available() ? "CUDA available" : "CPU");
  const std::string blas = blas_description();
  out += fmt::format("BLAS: {}{}\n", blas.empty() ? "" : blas + "; ", join_or(loaded_libraries("blas"), "none loaded"));
  out += fmt::format("oneDNN fast paths: {}\n",
                     onednn_built() ? (onednn_enabled() ? "built, on" : "built, off (BYTEFORMER_ONEDNN=0)") : "not built");
#ifdef BYTEFORMER_WITH_CUDA
#ifdef USE_C10D_NCCL
  const char* nccl = "c10d NCCL";
#else
  const char* nccl = "no NCCL";
#endif
  out += fmt::format("CUDA: built (CUDA {}.{}, {}); {} device(s) visible\n", CUDA_VERSION / 1000,
                     CUDA_VERSION % 1000 / 10, nccl, torch::cuda::device_count());
#else
  out += "CUDA: not built\n";
#endif
  out += fmt::format("cores: {} (--threads 0, the default, uses them all)", std::thread::hardware_concurrency());
  return out;
}

}  // namespace byteformer
