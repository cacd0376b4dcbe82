#include "byteformer/classify/eval_recipe.h"

#include <fmt/format.h>

#include <stdexcept>

namespace byteformer {

EvalSettings EvalSettings::from_config(const Config& c) {
  return parse_options([&] {
    EvalSettings o;
    const int64_t train_batch = c.get_int("dataset.train_batch_size0", 128);
    require_positive(c, train_batch, "dataset.train_batch_size0");
    const int64_t val_batch = c.get_int("dataset.val_batch_size0", train_batch);
    require_positive(c, val_batch, "dataset.val_batch_size0");
    o.batch_size = c.get_int("dataset.eval_batch_size0", val_batch);
    require_positive(c, o.batch_size, "dataset.eval_batch_size0");
    o.workers = c.get_int("dataset.workers", 0);
    if (o.workers < 0) throw std::invalid_argument(fmt::format("config: {}: must be >= 0", c.describe("dataset.workers")));
    o.prefetch = c.get_int("dataset.prefetch_factor", 2);
    o.mixed_precision = c.get_bool("common.mixed_precision", false);
    return o;
  });
}

EvalRecipe EvalRecipe::from_config(Config config) {
  EvalRecipe r;
  r.check = check_config(config);
  r.model = ByteFormerOptions::from_config(config);
  r.model.validate();
  r.modality = config_modality(config);
  r.eval_pipeline = BytePipelineOptions::from_config(config, r.modality, /*training=*/false);
  r.eval = EvalSettings::from_config(config);
  r.config = std::move(config);
  return r;
}

}  // namespace byteformer
