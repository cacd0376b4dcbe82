#include "byteformer/train/ema.h"

#include <fmt/format.h>

#include "byteformer/model/device.h"
#include "train/fused_update.h"

namespace byteformer {

ModelEma::ModelEma(const ByteFormer& model, double momentum) : momentum_(momentum) {
  if (momentum < 0 || momentum > 1) throw std::invalid_argument(fmt::format("ema.momentum {} must be in [0, 1]", momentum));
  ema_ = ByteFormer(model->options());
  torch::NoGradGuard no_grad;
  ema_->load_state_dict(model->state_dict(), "model");
  ema_->to(module_device(*model));
  for (auto& p : ema_->parameters()) p.set_requires_grad(false);
  ema_->eval();
}

void ModelEma::update(const ByteFormer& model) {
  torch::NoGradGuard no_grad;
  const auto src = model->state_dict();
  const auto dst = ema_->state_dict();
  TORCH_CHECK(src.size() == dst.size(), "ModelEma::update - ", src.size(), " tensors, expected ", dst.size());
  // Contiguous float32 CPU tensors in one pass each (fused_update.h); the rest as CoreNet writes it.
  std::vector<EmaSlice> slices;
  for (size_t i = 0; i < dst.size(); ++i) {
    TORCH_CHECK(src[i].first == dst[i].first, "ModelEma::update - key ", src[i].first, " vs ", dst[i].first);
    auto ema_v = dst[i].second;
    const auto model_v = src[i].second.detach();
    if (fits_one_pass(ema_v) && fits_one_pass(model_v) && ema_v.numel() == model_v.numel()) {
      ema_v.unsafeGetTensorImpl()->bump_version();  // written below through a raw pointer
      slices.push_back({ema_v.data_ptr<float>(), model_v.data_ptr<float>(), ema_v.numel()});
    } else {
      ema_v.copy_(ema_v * (1.0 - momentum_) + momentum_ * model_v);
    }
  }
  ema_update(slices, static_cast<float>(1.0 - momentum_), static_cast<float>(momentum_));
}

}  // namespace byteformer
