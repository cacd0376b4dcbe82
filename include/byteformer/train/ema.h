// Exponential moving average of all weights and buffers (CoreNet
// corenet/modeling/misc/averaging_utils.py EMA): after each optimiser step,
// ema = ema * (1 - momentum) + momentum * model.
#pragma once
#include <torch/torch.h>

#include "byteformer/model/byteformer.h"

namespace byteformer {

class ModelEma {
 public:
  /// A copy of `model` (same options and weights) in eval mode, without gradients.
  ModelEma(const ByteFormer& model, double momentum);

  void update(const ByteFormer& model);
  ByteFormer& model() { return ema_; }
  const ByteFormer& model() const { return ema_; }
  double momentum() const { return momentum_; }

 private:
  ByteFormer ema_{nullptr};
  double momentum_;
};

}  // namespace byteformer
