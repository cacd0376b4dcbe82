// Token merging between blocks (CoreNet's corenet/modeling/layers/token_merging.py).
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// `downsamplers.downsample_{i}`: zero masked tokens, pad to an even length, merge neighbours
/// (2j, 2j+1) into one 2C vector laid out channel-major (feature 2c+t = channel c of token 2j+t),
/// `reduction` Linear(2C, C, no bias), `norm` LayerNorm(C).
class TokenMergingImpl : public torch::nn::Module {
 public:
  explicit TokenMergingImpl(int64_t embed_dim);

  /// x: (B, N, C); valid_len: (B) real tokens (a prefix), or undefined when all are real.
  /// Returns (B, ceil(N/2), C); valid_len becomes ceil(valid_len / 2).
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* valid_len);

  torch::nn::Linear reduction{nullptr};
  torch::nn::LayerNorm norm{nullptr};

 private:
  /// forward's arithmetic for CPU float32/64 inference: pair rows in chunks over the threads, read
  /// in place from x (copied only where a pair has a masked or missing token), each chunk's
  /// product and norm written straight into the result: the only (B, N/2, C) tensor it makes.
  torch::Tensor merge_inference(const torch::Tensor& x, const torch::Tensor& valid_len,
                                const torch::Tensor& token_major_weight);

  int64_t embed_dim_;
};
TORCH_MODULE(TokenMerging);

}  // namespace byteformer
