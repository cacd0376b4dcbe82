// The training run folder (what `byteformer train` writes into common.results_loc /
// common.run_label) and the records kept in it, defined once for every reader and writer: the
// trainer writes it, `predict --model`, `eval --model`, `serve` and the C API pick its weights,
// `report` draws its curves.
//
//   const RunFolder run = find_run_folder("results/fashion_mnist");  // config + best weights
//   for (const auto& line : read_metrics(RunFiles(run.dir).metrics())) ...
//
// metrics.jsonl holds one JSON object a line, appended once per epoch. A run killed during an
// append leaves a last line cut short, without its newline: every reader ignores such a line
// when it does not parse; any other line that is not a JSON object is an error naming the file
// and the line ("metrics.jsonl:2: not JSON").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace byteformer {

/// File names inside a run folder (CoreNet's names for the weights).
struct RunFiles {
  explicit RunFiles(std::string dir) : dir(std::move(dir)) {}
  std::string dir;
  std::string last() const { return dir + "/checkpoint_last.pt"; }
  std::string best() const { return dir + "/checkpoint_best.pt"; }
  std::string ema_last() const { return dir + "/checkpoint_ema_last.pt"; }
  std::string ema_best() const { return dir + "/checkpoint_ema_best.pt"; }
  std::string state() const { return dir + "/training_state_last.pt"; }
  std::string metrics() const { return dir + "/metrics.jsonl"; }
  std::string config() const { return dir + "/config.yaml"; }
  /// The calibrated per-class thresholds (classify/thresholds.h).
  std::string thresholds() const { return dir + "/thresholds.json"; }
};

/// A run folder's config and the weights to classify with: the better of its best and EMA-best
/// weights by validation top-1 (metrics.jsonl).
struct RunFolder {
  std::string dir;
  std::string config;      // DIR/config.yaml
  std::string weights;     // DIR/checkpoint_best.pt or DIR/checkpoint_ema_best.pt
  double val_top1 = -1.0;  // the chosen weights' best validation top-1 (-1: not recorded)
  bool ema = false;        // the EMA weights were chosen
  std::string thresholds;  // DIR/thresholds.json, "" when the run has none
};

/// Finds a run folder's config and best weights; throws std::invalid_argument naming the
/// folder and the missing file, or metrics.jsonl's line that cannot be read.
RunFolder find_run_folder(const std::string& dir);

/// The most bytes a metrics.jsonl or predictions file may hold (a guard against a wrong path).
constexpr int64_t kMaxRecordFileBytes = int64_t{256} << 20;

/// Reads JSON lines (metrics.jsonl's rule above; blank lines are skipped). Throws
/// std::runtime_error naming the path and line. A missing file is an error too.
/// `line_numbers`, when given, receives each record's line (1-based).
std::vector<nlohmann::json> read_json_lines(const std::string& path, std::vector<int64_t>* line_numbers = nullptr);
/// Appends one record as a line and flushes it; throws std::runtime_error naming the path.
void append_json_line(const std::string& path, const nlohmann::json& record);

/// One evaluated sample: a line of `byteformer eval --predictions` (read by `report`).
struct EvalSample {
  std::string file, label, predicted;
  double prob = 0, label_prob = 0;  // probability of `predicted`, of the true label
};
nlohmann::json to_json(const EvalSample& sample);
/// Throws std::invalid_argument naming the missing or mistyped field.
EvalSample eval_sample_from_json(const nlohmann::json& record);
/// Writes the samples as JSON lines (write_file_atomic).
void write_eval_samples(const std::string& path, const std::vector<EvalSample>& samples);
/// Reads `eval --predictions` lines; errors name the path and line.
std::vector<EvalSample> read_eval_samples(const std::string& path);

}  // namespace byteformer
