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

/// The FFN sublayer's parameters: CoreNet's pre_norm_ffn.0 (the LayerNorm), .1 (fc1), .4 (fc2).
struct FfnSublayerWeights {
  torch::Tensor norm_weight, norm_bias;  // (C), (C)
  double eps = 1e-5;
  torch::Tensor fc1_weight, fc1_bias;  // (F, C), (F)
  torch::Tensor fc2_weight, fc2_bias;  // (C, F), (C)
};

/// x + fc2(gelu(fc1(LayerNorm(x)))) with autograd, for x where train_linear applies: the whole
/// FFN sublayer of a pre-norm block (no dropout) as one autograd function. Its forward runs each
/// task's rows through the norm, fc1, the exact GELU and fc2 (the residual added in fc2's
/// product) on one thread, the (rows, F) activations in cache; its backward does the same by
/// rows: fc2's input gradient, GELU's derivative, fc1's, the norm's, and the weight gradients as
/// partial sums per fixed group of tasks (parallel_task_groups) added in a fixed order (so they
/// do not depend on the thread count). Saves
/// x, the normalised rows and their statistics, fc1's output and its GELU (recomputing the GELU
/// in the backward saved an (M, F) tensor but cost one more erf per element: 167 us per
/// 1,024 x 256 task on this machine, against 234 us for fc1's product). The same numbers as
/// the modules up to float32 rounding.
torch::Tensor train_ffn_sublayer(const torch::Tensor& x, const FfnSublayerWeights& weights);

/// fc(x): through train_linear where it applies (train_linear_applies), else the module itself.
torch::Tensor linear(torch::nn::Linear& fc, const torch::Tensor& x);

}  // namespace byteformer
