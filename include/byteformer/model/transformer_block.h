// Pre-norm Transformer block with shifted-window attention (CoreNet's
// corenet/modeling/modules/windowed_transformer.py over modules/transformer.py).
#pragma once
#include <torch/torch.h>

#include "byteformer/model/attention.h"
#include "byteformer/model/byteformer_options.h"

namespace byteformer {

/// `pre_norm_mha.0` LayerNorm, `pre_norm_mha.1` attention (index 2 is a parameterless dropout).
class PreNormMhaImpl : public torch::nn::Module {
 public:
  PreNormMhaImpl(int64_t embed_dim, int64_t num_heads);
  torch::nn::LayerNorm norm{nullptr};  // "0"
  MultiHeadAttention attn{nullptr};    // "1"
};
TORCH_MODULE(PreNormMha);

/// `pre_norm_ffn.0` LayerNorm, `.1` Linear(C, ffn), GELU, dropout, `.4` Linear(ffn, C), dropout.
class PreNormFfnImpl : public torch::nn::Module {
 public:
  PreNormFfnImpl(int64_t embed_dim, int64_t ffn_dim, double dropout);
  /// (B, N, C) -> (B, N, C), without the residual.
  torch::Tensor forward(const torch::Tensor& x);
  /// y += forward(y) for inference on the CPU (no autograd, float32/64, y contiguous): rows in
  /// chunks spread over LibTorch's threads, each chunk's norm, fc1, GELU, fc2 and residual
  /// done while its (rows, ffn) activations are in cache, its products on its own thread
  /// (fast_linear.h: GELU and the residual add inside the products).
  /// bf16: the two products with bf16 inputs (fast_linear.h), the rest in float32.
  void add_to_inference(torch::Tensor& y, bool bf16 = false);
  torch::nn::LayerNorm norm{nullptr};  // "0"
  torch::nn::Linear fc1{nullptr};      // "1"
  torch::nn::Linear fc2{nullptr};      // "4"

 private:
  double dropout_;
  std::shared_ptr<ProductWeight> fc1_product_, fc2_product_;  // bf16 copies of the weights for add_to_inference
};
TORCH_MODULE(PreNormFfn);

/// One `transformer.{i}` block. Norms and FFN run per token on (B, N, C); only the attention
/// is windowed, which gives CoreNet's numbers for every real token.
class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(const ByteFormerOptions& options, int64_t layer);

  /// x: (B, N, C). valid_len: (B) real tokens per row (masked numerics) or undefined
  /// (CoreNet numerics: every token real, window padding attended to as CoreNet does).
  /// qkv: optional, (B, N, 3C) = pre_norm_mha's qkv_proj(norm(x)) already computed
  /// (first_block_qkv.h); only for CPU inference in float32/64 outside autocast.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& valid_len, const torch::Tensor& qkv = {});

  PreNormMha pre_norm_mha{nullptr};
  PreNormFfn pre_norm_ffn{nullptr};
  int64_t window_size() const { return window_; }
  int64_t window_shift() const { return shift_; }

 private:
  torch::Tensor attention(const torch::Tensor& x, const torch::Tensor& valid_len, const torch::Tensor& qkv);
  torch::Tensor drop_path(const torch::Tensor& branch);

  int64_t window_;
  int64_t shift_;
  double dropout_;
  double drop_path_rate_;
};
TORCH_MODULE(TransformerBlock);

}  // namespace byteformer
