// Evaluation over a split: loss (no label smoothing, as CoreNet evaluates), top1, top5,
// samples/s and a confusion matrix.
#pragma once
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "byteformer/classify/eval_recipe.h"
#include "byteformer/data/dataset.h"
#include "byteformer/data/loader.h"
#include "byteformer/model/model_loader.h"
#include "byteformer/model/precision.h"
#include "byteformer/model/byteformer.h"
#include "byteformer/classify/metrics.h"

namespace byteformer {

/// One evaluated sample (EvalOptions::keep_samples).
struct SampleOutcome {
  int64_t index = 0;      // position in the dataset index
  int64_t label = 0;
  int64_t predicted = 0;  // argmax of the logits
  double prob = 0.0;      // softmax probability of `predicted`
  double label_prob = 0.0;
};

struct EvalResult {
  EpochMetrics metrics;
  ConfusionMatrix confusion;
  double seconds = 0;
  double samples_per_s = 0;
  std::vector<std::string> errors;  // files skipped
  std::vector<SampleOutcome> samples;  // in evaluation order, when keep_samples
  double mean_bytes = 0;   // bytes fed to the model per sample (after the pipeline)
  double mean_tokens = 0;  // tokens after the Conv1d per sample
};

struct EvalOptions {
  bool mixed_precision = false;
  std::ostream* progress = nullptr;  // progress bar stream, or none
  std::string label = "eval";
  int64_t log_every = 50;
  bool keep_samples = false;  // fill EvalResult::samples
};

/// Runs `model` in eval mode under InferenceMode on every batch of `batches` (see
/// make_epoch_batches with shuffle off), restoring the previous train/eval mode afterwards.
EvalResult evaluate(ByteFormer& model, DataLoader& loader, std::vector<std::vector<int64_t>> batches,
                    const EvalOptions& options);

/// What `byteformer eval` asks of run_evaluation.
struct EvaluationRequest {
  Split split = Split::kValidation;
  int64_t batch_size = 0;               // <= 0: the recipe's (EvalSettings::batch_size)
  std::optional<Precision> precision;   // unset: resolve_precision's rule
  std::string confusion_csv;            // set: write the confusion matrix there (CSV)
  std::string predictions;              // set: write one EvalSample line per sample there
  /// Set: evaluate on this folder of class folders (named as the model's classes, a subset of
  /// them) instead of the recipe's split, read with the recipe's file filter.
  std::string data_dir;
  bool keep_samples = false;            // fill EvalResult::samples
  std::ostream* progress = nullptr;     // progress bar stream, or none
};

struct Evaluation {
  EvalResult result;
  std::shared_ptr<const DatasetIndex> index;  // the split evaluated (description, classes, files)
  Precision precision = Precision::kFloat32;  // the arithmetic the forward passes ran in
  std::vector<std::string> warnings;          // for the user: class names that differ, ...
};

/// Evaluates `loaded` (eval mode) on the recipe's dataset split through its evaluation
/// pipeline, and writes the outputs the request names (durably, through write_file_atomic).
/// Throws std::runtime_error when the split's class count differs from the model's, or a
/// data_dir's class folder is not one of the model's classes.
Evaluation run_evaluation(const LoadedModel& loaded, const EvalRecipe& recipe, const EvaluationRequest& request);

}  // namespace byteformer
