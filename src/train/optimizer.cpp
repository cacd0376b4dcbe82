#include "byteformer/train/optimizer.h"

#include <fmt/format.h>

#include <sstream>
#include <string>
#include <type_traits>

#include "byteformer/io/config.h"
#include "train/fused_update.h"

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

namespace {

// The key of a parameter's state in Optimizer::state_: the TensorImpl's address as text in
// LibTorch 1.13 (as c10::guts::to_string writes it), the address itself in LibTorch 2.x.
template <typename Map>
typename Map::key_type state_key(const torch::Tensor& p) {
  using Key = typename Map::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;
    text << static_cast<const void*>(p.unsafeGetTensorImpl());
    return text.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

/// LibTorch's AdamW with its step as one pass per parameter (fused_update.h) when every parameter,
/// gradient and moment is a contiguous float32 CPU tensor; otherwise LibTorch's own step. The state
/// (step, exp_avg, exp_avg_sq per parameter) is LibTorch's, so saved training states load in both.
class FusedAdamW final : public torch::optim::AdamW {
 public:
  using torch::optim::AdamW::AdamW;

  torch::Tensor step(LossClosure closure) override {
    if (!fusable()) return torch::optim::AdamW::step(std::move(closure));
    torch::NoGradGuard no_grad;
    torch::Tensor loss;
    if (closure != nullptr) {
      at::AutoGradMode enable_grad(true);
      loss = closure();
    }
    std::vector<AdamWSlice> slices;
    for (auto& group : param_groups_) {
      const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
      const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
      for (auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        auto& slot = state_[state_key<decltype(state_)>(p)];
        if (!slot) {
          auto fresh = std::make_unique<torch::optim::AdamWParamState>();
          fresh->step(0);
          fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
          fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
          slot = std::move(fresh);
        }
        auto& st = static_cast<torch::optim::AdamWParamState&>(*slot);
        st.step(st.step() + 1);
        const double bias_correction1 = 1 - std::pow(beta1, st.step());
        const double bias_correction2 = 1 - std::pow(beta2, st.step());
        p.unsafeGetTensorImpl()->bump_version();  // written below through a raw pointer (fits_one_pass)
        slices.push_back({p.data_ptr<float>(), p.grad().data_ptr<float>(), st.exp_avg().data_ptr<float>(),
                          st.exp_avg_sq().data_ptr<float>(), p.numel(),
                          static_cast<float>(o.weight_decay() != 0 ? 1 - o.lr() * o.weight_decay() : 1.0),
                          static_cast<float>(beta1), static_cast<float>(1 - beta1), static_cast<float>(beta2),
                          static_cast<float>(1 - beta2), static_cast<float>(std::sqrt(bias_correction2)),
                          static_cast<float>(o.eps()), static_cast<float>(-o.lr() / bias_correction1)});
      }
    }
    adamw_update(slices);
    return loss;
  }

 private:
  bool fusable() const {
    for (const auto& group : param_groups_) {
      if (static_cast<const torch::optim::AdamWOptions&>(group.options()).amsgrad()) return false;
      for (const auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        if (!fits_one_pass(p) || !fits_one_pass(p.grad())) return false;
        const auto it = state_.find(state_key<decltype(state_)>(p));
        if (it == state_.end()) continue;
        const auto& st = static_cast<const torch::optim::AdamWParamState&>(*it->second);
        for (const auto* m : {&st.exp_avg(), &st.exp_avg_sq()})
          if (!fits_one_pass(*m) || m->numel() != p.numel()) return false;
      }
    }
    return true;
  }
};

}  // namespace

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
  if (!o.one_pass_step) return std::make_unique<torch::optim::AdamW>(std::move(groups), base);
  return std::make_unique<FusedAdamW>(std::move(groups), base);
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

}  // namespace byteformer
