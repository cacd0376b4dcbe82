// `byteformer predict`: classify files. By default each file goes through the config's
// evaluation pipeline (docs/MODEL.md: decode, resize, centre crop, encode as pil_save /
// torchaudio_save says, the privacy transforms), so the model sees the bytes `eval` would feed
// it for that file; `--raw` feeds the file's bytes as they are. `--server URL` prepares the
// files the same way here and sends only the prepared bytes to a `byteformer serve`.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "byteformer/classify/classification_json.h"
#include "byteformer/classify/classifier.h"
#include "byteformer/io/config_schema.h"
#include "byteformer/io/display_name.h"
#include "byteformer/io/file.h"
#include "byteformer/io/run_folder.h"
#include "byteformer/serve/client.h"
#include "byteformer/io/progress.h"
#include "cli_common.h"
#include "commands.h"

namespace byteformer::cli {

namespace {

namespace fs = std::filesystem;

struct Args {
  ModelFlags model;
  int64_t top_k = 5;
  int64_t batch_size = 1;
  double threshold = -1.0;  // < 0: the model's calibrated thresholds, else 0
  double read_timeout_s = 10.0;
  bool json = false;
  PrecisionFlags precision;
  bool raw = false;
  bool recursive = false;
  std::string dump_inputs;
  std::string server;
  double server_timeout_s = 60.0;
  std::vector<std::string> files;
};

// The paths to classify, in order: files as given, directories (with -r) walked in sorted
// order, "-" for stdin. A directory without -r is an error record of its own.
std::vector<ModelInput> collect(const std::vector<std::string>& args, bool recursive) {
  std::vector<ModelInput> out;
  for (const auto& a : args) {
    std::error_code ec;
    if (a != "-" && fs::is_directory(a, ec)) {
      if (!recursive) {
        ModelInput in;
        in.name = a;
        in.error = fmt::format("{}: is a directory (classify its files with -r/--recursive)", a);
        out.push_back(std::move(in));
        continue;
      }
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(a, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code e2;
        if (!it->is_directory(e2)) found.push_back(it->path().string());
      }
      if (ec) {
        ModelInput in;
        in.name = a;
        in.error = fmt::format("{}: cannot list: {}", a, ec.message());
        out.push_back(std::move(in));
      }
      std::sort(found.begin(), found.end());
      for (auto& f : found) out.push_back(ModelInput{std::move(f), {}, -1, ""});
      continue;
    }
    out.push_back(ModelInput{a, {}, -1, ""});
  }
  return out;
}

// Reads the input's file (at most what the classifier can take) and prepares its bytes with
// the generator the eval loader would give sample `position`.
template <typename C>
ModelInput read_and_prepare(const ModelInput& listed, const C& clf, bool raw, int64_t position,
                            double read_timeout_s) {
  const std::string path = listed.name == "-" ? "/dev/stdin" : listed.name;
  std::vector<uint8_t> bytes;
  try {
    bytes = read_input_file(clf.pipeline_options(), path, raw, clf.max_file_bytes(raw), read_timeout_s);
  } catch (const std::runtime_error& e) {
    ModelInput in = listed;
    in.error = e.what();
    if (listed.name == "-") in.error = "-" + in.error.substr(path.size());
    return in;
  }
  return clf.prepare(bytes, listed.name, raw, position);
}

// The threshold for an answer: --threshold when given, else the calibrated one of its top
// class (none calibrated: 0, every answer stands).
double threshold_for(const Classification& p, double asked, const ClassThresholds* calibrated) {
  if (asked >= 0.0) return asked;
  if (calibrated == nullptr || calibrated->empty() || p.top.empty()) return 0.0;
  return calibrated->for_class(p.top.front().index);
}

void print(const Classification& p, double threshold, bool json) {
  const std::string name = display_name(p.name);
  if (json) {
    std::cout << to_json(p, static_cast<int64_t>(p.top.size()), threshold).dump() << "\n" << std::flush;
    return;
  }
  if (!p.error.empty()) {
    std::cout << name << ": error: " << display_name(p.error) << "\n" << std::flush;
    return;
  }
  if (p.input == "raw") {
    std::cout << name << " (" << p.num_bytes << " bytes):";
  } else {
    std::cout << name << " (" << p.file_bytes << " bytes, " << p.num_bytes << " fed):";
  }
  if (threshold > 0.0 && verdict(p, threshold) == "unknown")
    std::cout << fmt::format("  unknown (top probability below {:.3g})", threshold);
  for (const auto& t : p.top) std::cout << fmt::format("  {} {:.4f}", t.label, t.prob);
  std::cout << "\n" << std::flush;
}

// Reads, prepares, classifies and prints every input, a batch at a time; `clf` is the local
// Classifier or the RemoteClassifier of --server.
template <typename C>
void run(const C& clf, const Args& args, const ClassThresholds* calibrated) {
  const bool raw = args.raw;
  if (!args.json) std::cerr << "predict: input: " << clf.input_description(raw) << "\n";

  const std::vector<ModelInput> listed = collect(args.files, args.recursive);
  // A bar on a terminal once the run has taken a second; nothing in logs or pipes.
  ProgressBar progress(&std::cerr, "predict", static_cast<int64_t>(listed.size()), stderr_is_terminal(),
                       /*log_every=*/-1, "files", /*delay_s=*/1.0);
  int64_t failed = 0;
  const auto batch = static_cast<size_t>(args.batch_size);
  for (size_t start = 0; start < listed.size(); start += batch) {  // streamed: one batch at a time
    const size_t end = std::min(listed.size(), start + batch);
    std::vector<ModelInput> group;
    for (size_t i = start; i < end; ++i) {
      group.push_back(listed[i].error.empty()
                          ? read_and_prepare(listed[i], clf, raw, static_cast<int64_t>(i), args.read_timeout_s)
                          : listed[i]);
      if (!args.dump_inputs.empty() && group.back().error.empty()) {
        fs::create_directories(args.dump_inputs);
        const std::vector<uint8_t> fed(group.back().bytes.begin(), group.back().bytes.end());
        write_file_atomic((fs::path(args.dump_inputs) / fmt::format("{}.bin", i)).string(), fed, Durability::kRenameOnly);
      }
    }
    for (const auto& p : clf.classify_prepared(group, raw)) {
      if (!p.ok()) {
        ++failed;
        std::cerr << "error: " << display_name(p.error) << "\n";
      }
      print(p, threshold_for(p, args.threshold, calibrated), args.json);
    }
    progress.update(static_cast<int64_t>(end), static_cast<int64_t>(end), /*loss=*/-1.0);
  }
  progress.finish();
  if (failed > 0) {
    throw std::runtime_error(fmt::format("{} of {} inputs could not be classified", failed, listed.size()));
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "predict", "Classify files: each goes through the config's evaluation pipeline (decode, resize, crop, encode, "
                 "privacy transforms), as `eval` would feed it; --raw feeds the bytes as they are");
  add_model_flags(cmd, args->model, /*weights=*/true, /*run_dir=*/true);
  cmd->add_option("--top-k", args->top_k, "Classes to print per file")->check(positive_int())->capture_default_str();
  cmd->add_option("--batch-size", args->batch_size, "Files per forward pass")
      ->check(positive_int())
      ->capture_default_str();
  cmd->add_option("--threshold", args->threshold,
                  "Say `unknown` for a file whose top probability is below P (the classes are still printed); "
                  "0: always the best guess")
      ->check(number_in(0, 1))
      ->default_str("the run's calibrated per-class thresholds (thresholds.json), else 0");
  cmd->add_option("--read-timeout", args->read_timeout_s,
                  "Seconds to wait for the next byte from a fifo or pipe (stdin, <(...)) before that input is an error")
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "One JSON object per line");
  add_precision_flags(cmd, args->precision);
  cmd->add_flag("--raw", args->raw,
                "Feed each file's bytes as they are (no decoding, no privacy transforms; with no decoding step in the "
                "config, only its privacy transforms run)");
  cmd->add_flag("-r,--recursive", args->recursive, "Classify the files under directories given");
  cmd->add_option("--dump-inputs", args->dump_inputs,
                  "Also write the bytes fed to the model for input i as DIR/<i>.bin (to inspect or compare them)");
  cmd->add_option("--server", args->server,
                  "A `byteformer serve` at http://HOST[:PORT]: prepare each file here with the served model's pipeline "
                  "(its privacy transforms included) and send only those bytes; no --config/--model needed");
  cmd->add_option("--server-timeout", args->server_timeout_s,
                  "Seconds per request to --server (and the longest a busy server is waited for)")
      ->check(positive_number())
      ->capture_default_str();
  cmd->add_option("files", args->files, "Files (or directories with -r; - for stdin) to classify")->required();
  cmd->callback([args] {
    if (!args->server.empty()) {
      const ModelFlags& m = args->model;
      if (!m.config.empty() || !m.run_dir.empty() || !m.weights.empty() || !m.overrides.empty() ||
          !m.corenet_overrides.empty() || !m.numerics.empty() || !m.labels.empty() || args->precision.given())
        throw CLI::ValidationError("--server",
                                   "the served model's config, weights and numerics are used: drop --config, --model, "
                                   "--weights, --override, --numerics, --labels and --precision");
      RemoteOptions remote;
      remote.url = args->server;
      remote.top_k = args->top_k;
      remote.timeout_s = args->server_timeout_s;
      run(RemoteClassifier::open(remote), *args, nullptr);
      return;
    }
    args->model.check_source();
    apply_threads(args->model);
    ClassifierOptions options;
    options.model = args->model.spec();
    options.top_k = args->top_k;
    options.max_batch_size = args->batch_size;
    options.precision = args->precision.requested(options.model.device.type());
    if (!args->model.run_dir.empty()) options.thresholds = find_run_folder(args->model.run_dir).thresholds;
    const Classifier clf = Classifier::open(options);
    // The same config check as train and eval (the classifier's Recipe): unknown keys are
    // errors, ignored ones named.
    const ConfigCheck& check = clf.recipe().check;
    if (!check.ignored.empty() && !args->json) std::cerr << describe_ignored(check) << "\n";
    const std::string& note = clf.numerics_note();
    if (!args->json || note.rfind("note:", 0) == 0) std::cerr << note << "\n";
    if (!args->model.run_dir.empty()) std::cerr << "predict: weights " << clf.weights_path() << "\n";
    if (!args->json && clf.precision() == Precision::kBFloat16 && !args->precision.given())
      std::cerr << "predict: bf16 autocast on CUDA, as the config's common.mixed_precision says (and eval runs); "
                   "--precision fp32 for float32\n";
    if (!args->json && args->threshold < 0 && !clf.thresholds().empty())
      std::cerr << fmt::format("predict: an answer below its class's calibrated threshold (thresholds.json, {:.0f}% "
                               "precision on the validation split) is `unknown`; --threshold 0 for the best guess\n",
                               100.0 * clf.thresholds().target_precision);
    run(clf, *args, &clf.thresholds());
  });
}

}  // namespace byteformer::cli
