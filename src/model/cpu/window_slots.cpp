#include "window_slots.h"

namespace byteformer {

SlotLayout slot_layout(int64_t B, int64_t N, int64_t w, int64_t shift, const torch::Tensor& valid_len) {
  const bool masked = valid_len.defined();
  auto opts = torch::TensorOptions().dtype(torch::kLong);
  int64_t padded = 0;
  torch::Tensor p;  // (Np) position of slot j*w+i within the row, before the validity checks
  if (!masked) {
    // corenet_window: zero-pad to a multiple of w, roll left by `shift`.
    padded = N + (w - N % w) % w;
    p = torch::remainder(torch::arange(padded, opts) + shift, padded);
  } else {
    // masked_window: `left` slots in front so that windows start at the shift.
    const int64_t left = (w - shift % w) % w;
    padded = left + N + (w - (left + N) % w) % w;
    p = torch::arange(padded, opts) - left;
  }
  SlotLayout s;
  s.windows = B * padded / w;
  auto on_row = (p >= 0).logical_and(p < N);                                          // (Np)
  auto base = (torch::arange(B, opts) * N).unsqueeze(1);                              // (B, 1)
  s.row = (base + p.clamp(0, N - 1).unsqueeze(0)).reshape({-1});                      // (B*Np)
  s.on_row = on_row.unsqueeze(0).expand({B, padded}).reshape({-1});
  if (masked) {
    auto valid = on_row.unsqueeze(0).logical_and(p.unsqueeze(0) < valid_len.to(torch::kLong).unsqueeze(1));
    s.key_valid = valid.reshape({s.windows, w});
  }
  return s;
}

}  // namespace byteformer
