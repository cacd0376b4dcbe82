// `byteformer eval`: top1, top5, loss and samples/s of weights over dataset.root_val.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "byteformer/data/byte_pipeline.h"
#include "byteformer/data/dataset.h"
#include "byteformer/data/loader.h"
#include "byteformer/data/sampler.h"
#include "byteformer/io/checkpoint.h"
#include "byteformer/io/display_name.h"
#include "byteformer/io/config_schema.h"
#include "byteformer/model/device.h"
#include "byteformer/train/evaluator.h"
#include "byteformer/train/recipe.h"
#include "cli_common.h"
#include "commands.h"

namespace byteformer::cli {

void add_eval_command(CLI::App& app) {
  struct Args {
    ModelFlags model;
    bool json = false;
    std::string confusion_csv;
    std::string predictions;
    std::string split = "validation";
    int64_t batch_size = 0;
    PrecisionFlags precision;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("eval", "Evaluate weights on dataset.root_val (top1, top5, loss)");
  add_model_flags(cmd, args->model, /*weights=*/true, /*run_dir=*/true);
  cmd->add_flag("--json", args->json, "Print one JSON object");
  cmd->add_option("--confusion-csv", args->confusion_csv, "Write the confusion matrix as CSV");
  cmd->add_option("--predictions", args->predictions,
                  "Write one JSON line per sample: file, label, predicted class and their probabilities");
  cmd->add_option("--split", args->split, "validation or test (Speech Commands)")
      ->check(CLI::IsMember({"validation", "val", "test"}));
  cmd->add_option("--batch-size", args->batch_size, "Samples per forward pass")
      ->check(positive_int())
      ->default_str("dataset.eval_batch_size0, else val_batch_size0, else train_batch_size0");
  add_precision_flags(cmd, args->precision);
  cmd->callback([args] {
    apply_threads(args->model);
    args->model.check_source();
    LoadedModel loaded = load_model(args->model.spec());
    const std::string& weights = loaded.weights;
    const Recipe recipe = Recipe::from_config(loaded.config);
    if (!recipe.check.ignored.empty() && !args->json) std::cerr << describe_ignored(recipe.check) << "\n";
    const Split split = args->split == "test" ? Split::kTest : Split::kValidation;
    auto index = std::make_shared<DatasetIndex>(load_dataset(recipe.config, split, /*seed=*/0));
    if (static_cast<int64_t>(index->classes.size()) != loaded.model->options().n_classes)
      throw std::runtime_error(fmt::format("{} has {} classes but the model has {} (model.classification.n_classes)",
                                           index->description, index->classes.size(),
                                           loaded.model->options().n_classes));
    if (!loaded.labels.empty() && loaded.labels != index->classes)
      std::cerr << "warning: the weights' class names differ from the dataset's folders\n";
    auto pipeline = std::make_shared<BytePipeline>(recipe.eval_pipeline, index);
    const int64_t batch = args->batch_size > 0 ? args->batch_size : recipe.eval.batch_size;
    DataLoader loader(pipeline, LoaderOptions{recipe.eval.workers, recipe.eval.prefetch, 0});
    SamplerOptions sampler;
    sampler.batch_size = batch;
    sampler.shuffle = false;
    EvalOptions opts;
    const Precision precision = resolve_precision(args->precision.requested(), recipe.eval.mixed_precision,
                                                  module_device(*loaded.model).type());
    opts.mixed_precision = precision == Precision::kBFloat16;
    opts.progress = args->json ? nullptr : &std::cerr;
    opts.keep_samples = !args->predictions.empty();
    const EvalResult r =
        evaluate(loaded.model, loader, make_epoch_batches(static_cast<int64_t>(index->size()), sampler, 0), opts);
    for (const auto& e : r.errors) std::cerr << "warning: skipped undecodable sample: " << e << "\n";
    if (!args->confusion_csv.empty()) {
      const std::string csv = r.confusion.to_csv(index->classes);
      write_file_atomic(args->confusion_csv, csv.data(), csv.size());
    }
    if (!args->predictions.empty()) {
      std::string lines;
      const auto name = [&](int64_t c) { return index->classes.at(static_cast<size_t>(c)); };
      for (const auto& s : r.samples) {
        nlohmann::json j;
        j["file"] = display_name(index->samples.at(static_cast<size_t>(s.index)).path);
        j["label"] = name(s.label);
        j["predicted"] = name(s.predicted);
        j["prob"] = s.prob;
        j["label_prob"] = s.label_prob;
        lines += j.dump() + "\n";
      }
      write_file_atomic(args->predictions, lines.data(), lines.size());
    }
    const auto& m = r.metrics;
    if (args->json) {
      nlohmann::json j;
      j["top1"] = m.top1_pct();
      j["top5"] = m.top5_pct();
      j["loss"] = m.loss();
      j["samples"] = m.samples;
      j["skipped"] = m.skipped;
      j["samples_per_s"] = r.samples_per_s;
      j["mean_bytes"] = r.mean_bytes;
      j["mean_tokens"] = r.mean_tokens;
      j["numerics"] = to_string(loaded.model->options().numerics);
      j["weights"] = display_name(weights);
      j["device"] = device_name(module_device(*loaded.model));
      j["precision"] = to_string(precision);
      std::cout << j.dump() << "\n";
      return;
    }
    if (!loaded.numerics_note.empty()) std::cerr << loaded.numerics_note << "\n";
    if (!args->model.run_dir.empty()) std::cerr << "eval: weights " << display_name(weights) << "\n";
    std::cout << fmt::format("{}: top1 {:.2f} top5 {:.2f} loss {:.4f} ({} samples, {} skipped, {:.1f} samples/s, {})\n",
                             index->description, m.top1_pct(), m.top5_pct(), m.loss(), m.samples, m.skipped,
                             r.samples_per_s, to_string(precision));
  });
}

}  // namespace byteformer::cli
