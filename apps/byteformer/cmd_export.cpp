// `byteformer export RUN_DIR [-o FILE]`: the run folder's model as a `.bfm` model file
// (docs/LITE.md), which the plain C++ engine (byteformer/lite/lite_model.h) runs without
// LibTorch: the small `byteformer-identify` reads it. The run folder is loaded as predict and
// identify load it (its config, best weights, labels and thresholds); a model the engine cannot
// run is refused, naming what it lacks.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "byteformer/classify/lite_export.h"
#include "commands.h"

namespace byteformer::cli {

namespace {

namespace fs = std::filesystem;

struct Args {
  std::string run_dir;
  std::string out;
};

void run(const Args& args) {
  const LiteExport e = lite_export(args.run_dir);
  const std::string out = args.out.empty() ? (fs::path(args.run_dir) / "model.bfm").string() : args.out;
  write_lite_model(out, e.spec, e.tensors);
  int64_t parameters = 0;
  for (const auto& t : e.tensors) parameters += static_cast<int64_t>(t.data.size());
  std::cout << fmt::format("export: wrote {} ({} bytes): {} parameters, {} classes, {}, thresholds {}, from {}\n", out,
                           fs::file_size(out), parameters, e.spec.architecture.n_classes,
                           e.spec.byte_window.describe(), e.spec.thresholds.empty() ? "none" : "calibrated", e.weights);
}

}  // namespace
void add_export_command(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "export",
      "Write a run folder's file-type model as a .bfm model file, which the plain C++ engine runs without LibTorch "
      "(byteformer-identify; docs/LITE.md)");
  cmd->add_option("RUN_DIR", args->run_dir, "A run folder of a file-type model (train --recipe file-types)")->required();
  cmd->add_option("-o,--output", args->out, "The model file to write")->default_str("RUN_DIR/model.bfm");
  cmd->callback([args] { run(*args); });
}

}  // namespace byteformer::cli
