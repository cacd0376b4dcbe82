#include "byteformer/model/windowing.h"

namespace byteformer {

namespace F = torch::nn::functional;

torch::Tensor corenet_window(const torch::Tensor& x, int64_t window, int64_t shift) {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2);
  const int64_t pad = (window - N % window) % window;
  auto xp = pad > 0 ? F::pad(x, F::PadFuncOptions({0, 0, 0, pad})) : x;  // (B, Np, C)
  if (shift > 0) xp = torch::roll(xp, {-shift}, {1});
  return xp.reshape({B * (N + pad) / window, window, C});
}

torch::Tensor corenet_unwindow(const torch::Tensor& windows, int64_t batch, int64_t num_tokens, int64_t shift) {
  const int64_t C = windows.size(2);
  auto x = windows.reshape({batch, -1, C});  // (B, Np, C)
  if (shift > 0) x = torch::roll(x, {shift}, {1});
  return x.slice(1, 0, num_tokens);
}

torch::Tensor prefix_mask(const torch::Tensor& valid_len, int64_t num_tokens) {
  auto pos = torch::arange(num_tokens, valid_len.options().dtype(torch::kLong));
  return pos.unsqueeze(0) < valid_len.to(torch::kLong).unsqueeze(1);  // (B, N)
}

MaskedWindows masked_window(const torch::Tensor& x, const torch::Tensor& valid_len, int64_t window, int64_t shift) {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2);
  MaskedWindows m;
  m.left_pad = (window - shift % window) % window;
  const int64_t right = (window - (m.left_pad + N) % window) % window;
  m.padded_len = m.left_pad + N + right;
  auto xp = (m.left_pad + right) > 0 ? F::pad(x, F::PadFuncOptions({0, 0, m.left_pad, right})) : x;
  // (B, Np): real tokens sit at [left_pad, left_pad + valid_len).
  auto pos = torch::arange(m.padded_len, valid_len.options().dtype(torch::kLong)).unsqueeze(0);
  auto valid = (pos >= m.left_pad).logical_and(pos < (valid_len.to(torch::kLong) + m.left_pad).unsqueeze(1));
  const int64_t G = B * m.padded_len / window;
  m.windows = xp.reshape({G, window, C});
  m.key_valid = valid.reshape({G, window});
  return m;
}

torch::Tensor masked_unwindow(const torch::Tensor& windows, const MaskedWindows& layout, int64_t batch,
                              int64_t num_tokens) {
  const int64_t C = windows.size(2);
  return windows.reshape({batch, layout.padded_len, C}).slice(1, layout.left_pad, layout.left_pad + num_tokens);
}

}  // namespace byteformer
