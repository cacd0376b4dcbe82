// Attention of one head of one small window (w <= kSmallWindow keys) in float32, forward and
// backward, by hand (internal to train_attention.cpp). For windows this small (the quickstart
// model: 32 slots, heads of 16) each product is a few thousand FLOPs, and library calls spend
// more in setup than in arithmetic: oneDNN's batched products reached 22-26 GFLOP/s there, and
// ATen's softmax and its backward with them took 40% of the attention sublayer's time.
#pragma once
#include <cstdint>

namespace byteformer {

/// The largest window these kernels take (their scratch lives on the stack).
constexpr int64_t kSmallWindow = 64;
/// The largest head dimension they take.
constexpr int64_t kSmallHead = 64;

/// One window-head's q, k, v rows (row stride ld floats) and its keys' validity.
struct SmallWindowHead {
  const float* q;
  const float* k;
  const float* v;
  int64_t ld;
  const bool* key_valid;  // (w): at least one true
  int64_t w, d;
  float scale;  // scores = scale q k^T
};

/// probs (w, w) = softmax(scale q k^T) over the valid keys (exactly 0 at the others), and
/// out (w rows of d, stride ldo) = probs v.
void small_window_forward(const SmallWindowHead& h, float* probs, float* out, int64_t ldo);

/// Given the output's gradient dout (w rows of d, stride ldo) and the forward's probs: the
/// gradients of q, k and v (w rows of d each, stride ldd), written (not accumulated).
void small_window_backward(const SmallWindowHead& h, const float* probs, const float* dout, int64_t ldo, float* dq,
                           float* dk, float* dv, int64_t ldd);

}  // namespace byteformer
