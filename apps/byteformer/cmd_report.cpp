// `byteformer report --run DIR --out report.html`: an HTML page with the loss/accuracy curves
// of a training run (DIR/metrics.jsonl), the confusion matrix and eval results (byteformer/report/report.h).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "byteformer/io/checkpoint.h"
#include "byteformer/io/file.h"
#include "commands.h"
#include "byteformer/report/report.h"

namespace byteformer::cli {
namespace {

struct ReportFlags {
  std::string run;
  std::string metrics;
  std::string confusion;
  std::string eval_json;
  std::string predictions;
  std::string eval_samples;
  std::string eval_samples_title = "evaluation";
  std::string title = "ByteFormer training report";
  std::vector<std::string> notes;
  std::string out;
};

std::string slurp(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  return {bytes.begin(), bytes.end()};
}

void run_report(const ReportFlags& f) {
  namespace fs = std::filesystem;
  report::ReportInputs in;
  in.title = f.title;
  in.run_dir = f.run;
  const std::string metrics = !f.metrics.empty() ? f.metrics : (fs::path(f.run) / "metrics.jsonl").string();
  if (f.run.empty() && f.metrics.empty()) throw std::runtime_error("report: give --run DIR or --metrics FILE");
  in.metrics = report::read_metrics_jsonl(metrics);
  if (!f.confusion.empty()) {
    in.confusion = report::read_confusion_csv(f.confusion);
    in.has_confusion = true;
  }
  if (!f.eval_json.empty()) {
    const std::string text = slurp(f.eval_json);
    // The eval command's --json output: the last line that is a JSON object.
    std::string last;
    for (size_t start = 0; start < text.size();) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      const std::string line = text.substr(start, end - start);
      if (!line.empty() && line.front() == '{') last = line;
      start = end + 1;
    }
    try {
      in.eval = nlohmann::json::parse(last);
    } catch (const std::exception& e) {
      throw std::runtime_error("report: '" + f.eval_json + "' holds no JSON object: " + e.what());
    }
  }
  if (!f.predictions.empty()) in.predictions = slurp(f.predictions);
  if (!f.eval_samples.empty()) in.eval_samples = read_eval_samples(f.eval_samples);
  in.eval_samples_title = f.eval_samples_title;
  for (const auto& n : f.notes) {
    const auto eq = n.find('=');
    if (eq == std::string::npos) throw std::runtime_error("report: --note expects KEY=VALUE, got '" + n + "'");
    in.notes.emplace_back(n.substr(0, eq), n.substr(eq + 1));
  }
  const std::string html = report::render_report_html(in);
  if (fs::path(f.out).has_parent_path()) fs::create_directories(fs::path(f.out).parent_path());
  write_file_atomic(f.out, html.data(), html.size());
  std::cerr << "report: " << in.metrics.epochs.size() << " epochs"
            << (in.has_confusion ? ", confusion matrix" : "") << "\n";
  std::cout << fs::absolute(f.out).string() << "\n";
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto f = std::make_shared<ReportFlags>();
  CLI::App* cmd = app.add_subcommand("report", "Write an HTML report (loss/accuracy curves as SVG, confusion "
                                                "matrix, eval results) of a training run");
  cmd->add_option("--run", f->run, "The run folder (common.results_loc/common.run_label) with metrics.jsonl");
  cmd->add_option("--metrics", f->metrics, "The metrics JSON lines file (default RUN/metrics.jsonl)");
  cmd->add_option("--confusion", f->confusion, "Confusion matrix CSV (byteformer eval --confusion-csv)");
  cmd->add_option("--eval-json", f->eval_json, "Output of byteformer eval --json");
  cmd->add_option("--predictions", f->predictions, "byteformer predict output: --json lines as thumbnails with bars, text verbatim");
  cmd->add_option("--eval-samples", f->eval_samples,
                  "Output of byteformer eval --predictions: per-class accuracy and the most confident mistakes");
  cmd->add_option("--eval-samples-title", f->eval_samples_title, "What those samples are (e.g. \"test split\")")
      ->capture_default_str();
  cmd->add_option("--title", f->title, "Page title")->capture_default_str();
  cmd->add_option("--note", f->notes, "KEY=VALUE rows added to the summary table (repeatable)");
  cmd->add_option("--out", f->out, "The HTML file to write")->required();
  cmd->callback([f] { run_report(*f); });
}

}  // namespace byteformer::cli
