// Data-parallel training on LibTorch's c10d (torch.distributed's C++ core), the way PyTorch's
// DistributedDataParallel does it: a TCPStore rendezvous at MASTER_ADDR:MASTER_PORT, Gloo on CPU
// (NCCL on CUDA builds compiled with USE_C10D_NCCL), parameters broadcast from rank 0, gradients
// averaged with bucketed all-reduce (launched from autograd hooks as buckets fill, overlapping
// the backward pass), epoch metrics summed across ranks, and a heartbeat so a dead or hung rank
// stops the job within `timeout` with a message naming it.
//
//   auto env = DistributedEnv::from_environment();          // RANK, WORLD_SIZE, ... (torchrun)
//   DistributedContext dist(*env, DistributedOptions{});
//   Trainer trainer(cfg, opts, dist.hooks(), dist.is_main() ? &std::cerr : nullptr);
//   dist.prepare(trainer.model(), /*overlap=*/opts.accum_freq == 1);
//   trainer.run();
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "byteformer/model/byteformer.h"
#include "byteformer/train/distributed_env.h"
#include "byteformer/classify/metrics.h"
#include "byteformer/train/trainer.h"

namespace byteformer {

/// Communication counters, for the log line at the end and the benchmark.
struct DistributedStats {
  int64_t steps = 0;             // after_backward calls
  int64_t buckets = 0;           // buckets per step
  int64_t bytes_per_step = 0;    // gradient bytes all-reduced per step
  double exposed_ms_total = 0;   // time after_backward blocked the training loop
  int64_t buckets_overlapped = 0;  // buckets launched from autograd hooks during backward
  double exposed_ms_per_step() const { return steps ? exposed_ms_total / static_cast<double>(steps) : 0.0; }
};

/// One rank of a data-parallel job. Construct on every rank with the same world; the
/// constructor blocks until all ranks have joined (or `timeout` passes).
class DistributedContext {
 public:
  DistributedContext(const DistributedEnv& env, DistributedOptions options = {});
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  int64_t rank() const;
  int64_t world_size() const;
  bool is_main() const { return rank() == 0; }
  /// "gloo" or "nccl" once prepare() has run.
  std::string backend() const;

  /// Broadcasts rank 0's parameters and buffers, splits the gradients into buckets and, with
  /// `overlap`, registers autograd hooks that all-reduce each bucket as soon as its gradients
  /// are ready. Overlap needs every backward pass to end an optimiser step (accum_freq 1):
  /// with accumulation the hooks cannot know which backward is the last of the window, so the
  /// buckets are all-reduced (still pipelined) in after_backward instead.
  void prepare(ByteFormer& model, bool overlap);

  /// Hooks for the Trainer: after_backward = average_gradients, reduce_metrics.
  DistributedHooks hooks();

  /// Averages the gradients of the model given to prepare() across ranks. Every rank must call
  /// it once per optimiser step; a rank that had no backward in the window contributes zeros.
  void average_gradients(ByteFormer& model);
  /// Sums the counters across ranks.
  void reduce_metrics(EpochMetrics& metrics);
  /// All ranks reach this point (bounded by the timeout).
  void barrier();

  /// Stop requests agreed across ranks: `local` (set by this process's SIGINT/SIGTERM handler)
  /// rides along with the last gradient bucket of every step, and the flag returned is set on
  /// every rank at the same step when any rank asked, so all ranks stop (and rank 0 saves) at
  /// the same step. Pass the returned flag to Trainer::run.
  const std::atomic<int>* agree_on_stop(const std::atomic<int>* local);

  DistributedStats stats() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace byteformer
