#include "byteformer/runtime/runtime.h"

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

#include <ATen/Version.h>  // at::show_config
#include <torch/torch.h>

#include <atomic>

namespace byteformer {

namespace {

std::atomic<bool>& onednn_flag() {
  static std::atomic<bool> enabled{onednn_built()};
  return enabled;
}

// OpenBLAS's C entry points, looked up at run time: the BLAS behind LibTorch is chosen by
// Debian's alternatives system, and it need not be OpenBLAS at all.
template <typename Fn>
Fn openblas_symbol(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, name));
}
}  // namespace

bool onednn_built() {
#ifdef BYTEFORMER_HAVE_ONEDNN
  return true;
#else
  return false;
#endif
}

bool onednn_enabled() { return onednn_flag(); }

void set_onednn_enabled(bool enabled) { onednn_flag() = enabled && onednn_built(); }

int set_compute_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(threads);
  if (auto set = openblas_symbol<void (*)(int)>("openblas_set_num_threads")) set(threads);
  return threads;
}

double physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return std::numeric_limits<double>::infinity();
  return static_cast<double>(pages) * static_cast<double>(page_size);
}

bool passive_openmp() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  return policy != nullptr && std::string(policy) == "PASSIVE";
}

SingleThreadedBlas::SingleThreadedBlas() {
  auto get = openblas_symbol<int (*)()>("openblas_get_num_threads");
  auto set = openblas_symbol<void (*)(int)>("openblas_set_num_threads");
  if (get == nullptr || set == nullptr) return;
  previous_ = get();
  if (previous_ > 1) set(1);
}

SingleThreadedBlas::~SingleThreadedBlas() {
  if (previous_ <= 1) return;
  if (auto set = openblas_symbol<void (*)(int)>("openblas_set_num_threads")) set(previous_);
}

std::string openblas_coretype_for(const std::string& detected_core, bool avx512, bool avx2_fma) {
  std::string core = detected_core;
  std::transform(core.begin(), core.end(), core.begin(), [](unsigned char c) { return std::tolower(c); });
  if (core != "prescott") return "";  // OpenBLAS knew the CPU: its own choice stands
  if (avx512) return "SkylakeX";
  if (avx2_fma) return "Haswell";
  return "";
}

void reexec_with_passive_threads(char** argv) {
  bool changed = false;
  if (std::getenv("OMP_WAIT_POLICY") == nullptr) {
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
    // 2^4 cycles: OpenBLAS's threads go to sleep right after a product (the shortest it allows).
    ::setenv("OPENBLAS_THREAD_TIMEOUT", "4", /*overwrite=*/0);
    changed = true;
  }
  auto corename = openblas_symbol<char* (*)()>("openblas_get_corename");
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr && corename != nullptr) {
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                        __builtin_cpu_supports("avx512cd");
    const bool avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    const std::string core = openblas_coretype_for(corename(), avx512, avx2_fma);
    if (!core.empty()) {
      ::setenv("OPENBLAS_CORETYPE", core.c_str(), /*overwrite=*/1);
      changed = true;
    }
  }
  if (changed) ::execv("/proc/self/exe", argv);  // on failure, carry on with the current settings
}

std::string blas_description() {
  auto config = openblas_symbol<char* (*)()>("openblas_get_config");
  if (config != nullptr) return config();  // "OpenBLAS 0.3.21 ..." (Debian's LibTorch calls libblas.so.3)
  // A pip LibTorch links its BLAS in (MKL): its build settings name it.
  const std::string settings = at::show_config();
  const auto at = settings.find("BLAS_INFO=");
  if (at == std::string::npos) return "";
  const auto begin = at + std::strlen("BLAS_INFO=");
  return "LibTorch's own (BLAS_INFO=" + settings.substr(begin, settings.find_first_of(",\n", begin) - begin) + ")";
}

void keep_freed_memory() {
  mallopt(M_MMAP_MAX, 0);              // large blocks from the heap, not from fresh mappings
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // keep up to 1 GiB of free heap top
}

void one_heap_for_all_threads() { mallopt(M_ARENA_MAX, 1); }

RuntimeOptions RuntimeOptions::from_environment() {
  RuntimeOptions o;
  if (const char* v = std::getenv("BYTEFORMER_ONEDNN"); v != nullptr && *v != '\0') {
    const std::string s = v;
    if (s != "0" && s != "1")
      throw std::invalid_argument("environment: BYTEFORMER_ONEDNN=" + s + ": expected 0 (off) or 1 (on)");
    o.onednn = s == "1";
  }
  return o;
}

void apply_runtime_options(const RuntimeOptions& o, char** argv) {
  if (o.passive_threads && argv != nullptr) reexec_with_passive_threads(argv);
  if (o.keep_freed_memory) keep_freed_memory();
  if (o.one_heap) one_heap_for_all_threads();
  set_onednn_enabled(o.onednn);
}

}  // namespace byteformer
