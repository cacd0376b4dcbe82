// LayerNorm over one task's rows for the CPU training functions (train_attention.cpp,
// train_linear.cpp): the forward writes the normalised rows and their statistics where the
// backward reads them; the backward returns the input gradient and adds the norm's parameter
// gradients to a group's partial sums.
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// hn (m, C), mean (m, 1), rstd (m, 1): LayerNorm(x) of x (m, C) and its statistics. Float32
/// rows with unit column stride and C a multiple of 16 go through hand-written kernels (two
/// passes per row for the mean and the variance about it, as exact as LibTorch's to float
/// rounding, without its per-call dispatch and copies); anything else through LibTorch's.
void norm_rows_into(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                    torch::Tensor hn, torch::Tensor mean, torch::Tensor rstd);

/// The input gradient (m, C) of norm_rows_into's norm for the output gradient dhn (m, C); adds
/// sum(dhn * x_hat) to d_weight (C) and sum(dhn) to d_bias (C), summed over the rows in order (the
/// float32 kernel) or as plain sums (LibTorch's path, whose own parameter gradients are summed
/// in an order that depends on the thread count).
torch::Tensor norm_rows_backward(const torch::Tensor& dhn, const torch::Tensor& x, const torch::Tensor& mean,
                                 const torch::Tensor& rstd, const torch::Tensor& weight, const torch::Tensor& bias,
                                 torch::Tensor d_weight, torch::Tensor d_bias);

}  // namespace byteformer
