// Multi-head self-attention over windows of tokens (CoreNet's
// corenet/modeling/layers/multi_head_attention.py, `forward_default`).
#pragma once
#include <torch/torch.h>

#include <array>
#include <memory>

namespace byteformer {

class ProductWeight;  // model/cpu/fast_linear.h (private to the model)

/// `qkv_proj` Linear(C, 3C) and `out_proj` Linear(C, C), both with bias (CoreNet's names).
class MultiHeadAttentionImpl : public torch::nn::Module {
 public:
  MultiHeadAttentionImpl(int64_t embed_dim, int64_t num_heads);

  /// x: (G, w, C) windows of tokens. key_valid: (G, w) bool, or undefined for no mask.
  /// Returns (G, w, C). Softmax runs in float32, q is scaled by head_dim^-0.5.
  /// With a mask, a query whose window has no valid key gets zeros (never NaN).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_valid = {});

  torch::nn::Linear qkv_proj{nullptr};
  torch::nn::Linear out_proj{nullptr};
  /// The two layers' weights for linear_into in inference (bf16 copies kept until they change).
  std::shared_ptr<ProductWeight> qkv_product, out_product;

  /// qkv_proj(x) for x (..., C). Without autograd on the CPU, float32 runs linear_into
  /// (fast_linear.h, oneDNN); otherwise the product reads a row-major copy of W^T, kept until
  /// the weight changes: OpenBLAS multiplies (tokens, C) x (C, 3C) about 1.5x faster from it
  /// than from W's transposed view (the FFN shapes show no difference).
  torch::Tensor project_qkv(const torch::Tensor& x);

  int64_t num_heads() const { return num_heads_; }

 private:
  int64_t embed_dim_;
  int64_t num_heads_;
  torch::Tensor qkv_weight_t_;  // cache of qkv_proj->weight.t().contiguous()
  std::array<int64_t, 2> qkv_weight_key_{0, -1};
};
TORCH_MODULE(MultiHeadAttention);

}  // namespace byteformer
