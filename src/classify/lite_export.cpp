#include "byteformer/classify/lite_export.h"

#include <fmt/format.h>

#include <filesystem>
#include <set>
#include <stdexcept>

#include "byteformer/classify/eval_recipe.h"
#include "byteformer/classify/thresholds.h"
#include "byteformer/io/run_folder.h"
#include "byteformer/model/model_loader.h"

namespace byteformer {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void refuse(const std::string& run_dir, const std::string& why) {
  throw std::runtime_error(fmt::format("{}: {}; the lite engine (docs/LITE.md) runs only ByteFormers of file bytes "
                                       "in masked numerics with a token-reduction Conv1d",
                                       run_dir, why));
}

}  // namespace

LiteArchitecture lite_architecture(const ByteFormerOptions& o) {
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

LiteExport lite_export(const std::string& run_dir) {
  const RunFolder run = find_run_folder(run_dir);
  const LoadedModel loaded = load_run_model(run);
  const EvalRecipe recipe = EvalRecipe::from_config(loaded.config);
  const ByteFormerOptions& o = loaded.model->options();

  // What the engine computes: masked numerics on raw file bytes, no pipeline between the file and the model.
  if (recipe.modality != Modality::kBytes)
    refuse(run_dir, fmt::format("a model of {} files, not of file bytes (byte_window)", to_string(recipe.modality)));
  if (recipe.eval_pipeline.privacy.any_enabled())
    refuse(run_dir, "its evaluation pipeline has privacy byte transforms");
  if (o.numerics != Numerics::kMasked)
    refuse(run_dir, fmt::format("its numerics are {} ({})", to_string(o.numerics), loaded.numerics_note));
  if (o.conv_kernel_size <= 0) refuse(run_dir, "it has no token-reduction Conv1d (conv_kernel_size 0)");
  if (o.norm_layer != "layer_norm") refuse(run_dir, fmt::format("its norm_layer is {}", o.norm_layer));
  if (loaded.labels.size() != static_cast<size_t>(o.n_classes))
    refuse(run_dir, fmt::format("{} names {} classes for a model of {} (the {}.json beside it)", run.weights,
                                     loaded.labels.size(), o.n_classes, fs::path(run.weights).filename().string()));

  LiteExport e;
  e.weights = run.weights;
  LiteModelSpec& lite = e.spec;
  lite.architecture = lite_architecture(o);
  lite.byte_window = recipe.eval_pipeline.window;
  lite.labels = loaded.labels;
  if (!run.thresholds.empty()) lite.thresholds = read_thresholds(run.thresholds, loaded.labels).per_class;
  // The weights' file name within the run folder, not its path: the same folder exported from
  // anywhere gives the same bytes.
  lite.source = fs::path(run.weights).filename().string();

  std::set<std::string> expected;
  for (const auto& s : lite_tensor_shapes(lite.architecture)) expected.insert(s.name);
  for (const auto& [name, value] : loaded.model->state_dict()) {
    if (!expected.count(name)) refuse(run_dir, fmt::format("it has a weight the engine lacks, '{}'", name));
    const torch::Tensor t = value.detach().to(torch::kCPU, torch::kFloat).contiguous();
    LiteTensor lt;
    lt.name = name;
    lt.shape = t.sizes().vec();
    lt.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    e.tensors.push_back(std::move(lt));
  }
  return e;
}

}  // namespace byteformer
