#include "byteformer/model/attention.h"

#include <cmath>
#include <limits>

#include "model/cpu/attention_core.h"
#include "model/cpu/cpu_parallel.h"
#include "model/cpu/fast_linear.h"
#include "model/cpu/train_linear.h"

namespace byteformer {

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t embed_dim, int64_t num_heads)
    : qkv_product(std::make_shared<ProductWeight>()),
      out_product(std::make_shared<ProductWeight>()),
      embed_dim_(embed_dim),
      num_heads_(num_heads) {
  TORCH_CHECK(embed_dim % num_heads == 0, "MultiHeadAttention: embed_dim ", embed_dim,
              " not divisible by num_heads ", num_heads);
  qkv_proj = register_module("qkv_proj", torch::nn::Linear(torch::nn::LinearOptions(embed_dim, 3 * embed_dim).bias(true)));
  out_proj = register_module("out_proj", torch::nn::Linear(torch::nn::LinearOptions(embed_dim, embed_dim).bias(true)));
}

torch::Tensor MultiHeadAttentionImpl::project_qkv(const torch::Tensor& x) {
  const auto& W = qkv_proj->weight;
  if (torch::GradMode::is_enabled() || x.scalar_type() != W.scalar_type() || !x.device().is_cpu()) {
    qkv_weight_t_ = torch::Tensor();
    return linear(qkv_proj, x);  // CPU float32 training through train_linear.h
  }
  auto sizes = x.sizes().vec();
  sizes.back() = 3 * embed_dim_;
  const auto rows = x.reshape({-1, embed_dim_});  // (M, C)
  // Outside autocast: linear_into (oneDNN, or ATen's product in fixed row chunks, so that a
  // row's sums do not depend on the batch). Under CPU autocast: autocast's addmm.
  if (cpu_float_outside_autocast(x)) {
    qkv_weight_t_ = torch::Tensor();
    auto y = torch::empty({rows.size(0), 3 * embed_dim_}, x.options());  // (M, 3C)
    linear_into(y, rows, W.contiguous(), qkv_proj->bias, LinearEpilogue::kStore);
    return y.view(sizes);
  }
  const std::array<int64_t, 2> key{reinterpret_cast<int64_t>(W.data_ptr()), static_cast<int64_t>(W._version())};
  if (!qkv_weight_t_.defined() || key != qkv_weight_key_ || qkv_weight_t_.device() != W.device()) {
    qkv_weight_t_ = W.t().contiguous();
    qkv_weight_key_ = key;
  }
  return torch::addmm(qkv_proj->bias, rows, qkv_weight_t_).view(sizes);
}

torch::Tensor MultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& key_valid) {
  TORCH_CHECK(x.dim() == 3 && x.size(2) == embed_dim_, "MultiHeadAttention::forward - expected (G, w, ",
              embed_dim_, "), got ", x.sizes());
  const int64_t G = x.size(0), w = x.size(1), H = num_heads_, d = embed_dim_ / num_heads_;
  // (G, w, 3C) -> (G, w, 3, H, d) -> (3, G, H, w, d)
  // unbind, not three selects: its backward writes one (3, G, H, w, d) gradient (a select's
  // backward zero-fills a whole qkv-sized tensor for each of q, k and v, then adds them).
  const auto qkv = project_qkv(x).view({G, w, 3, H, d}).permute({2, 0, 3, 1, 4}).unbind(0);
  auto q = qkv[0] * (1.0 / std::sqrt(static_cast<double>(d)));  // (G, H, w, d)
  const auto& k = qkv[1];
  const auto& v = qkv[2];
  torch::Tensor any_valid, keep;
  if (key_valid.defined()) {
    TORCH_CHECK(key_valid.sizes() == torch::IntArrayRef({G, w}), "MultiHeadAttention::forward - key mask ",
                key_valid.sizes(), " does not match windows ", x.sizes());
    // A window without any valid key would softmax over -inf only (NaN): unmask it, zero it after.
    any_valid = key_valid.any(/*dim=*/1);                                  // (G)
    keep = key_valid.logical_or(any_valid.logical_not().unsqueeze(1));  // (G, w)
  }
  torch::Tensor out;
  if (torch::GradMode::is_enabled() && cpu_float_outside_autocast(x)) {
    // Training on the CPU: the same numbers, windows spread over the threads (attention_core.h).
    out = windowed_softmax_attention(q, k, v, keep);  // (G, H, w, d)
  } else {
    auto attn = torch::matmul(q, k.transpose(-1, -2));  // (G, H, w, w)
    if (keep.defined())
      attn = attn.masked_fill(keep.logical_not().view({G, 1, 1, w}), -std::numeric_limits<float>::infinity());
    // Softmax in float32 at least (half and bfloat16 are upcast, as CoreNet does).
    const auto dtype = attn.scalar_type();
    const auto softmax_dtype = dtype == torch::kDouble ? torch::kDouble : torch::kFloat;
    attn = torch::softmax(attn.to(softmax_dtype), /*dim=*/-1).to(dtype);
    out = torch::matmul(attn, v);  // (G, H, w, d)
  }
  out = out.transpose(1, 2).reshape({G, w, embed_dim_});  // (G, w, C)
  out = linear(out_proj, out);
  if (any_valid.defined()) out = out * any_valid.view({G, 1, 1}).to(out.scalar_type());
  return out;
}

}  // namespace byteformer
