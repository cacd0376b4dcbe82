#include "cli_common.h"

#include <torch/torch.h>

#include "byteformer/model/runtime.h"

namespace byteformer::cli {

ModelSpec ModelFlags::spec() const {
  ModelSpec s;
  s.config_path = config;
  s.overrides = corenet_overrides;
  s.overrides.insert(s.overrides.end(), overrides.begin(), overrides.end());
  s.weights = weights;
  if (!numerics.empty()) s.numerics = parse_numerics(numerics);
  s.labels_path = labels;
  return s;
}

void add_model_flags(CLI::App* cmd, ModelFlags& f, bool weights) {
  cmd->add_option("--config,--common.config-file", f.config, "CoreNet YAML config")->required();
  cmd->add_option("--override", f.overrides, "Set a config key: key=value (repeatable)")->take_all();
  cmd->add_option("--common.override-kwargs", f.corenet_overrides, "CoreNet's spelling: key=value ...")->take_all();
  if (weights) {
    cmd->add_option("--weights,--model.classification.pretrained", f.weights, "Weights (.pt, CoreNet's format)");
    cmd->add_option("--numerics", f.numerics, "corenet | masked (see README)")
        ->check(CLI::IsMember({"corenet", "masked"}));
    cmd->add_option("--labels", f.labels, "Class names, one a line");
  }
  cmd->add_option("--threads", f.threads, "Intra-op threads (default: all cores)");
}

void apply_threads(int threads) { set_compute_threads(threads); }

}  // namespace byteformer::cli
