// LayerNorm over one task's rows for the CPU training functions (train_attention.cpp,
// train_linear.cpp): the forward writes the normalised rows and their statistics where the
// backward reads them; the backward returns the input gradient and adds the norm's parameter
// gradients to a group's partial sums.
#pragma once
#include <torch/torch.h>

#include <tuple>

namespace byteformer {

/// hn (m, C), mean (m, 1), rstd (m, 1): LayerNorm(x) of x (m, C) and its statistics.
inline void norm_rows_into(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                           torch::Tensor hn, torch::Tensor mean, torch::Tensor rstd) {
  const int64_t m = x.size(0);
  auto [n, mu, rs] = at::native_layer_norm(x, {x.size(1)}, weight, bias, eps);
  hn.copy_(n);
  mean.copy_(mu.view({m, 1}));
  rstd.copy_(rs.view({m, 1}));
}

/// The input gradient (m, C) of norm_rows_into's norm for the output gradient dhn (m, C); adds
/// sum(dhn * x_hat) to d_weight (C) and sum(dhn) to d_bias (C). The input gradient by LibTorch's
/// kernel, the parameters' as plain sums over the rows: the kernel sums those in an order that
/// depends on the thread count.
inline torch::Tensor norm_rows_backward(const torch::Tensor& dhn, const torch::Tensor& x, const torch::Tensor& mean,
                                        const torch::Tensor& rstd, const torch::Tensor& weight,
                                        const torch::Tensor& bias, torch::Tensor d_weight, torch::Tensor d_bias) {
  auto dx = std::get<0>(
      at::native_layer_norm_backward(dhn, x, {x.size(1)}, mean, rstd, weight, bias, {true, false, false}));
  d_weight.add_((dhn * ((x - mean) * rstd)).sum(0));
  d_bias.add_(dhn.sum(0));
  return dx;
}

}  // namespace byteformer
