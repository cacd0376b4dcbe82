// Shifted-window layout of a token sequence (CoreNet's windowed_transformer.py) and the
// masked variant. Pure tensor functions, no parameters.
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// CoreNet's layout: zero-pad (B, N, C) to a multiple of w, roll left by `shift`, cut into
/// windows. Returns (B * Np / w, w, C).
torch::Tensor corenet_window(const torch::Tensor& x, int64_t window, int64_t shift);
/// Inverse of corenet_window: (B * Np / w, w, C) -> roll right by `shift` -> first N tokens.
torch::Tensor corenet_unwindow(const torch::Tensor& windows, int64_t batch, int64_t num_tokens,
                               int64_t shift);

/// Masked layout. Token t of a sequence belongs to window floor((t - shift) / w): windows are
/// aligned at `shift`, so the tokens before `shift` form windows of their own instead of wrapping
/// around to the end (the Swin shift mask, exactly), and the grouping of a sequence's tokens
/// never depends on how much padding follows it.
struct MaskedWindows {
  int64_t left_pad = 0;    // tokens added in front so that windows start at multiples of w
  int64_t padded_len = 0;  // left_pad + N + right pad, a multiple of w
  torch::Tensor windows;   // (B * padded_len / w, w, C)
  torch::Tensor key_valid; // (B * padded_len / w, w) bool: real token of the sequence
};
/// x: (B, N, C); valid_len: (B) int64, the number of real tokens of each sequence (a prefix).
MaskedWindows masked_window(const torch::Tensor& x, const torch::Tensor& valid_len, int64_t window,
                            int64_t shift);
/// (B * padded_len / w, w, C) -> (B, N, C).
torch::Tensor masked_unwindow(const torch::Tensor& windows, const MaskedWindows& layout, int64_t batch,
                              int64_t num_tokens);

/// (B, N) bool: position t < valid_len[b].
torch::Tensor prefix_mask(const torch::Tensor& valid_len, int64_t num_tokens);

}  // namespace byteformer
