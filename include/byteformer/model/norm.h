// LayerNorm that is safe under CPU autocast.
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// Applies `norm` in its parameters' precision. Under bf16 autocast the input may arrive in
/// bfloat16 (a Linear's output); LibTorch 1.13's CPU layer_norm rejects mixed dtypes, and
/// normalisation belongs in float32 anyway (CUDA autocast's policy for layer_norm).
inline torch::Tensor apply_norm(torch::nn::LayerNorm& norm, const torch::Tensor& x) {
  const auto dtype = norm->weight.scalar_type();
  return norm(x.scalar_type() == dtype ? x : x.to(dtype));
}

}  // namespace byteformer
