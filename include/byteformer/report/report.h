// The training report of `byteformer report`: one self-contained HTML page with inline SVG
// charts (loss and top-1 per epoch from the trainer's metrics.jsonl), the confusion matrix
// (the CSV `byteformer eval --confusion-csv` writes), per-class accuracy, the most confident
// mistakes and predictions, with the files inlined as thumbnails.
//
//   RunMetrics m = read_metrics_jsonl("results/mnist/metrics.jsonl");
//   ReportInputs in;  in.title = "MNIST";  in.metrics = m;
//   in.confusion = read_confusion_csv("results/mnist/confusion.csv");
//   std::string html = render_report_html(in);
#pragma once
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "byteformer/io/run_folder.h"

namespace byteformer::report {

/// One epoch line of metrics.jsonl: every numeric field, by name (epoch, train_loss, val_loss,
/// train_top1, val_top1, val_top5, ema_val_top1, lr, train_seconds, ...).
struct EpochRecord {
  double epoch = 0;
  std::map<std::string, double> values;
  bool has(const std::string& k) const { return values.count(k) > 0; }
  double get(const std::string& k, double fallback = NAN) const {
    auto it = values.find(k);
    return it == values.end() ? fallback : it->second;
  }
};

struct RunMetrics {
  std::vector<EpochRecord> epochs;  // sorted by epoch; a resumed run's repeated epoch keeps its last line
  bool has(const std::string& k) const {
    return std::any_of(epochs.begin(), epochs.end(), [&](const EpochRecord& e) { return e.has(k); });
  }
};

/// Reads metrics.jsonl (read_json_lines: a killed run's cut-short last line is ignored); lines
/// without an "epoch" number are skipped. Throws std::runtime_error naming the path and line
/// when a line is not JSON or the file cannot be read.
RunMetrics read_metrics_jsonl(const std::string& path);

struct Confusion {
  std::vector<std::string> classes;
  std::vector<std::vector<int64_t>> counts;  // [true][predicted]
  int64_t total() const {
    int64_t n = 0;
    for (const auto& r : counts)
      for (auto v : r) n += v;
    return n;
  }
  int64_t correct() const {
    int64_t n = 0;
    for (size_t i = 0; i < counts.size(); ++i) n += counts[i][i];
    return n;
  }
};

/// The CSV of ConfusionMatrix::to_csv: a header "true\predicted,<class>...", then one row per
/// true class. Throws std::runtime_error naming path and line when it is not square.
Confusion read_confusion_csv(const std::string& path);

/// "Nice" tick step covering [lo, hi] with about `n` ticks.
double nice_step(double lo, double hi, int n);

/// One classified file (`byteformer predict --json`).
struct PredictedFile {
  std::string file;
  std::string error;
  std::vector<std::pair<std::string, double>> top;  // label, probability
};

/// Parses `predict --json` output; returns nothing when `text` is not JSON lines (plain text
/// predictions are then shown verbatim).
std::vector<PredictedFile> parse_predict_json(const std::string& text);

/// RFC 4648 base64 of `bytes` (with padding).
std::string base64(const std::string& bytes);

struct ReportInputs {
  std::string title = "ByteFormer training report";
  std::string run_dir;
  RunMetrics metrics;
  bool has_confusion = false;
  Confusion confusion;
  /// `byteformer eval --json` output (may be null).
  nlohmann::json eval;
  /// `byteformer predict` output: JSON lines are shown as thumbnails with bars, text verbatim.
  std::string predictions;
  /// `byteformer eval --predictions` records (read_eval_samples): per-class accuracy and the confident mistakes.
  std::vector<EvalSample> eval_samples;
  std::string eval_samples_title = "evaluation";
  /// Extra key/value rows for the summary table (encoding, model, commands, ...).
  std::vector<std::pair<std::string, std::string>> notes;
};

/// The whole page: summary table, loss and top-1 curves, the confusion matrix, per-class
/// accuracy, the most confident mistakes and the predictions gallery (what `in` has).
std::string render_report_html(const ReportInputs& in);

}  // namespace byteformer::report
