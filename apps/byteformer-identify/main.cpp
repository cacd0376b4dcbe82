// byteformer-identify: `byteformer identify` without LibTorch. The same front end, flags and
// answers, from the file-type model exported to one file (model.bfm, `byteformer export`) and
// run on plain C++ (byteformer/lite/lite_model.h): a small program that starts in milliseconds
// and a few megabytes, where LibTorch's start alone takes half a second and 160 MB.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <system_error>
#include <thread>

#include "byteformer/classify/file_type_info.h"
#include "byteformer/lite/identify.h"
#include "byteformer/lite/lite_model.h"
#include "identify_flags.h"

namespace {

using namespace byteformer;

// identify's model on the lite engine.
class LiteIdentifyModel final : public IdentifyModel {
 public:
  LiteIdentifyModel(const std::string& path, int threads)
      : path_(path), model_(LiteModel::load(path)), threads_(std::max(1, threads)) {}
  const ByteWindow& window() const override { return model_.spec().byte_window; }
  double high_threshold(int64_t class_index) const override {
    const auto& t = model_.spec().thresholds;
    return t.empty() ? kMediumConfidenceThreshold : t.at(static_cast<size_t>(class_index));
  }
  std::vector<IdentifyAnswer> classify(const std::vector<std::vector<uint8_t>>& windows,
                                       const std::vector<std::string>& /*names*/, int64_t top) override {
    std::vector<IdentifyAnswer> answers(windows.size());
    // Each thread takes the next file not yet taken: a file's answer is computed alone, the same
    // on any number of threads (the model is safe to share). This thread works too, so a thread
    // the system cannot start costs speed, not answers.
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i = next++; i < windows.size(); i = next++) answers[i] = answer(windows[i], top);
    };
    std::vector<std::thread> pool;
    try {
      for (size_t t = 1; t < std::min(windows.size(), static_cast<size_t>(threads_)); ++t) pool.emplace_back(work);
    } catch (const std::system_error&) {
    }
    work();
    for (auto& th : pool) th.join();
    return answers;
  }
  std::string source() const override { return path_; }
  int threads() const override { return threads_; }

 private:
  // One window's top classes (never throws: an error is that input's answer).
  IdentifyAnswer answer(const std::vector<uint8_t>& window, int64_t top) const {
    IdentifyAnswer a;
    try {
      const std::vector<float> probs = softmax(model_.logits(window.data(), window.size()));
      std::vector<int64_t> order(probs.size());
      for (size_t c = 0; c < order.size(); ++c) order[c] = static_cast<int64_t>(c);
      const size_t k = std::min(order.size(), static_cast<size_t>(top));
      // Ties keep the lower index first, as torch::topk on the LibTorch side answers them.
      std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                        [&](int64_t x, int64_t y) { return probs[x] > probs[y] || (probs[x] == probs[y] && x < y); });
      const auto& labels = model_.spec().labels;
      for (size_t j = 0; j < k; ++j)
        a.top.push_back(IdentifyScore{labels[static_cast<size_t>(order[j])], probs[order[j]], order[j]});
    } catch (const std::exception& e) {
      a.error = e.what();
    }
    return a;
  }

  std::string path_;
  LiteModel model_;
  int threads_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "byteformer-identify: identify file types as `file` or Magika, `path: label (score%)` a line, from the "
      "shipped file-type model run without LibTorch (the same answers as `byteformer identify`); only a file's "
      "first and last bytes are read"};
  app.set_version_flag("--version", std::string("byteformer-identify ") + BYTEFORMER_VERSION);
  app.option_defaults()->always_capture_default();
  IdentifyOptions options;
  std::string model;
  app.add_option("--model", model, "A model file made by `byteformer export` (model.bfm), or a folder holding one")
      ->default_str("the installed share/byteformer/models/file-types/model.bfm, else the source tree's");
  int threads = 1;
  app.add_option("--threads", threads, "Threads, each answering whole files (0: one per core)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  byteformer::cli::add_identify_flags(&app, options);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const std::string name = e.get_name();
    if (name == "CallForHelp" || name == "CallForAllHelp" || name == "CallForVersion") return app.exit(e);
    std::cerr << "error: " << e.what() << "; byteformer-identify --help lists the flags\n";
    return 2;
  }
  try {
    run_identify(
        options,
        [&](int64_t) -> std::unique_ptr<IdentifyModel> {
          const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
          return std::make_unique<LiteIdentifyModel>(
              find_file_type_model(model, "model.bfm", BYTEFORMER_INSTALLED_FILE_TYPES_MODEL,
                                   BYTEFORMER_SOURCE_FILE_TYPES_MODEL),
              n);
        },
        std::cout);
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "error: could not write the answers to standard output\n";
    return 1;
  }
  return 0;
}
