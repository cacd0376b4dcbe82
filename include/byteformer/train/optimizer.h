// AdamW with CoreNet's parameter groups (corenet/modeling/misc/common.py parameter_list): with
// optim.no_decay_bn_filter_bias, every 1-D parameter (norm weights and biases, linear biases)
// goes to a group without weight decay. Embeddings ([257, C]) and the positional table
// ([1, 1, N, C]) are not 1-D, so CoreNet decays them, and so do we.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace byteformer {

class Config;

struct OptimizerOptions {
  double weight_decay = 0.01;          // optim.weight_decay
  bool no_decay_bn_filter_bias = false;  // optim.no_decay_bn_filter_bias
  double beta1 = 0.9;                  // optim.adamw.beta1
  double beta2 = 0.98;                 // optim.adamw.beta2
  double eps = 1e-8;                   // optim.eps
  /// The step as one pass per float32 tensor (train/fused_update.h); false: LibTorch's AdamW::step
  /// (not a config key; `bench_model --libtorch-adamw` compares the two).
  bool one_pass_step = true;

  static OptimizerOptions from_config(const Config& config);
};

/// Group 0: decayed parameters; group 1 (when non-empty): the 1-D ones without decay.
/// `decay_names` / `no_decay_names` receive the parameter names of each group when given.
std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& model, const OptimizerOptions& options,
                                                std::vector<std::string>* decay_names = nullptr,
                                                std::vector<std::string>* no_decay_names = nullptr);

/// Sets the learning rate of every group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace byteformer
