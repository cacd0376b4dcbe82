#include "byteformer/model/transformer_block.h"

#include "model/cpu/cpu_parallel.h"
#include "model/cpu/fast_linear.h"
#include "model/cpu/train_attention.h"
#include "model/cpu/train_linear.h"
#include "byteformer/model/norm.h"
#include "model/cpu/window_attention.h"
#include "byteformer/model/windowing.h"

namespace byteformer {

namespace F = torch::nn::functional;

namespace {
// The float32/64 inference paths (window_attention.h, PreNormFfn::add_to_inference): no
// autograd, CPU, not under autocast (cpu_parallel.h's InferencePath::kFloat).
bool cpu_inference_path(const torch::Tensor& t) { return cpu_inference_path_for(t) == InferencePath::kFloat; }
}  // namespace

PreNormMhaImpl::PreNormMhaImpl(int64_t embed_dim, int64_t num_heads) {
  norm = register_module("0", torch::nn::LayerNorm(torch::nn::LayerNormOptions({embed_dim}).eps(1e-5)));
  attn = register_module("1", MultiHeadAttention(embed_dim, num_heads));
}

PreNormFfnImpl::PreNormFfnImpl(int64_t embed_dim, int64_t ffn_dim, double dropout)
    : dropout_(dropout), fc1_product_(std::make_shared<ProductWeight>()), fc2_product_(std::make_shared<ProductWeight>()) {
  norm = register_module("0", torch::nn::LayerNorm(torch::nn::LayerNormOptions({embed_dim}).eps(1e-5)));
  fc1 = register_module("1", torch::nn::Linear(embed_dim, ffn_dim));
  fc2 = register_module("4", torch::nn::Linear(ffn_dim, embed_dim));
}

torch::Tensor PreNormFfnImpl::forward(const torch::Tensor& x) {
  auto n = apply_norm(norm, x);
  auto h = linear(fc1, n);  // (B, N, ffn)
  // Exact (erf) GELU, as CoreNet's activation `gelu`; in place when no gradient is needed.
  if (torch::GradMode::is_enabled()) {
    h = torch::gelu(h);
  } else {
    at::gelu_out(h, h);
  }
  // CoreNet's ffn_dropout (index 3) is 0 for every preset.
  h = linear(fc2, h);
  return F::dropout(h, F::DropoutFuncOptions().p(dropout_).training(is_training()));
}

void PreNormFfnImpl::add_to_inference(torch::Tensor& y, bool bf16) {
  TORCH_CHECK(!torch::GradMode::is_enabled() && y.is_contiguous() && (!bf16 || y.scalar_type() == torch::kFloat),
              "PreNormFfn::add_to_inference: inference only (bf16 products on float32)");
  const int64_t C = y.size(-1), F = fc1->weight.size(0);
  auto rows = y.view({-1, C});
  const int64_t R = rows.size(0);
  // 256 rows: a (256, ffn) activation of Ti is 768 KB, inside one core's L2 (the JPEG workload's
  // first FFN on 2 threads: 128 rows 6-8% slower than 256 with oneDNN and OpenBLAS, 512 no faster).
  constexpr int64_t kRows = 256;
  const std::vector<int64_t> shape{C};
  const auto w1 = fc1_product_->get(fc1->weight, bf16), w2 = fc2_product_->get(fc2->weight, bf16);
  parallel_tasks((R + kRows - 1) / kRows, [&](int64_t t) {
    auto part = rows.slice(0, t * kRows, std::min(R, (t + 1) * kRows));  // (r, C)
    auto h = at::layer_norm(part, shape, norm->weight, norm->bias, norm->options.eps());
    auto f = torch::empty({part.size(0), F}, part.options());  // (r, ffn)
    linear_into(f, h, w1, fc1->bias, LinearEpilogue::kGelu);
    linear_into(part, f, w2, fc2->bias, LinearEpilogue::kAccumulate);
  });
}

TransformerBlockImpl::TransformerBlockImpl(const ByteFormerOptions& o, int64_t layer)
    : window_(o.window_size(layer)),
      shift_(o.window_shift(layer)),
      dropout_(o.dropout),
      drop_path_rate_(o.drop_path_rates().at(layer)) {
  pre_norm_mha = register_module("pre_norm_mha", PreNormMha(o.embed_dim, o.num_heads));
  pre_norm_ffn = register_module("pre_norm_ffn", PreNormFfn(o.embed_dim, o.ffn_dim, o.dropout));
}

torch::Tensor TransformerBlockImpl::attention(const torch::Tensor& x, const torch::Tensor& valid_len,
                                              const torch::Tensor& qkv) {
  const int64_t B = x.size(0), N = x.size(1);
  // CoreNet: window zero padding goes through the norm too (it becomes the norm's bias).
  torch::Tensor pad_token;
  if (!valid_len.defined()) pad_token = apply_norm(pre_norm_mha->norm, torch::zeros({1, 1, x.size(2)}, x.options()));
  if (qkv.defined()) {
    TORCH_CHECK(cpu_inference_path(x) && qkv.sizes() == torch::IntArrayRef({B, N, 3 * x.size(2)}),
                "TransformerBlock::forward - a given qkv needs CPU float inference and shape (B, N, 3C), got ",
                qkv.sizes());
    return windowed_attention_from_qkv(*pre_norm_mha->attn, qkv, valid_len, pad_token, window_, shift_);
  }
  auto h = apply_norm(pre_norm_mha->norm, x);  // (B, N, C); per token, so windowing after the norm is exact
  if (cpu_inference_path(h)) {
    // The same arithmetic without window copies (window_attention.h).
    return windowed_attention_inference(*pre_norm_mha->attn, h, valid_len, pad_token, window_, shift_);
  }
  if (!valid_len.defined()) {
    const int64_t pad = (window_ - N % window_) % window_;
    auto hp = pad > 0 ? torch::cat({h, pad_token.expand({B, pad, x.size(2)})}, 1) : h;  // (B, Np, C)
    auto windows = corenet_window(hp, window_, shift_);  // (B*Np/w, w, C), no further padding
    return corenet_unwindow(pre_norm_mha->attn(windows), B, N, shift_);
  }
  auto layout = masked_window(h, valid_len, window_, shift_);
  // Windows without a real token (batch padding) cost nothing: compute only the others.
  auto live = layout.key_valid.any(1).nonzero().squeeze(1);  // (G')
  torch::Tensor out;
  if (live.size(0) == layout.windows.size(0)) {
    out = pre_norm_mha->attn(layout.windows, layout.key_valid);
  } else {
    auto sub = pre_norm_mha->attn(layout.windows.index_select(0, live), layout.key_valid.index_select(0, live));
    out = torch::zeros_like(layout.windows).index_copy(0, live, sub);
  }
  return masked_unwindow(out, layout, B, N);
}

torch::Tensor TransformerBlockImpl::drop_path(const torch::Tensor& branch) {
  // Stochastic depth, "row" mode: one keep/drop draw per sample (CoreNet draws one per window).
  if (!is_training() || drop_path_rate_ <= 0.0) return branch;
  const double keep = 1.0 - drop_path_rate_;
  auto mask = torch::empty({branch.size(0), 1, 1}, branch.options()).bernoulli_(keep);
  return branch * mask / keep;
}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& valid_len,
                                            const torch::Tensor& qkv) {
  const auto path = cpu_inference_path_for(x);
  if (!qkv.defined() && !is_training() && path != InferencePath::kNone) {
    // Inference: both sublayers add to one copy of x in place, a few windows or rows at a time
    // (window_attention.h, add_to_inference), so the block holds two (B, N, C) tensors, not
    // five to seven of them and a (B, N, 3C) qkv. Under bf16 autocast the same, with the linear
    // layers' products in bf16 and the residual stream, norms and attention in float32.
    const NoCpuAutocast float32_elsewhere;
    const bool bf16 = path == InferencePath::kBf16;
    auto y = x.clone(at::MemoryFormat::Contiguous);
    torch::Tensor pad_token;  // CoreNet: window zero padding goes through the norm too
    if (!valid_len.defined()) pad_token = apply_norm(pre_norm_mha->norm, torch::zeros({1, 1, x.size(2)}, x.options()));
    const auto& norm = pre_norm_mha->norm;
    add_windowed_attention_inference(*pre_norm_mha->attn, norm->weight, norm->bias, norm->options.eps(), y,
                                     valid_len, pad_token, window_, shift_, bf16);
    pre_norm_ffn->add_to_inference(y, bf16);
    return y;
  }
  // CPU float32 training without dropout or stochastic depth: each sublayer with its residual
  // as one autograd function (train_attention.h for masked numerics, train_linear.h's FFN
  // sublayer for both numerics); CoreNet's ffn_dropout (pre_norm_ffn.3) is 0 for every preset.
  const bool fused_training = !qkv.defined() && train_linear_applies(x) &&
                              (!is_training() || (dropout_ == 0.0 && drop_path_rate_ <= 0.0));
  auto ffn_sublayer = [this](const torch::Tensor& y) {
    const auto& ffn = *pre_norm_ffn;
    return train_ffn_sublayer(y, {ffn.norm->weight, ffn.norm->bias, ffn.norm->options.eps(), ffn.fc1->weight,
                                  ffn.fc1->bias, ffn.fc2->weight, ffn.fc2->bias});
  };
  if (fused_training && valid_len.defined()) {
    const auto& mha = *pre_norm_mha;
    const AttentionSublayerWeights weights{mha.norm->weight,         mha.norm->bias,           mha.norm->options.eps(),
                                           mha.attn->qkv_proj->weight, mha.attn->qkv_proj->bias,
                                           mha.attn->out_proj->weight, mha.attn->out_proj->bias,
                                           mha.attn->num_heads()};
    return ffn_sublayer(train_attention_sublayer(x, valid_len, window_, shift_, weights));  // (B, N, C)
  }
  auto a = attention(x, valid_len, qkv);  // (B, N, C), a fresh tensor
  if (!is_training() && !torch::GradMode::is_enabled() && a.scalar_type() == x.scalar_type()) {
    // Inference: the same arithmetic, reusing buffers in place (less memory, fewer passes).
    // (Not under autocast, where the residual stream must stay in float32.)
    auto& y = a.add_(x);
    if (y.is_contiguous() && cpu_inference_path(y)) {
      pre_norm_ffn->add_to_inference(y);
      return y;
    }
    return pre_norm_ffn(y).add_(y);
  }
  a = F::dropout(a, F::DropoutFuncOptions().p(dropout_).training(is_training()));  // pre_norm_mha.2
  auto y = x + drop_path(a);
  if (fused_training) return ffn_sublayer(y);  // CoreNet numerics
  return y + drop_path(pre_norm_ffn(y));
}

}  // namespace byteformer
