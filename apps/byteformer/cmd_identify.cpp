// `byteformer identify`: what type of file is this, as `file` and Magika answer it, from the
// shipped file-type model (models/file-types) or a run folder of one's own. A file's type comes
// from its byte window (the first and last bytes the model reads: a 50 GB file costs what a
// 4 KB one does); files go through the model in batches, in one process. Empty files,
// directories, symbolic links (--no-dereference) and files too short for the model are
// answered by rule, as Magika answers them; below the model's confidence the answer is `txt` or
// `unknown`, by Magika's prediction modes (docs/CLI.md#identify).
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "byteformer/classify/classifier.h"
#include "byteformer/classify/file_type_info.h"
#include "byteformer/lite/identify.h"
#include "byteformer/model/device.h"
#include "byteformer/runtime/runtime.h"
#include "cli_common.h"
#include "commands.h"
#include "identify_flags.h"

namespace byteformer::cli {

namespace {

namespace fs = std::filesystem;

// At most this many inputs run without oneDNN (see open_classifier()).
constexpr int64_t kFewFiles = 16;

struct Args {
  IdentifyOptions identify;
  std::string model_dir;
  int threads = 1;
  std::string device = "cpu";
  PrecisionFlags precision;
};

// identify's model through LibTorch: the run folder's Classifier, its byte window, thresholds
// and labels.
class ClassifierModel final : public IdentifyModel {
 public:
  ClassifierModel(const ClassifierOptions& options, int threads) : clf_(Classifier::open(options)), threads_(threads) {
    if (clf_.pipeline_options().modality != Modality::kBytes)
      throw std::runtime_error(fmt::format(
          "{}: a model of {} files, not of file bytes: identify takes a model trained with --recipe file-types "
          "(byte_window); classify with predict",
          options.run_dir, to_string(clf_.pipeline_options().modality)));
    if (clf_.labels().empty())
      throw std::runtime_error(fmt::format(
          "{}: {} names no classes (the {}.json that train writes beside it is missing)", options.run_dir,
          fs::path(clf_.weights_path()).filename().string(), fs::path(clf_.weights_path()).filename().string()));
  }
  const ByteWindow& window() const override { return clf_.pipeline_options().window; }
  double high_threshold(int64_t class_index) const override {
    const ClassThresholds& t = clf_.thresholds();
    return t.empty() ? kMediumConfidenceThreshold : t.for_class(class_index);
  }
  std::vector<IdentifyAnswer> classify(const std::vector<std::vector<uint8_t>>& windows,
                                       const std::vector<std::string>& names, int64_t /*top*/) override {
    std::vector<IdentifyAnswer> answers(windows.size());
    std::vector<ModelInput> inputs;
    std::vector<size_t> answer_of;
    for (size_t i = 0; i < windows.size(); ++i) {
      ModelInput in = clf_.prepare(windows[i], names[i], /*raw=*/false, static_cast<int64_t>(i));
      if (!in.error.empty()) {
        answers[i].error = in.error;
        continue;
      }
      answer_of.push_back(i);
      inputs.push_back(std::move(in));
    }
    const std::vector<Classification> out = clf_.classify_prepared(inputs, /*raw=*/false);
    for (size_t k = 0; k < out.size(); ++k) {
      IdentifyAnswer& a = answers[answer_of[k]];
      if (!out[k].ok()) {
        a.error = out[k].error;
        continue;
      }
      for (const auto& t : out[k].top) a.top.push_back(IdentifyScore{t.label, t.prob, t.index});
    }
    return answers;
  }
  std::string source() const override { return clf_.weights_path(); }
  int threads() const override { return threads_; }

 private:
  Classifier clf_;
  int threads_;
};

void run(const Args& args) {
  const std::optional<Precision> precision = args.precision.requested(resolve_device(args.device).type());
  auto open = [&](int64_t inputs) -> std::unique_ptr<IdentifyModel> {
    // One thread unless asked: a model this small gains little from a second core, and threads
    // that spin while they wait (identify does not re-execute itself with passive ones) cost a
    // loaded machine several times that (docs/PERFORMANCE.md#identify-on-one-small-file).
    const int threads_set = set_compute_threads(args.threads);
    // oneDNN compiles its kernels on first use, which costs more than the forward pass of a few
    // files on ATen's own; from a few dozen files on, its products win. int8 runs only as oneDNN's.
    if (inputs <= kFewFiles && precision != Precision::kInt8) set_onednn_enabled(false);
    ClassifierOptions options;
    // --model is a run folder, whose loader names what is wrong with it; else the shipped model.
    options.run_dir = !args.model_dir.empty()
                          ? args.model_dir
                          : fs::path(find_file_type_model("", "config.yaml", BYTEFORMER_INSTALLED_FILE_TYPES_MODEL,
                                                          BYTEFORMER_SOURCE_FILE_TYPES_MODEL))
                                .parent_path()
                                .string();
    options.model.device = resolve_device(args.device);
    options.top_k = args.identify.top;
    options.max_batch_size = args.identify.batch_size;
    options.precision = precision;
    return std::make_unique<ClassifierModel>(options, threads_set);
  };
  run_identify(args.identify, open, std::cout);
}

}  // namespace

void add_identify_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "identify",
      "Identify file types, as `file` or Magika: `path: label (score%)` a line, from the shipped file-type model "
      "(or --model RUN_DIR); only a file's first and last bytes are read");
  cmd->add_option("--model", args->model_dir, "A run folder of a file-type model (train --recipe file-types)")
      ->default_str("the installed share/byteformer/models/file-types, else the source tree's models/file-types");
  add_identify_flags(cmd, args->identify);
  add_precision_flags(cmd, args->precision);
  cmd->add_option("--threads", args->threads, "Compute threads (0: all cores)")
      ->check(thread_count())
      ->capture_default_str();
  cmd->add_option("--device", args->device, "cpu | cuda | cuda:N | auto")
      ->check(device_spelling())
      ->capture_default_str();
  cmd->callback([args] { run(*args); });
}

}  // namespace byteformer::cli
