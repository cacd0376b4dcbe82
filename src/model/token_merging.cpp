#include "byteformer/model/token_merging.h"

#include <algorithm>
#include <vector>

#include "model/cpu/cpu_parallel.h"
#include "model/cpu/fast_linear.h"
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
  const bool masked = valid_len != nullptr && valid_len->defined();
  // Token-major pairs (B, N/2, 2C) with the weight's columns reordered from channel-major
  // (2c+t) to token-major (t*C+c): the same product without materialising CoreNet's unfold.
  const auto w = reduction->weight.view({C, C, 2}).transpose(1, 2).reshape({C, 2 * C});
  torch::Tensor y;  // (B, ceil(N/2), C)
  const auto path = x.scalar_type() == w.scalar_type() ? cpu_inference_path_for(x) : InferencePath::kNone;
  if (path != InferencePath::kNone) {
    const NoCpuAutocast float32_elsewhere;  // bf16: the product's inputs only (fast_linear.h)
    y = merge_inference(x, masked ? *valid_len : torch::Tensor(),
                        path == InferencePath::kBf16 ? w.to(torch::kBFloat16).contiguous() : w.contiguous());
  } else {
    auto h = x;
    if (masked) h = h * prefix_mask(*valid_len, N).unsqueeze(2).to(h.scalar_type());  // zero masked tokens
    if (N % 2 == 1) h = F::pad(h, F::PadFuncOptions({0, 0, 0, 1}));
    auto pairs = h.reshape({B, h.size(1) / 2, 2 * C});
    y = apply_norm(norm, torch::matmul(pairs, w.t()));
  }
  if (masked) *valid_len = torch::div(*valid_len + 1, 2, "floor");
  return y;
}

torch::Tensor TokenMergingImpl::merge_inference(const torch::Tensor& x, const torch::Tensor& valid_len,
                                                const torch::Tensor& token_major_weight) {
  const int64_t B = x.size(0), N = x.size(1), C = embed_dim_, M = (N + 1) / 2;
  const auto xc = x.contiguous();
  auto y = torch::empty({B, M, C}, x.options());
  // Real tokens per row: a prefix (masked tokens count as zeros, as does the odd row's pad).
  std::vector<int64_t> real(B, N);
  if (valid_len.defined()) {
    const auto v = valid_len.to(torch::kLong).contiguous();
    for (int64_t b = 0; b < B; ++b) real[b] = std::clamp<int64_t>(v.data_ptr<int64_t>()[b], 0, N);
  }
  // 256 pair rows per task, as linear_into's chunks.
  constexpr int64_t kRows = 256;
  const int64_t per_row = (M + kRows - 1) / kRows;
  const std::vector<int64_t> shape{C};
  const double eps = norm->options.eps();
  parallel_tasks(B * per_row, [&](int64_t t) {
    const int64_t b = t / per_row, r0 = (t % per_row) * kRows, r1 = std::min(M, r0 + kRows), n = r1 - r0;
    const auto tokens = xc[b].view({N * C});  // row b's tokens, flat
    torch::Tensor pairs;                      // (n, 2C): tokens 2r0 .. 2r1-1
    if (2 * r1 <= real[b]) {
      pairs = tokens.slice(0, 2 * r0 * C, 2 * r1 * C).view({n, 2 * C});  // all real: read in place
    } else {
      pairs = torch::zeros({n, 2 * C}, x.options());
      const int64_t copied = std::max<int64_t>(0, real[b] - 2 * r0);  // < 2n
      if (copied > 0)
        pairs.view({2 * n * C}).slice(0, 0, copied * C).copy_(tokens.slice(0, 2 * r0 * C, (2 * r0 + copied) * C));
    }
    auto merged = torch::empty({n, C}, x.options());
    linear_into(merged, pairs, token_major_weight, torch::Tensor(), LinearEpilogue::kStore);
    y[b].slice(0, r0, r1).copy_(at::layer_norm(merged, shape, norm->weight, norm->bias, eps));
  });
  return y;
}

}  // namespace byteformer
