// Classifying files with a trained ByteFormer: the library API behind `byteformer predict`
// (and the server). As docs/MODEL.md says of predict: by default a file goes through the config's evaluation
// pipeline (decode, resize, centre crop, encode as pil_save / torchaudio_save says, the
// privacy transforms), so the model sees exactly the bytes `byteformer eval` would feed it for
// that file; `raw` feeds bytes as they are (a client that prepared them itself).
//
//   ClassifierOptions opts;
//   opts.run_dir = "runs/fashion_mnist";   // or opts.model.config_path + opts.model.weights
//   const Classifier clf = Classifier::open(opts);
//   const std::vector<uint8_t> file = read_file("shoe.png", clf.max_file_bytes(/*raw=*/false));
//   const Classification c = clf.classify(file, "shoe.png");
//   if (c.ok()) std::cout << c.top[0].label << " " << c.top[0].prob << "\n";  // "Sneaker 0.97"
//
// A Classifier is safe to use from several threads: preparing bytes runs in the caller's
// thread; forward passes are serialised on one lock (LibTorch already uses every core for one).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "byteformer/data/byte_pipeline.h"
#include "byteformer/model/inference.h"
#include "byteformer/model/model_loader.h"
#include "byteformer/classify/eval_recipe.h"
#include "byteformer/classify/thresholds.h"
#include "byteformer/io/run_folder.h"
#include "byteformer/model/precision.h"

namespace byteformer {

struct ClassifierOptions {
  /// A training run folder; when set, the config and weights come from it (`model.config_path`
  /// and `model.weights` must then be empty; overrides, numerics and labels still apply).
  std::string run_dir;
  ModelSpec model;
  int64_t top_k = 5;             // classes in Classification::top
  int64_t max_batch_size = 8;    // rows per forward pass in classify_batch
  /// The forward pass's arithmetic (--precision): float32 or bf16 autocast on the model's
  /// device (`model.device`, --device). Unset: eval's rule (resolve_precision: float32 on the
  /// CPU, the config's common.mixed_precision on CUDA), so a file gets the numbers eval gives it.
  std::optional<Precision> precision;
  /// Calibrated per-class thresholds (thresholds.json, classify/thresholds.h); "" with run_dir
  /// set: the run folder's own, when it has them.
  std::string thresholds;
};

/// Whether `pipeline` changes an input's bytes (see Classifier::uses_pipeline).
bool changes_bytes(const BytePipeline& pipeline, bool raw);
/// The most bytes worth reading for one input (see Classifier::max_file_bytes).
/// `model_max_input_bytes`: ByteFormerOptions::max_input_bytes.
int64_t input_byte_limit(const BytePipeline& pipeline, int64_t model_max_input_bytes, bool raw);
/// Reads one input file as the pipeline needs it: for a model of any file (bytes) that is not
/// fed raw, a regular file's byte window only (a 50 GB file costs what a 4 KB one does); else
/// the whole file, fifo or pipe, at most `max_bytes` (read_file's rules and errors).
std::vector<uint8_t> read_input_file(const BytePipelineOptions& pipeline, const std::string& path, bool raw,
                                     int64_t max_bytes, double pipe_wait_s);
/// Classifier::prepare's work, for any holder of the evaluation pipeline (the classifier, the
/// privacy client of `predict --server`): `bytes` through `pipeline` (as they are when raw),
/// with the generator the eval loader gives sample `position`; bytes over `max_bytes` or that
/// cannot be decoded give ModelInput::error naming `name`. Never throws.
ModelInput prepare_input(const BytePipeline& pipeline, const std::vector<uint8_t>& bytes, const std::string& name,
                         bool raw, int64_t position, int64_t max_bytes);

class Classifier {
 public:
  /// Loads the config and weights (load_model's rules); refuses a model without weights. The
  /// config becomes an EvalRecipe, as `eval` reads it: the files go through its eval_pipeline.
  static Classifier open(const ClassifierOptions& options);

  /// Prepares and classifies one buffer. `position` seeds the pipeline's random draws as the
  /// eval loader seeds sample `position` (docs/MODEL.md; only privacy transforms draw at eval).
  /// Never throws for bad bytes: the reason is in Classification::error.
  Classification classify(const std::vector<uint8_t>& bytes, const std::string& name, bool raw = false,
                          int64_t position = 0) const;
  /// Several buffers, forward passes of up to max_batch_size rows; one answer per buffer, in order.
  std::vector<Classification> classify_batch(const std::vector<std::vector<uint8_t>>& buffers,
                                             const std::vector<std::string>& names, bool raw = false) const;

  /// The two halves of classify, for callers that keep the prepared bytes (predict
  /// --dump-inputs, a batching server): the bytes the model would see, or the error.
  ModelInput prepare(const std::vector<uint8_t>& bytes, const std::string& name, bool raw = false,
                     int64_t position = 0) const;
  /// Classifies prepared inputs (forward passes of up to max_batch_size rows).
  std::vector<Classification> classify_prepared(const std::vector<ModelInput>& inputs, bool raw) const;

  /// The most bytes worth reading for one input: the model's limit when raw or when the config
  /// has no decoding step, else what the decoders accept (256 MiB).
  int64_t max_file_bytes(bool raw) const {
    return input_byte_limit(*pipeline_, model_options().max_input_bytes(), raw);
  }
  /// True when prepare() changes the bytes: it decodes and re-encodes them, or the config has
  /// privacy transforms (false when raw was asked, or the config has neither).
  bool uses_pipeline(bool raw) const { return changes_bytes(*pipeline_, raw); }
  /// "raw", or the evaluation pipeline in one line.
  std::string input_description(bool raw) const;

  const std::vector<std::string>& labels() const { return loaded_->labels; }
  /// The calibrated per-class thresholds (empty when the model has none).
  const ClassThresholds& thresholds() const { return *thresholds_; }
  int64_t num_classes() const;
  const Config& config() const { return loaded_->config; }
  /// The config read once (its check: the keys it accepts without effect).
  const EvalRecipe& recipe() const { return *recipe_; }
  const ByteFormerOptions& model_options() const { return loaded_->model->options(); }
  const BytePipelineOptions& pipeline_options() const { return pipeline_->options(); }
  /// True when prepare() decodes and re-encodes files (not raw): the costly, memory-hungry part.
  bool decodes() const { return pipeline_->decodes(); }
  /// How the numeric mode was chosen (load_model's note).
  const std::string& numerics_note() const { return loaded_->numerics_note; }
  /// Where the weights came from.
  const std::string& weights_path() const { return loaded_->weights; }
  const ClassifierOptions& options() const { return options_; }
  /// The arithmetic the forward passes run in (options().precision, else the config's).
  Precision precision() const { return precision_; }

 private:
  Classifier() = default;

  ClassifierOptions options_;
  Precision precision_ = Precision::kFloat32;
  std::shared_ptr<LoadedModel> loaded_;
  std::shared_ptr<const EvalRecipe> recipe_;
  std::shared_ptr<const DatasetIndex> index_;
  std::shared_ptr<const BytePipeline> pipeline_;
  std::shared_ptr<std::mutex> forward_mutex_;
  std::shared_ptr<const ClassThresholds> thresholds_;
};

}  // namespace byteformer
