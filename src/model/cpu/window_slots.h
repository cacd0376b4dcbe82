// Where the tokens of shifted, padded windows live (internal to the CPU attention paths:
// window_attention.cpp for inference, train_attention.cpp for training).
#pragma once
#include <torch/torch.h>

namespace byteformer {

/// Slot s = g * w + i of window g (row b = g / windows per row) and the token it holds, for
/// corenet_window (valid_len undefined: zero padding at the end, rolled left by the shift) or
/// masked_window (valid_len (B): `left` padding slots in front so windows start at the shift).
struct SlotLayout {
  torch::Tensor row;        // (G*w) int64: b * N + p, clamped into the row for slots off it
  torch::Tensor on_row;     // (G*w) bool: 0 <= p < N (the slot is one of the N tokens)
  torch::Tensor key_valid;  // (G, w) bool (masked numerics), else undefined
  int64_t windows = 0;      // G
};

SlotLayout slot_layout(int64_t B, int64_t N, int64_t w, int64_t shift, const torch::Tensor& valid_len);

}  // namespace byteformer
