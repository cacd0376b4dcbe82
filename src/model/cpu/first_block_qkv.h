// The first block's q, k, v straight from the bytes, for inference: a lookup instead of its
// largest matrix product.
#pragma once
#include <torch/torch.h>

#include <array>
#include <vector>

namespace byteformer {

/// The first block's qkv_proj(LayerNorm(x)) where x = sum_j T[j][byte] + pos (the fused token
/// reduction plus the positional table), without the (tokens, C) x (C, 3C) product.
///
/// LayerNorm is an affine map once a token's mean m and rstd r are known:
///   qkv = ((x - m) r * g + beta) W^T + b = (x (W diag g)^T - m s) r + (W beta + b),
/// with s = (W diag g) 1 (3C). And x (W diag g)^T is linear in x, so it is a sum of lookups too:
///   x (W diag g)^T = sum_j U[j][byte] + P[n],  U = T (W diag g)^T (k*V, 3C), P = pos (W diag g)^T.
/// Per token: k rows of U, one of P, m and r from x's C values. On the JPEG k=4 workload the
/// first block's qkv is 22% of its FLOPs (5.4 of 62.5 GFLOP a sample in the blocks). Worth it
/// only for short kernels (ByteFormer uses it where 24 k <= C): for TIFF's k = 32 the table
/// U is 19 MB and the lookups cost more than the product.
///
/// U and P are kept until a weight changes (P grows to the longest input seen, at most
/// max_num_tokens rows of 3C floats: 56 MB for the JPEG workload's 24,281 tokens); the same
/// numbers as the product up to float rounding (tests compare the whole model both ways).
class FirstBlockQkv {
 public:
  /// table: (k*V, C) the token reduction's table, built from embedding_weight and conv_weight
  /// (U is rebuilt when one of them, or a weight below, changes); bag_rows: (B*N*k) its rows for each token
  /// (token-major); x: (B, N, C) contiguous, the first block's input; pos: (N, C) the positional
  /// rows added to it; norm_weight/norm_bias: (C) the block's pre-attention LayerNorm (eps);
  /// qkv_weight (3C, C), qkv_bias (3C). Float32 or float64, CPU, no autograd. Returns (B, N, 3C).
  torch::Tensor compute(const torch::Tensor& table, const torch::Tensor& embedding_weight,
                        const torch::Tensor& conv_weight, const torch::Tensor& bag_rows, int64_t kernel,
                        const torch::Tensor& x, const torch::Tensor& pos, const torch::Tensor& norm_weight,
                        const torch::Tensor& norm_bias, double eps, const torch::Tensor& qkv_weight,
                        const torch::Tensor& qkv_bias);

 private:
  torch::Tensor weight_g_;  // W diag g: (3C, C)
  torch::Tensor lookup_;  // U: (k*V, 3C)
  torch::Tensor pos_;     // P: (rows computed, 3C)
  torch::Tensor shift_;   // s: (3C)
  torch::Tensor offset_;  // W beta + b: (3C)
  std::vector<int64_t> key_;  // storage and version of each tensor U, s and the offset came from
  std::array<int64_t, 2> pos_key_{0, -1};
};

}  // namespace byteformer
