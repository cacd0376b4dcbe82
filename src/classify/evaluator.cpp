#include "byteformer/classify/evaluator.h"

#include <fmt/format.h>

#include "byteformer/data/class_folders.h"
#include "byteformer/data/sampler.h"
#include "byteformer/io/display_name.h"
#include "byteformer/io/file.h"
#include "byteformer/io/run_folder.h"
#include "byteformer/model/device.h"
#include "byteformer/model/precision.h"
#include "byteformer/io/progress.h"

namespace byteformer {

EvalResult evaluate(ByteFormer& model, DataLoader& loader, std::vector<std::vector<int64_t>> batches,
                    const EvalOptions& options) {
  EvalResult r;
  r.confusion = ConfusionMatrix(model->options().n_classes);
  const bool was_training = model->is_training();
  const torch::Device device = module_device(*model);
  model->eval();
  const int64_t total = static_cast<int64_t>(batches.size());
  loader.start(std::move(batches), /*epoch=*/0);
  ProgressBar bar(options.progress, options.label, total, options.progress && stderr_is_terminal(), options.log_every);
  {
    torch::InferenceMode guard;
    int64_t done = 0;
    double total_bytes = 0, total_tokens = 0;
    while (auto batch = loader.next()) {
      ++done;
      r.errors.insert(r.errors.end(), batch->errors.begin(), batch->errors.end());
      r.metrics.skipped += static_cast<int64_t>(batch->errors.size());
      if (batch->size() == 0) continue;
      const auto lengths = (batch->bytes >= 0).sum(1).to(torch::kCPU);  // (B,) real bytes per row
      for (int64_t b = 0; b < batch->size(); ++b) {
        const int64_t n = lengths[b].item<int64_t>();
        total_bytes += static_cast<double>(n);
        total_tokens += static_cast<double>(model->options().tokens_after_conv(n));
      }
      torch::Tensor logits;  // (B, K)
      {
        AutocastGuard autocast(options.mixed_precision, device.type());
        logits = model->forward(batch->bytes.to(device));
      }
      logits = logits.to(torch::kCPU, torch::kFloat32);
      const double loss = classification_loss(logits, batch->labels, torch::Tensor(), 0.0).item<double>();
      r.metrics.add(logits, batch->labels, loss);
      r.confusion.add(logits, batch->labels);
      if (options.keep_samples) {
        const auto probs = torch::softmax(logits, 1);  // (B, K)
        const auto [top, arg] = probs.max(1);
        const auto labels = batch->labels.to(torch::kCPU);
        for (int64_t b = 0; b < batch->size(); ++b) {
          SampleOutcome s;
          s.index = batch->indices[static_cast<size_t>(b)];
          s.label = labels[b].item<int64_t>();
          s.predicted = arg[b].item<int64_t>();
          s.prob = top[b].item<double>();
          s.label_prob = probs[b][s.label].item<double>();
          r.samples.push_back(s);
        }
      }
      bar.update(done, r.metrics.samples, r.metrics.loss());
    }
    if (r.metrics.samples > 0) {
      r.mean_bytes = total_bytes / static_cast<double>(r.metrics.samples);
      r.mean_tokens = total_tokens / static_cast<double>(r.metrics.samples);
    }
  }
  bar.finish();
  r.seconds = bar.elapsed_s();
  r.samples_per_s = r.seconds > 0 ? static_cast<double>(r.metrics.samples) / r.seconds : 0.0;
  if (was_training) model->train();
  return r;
}

Evaluation run_evaluation(const LoadedModel& loaded, const EvalRecipe& recipe, const EvaluationRequest& request) {
  Evaluation out;
  std::shared_ptr<DatasetIndex> index;
  if (request.data_dir.empty()) {
    // The model's class names number the folders (a split may lack a rare class). Without
    // names, or when the folders are not named as the classes (CoreNet's ImageNet synsets
    // beside a --labels file of readable names), the folders' own order.
    try {
      index = std::make_shared<DatasetIndex>(load_dataset(recipe.config, request.split, /*seed=*/0, loaded.labels));
    } catch (const std::runtime_error&) {
      if (loaded.labels.empty()) throw;
      index = std::make_shared<DatasetIndex>(load_dataset(recipe.config, request.split, /*seed=*/0));
    }
  } else {
    if (loaded.labels.empty())
      throw std::runtime_error(fmt::format("evaluating on {}: the model's class names are unknown (weights without "
                                           "the trainer's sidecar): give them, one a line, as labels",
                                           request.data_dir));
    FolderScan scan;
    scan.modality = recipe.modality;
    scan.classes = loaded.labels;
    index = std::make_shared<DatasetIndex>(scan_class_folders(request.data_dir, scan));
  }
  out.index = index;
  if (static_cast<int64_t>(index->classes.size()) != loaded.model->options().n_classes)
    throw std::runtime_error(fmt::format("{} has {} classes but the model has {} (model.classification.n_classes)",
                                         index->description, index->classes.size(), loaded.model->options().n_classes));
  if (!loaded.labels.empty() && loaded.labels != index->classes)
    out.warnings.push_back("the weights' class names differ from the dataset's folders");
  auto pipeline = std::make_shared<BytePipeline>(recipe.eval_pipeline, index);
  DataLoader loader(pipeline, LoaderOptions{recipe.eval.workers, recipe.eval.prefetch, 0});
  SamplerOptions sampler;
  sampler.batch_size = request.batch_size > 0 ? request.batch_size : recipe.eval.batch_size;
  sampler.shuffle = false;
  out.precision =
      resolve_precision(request.precision, recipe.eval.mixed_precision, module_device(*loaded.model).type());
  EvalOptions opts;
  opts.mixed_precision = out.precision == Precision::kBFloat16;
  opts.progress = request.progress;
  opts.keep_samples = request.keep_samples || !request.predictions.empty();
  ByteFormer model = loaded.model;
  {
    Int8InferenceGuard int8(out.precision == Precision::kInt8);  // the forward passes run in this thread
    out.result = evaluate(model, loader, make_epoch_batches(static_cast<int64_t>(index->size()), sampler, 0), opts);
  }
  if (!request.confusion_csv.empty()) {
    const std::string csv = out.result.confusion.to_csv(index->classes);
    write_file_atomic(request.confusion_csv, csv.data(), csv.size());
  }
  if (!request.predictions.empty()) {
    const auto name = [&](int64_t c) { return index->classes.at(static_cast<size_t>(c)); };
    std::vector<EvalSample> samples;
    samples.reserve(out.result.samples.size());
    for (const auto& s : out.result.samples)
      samples.push_back({display_name(index->samples.at(static_cast<size_t>(s.index)).path), name(s.label),
                         name(s.predicted), s.prob, s.label_prob});
    write_eval_samples(request.predictions, samples);
  }
  return out;
}

}  // namespace byteformer
