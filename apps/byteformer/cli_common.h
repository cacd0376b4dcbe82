// Options shared by the commands that load a model, in our spelling and CoreNet's.
#pragma once
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "byteformer/model/model_loader.h"

namespace byteformer::cli {

/// Holds the raw flag values until the callback turns them into a ModelSpec.
struct ModelFlags {
  std::string config;
  std::vector<std::string> overrides;
  std::vector<std::string> corenet_overrides;
  std::string weights;
  std::string numerics;
  std::string labels;
  int threads = 0;

  ModelSpec spec() const;
};

/// --config/--common.config-file, --override, --common.override-kwargs; with `weights`, also
/// --weights/--model.classification.pretrained, --numerics, --labels; always --threads.
void add_model_flags(CLI::App* cmd, ModelFlags& flags, bool weights);

/// Sets LibTorch's intra-op threads (0 = all cores; Debian's LibTorch starts with 1).
void apply_threads(int threads);

}  // namespace byteformer::cli
