// What the CPU fast paths of the model share: when they apply, and how they spread work.
#pragma once
#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <algorithm>
#include <atomic>

#include "model/cpu/fast_linear.h"
#include "byteformer/runtime/runtime.h"

namespace byteformer {

/// Whether CPU autocast is on in this thread (the ATen call changed in LibTorch 2.4).
inline bool cpu_autocast_enabled() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(at::kCPU);
#else
  return at::autocast::is_cpu_enabled();
#endif
}

/// Whether CPU autocast is on in this thread with bfloat16 as its type.
inline bool cpu_autocast_bf16() {
  if (!cpu_autocast_enabled()) return false;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::get_autocast_dtype(at::kCPU) == at::kBFloat16;
#else
  return at::autocast::get_autocast_cpu_dtype() == at::kBFloat16;
#endif
}

/// How the CPU inference paths (no autograd) run on `t`: kFloat for a float32/float64 CPU tensor
/// outside autocast; kBf16 for a float32 one under CPU bf16 autocast where linear_into has bf16
/// products (the same paths, the linear layers' products in bf16, everything else in float32);
/// otherwise kNone (the modules' own code).
enum class InferencePath { kNone, kFloat, kBf16 };

inline InferencePath cpu_inference_path_for(const torch::Tensor& t) {
  if (torch::GradMode::is_enabled() || !t.device().is_cpu()) return InferencePath::kNone;
  if (!cpu_autocast_enabled())
    return t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble ? InferencePath::kFloat
                                                                                  : InferencePath::kNone;
  return t.scalar_type() == torch::kFloat && cpu_autocast_bf16() && bf16_products() ? InferencePath::kBf16
                                                                                     : InferencePath::kNone;
}

/// Turns CPU autocast off in this scope (and in parallel_tasks' tasks started in it): the kBf16
/// inference path asks for its bf16 products explicitly and keeps the rest in float32.
/// (Harmless where autocast is off.)
struct NoCpuAutocast {
  c10::impl::ExcludeDispatchKeyGuard guard{c10::DispatchKeySet(c10::DispatchKey::AutocastCPU)};
};

/// A float32/float64 CPU tensor outside autocast: the case the model's CPU fast paths handle
/// (window_attention.h and the chunked FFN without autograd, attention_core.h with it).
inline bool cpu_float_outside_autocast(const torch::Tensor& t) {
  return !cpu_autocast_enabled() && t.device().is_cpu() &&
         (t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble);
}

/// Windows (or window-heads) of `window` tokens per task of the attention paths: scores of
/// about 8 x 128 x 128 floats (512 KB, inside L2) per task, fewer windows when they are larger.
inline int64_t windows_per_task(int64_t window) {
  return std::max<int64_t>(1, (8 * 128 * 128) / std::max<int64_t>(1, window * window));
}

/// Runs task(i) for i in [0, n) over LibTorch's threads (at::parallel_for), with OpenBLAS
/// single-threaded meanwhile (each task runs whole products on its own thread) and each task
/// in the caller's grad mode and InferenceMode, which LibTorch 1.13's parallel_for does not
/// carry to its workers. Runs in parallel only from code compiled with OpenMP.
///
/// Tasks are handed out one at a time (a shared counter), not in one fixed range per thread:
/// when another thread of the process (a data loader, say) takes a core from one of LibTorch's,
/// the others run its tasks instead of waiting for it at the end. Which thread runs a task does
/// not change what the task computes.
template <typename Task>
void parallel_tasks(int64_t n, const Task& task) {
  if (n <= 0) return;
  SingleThreadedBlas one_blas_thread;
  const at::ThreadLocalState caller_state;
  std::atomic<int64_t> next{0};
  const int64_t workers = std::min<int64_t>(n, at::in_parallel_region() ? 1 : at::get_num_threads());
  at::parallel_for(0, workers, 1, [&](int64_t, int64_t) {
    at::ThreadLocalStateGuard state_guard(caller_state);
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) task(i);
  });
}

/// The most partial weight-gradient sums the training functions keep (train_attention.h,
/// train_linear.h): with one per task, the JPEG k=4 workload's first layer (about 190 tasks of
/// ByteFormer-Ti) held 112 MB of them per weight.
constexpr int64_t kMaxGradientGroups = 32;

/// The number of groups parallel_task_groups makes.
inline int64_t task_groups(int64_t tasks, int64_t max_groups) { return std::min(tasks, max_groups); }

/// Runs task(t, g) for t in [0, tasks) in task_groups(tasks, max_groups) groups g of consecutive
/// tasks, each group's tasks in order on one thread (groups spread over the threads as
/// parallel_tasks does). A group's tasks can sum into one partial result in a fixed order: which
/// tasks form a group does not depend on the thread count.
template <typename Task>
void parallel_task_groups(int64_t tasks, int64_t max_groups, const Task& task) {
  const int64_t groups = task_groups(tasks, max_groups);
  parallel_tasks(groups, [&](int64_t g) {
    for (int64_t t = g * tasks / groups; t < (g + 1) * tasks / groups; ++t) task(t, g);
  });
}

}  // namespace byteformer
