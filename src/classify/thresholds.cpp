#include "byteformer/classify/thresholds.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "byteformer/classify/eval_recipe.h"
#include "byteformer/io/file.h"
#include "byteformer/io/run_folder.h"
#include "byteformer/model/model_loader.h"

namespace byteformer {

double ClassThresholds::for_class(int64_t c) const {
  if (c < 0 || c >= static_cast<int64_t>(per_class.size())) return 0.0;
  return per_class[static_cast<size_t>(c)];
}

ClassThresholds ClassThresholds::calibrate(const std::vector<SampleOutcome>& samples, int64_t n_classes,
                                           double target_precision, double floor) {
  ClassThresholds t;
  t.target_precision = target_precision;
  t.floor = floor;
  t.samples = static_cast<int64_t>(samples.size());
  t.per_class.assign(static_cast<size_t>(std::max<int64_t>(n_classes, 0)), floor);
  std::vector<std::vector<std::pair<double, bool>>> by_class(t.per_class.size());
  for (const auto& s : samples)
    if (s.predicted >= 0 && s.predicted < n_classes)
      by_class[static_cast<size_t>(s.predicted)].emplace_back(s.prob, s.predicted == s.label);
  for (size_t c = 0; c < by_class.size(); ++c) {
    auto& preds = by_class[c];
    if (preds.empty()) continue;
    std::sort(preds.begin(), preds.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    double threshold = -1.0;
    int64_t right = 0;
    for (size_t i = 0; i < preds.size(); ++i) {
      right += preds[i].second ? 1 : 0;
      // Only at the last of equal probabilities: a threshold keeps all of them or none.
      if (i + 1 < preds.size() && preds[i + 1].first == preds[i].first) continue;
      if (static_cast<double>(right) >= target_precision * static_cast<double>(i + 1)) threshold = preds[i].first;
    }
    if (threshold < 0) {  // wrong even at the top: just above the highest wrong probability
      for (const auto& [p, correct] : preds)
        if (!correct) {
          threshold = std::min(1.0, std::nextafter(p, 2.0));
          break;
        }
    }
    t.per_class[c] = std::max(floor, threshold);
  }
  return t;
}

ClassThresholds calibrate_run(const std::string& run_dir, std::ostream* progress) {
  const RunFolder run = find_run_folder(run_dir);
  const LoadedModel loaded = load_run_model(run);
  const EvalRecipe recipe = EvalRecipe::from_config(loaded.config);
  EvaluationRequest request;
  request.split = Split::kValidation;
  request.keep_samples = true;
  request.progress = progress;
  const Evaluation evaluation = run_evaluation(loaded, recipe, request);
  const ClassThresholds t =
      ClassThresholds::calibrate(evaluation.result.samples, loaded.model->options().n_classes);
  write_thresholds(RunFiles(run_dir).thresholds(), t, evaluation.index->classes);
  return t;
}

void write_thresholds(const std::string& path, const ClassThresholds& t, const std::vector<std::string>& classes) {
  if (classes.size() != t.per_class.size())
    throw std::invalid_argument(fmt::format("{}: {} thresholds for {} classes", path, t.per_class.size(), classes.size()));
  nlohmann::json j;
  j["target_precision"] = t.target_precision;
  j["floor"] = t.floor;
  j["samples"] = t.samples;
  j["thresholds"] = nlohmann::json::object();
  for (size_t c = 0; c < classes.size(); ++c) j["thresholds"][classes[c]] = t.per_class[c];
  const std::string text = j.dump(2) + "\n";
  write_file_atomic(path, text.data(), text.size());
}

ClassThresholds read_thresholds(const std::string& path, const std::vector<std::string>& classes) {
  constexpr int64_t kMaxBytes = int64_t{16} << 20;
  const auto bytes = read_file(path, kMaxBytes);
  ClassThresholds t;
  try {
    const auto j = nlohmann::json::parse(bytes.begin(), bytes.end());
    t.target_precision = j.at("target_precision").get<double>();
    t.floor = j.at("floor").get<double>();
    t.samples = j.at("samples").get<int64_t>();
    const auto& by_name = j.at("thresholds");
    for (const auto& name : classes) {
      if (!by_name.contains(name)) throw std::runtime_error(fmt::format("no threshold for class '{}'", name));
      const double v = by_name.at(name).get<double>();
      if (!(v >= 0.0 && v <= 1.0)) throw std::runtime_error(fmt::format("class '{}': threshold {} is not in [0, 1]", name, v));
      t.per_class.push_back(v);
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: not a thresholds file for this model's {} classes: {}", path,
                                         classes.size(), e.what()));
  }
  return t;
}

}  // namespace byteformer
