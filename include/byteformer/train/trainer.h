// Training a ByteFormer from a CoreNet config, the way CoreNet's corenet/engine/default_trainer.py
// does (SPEC.md section 5): AdamW with no-decay groups, warmup + cosine, label smoothing,
// gradient accumulation, optional clipping, EMA, bf16 autocast, per-epoch validation, `last`,
// `best` and `ema_best` checkpoints, auto-resume.
//
//   Config cfg = load_config("configs/test/tiny_image.yaml", {"scheduler.max_epochs=2"});
//   Trainer trainer(cfg, TrainerOptions::from_config(cfg));
//   TrainResult r = trainer.run();
//
// Data parallel (issue 6) plugs in through DistributedHooks: each rank builds the same Trainer
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
#include "byteformer/io/config.h"
#include "byteformer/model/byteformer.h"
#include "byteformer/train/metrics.h"

namespace byteformer {

struct TrainerOptions {
  std::string run_dir;  // common.results_loc / common.run_label
  uint64_t seed = 0;    // common.seed
  bool auto_resume = false;
  std::string resume;  // common.resume: a training-state file to start from
  bool mixed_precision = false;
  int64_t accum_freq = 1;
  int64_t accum_after_epoch = 0;
  std::optional<double> grad_clip;
  int64_t save_interval_freq = 0;  // also save the training state every this many steps
  int64_t log_freq = 100;
  double label_smoothing = 0.0;
  bool ema = false;
  double ema_momentum = 0.0001;
  int64_t train_batch_size = 1;
  int64_t val_batch_size = 1;
  int64_t workers = 0;
  int64_t prefetch = 2;
  bool length_bucketing = false;
  int64_t max_epochs = 1;
  std::optional<int64_t> max_iterations;  // scheduler.max_iterations, when set
  /// Where the model trains: the command line's --device (not a config key), resolved by
  /// resolve_device. from_config leaves the CPU.
  torch::Device device{torch::kCPU};

  static TrainerOptions from_config(const Config& config);
};

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

/// File names inside the run folder (CoreNet's names for the weights).
struct RunFiles {
  explicit RunFiles(std::string dir) : dir(std::move(dir)) {}
  std::string dir;
  std::string last() const { return dir + "/checkpoint_last.pt"; }
  std::string best() const { return dir + "/checkpoint_best.pt"; }
  std::string ema_last() const { return dir + "/checkpoint_ema_last.pt"; }
  std::string ema_best() const { return dir + "/checkpoint_ema_best.pt"; }
  std::string state() const { return dir + "/training_state_last.pt"; }
  std::string metrics() const { return dir + "/metrics.jsonl"; }
  std::string config() const { return dir + "/config.yaml"; }
};

/// Everything a run needs from the config, checked without touching the data or building the
/// model: keys and values, model options, both pipelines, schedule, optimiser, trainer options.
/// Returns a short summary; throws like the Trainer would. (`byteformer train --dry-run`.)
std::string check_training_config(const Config& config);

class Trainer {
 public:
  /// Checks the config (unknown keys, bad values), builds datasets, pipelines, model,
  /// optimiser. `log` receives progress and summaries (rank 0 only).
  Trainer(Config config, TrainerOptions options, DistributedHooks hooks = {}, std::ostream* log = nullptr);
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
