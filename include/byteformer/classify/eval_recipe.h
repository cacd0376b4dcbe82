// What inference needs of a CoreNet config, read once into typed options: the model, the
// evaluation pipeline and how `eval` batches. `predict`, `eval`, `serve` and the C API parse
// this and nothing of the trainer's options (the training recipe, train/recipe.h, extends it).
//
//   const EvalRecipe recipe = EvalRecipe::from_config(load_config("configs/fashion_mnist/tiff.yaml", {}));
//   BytePipeline pipeline(recipe.eval_pipeline, index);
#pragma once
#include <cstdint>

#include "byteformer/data/byte_pipeline.h"
#include "byteformer/data/dataset.h"
#include "byteformer/io/config.h"
#include "byteformer/io/config_schema.h"
#include "byteformer/model/byteformer_options.h"

namespace byteformer {

/// How `eval` runs the evaluation pipeline (the trainer's validation uses the same keys).
struct EvalSettings {
  /// dataset.eval_batch_size0, else dataset.val_batch_size0, else dataset.train_batch_size0.
  int64_t batch_size = 1;
  int64_t workers = 0;     // dataset.workers
  int64_t prefetch = 2;    // dataset.prefetch_factor
  bool mixed_precision = false;  // common.mixed_precision (inference: resolve_precision, CUDA only by default)

  /// Throws std::invalid_argument naming key, value and file of a bad value.
  static EvalSettings from_config(const Config& config);
};

struct EvalRecipe {
  /// The config as loaded (overrides applied): the source of the dataset roots (load_dataset).
  Config config;
  /// Keys accepted without effect (printed as a warning by the commands).
  ConfigCheck check;
  Modality modality = Modality::kImage;
  ByteFormerOptions model;
  BytePipelineOptions eval_pipeline;
  EvalSettings eval;

  /// Checks every key (unknown keys, types, choices) and parses what inference needs; throws
  /// std::invalid_argument naming the key, its value and its file. Touches no data.
  static EvalRecipe from_config(Config config);
};

}  // namespace byteformer
