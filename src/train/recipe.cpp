#include "byteformer/train/recipe.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <stdexcept>

namespace byteformer {

namespace fs = std::filesystem;

TrainerOptions TrainerOptions::from_config(const Config& c) {
  return parse_options([&] {
    TrainerOptions o;
    const std::string results = c.get_string("common.results_loc", "results");
    const std::string label = c.get_string("common.run_label", "run_1");
    o.run_dir = (fs::path(results) / label).string();
    o.seed = static_cast<uint64_t>(c.get_int("common.seed", 0));
    o.auto_resume = c.get_bool("common.auto_resume", false);
    o.resume = c.get_string("common.resume", "");
    o.mixed_precision = c.get_bool("common.mixed_precision", false);
    o.accum_freq = c.get_int("common.accum_freq", 1);
    o.accum_after_epoch = c.get_int("common.accum_after_epoch", 0);
    if (c.is_set("common.grad_clip")) o.grad_clip = c.get_double("common.grad_clip", 0);
    o.save_interval_freq = c.get_int("common.save_interval_freq", 0);
    o.log_freq = c.get_int("common.log_freq", 100);
    o.label_smoothing = c.get_double("loss.classification.cross_entropy.label_smoothing", 0.0);
    o.ema = c.get_bool("ema.enable", false);
    o.ema_momentum = c.get_double("ema.momentum", o.ema_momentum);
    o.train_batch_size = c.get_int("dataset.train_batch_size0", 128);
    o.val_batch_size = c.get_int("dataset.val_batch_size0", o.train_batch_size);
    o.workers = c.get_int("dataset.workers", 0);
    o.prefetch = c.get_int("dataset.prefetch_factor", 2);
    o.length_bucketing = c.get_bool("dataset.length_bucketing", false);
    o.max_epochs = c.get_int("scheduler.max_epochs", 350);
    if (c.is_set("scheduler.max_iterations")) o.max_iterations = c.get_int("scheduler.max_iterations", 0);
    require_positive(c, o.accum_freq, "common.accum_freq");
    require_positive(c, o.train_batch_size, "dataset.train_batch_size0");
    require_positive(c, o.val_batch_size, "dataset.val_batch_size0");
    require_positive(c, o.max_epochs, "scheduler.max_epochs");
    require_positive(c, o.log_freq, "common.log_freq");
    if (o.workers < 0) throw std::invalid_argument(fmt::format("config: {}: must be >= 0", c.describe("dataset.workers")));
    if (o.label_smoothing < 0 || o.label_smoothing >= 1)
      throw std::invalid_argument(
          fmt::format("config: {}: expected 0 <= value < 1", c.describe("loss.classification.cross_entropy.label_smoothing")));
    if (o.grad_clip && *o.grad_clip <= 0)
      throw std::invalid_argument(fmt::format("config: {}: must be > 0", c.describe("common.grad_clip")));
    return o;
  });
}

Recipe Recipe::from_config(Config config) {
  Recipe r;
  static_cast<EvalRecipe&>(r) = EvalRecipe::from_config(std::move(config));
  r.train_pipeline = BytePipelineOptions::from_config(r.config, r.modality, /*training=*/true);
  r.trainer = TrainerOptions::from_config(r.config);
  r.optimizer = OptimizerOptions::from_config(r.config);
  r.schedule = CosineScheduleOptions::from_config(r.config);
  return r;
}

std::string Recipe::summary() const {
  const auto& m = model;
  std::string out = fmt::format("config {} OK\n", config.path());
  out += fmt::format("model: ByteFormer {} C={} layers={} classes={} kernel={} windows={}\n", m.mode, m.embed_dim,
                     m.num_layers, m.n_classes, m.conv_kernel_size, fmt::join(m.window_sizes, ","));
  out += "pipeline: " + train_pipeline.describe() + " | " + eval_pipeline.describe() + "\n";
  out += fmt::format("run folder: {}; epochs {}; batch {} x accum {}; eval batch {}\n", trainer.run_dir,
                     trainer.max_epochs, trainer.train_batch_size, trainer.accum_freq, eval.batch_size);
  if (!check.ignored.empty()) out += describe_ignored(check) + "\n";
  return out;
}

}  // namespace byteformer
