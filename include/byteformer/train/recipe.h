// A CoreNet config read once into typed options: the recipe that `train` and `train --dry-run`
// run. Every option is parsed here, at the boundary, by the one parser of its
// struct (ByteFormerOptions, BytePipelineOptions, TrainerOptions, OptimizerOptions,
// CosineScheduleOptions); the trainer and the commands take the result by const&.
//
//   const Recipe recipe = Recipe::from_config(load_config("configs/fashion_mnist/tiff.yaml", {}));
//   Trainer trainer(recipe, torch::kCPU);
//   std::cout << recipe.summary();   // what `train --dry-run` prints
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "byteformer/classify/eval_recipe.h"
#include "byteformer/train/lr_schedule.h"
#include "byteformer/train/optimizer.h"

namespace byteformer {

/// The training loop's keys (common.*, dataset loader keys, loss, ema, scheduler length).
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
  /// dataset.val_batch_size0, else train_batch_size0: the batch of validation and of `eval`
  /// when dataset.eval_batch_size0 is absent.
  int64_t val_batch_size = 1;
  int64_t workers = 0;
  int64_t prefetch = 2;
  bool length_bucketing = false;
  int64_t max_epochs = 1;
  std::optional<int64_t> max_iterations;  // scheduler.max_iterations, when set

  /// Throws std::invalid_argument naming key, value and file of a bad value.
  static TrainerOptions from_config(const Config& config);
};

/// The training recipe: what inference reads (EvalRecipe: the config, written to the run
/// folder, the model, the eval pipeline and settings) and the trainer's own options.
struct Recipe : EvalRecipe {
  BytePipelineOptions train_pipeline;
  TrainerOptions trainer;
  OptimizerOptions optimizer;
  CosineScheduleOptions schedule;

  /// Checks every key (unknown keys, types, choices) and parses every option; throws
  /// std::invalid_argument naming the key, its value and its file. Touches no data.
  static Recipe from_config(Config config);
  /// What `train --dry-run` prints: the model, both pipelines, the run folder and batch, and
  /// the ignored keys.
  std::string summary() const;
};

}  // namespace byteformer
