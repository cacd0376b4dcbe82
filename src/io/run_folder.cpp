#include "byteformer/io/run_folder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "byteformer/io/file.h"

namespace byteformer {

namespace {

namespace fs = std::filesystem;

// The best of `key` over metrics.jsonl's lines (-1 when no line has it).
double best_metric(const std::vector<nlohmann::json>& lines, const char* key) {
  double best = -1.0;
  for (const auto& m : lines)
    if (m.is_object() && m.contains(key) && m[key].is_number()) best = std::max(best, m[key].get<double>());
  return best;
}

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

}  // namespace

RunFolder find_run_folder(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw std::invalid_argument(fmt::format("run folder {}: not a directory (expected a training run folder)", dir));
  const RunFiles files(dir);
  if (!fs::is_regular_file(files.config(), ec))
    throw std::invalid_argument(
        fmt::format("run folder {}: no config.yaml: not a training run folder (byteformer train writes one in common.results_loc/common.run_label)",
                    dir));
  std::vector<nlohmann::json> lines;
  if (fs::is_regular_file(files.metrics(), ec)) {
    try {
      lines = read_json_lines(files.metrics());
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(e.what());
    }
  }
  RunFolder out;
  out.dir = dir;
  out.config = files.config();
  const bool have_best = fs::is_regular_file(files.best(), ec);
  const bool have_ema = fs::is_regular_file(files.ema_best(), ec);
  if (!have_best && !have_ema)
    throw std::invalid_argument(fmt::format(
        "run folder {}: no checkpoint_best.pt yet (the run has not finished an epoch's validation)", dir));
  const double best = best_metric(lines, "val_top1");
  const double ema = best_metric(lines, "ema_val_top1");
  out.ema = have_ema && (!have_best || ema > best);
  out.weights = out.ema ? files.ema_best() : files.best();
  out.val_top1 = out.ema ? ema : best;
  if (fs::is_regular_file(files.thresholds(), ec)) out.thresholds = files.thresholds();
  return out;
}

std::vector<nlohmann::json> read_json_lines(const std::string& path, std::vector<int64_t>* line_numbers) {
  const std::vector<uint8_t> bytes = read_file(path, kMaxRecordFileBytes);
  const std::string text(bytes.begin(), bytes.end());
  std::vector<nlohmann::json> out;
  size_t begin = 0;
  for (int64_t n = 1; begin < text.size(); ++n) {
    const size_t end = text.find('\n', begin);
    const bool complete = end != std::string::npos;
    const std::string line = text.substr(begin, complete ? end - begin : std::string::npos);
    begin = complete ? end + 1 : text.size();
    if (blank(line)) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      // A run killed mid-append leaves a last line without its newline: not a record yet.
      if (!complete) break;
      throw std::runtime_error(fmt::format("{}:{}: not JSON: {}", path, n, e.what()));
    }
    if (!j.is_object()) throw std::runtime_error(fmt::format("{}:{}: not a JSON object", path, n));
    out.push_back(std::move(j));
    if (line_numbers != nullptr) line_numbers->push_back(n);
  }
  return out;
}

void append_json_line(const std::string& path, const nlohmann::json& record) {
  std::ofstream out(path, std::ios::app);
  out << record.dump() << "\n";
  out.flush();
  if (!out) throw std::runtime_error(fmt::format("{}: cannot append a line: {}", path, std::strerror(errno)));
}

nlohmann::json to_json(const EvalSample& s) {
  return nlohmann::json{{"file", s.file}, {"label", s.label}, {"predicted", s.predicted},
                        {"prob", s.prob}, {"label_prob", s.label_prob}};
}

EvalSample eval_sample_from_json(const nlohmann::json& j) {
  try {
    return {j.at("file").get<std::string>(), j.at("label").get<std::string>(), j.at("predicted").get<std::string>(),
            j.at("prob").get<double>(), j.at("label_prob").get<double>()};
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(fmt::format("expected an eval --predictions record: {}", e.what()));
  }
}

void write_eval_samples(const std::string& path, const std::vector<EvalSample>& samples) {
  std::string lines;
  for (const auto& s : samples) lines += to_json(s).dump() + "\n";
  write_file_atomic(path, lines.data(), lines.size());
}

std::vector<EvalSample> read_eval_samples(const std::string& path) {
  std::vector<EvalSample> out;
  std::vector<int64_t> line_numbers;
  const std::vector<nlohmann::json> lines = read_json_lines(path, &line_numbers);
  for (size_t i = 0; i < lines.size(); ++i) {
    try {
      out.push_back(eval_sample_from_json(lines[i]));
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{}:{}: {}", path, line_numbers[i], e.what()));
    }
  }
  return out;
}

}  // namespace byteformer
