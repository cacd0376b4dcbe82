#include "byteformer/train/optimizer.h"

#include <fmt/format.h>

#include "byteformer/io/config.h"

namespace byteformer {

OptimizerOptions OptimizerOptions::from_config(const Config& c) {
  OptimizerOptions o;
  o.weight_decay = c.get_double("optim.weight_decay", o.weight_decay);
  o.no_decay_bn_filter_bias = c.get_bool("optim.no_decay_bn_filter_bias", o.no_decay_bn_filter_bias);
  o.beta1 = c.get_double("optim.adamw.beta1", o.beta1);
  o.beta2 = c.get_double("optim.adamw.beta2", o.beta2);
  o.eps = c.get_double("optim.eps", o.eps);
  auto check = [&](bool ok, const char* key) {
    if (!ok) throw std::invalid_argument(fmt::format("config: {}: out of range", c.describe(key)));
  };
  check(o.weight_decay >= 0, "optim.weight_decay");
  check(o.beta1 >= 0 && o.beta1 < 1, "optim.adamw.beta1");
  check(o.beta2 >= 0 && o.beta2 < 1, "optim.adamw.beta2");
  check(o.eps > 0, "optim.eps");
  return o;
}

std::unique_ptr<torch::optim::AdamW> make_adamw(torch::nn::Module& model, const OptimizerOptions& o,
                                                std::vector<std::string>* decay_names,
                                                std::vector<std::string>* no_decay_names) {
  std::vector<torch::Tensor> decay, no_decay;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    if (!item.value().requires_grad()) continue;
    if (o.no_decay_bn_filter_bias && item.value().dim() == 1) {
      no_decay.push_back(item.value());
      if (no_decay_names) no_decay_names->push_back(item.key());
    } else {
      decay.push_back(item.value());
      if (decay_names) decay_names->push_back(item.key());
    }
  }
  auto base = torch::optim::AdamWOptions(/*lr=*/0.0).betas({o.beta1, o.beta2}).eps(o.eps);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(
                                 torch::optim::AdamWOptions(base).weight_decay(o.weight_decay)));
  if (!no_decay.empty())
    groups.emplace_back(no_decay,
                        std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions(base).weight_decay(0.0)));
  return std::make_unique<torch::optim::AdamW>(std::move(groups), base);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

}  // namespace byteformer
