#include "byteformer/model/token_merging.h"

#include "byteformer/model/cpu/cpu_parallel.h"
#include "byteformer/model/cpu/fast_linear.h"
#include "byteformer/model/norm.h"
#include "byteformer/model/windowing.h"

namespace byteformer {

namespace F = torch::nn::functional;

TokenMergingImpl::TokenMergingImpl(int64_t embed_dim) : embed_dim_(embed_dim) {
  reduction = register_module("reduction", torch::nn::Linear(torch::nn::LinearOptions(2 * embed_dim, embed_dim).bias(false)));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({embed_dim}).eps(1e-5)));
}

torch::Tensor TokenMergingImpl::forward(const torch::Tensor& x, torch::Tensor* valid_len) {
  const int64_t B = x.size(0), N = x.size(1), C = embed_dim_;
  TORCH_CHECK(x.dim() == 3 && x.size(2) == C, "TokenMerging::forward - expected (B, N, ", C, "), got ", x.sizes());
  auto h = x;
  if (valid_len != nullptr && valid_len->defined())
    h = h * prefix_mask(*valid_len, N).unsqueeze(2).to(h.scalar_type());  // zero masked tokens
  if (N % 2 == 1) h = F::pad(h, F::PadFuncOptions({0, 0, 0, 1}));
  // Token-major pairs (B, N/2, 2C) with the weight's columns reordered from channel-major
  // (2c+t) to token-major (t*C+c): the same product without materialising CoreNet's unfold.
  auto pairs = h.reshape({B, h.size(1) / 2, 2 * C});
  auto w = reduction->weight.view({C, C, 2}).transpose(1, 2).reshape({C, 2 * C});
  torch::Tensor y;  // (B, ceil(N/2), C)
  if (!torch::GradMode::is_enabled() && cpu_float_outside_autocast(pairs) &&
      pairs.scalar_type() == w.scalar_type()) {
    // Inference: the product in row chunks over the threads (fast_linear.h).
    const auto flat = pairs.reshape({-1, 2 * C}).contiguous();  // (B*N/2, 2C)
    auto merged = torch::empty({flat.size(0), C}, flat.options());
    linear_into(merged, flat, w.contiguous(), torch::Tensor(), LinearEpilogue::kStore);
    y = apply_norm(norm, merged.view({B, pairs.size(1), C}));
  } else {
    y = apply_norm(norm, torch::matmul(pairs, w.t()));
  }
  if (valid_len != nullptr && valid_len->defined()) *valid_len = torch::div(*valid_len + 1, 2, "floor");
  return y;
}

}  // namespace byteformer
