// `byteformer eval`: top1, top5, loss and samples/s of weights over dataset.root_val.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "byteformer/classify/eval_recipe.h"
#include "byteformer/classify/evaluator.h"
#include "byteformer/classify/metrics.h"
#include "byteformer/io/config_schema.h"
#include "byteformer/io/display_name.h"
#include "byteformer/model/device.h"
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
    std::string data;
    bool per_class = false;
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
  auto* split = cmd->add_option("--split", args->split, "validation or test (the config's dataset.root_test)")
                    ->check(CLI::IsMember({"validation", "val", "test"}));
  cmd->add_option("--data", args->data,
                  "Evaluate on this folder of class folders (named as the model's classes) instead of a split")
      ->excludes(split);
  cmd->add_option("--batch-size", args->batch_size, "Samples per forward pass")
      ->check(positive_int())
      ->default_str("dataset.eval_batch_size0, else val_batch_size0, else train_batch_size0");
  cmd->add_flag("--per-class", args->per_class,
                "Print each class's precision, recall and F1 (printed anyway for up to 50 classes)");
  add_precision_flags(cmd, args->precision, /*allow_auto=*/false);
  cmd->callback([args] {
    apply_threads(args->model);
    args->model.check_source();
    const LoadedModel loaded = load_model(args->model.spec());
    const std::string& weights = loaded.weights;
    const EvalRecipe recipe = EvalRecipe::from_config(loaded.config);
    if (!recipe.check.ignored.empty() && !args->json) std::cerr << describe_ignored(recipe.check) << "\n";
    EvaluationRequest request;
    request.split = args->split == "test" ? Split::kTest : Split::kValidation;
    request.data_dir = args->data;
    request.batch_size = args->batch_size;
    request.precision = args->precision.requested();
    request.confusion_csv = args->confusion_csv;
    request.predictions = args->predictions;
    request.progress = args->json ? nullptr : &std::cerr;
    const Evaluation evaluation = run_evaluation(loaded, recipe, request);
    for (const auto& w : evaluation.warnings) std::cerr << "warning: " << w << "\n";
    const EvalResult& r = evaluation.result;
    const DatasetIndex& index = *evaluation.index;
    const Precision precision = evaluation.precision;
    for (const auto& e : r.errors) std::cerr << "warning: skipped undecodable sample: " << e << "\n";
    const auto& m = r.metrics;
    const std::vector<ClassScores> scores = class_scores(r.confusion);
    const double mf1 = macro_f1(scores);
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
      j["macro_f1"] = mf1;
      j["per_class"] = nlohmann::json::array();
      for (size_t c = 0; c < scores.size(); ++c)
        j["per_class"].push_back({{"label", display_name(c < index.classes.size() ? index.classes[c] : std::to_string(c))},
                                  {"support", scores[c].support},
                                  {"predicted", scores[c].predicted},
                                  {"precision", scores[c].precision},
                                  {"recall", scores[c].recall},
                                  {"f1", scores[c].f1}});
      std::cout << j.dump() << "\n";
      return;
    }
    if (!loaded.numerics_note.empty()) std::cerr << loaded.numerics_note << "\n";
    if (!args->model.run_dir.empty()) std::cerr << "eval: weights " << display_name(weights) << "\n";
    std::cout << fmt::format("{}: top1 {:.2f} top5 {:.2f} macro-F1 {:.4f} loss {:.4f} ({} samples, {} skipped, {:.1f} "
                             "samples/s, {})\n",
                             index.description, m.top1_pct(), m.top5_pct(), mf1, m.loss(), m.samples, m.skipped,
                             r.samples_per_s, to_string(precision));
    if (args->per_class || scores.size() <= 50) {
      size_t width = 5;
      for (const auto& name : index.classes) width = std::max(width, display_name(name).size());
      std::cout << fmt::format("{:<{}}  {:>9}  {:>6}  {:>6}  {:>6}\n", "class", width, "precision", "recall", "f1",
                               "files");
      for (size_t c = 0; c < scores.size(); ++c)
        std::cout << fmt::format("{:<{}}  {:>9.4f}  {:>6.4f}  {:>6.4f}  {:>6}\n",
                                 display_name(c < index.classes.size() ? index.classes[c] : std::to_string(c)), width,
                                 scores[c].precision, scores[c].recall, scores[c].f1, scores[c].support);
    }
  });
}

}  // namespace byteformer::cli
