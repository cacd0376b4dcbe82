// Shifted-window multi-head attention for inference, without materialising the windows.
#pragma once
#include <torch/torch.h>

#include "byteformer/model/attention.h"

namespace byteformer {

/// The same arithmetic as windowing `h` (corenet_window or masked_window), MultiHeadAttention
/// on the windows and unwindowing, for inference (no autograd; float32 or float64):
///  - qkv_proj runs once on the N tokens, not on window copies; CoreNet's window padding is
///    one row, `pad_token` (1, C), the norm of a zero token;
///  - windows are spread over LibTorch's threads in chunks of a few, each reading its rows of
///    qkv in place (gathered only for padded or wrapped windows), running its small products on
///    its own thread (fast_linear.h) and writing its tokens' outputs straight to their places;
///  - out_proj runs once on (B, N, C).
/// h: (B, N, C) normalised tokens. valid_len: (B) int64 (masked numerics) or undefined
/// (CoreNet numerics, then pad_token is required). Returns (B, N, C); under masked numerics
/// the tokens of windows without a real token get zeros, as the windowed path gives.
torch::Tensor windowed_attention_inference(MultiHeadAttentionImpl& attn, const torch::Tensor& h,
                                           const torch::Tensor& valid_len, const torch::Tensor& pad_token,
                                           int64_t window, int64_t shift);

/// The same from qkv_proj(h) (B, N, 3C) already computed (first_block_qkv.h).
torch::Tensor windowed_attention_from_qkv(MultiHeadAttentionImpl& attn, const torch::Tensor& qkv,
                                          const torch::Tensor& valid_len, const torch::Tensor& pad_token,
                                          int64_t window, int64_t shift);

/// y += the same attention of LayerNorm(y) (norm_weight, norm_bias, eps), in place, for a
/// contiguous (B, N, C) y: the whole attention sublayer of a pre-norm block per task of a few
/// windows (their tokens' norm, qkv_proj, attention and out_proj with the residual added inside
/// the product), so that no (B, N, 3C) qkv or (B, N, C) intermediate is ever allocated: the
/// sublayer's memory is the tasks' buffers, not five to seven copies of the activations (ByteFormer-Ti, 8
/// TIFF-224 files: one (B, N, 3C) qkv is 174 MB). The same numbers as
/// windowed_attention_inference then the residual add, up to float rounding in the products'
/// order (none with oneDNN). Tokens of windows without a valid key (masked numerics) are left as
/// they are, as the windowed path adds zeros to them. bf16: qkv_proj's and out_proj's products
/// with bf16 inputs (fast_linear.h; float32 y), the norm, the attention and the sums in float32.
void add_windowed_attention_inference(MultiHeadAttentionImpl& attn, const torch::Tensor& norm_weight,
                                      const torch::Tensor& norm_bias, double eps, torch::Tensor& y,
                                      const torch::Tensor& valid_len, const torch::Tensor& pad_token, int64_t window,
                                      int64_t shift, bool bf16 = false);

}  // namespace byteformer
