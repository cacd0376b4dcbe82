// Evaluation over a split: loss (no label smoothing, as CoreNet evaluates), top1, top5,
// samples/s and a confusion matrix.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "byteformer/data/loader.h"
#include "byteformer/model/byteformer.h"
#include "byteformer/train/metrics.h"

namespace byteformer {

struct EvalResult {
  EpochMetrics metrics;
  ConfusionMatrix confusion;
  double seconds = 0;
  double samples_per_s = 0;
  std::vector<std::string> errors;  // files skipped
};

struct EvalOptions {
  bool mixed_precision = false;
  std::ostream* progress = nullptr;  // progress bar stream, or none
  std::string label = "eval";
  int64_t log_every = 50;
};

/// Runs `model` in eval mode under InferenceMode on every batch of `batches` (see
/// make_epoch_batches with shuffle off), restoring the previous train/eval mode afterwards.
EvalResult evaluate(ByteFormer& model, DataLoader& loader, std::vector<std::vector<int64_t>> batches,
                    const EvalOptions& options);

}  // namespace byteformer
