// `byteformer export RUN_DIR [-o FILE]`: the run folder's model as a `.bfm` model file
// (docs/LITE.md), which the plain C++ engine (byteformer/lite/lite_model.h) runs without
// LibTorch: the small `byteformer-identify` reads it. The run folder is loaded as predict and
// identify load it (its config, best weights, labels and thresholds); a model the engine cannot
// run is refused, naming what it lacks.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

#include "byteformer/classify/eval_recipe.h"
#include "byteformer/classify/thresholds.h"
#include "byteformer/io/run_folder.h"
#include "byteformer/lite/lite_model.h"
#include "byteformer/model/model_loader.h"
#include "commands.h"

namespace byteformer::cli {

namespace {

namespace fs = std::filesystem;

struct Args {
  std::string run_dir;
  std::string out;
};

[[noreturn]] void refuse(const std::string& run_dir, const std::string& why) {
  throw std::runtime_error(fmt::format("{}: {}; the lite engine (docs/LITE.md) runs only ByteFormers of file bytes "
                                       "in masked numerics with a token-reduction Conv1d",
                                       run_dir, why));
}

// The model's sizes as the model file states them, every per-layer value resolved.
LiteArchitecture architecture_of(const ByteFormerOptions& o) {
  LiteArchitecture a;
  a.vocab_size = o.vocab_size;
  a.embed_dim = o.embed_dim;
  a.num_heads = o.num_heads;
  a.ffn_dim = o.ffn_dim;
  a.num_layers = o.num_layers;
  a.conv_kernel_size = o.conv_kernel_size;
  a.conv_stride = o.conv_stride();
  a.max_num_tokens = o.max_num_tokens;
  for (int64_t i = 0; i < o.num_layers; ++i) {
    a.window_sizes.push_back(o.window_size(i));
    a.window_shifts.push_back(o.window_shift(i));
    a.downsample.push_back(o.downsample.at(static_cast<size_t>(i)));
  }
  a.layer_norm_eps = 1e-5;  // every LayerNorm of ByteFormer (byteformer.cpp, transformer_block.cpp)
  a.n_classes = o.n_classes;
  return a;
}

void run(const Args& args) {
  const RunFolder run = find_run_folder(args.run_dir);
  ModelSpec spec;
  spec.config_path = run.config;
  spec.weights = run.weights;
  spec.require_weights = true;
  const LoadedModel loaded = load_model(spec);
  const EvalRecipe recipe = EvalRecipe::from_config(loaded.config);
  const ByteFormerOptions& o = loaded.model->options();

  // What the engine computes: masked numerics on raw file bytes, no pipeline between the file and the model.
  if (recipe.modality != Modality::kBytes)
    refuse(args.run_dir, fmt::format("a model of {} files, not of file bytes (byte_window)", to_string(recipe.modality)));
  if (recipe.eval_pipeline.privacy.any_enabled())
    refuse(args.run_dir, "its evaluation pipeline has privacy byte transforms");
  if (o.numerics != Numerics::kMasked)
    refuse(args.run_dir, fmt::format("its numerics are {} ({})", to_string(o.numerics), loaded.numerics_note));
  if (o.conv_kernel_size <= 0) refuse(args.run_dir, "it has no token-reduction Conv1d (conv_kernel_size 0)");
  if (o.norm_layer != "layer_norm") refuse(args.run_dir, fmt::format("its norm_layer is {}", o.norm_layer));
  if (loaded.labels.size() != static_cast<size_t>(o.n_classes))
    refuse(args.run_dir, fmt::format("{} names {} classes for a model of {} (the {}.json beside it)", run.weights,
                                     loaded.labels.size(), o.n_classes, fs::path(run.weights).filename().string()));

  LiteModelSpec lite;
  lite.architecture = architecture_of(o);
  lite.byte_window = recipe.eval_pipeline.window;
  lite.labels = loaded.labels;
  if (!run.thresholds.empty()) lite.thresholds = read_thresholds(run.thresholds, loaded.labels).per_class;
  // The weights' file name within the run folder, not its path: the same folder exported from
  // anywhere gives the same bytes.
  lite.source = fs::path(run.weights).filename().string();

  std::set<std::string> expected;
  for (const auto& s : lite_tensor_shapes(lite.architecture)) expected.insert(s.name);
  std::vector<LiteTensor> tensors;
  for (const auto& [name, value] : loaded.model->state_dict()) {
    if (!expected.count(name)) refuse(args.run_dir, fmt::format("it has a weight the engine lacks, '{}'", name));
    const torch::Tensor t = value.detach().to(torch::kCPU, torch::kFloat).contiguous();
    LiteTensor lt;
    lt.name = name;
    lt.shape = t.sizes().vec();
    lt.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    tensors.push_back(std::move(lt));
  }
  const std::string out = args.out.empty() ? (fs::path(args.run_dir) / "model.bfm").string() : args.out;
  write_lite_model(out, lite, tensors);
  int64_t parameters = 0;
  for (const auto& t : tensors) parameters += static_cast<int64_t>(t.data.size());
  std::cout << fmt::format("export: wrote {} ({} bytes): {} parameters, {} classes, {}, thresholds {}, from {}\n", out,
                           fs::file_size(out), parameters, o.n_classes, lite.byte_window.describe(),
                           lite.thresholds.empty() ? "none" : "calibrated", run.weights);
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
