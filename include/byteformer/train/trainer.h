// Training a ByteFormer from a CoreNet config, the way CoreNet's corenet/engine/default_trainer.py
// does (docs/TRAINING.md): AdamW with no-decay groups, warmup + cosine, label smoothing,
// gradient accumulation, optional clipping, EMA, bf16 autocast, per-epoch validation, `last`,
// `best` and `ema_best` checkpoints, auto-resume.
//
//   const Recipe recipe = Recipe::from_config(load_config("configs/test/tiny_image.yaml", {"scheduler.max_epochs=2"}));
//   Trainer trainer(recipe, torch::kCPU);
//   TrainResult r = trainer.run();
//
// Data parallel plugs in through DistributedHooks: each rank builds the same Trainer
// with its rank/world size (the sampler shards every epoch), `after_backward` averages the
// gradients before each optimiser step, `reduce_metrics` sums the epoch counters, and only
// rank 0 writes files.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "byteformer/data/dataset.h"
#include "byteformer/io/run_folder.h"
#include "byteformer/model/byteformer.h"
#include "byteformer/classify/metrics.h"
#include "byteformer/train/recipe.h"

namespace byteformer {

/// Where a data-parallel layer hooks in. The defaults are one process.
struct DistributedHooks {
  int64_t rank = 0;
  int64_t world_size = 1;
  /// Called once per optimiser step, after the last backward of the accumulation window and
  /// before clipping: average the gradients across ranks here.
  std::function<void(ByteFormer&)> after_backward;
  /// Sums the counters of an epoch (train or validation) across ranks.
  std::function<void(EpochMetrics&)> reduce_metrics;
  bool is_main() const { return rank == 0; }
};

struct TrainResult {
  double best_top1 = -1;      // percent
  double best_ema_top1 = -1;  // percent, -1 without EMA
  int64_t epochs_done = 0;  // in all, counting the epochs of the run this one resumed
  int64_t iterations = 0;
  bool resumed = false;
  /// The resumed state had already reached scheduler.max_epochs (or max_iterations): nothing
  /// was trained, the run folder's weights are the finished run's.
  bool already_complete = false;
  /// Non-zero when a stop request (SIGINT/SIGTERM) ended the run early; the state was saved.
  int stop_signal = 0;
};

class Trainer {
 public:
  /// Builds datasets, pipelines, model and optimiser from the recipe, on `device` (the command
  /// line's --device, resolved by resolve_device). `log` receives progress and summaries (rank
  /// 0 only).
  Trainer(const Recipe& recipe, torch::Device device, DistributedHooks hooks = {}, std::ostream* log = nullptr);
  ~Trainer();

  /// Trains until scheduler.max_epochs (or max_iterations, or a stop request: `stop` holding a
  /// non-zero signal number, checked after every optimiser step).
  TrainResult run(const std::atomic<int>* stop = nullptr);

  ByteFormer& model();
  const std::vector<std::string>& classes() const;
  const RunFiles& files() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace byteformer
