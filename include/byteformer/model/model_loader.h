// Builds a ByteFormer from a CoreNet config and optional weights, the way every CLI command does.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "byteformer/io/config.h"
#include "byteformer/io/run_folder.h"
#include "byteformer/model/byteformer.h"

namespace byteformer {

/// What a user names on the command line.
struct ModelSpec {
  std::string config_path;             // --config / --common.config-file
  std::vector<std::string> overrides;  // --override k=v / --common.override-kwargs k=v ...
  std::string weights;                 // --weights / --model.classification.pretrained ("" = none)
  std::optional<Numerics> numerics;    // --numerics
  std::string labels_path;             // --labels (one class name a line)
  /// predict / eval: refuse to build a randomly initialised model when no weights are named
  /// (neither `weights` nor the config's `model.classification.pretrained`).
  bool require_weights = false;
  /// How the error of `require_weights` asks for weights: the CLI's flags by default; another
  /// front end names its own argument (the C API: "a weights file as weights_path").
  std::string weights_arg = "--weights FILE (CoreNet's spelling: --model.classification.pretrained FILE)";
  /// Where the model runs (--device, resolved by resolve_device): weights load there.
  torch::Device device{torch::kCPU};
};

struct LoadedModel {
  Config config;
  ByteFormer model{nullptr};
  std::vector<std::string> labels;  // empty when unknown
  std::string weights;              // the weights loaded ("" = none: a new model)
  /// How the numeric mode was chosen, e.g. why a CoreNet checkpoint runs in `corenet` mode.
  std::string numerics_note;
};

/// Loads the config, applies overrides, builds the model, loads the weights (the config's
/// `model.classification.pretrained` when the spec has none). Numerics: the flag, else the
/// config key, else the weights' sidecar (<weights>.json), else `corenet` for weights without
/// a sidecar (CoreNet's own checkpoints) and `masked` for a new model. Throws
/// std::invalid_argument naming `weights_arg` when `require_weights` is set and there are none.
LoadedModel load_model(const ModelSpec& spec);

/// A run folder's model as `eval` and `export` load it: its config and its best weights, which
/// must exist (find_run_folder's choice).
LoadedModel load_run_model(const RunFolder& run);

/// The sidecar our trainer writes next to weights: {"numerics": ..., "labels": [...]}.
struct WeightsSidecar {
  std::optional<Numerics> numerics;
  std::vector<std::string> labels;
};
std::optional<WeightsSidecar> read_weights_sidecar(const std::string& weights_path);
void write_weights_sidecar(const std::string& weights_path, const WeightsSidecar& sidecar);

/// One line per class name; blank lines are errors.
std::vector<std::string> read_labels_file(const std::string& path);

}  // namespace byteformer
