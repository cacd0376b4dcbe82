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

}  // namespace byteformer
