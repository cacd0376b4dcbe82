#include "byteformer/classify/classifier.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "byteformer/data/loader.h"
#include "byteformer/io/file.h"
#include "byteformer/model/precision.h"
#include "byteformer/transforms/rng.h"

namespace byteformer {

namespace {

// A decoded input may be a large photo or recording; nothing the decoders accept is larger.
constexpr int64_t kMaxDecodedFileBytes = int64_t{256} << 20;

}  // namespace

Classifier Classifier::open(const ClassifierOptions& options) {
  if (options.top_k < 1) throw std::invalid_argument(fmt::format("top_k {}: expected >= 1", options.top_k));
  if (options.max_batch_size < 1)
    throw std::invalid_argument(fmt::format("max_batch_size {}: expected >= 1", options.max_batch_size));
  Classifier c;
  c.options_ = options;
  ModelSpec spec = options.model;
  if (!options.run_dir.empty()) {
    if (!spec.config_path.empty() || !spec.weights.empty())
      throw std::invalid_argument(
          fmt::format("run folder {}: it names the config and weights; leave model.config_path and model.weights empty",
                      options.run_dir));
    const RunFolder run = find_run_folder(options.run_dir);
    spec.config_path = run.config;
    spec.weights = run.weights;
    if (c.options_.thresholds.empty()) c.options_.thresholds = run.thresholds;
  }
  spec.require_weights = true;
  c.loaded_ = std::make_shared<LoadedModel>(load_model(spec));
  c.loaded_->model->eval();
  c.recipe_ = std::make_shared<const EvalRecipe>(EvalRecipe::from_config(c.loaded_->config));
  c.precision_ = resolve_precision(options.precision, c.recipe_->eval.mixed_precision, spec.device.type());
  auto index = std::make_shared<DatasetIndex>();
  index->modality = c.recipe_->modality;
  index->classes = c.loaded_->labels;
  index->description = "classifier";
  c.index_ = index;
  c.pipeline_ = std::make_shared<const BytePipeline>(c.recipe_->eval_pipeline, c.index_);
  c.forward_mutex_ = std::make_shared<std::mutex>();
  c.thresholds_ = std::make_shared<const ClassThresholds>(
      c.options_.thresholds.empty() ? ClassThresholds{} : read_thresholds(c.options_.thresholds, c.loaded_->labels));
  return c;
}

int64_t Classifier::num_classes() const { return loaded_->model->options().n_classes; }

bool changes_bytes(const BytePipeline& pipeline, bool raw) {
  // A file-bytes model reads its byte window: a whole input from a pipe or a request is cut
  // to it, as a file read through read_byte_window is.
  return !raw && (pipeline.decodes() || pipeline.options().modality == Modality::kBytes ||
                  pipeline.options().privacy.any_enabled());
}

int64_t input_byte_limit(const BytePipeline& pipeline, int64_t model_max_input_bytes, bool raw) {
  if (!raw && (pipeline.decodes() || pipeline.options().modality == Modality::kBytes)) return kMaxDecodedFileBytes;
  return std::max<int64_t>(model_max_input_bytes, int64_t{1} << 20);
}

std::vector<uint8_t> read_input_file(const BytePipelineOptions& pipeline, const std::string& path, bool raw,
                                     int64_t max_bytes, double pipe_wait_s) {
  struct stat st {};
  if (!raw && pipeline.modality == Modality::kBytes && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    return read_byte_window(path, pipeline.window);
  return read_file(path, max_bytes, pipe_wait_s);
}

ModelInput prepare_input(const BytePipeline& pipeline, const std::vector<uint8_t>& bytes, const std::string& name,
                         bool raw, int64_t position, int64_t max_bytes) {
  ModelInput in;
  in.name = name;
  in.file_bytes = static_cast<int64_t>(bytes.size());
  try {
    if (static_cast<int64_t>(bytes.size()) > max_bytes)
      throw std::invalid_argument(
          fmt::format("{}: {} bytes: larger than the {} bytes this model can take", name, bytes.size(), max_bytes));
    if (!changes_bytes(pipeline, raw)) {
      in.bytes.assign(bytes.begin(), bytes.end());
      return in;
    }
    torch::Generator gen = make_generator(sample_seed(/*seed=*/0, /*epoch=*/0, position));
    in.bytes = pipeline.prepare(bytes, name, gen);
  } catch (const std::exception& e) {
    in.bytes.clear();
    in.error = e.what();
  }
  return in;
}

std::string Classifier::input_description(bool raw) const {
  return uses_pipeline(raw) ? pipeline_->options().describe() : std::string("raw");
}

ModelInput Classifier::prepare(const std::vector<uint8_t>& bytes, const std::string& name, bool raw,
                               int64_t position) const {
  return prepare_input(*pipeline_, bytes, name, raw, position, max_file_bytes(raw));
}

std::vector<Classification> Classifier::classify_prepared(const std::vector<ModelInput>& inputs, bool raw) const {
  std::vector<Classification> out;
  {
    std::lock_guard<std::mutex> lock(*forward_mutex_);
    AutocastGuard autocast(precision_ == Precision::kBFloat16, options_.model.device.type());
    Int8InferenceGuard int8(precision_ == Precision::kInt8);
    out = classify_inputs(loaded_->model, inputs, options_.max_batch_size, options_.top_k, loaded_->labels);
  }
  const std::string input = input_description(raw);
  for (auto& c : out)
    if (c.ok()) c.input = input;
  return out;
}

Classification Classifier::classify(const std::vector<uint8_t>& bytes, const std::string& name, bool raw,
                                    int64_t position) const {
  return std::move(classify_prepared({prepare(bytes, name, raw, position)}, raw).front());
}

std::vector<Classification> Classifier::classify_batch(const std::vector<std::vector<uint8_t>>& buffers,
                                                       const std::vector<std::string>& names, bool raw) const {
  if (names.size() != buffers.size())
    throw std::invalid_argument(
        fmt::format("classify_batch: {} buffers but {} names", buffers.size(), names.size()));
  std::vector<ModelInput> inputs;
  inputs.reserve(buffers.size());
  for (size_t i = 0; i < buffers.size(); ++i)
    inputs.push_back(prepare(buffers[i], names[i], raw, static_cast<int64_t>(i)));
  return classify_prepared(inputs, raw);
}

}  // namespace byteformer
