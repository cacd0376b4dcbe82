// A linear layer for CPU float32 training on the inference paths' kernels (fast_linear.h): the
// forward and the input gradient in row chunks through oneDNN, the weight gradient as a sum of
// per-chunk products, one chunk per thread.
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// Whether train_linear applies to x (and the model uses it): autograd on, a float32 CPU tensor
/// outside autocast, and oneDNN in use (linear_into's fast path; without it the module's own
/// product is as fast).
bool train_linear_applies(const torch::Tensor& x);

/// y (..., N) = x (..., K) W^T + b for weight (N, K) and bias (N), with autograd: the same
/// numbers as torch::nn::functional::linear up to float32 rounding, and gradients for x, the
/// weight and the bias (no double backward). LibTorch's own backward runs these shapes (K, N of
/// 64-256, M of thousands of rows) through BLAS calls that reach 1-14 GFLOP/s on 2 threads
/// (the weight gradient, a product with M as its inner dimension, the slowest); here each
/// product runs on one thread over rows.
torch::Tensor train_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

/// fc(x): through train_linear where it applies (train_linear_applies), else the module itself.
torch::Tensor linear(torch::nn::Linear& fc, const torch::Tensor& x);

}  // namespace byteformer
