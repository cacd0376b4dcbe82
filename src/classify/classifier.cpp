#include "byteformer/classify/classifier.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "byteformer/data/loader.h"
#include "byteformer/io/file.h"
#include "byteformer/train/autocast.h"
#include "byteformer/train/trainer.h"
#include "byteformer/transforms/rng.h"

namespace byteformer {

namespace {

namespace fs = std::filesystem;

// A decoded input may be a large photo or recording; nothing the decoders accept is larger.
constexpr int64_t kMaxDecodedFileBytes = int64_t{256} << 20;

// The best of `key` over metrics.jsonl's lines (-1 when no line has it).
double best_metric(const std::vector<nlohmann::json>& lines, const char* key) {
  double best = -1.0;
  for (const auto& m : lines)
    if (m.contains(key) && m[key].is_number()) best = std::max(best, m[key].get<double>());
  return best;
}

}  // namespace

RunFolder find_run_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw std::invalid_argument(fmt::format("--model {}: not a directory (expected a training run folder)", dir));
  const RunFiles files(dir);
  if (!fs::is_regular_file(files.config(), ec))
    throw std::invalid_argument(
        fmt::format("--model {}: no config.yaml: not a training run folder (byteformer train writes one in common.results_loc/common.run_label)",
                    dir));
  std::vector<nlohmann::json> lines;
  if (fs::is_regular_file(files.metrics(), ec)) {
    const std::vector<uint8_t> bytes = read_file(files.metrics(), /*max_bytes=*/256 << 20);
    std::istringstream in(std::string(bytes.begin(), bytes.end()));
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
      if (line.empty()) continue;
      try {
        lines.push_back(nlohmann::json::parse(line));
      } catch (const nlohmann::json::exception&) {
        // A run killed mid-write leaves a partial last line; any other bad line is an error.
        if (in.peek() == EOF) break;
        throw std::invalid_argument(fmt::format("{}: line {}: not JSON", files.metrics(), n));
      }
    }
  }
  RunFolder out;
  out.config = files.config();
  const bool have_best = fs::is_regular_file(files.best(), ec);
  const bool have_ema = fs::is_regular_file(files.ema_best(), ec);
  if (!have_best && !have_ema)
    throw std::invalid_argument(fmt::format(
        "--model {}: no checkpoint_best.pt yet (the run has not finished an epoch's validation)", dir));
  const double best = best_metric(lines, "val_top1");
  const double ema = best_metric(lines, "ema_val_top1");
  out.ema = have_ema && (!have_best || ema > best);
  out.weights = out.ema ? files.ema_best() : files.best();
  out.val_top1 = out.ema ? ema : best;
  return out;
}

Classifier Classifier::open(const ClassifierOptions& options) {
  if (options.top_k < 1) throw std::invalid_argument(fmt::format("top_k {}: expected >= 1", options.top_k));
  if (options.max_batch_size < 1)
    throw std::invalid_argument(fmt::format("max_batch_size {}: expected >= 1", options.max_batch_size));
  Classifier c;
  c.options_ = options;
  ModelSpec spec = options.model;
  if (!options.run_dir.empty()) {
    if (!spec.config_path.empty() || !spec.weights.empty())
      throw std::invalid_argument("--model RUN_DIR names the config and weights: drop --config and --weights");
    const RunFolder run = find_run_folder(options.run_dir);
    spec.config_path = run.config;
    spec.weights = run.weights;
  }
  spec.require_weights = true;
  c.loaded_ = std::make_shared<LoadedModel>(load_model(spec));
  c.loaded_->model->eval();
  c.recipe_ = std::make_shared<const Recipe>(Recipe::from_config(c.loaded_->config));
  c.precision_ = resolve_precision(options.precision, c.recipe_->eval.mixed_precision, spec.device.type());
  auto index = std::make_shared<DatasetIndex>();
  index->modality = c.recipe_->modality;
  index->classes = c.loaded_->labels;
  index->description = "classifier";
  c.index_ = index;
  c.pipeline_ = std::make_shared<const BytePipeline>(c.recipe_->eval_pipeline, c.index_);
  c.forward_mutex_ = std::make_shared<std::mutex>();
  return c;
}

int64_t Classifier::num_classes() const { return loaded_->model->options().n_classes; }

bool changes_bytes(const BytePipeline& pipeline, bool raw) {
  return !raw && (pipeline.decodes() || pipeline.options().privacy.any_enabled());
}

int64_t input_byte_limit(const BytePipeline& pipeline, int64_t model_max_input_bytes, bool raw) {
  if (!raw && pipeline.decodes()) return kMaxDecodedFileBytes;
  return std::max<int64_t>(model_max_input_bytes, int64_t{1} << 20);
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
  std::vector<Prediction> preds;
  {
    std::lock_guard<std::mutex> lock(*forward_mutex_);
    AutocastGuard autocast(precision_ == Precision::kBFloat16, options_.model.device.type());
    preds = classify_inputs(loaded_->model, inputs, options_.max_batch_size, num_classes(), loaded_->labels);
  }
  const std::string input = input_description(raw);
  std::vector<Classification> out;
  out.reserve(preds.size());
  for (auto& p : preds) {
    Classification c;
    c.name = std::move(p.file);
    c.file_bytes = p.file_bytes;
    c.num_bytes = p.num_bytes;
    c.error = std::move(p.error);
    if (c.ok()) {
      c.input = input;
      c.logits = std::move(p.logits);
      c.probs.resize(p.top.size());
      for (const auto& t : p.top) c.probs[static_cast<size_t>(t.index)] = static_cast<float>(t.prob);
      p.top.resize(std::min<size_t>(p.top.size(), static_cast<size_t>(options_.top_k)));
      c.top = std::move(p.top);
    }
    out.push_back(std::move(c));
  }
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
