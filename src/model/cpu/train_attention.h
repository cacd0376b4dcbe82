// The attention sublayer of a pre-norm block (x + attention(LayerNorm(x)) over shifted,
// masked windows) for CPU float32 training as one autograd function, a few windows per task.
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// The attention sublayer's parameters: CoreNet's pre_norm_mha.0 (the LayerNorm) and
/// pre_norm_mha.1 (qkv_proj, out_proj).
struct AttentionSublayerWeights {
  torch::Tensor norm_weight, norm_bias;  // (C), (C)
  double eps = 1e-5;
  torch::Tensor qkv_weight, qkv_bias;  // (3C, C), (3C)
  torch::Tensor out_weight, out_bias;  // (C, C), (C)
  int64_t num_heads = 1;
};

/// x + unwindow(MultiHeadAttention(masked_window(LayerNorm(x)))) for x (B, N, C) and the
/// masked numerics' valid_len (B): the same numbers as TransformerBlock's module path up to
/// float rounding (window padding never a key, its outputs dropped; a window without a valid
/// key gives its tokens zeros), with gradients for x and the seven parameters.
///
/// Why one function: on the quickstart's model (C = 64, windows of 32) the module path spends
/// most of its time in per-operator work around small products (window copies, slices, views,
/// separate norm, mask and residual passes and their backward nodes). Here each task takes
/// about 512 rows' worth of windows with a valid key and runs, on one thread, the gather of
/// their tokens, the norm, qkv_proj, each head's scores, mask, softmax and product, and
/// out_proj, then adds its tokens' outputs to the result (every token is in one window, so tasks
/// write disjoint rows). The backward does the same per task in reverse; the weight gradients
/// are partial sums per fixed group of tasks (parallel_task_groups), added in a fixed order, so
/// they do not depend on the thread count. Float32 windows of up to 64 slots with heads of up
/// to 64 run their attention in hand-written kernels (small_window_attention.h); larger ones,
/// and float64, the library's batched products.
/// Saves the normalised tokens, their statistics, qkv, the probabilities and the heads' output.
/// CPU float32 or float64 (the tests' reference precision); no double backward.
torch::Tensor train_attention_sublayer(const torch::Tensor& x, const torch::Tensor& valid_len, int64_t window,
                                       int64_t shift, const AttentionSublayerWeights& weights);

}  // namespace byteformer
