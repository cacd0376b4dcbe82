#include "byteformer/model/cpu/train_linear.h"

#include "byteformer/model/cpu/cpu_parallel.h"
#include "byteformer/model/cpu/fast_linear.h"

namespace byteformer {

namespace {

// Rows per task of the weight gradient: a (1024, 256) float32 slice of the output gradient is
// 1 MB, and each task's partial (N, K) product is small beside it.
constexpr int64_t kGradRows = 1024;

class TrainLinear : public torch::autograd::Function<TrainLinear> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    const int64_t N = weight.size(0), K = weight.size(1);
    auto rows = x.reshape({-1, K}).contiguous();  // (M, K)
    auto w = weight.contiguous();                  // (N, K)
    auto y = torch::empty({rows.size(0), N}, rows.options());  // (M, N)
    linear_into(y, rows, w, bias.contiguous(), LinearEpilogue::kStore);
    ctx->save_for_backward({rows, w});
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    auto sizes = x.sizes().vec();
    sizes.back() = N;
    return y.view(sizes);
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    torch::NoGradGuard no_grad;
    const auto saved = ctx->get_saved_variables();
    const auto& rows = saved[0];  // (M, K)
    const auto& w = saved[1];     // (N, K)
    const int64_t M = rows.size(0), N = w.size(0), K = w.size(1);
    auto dy = grads[0].reshape({M, N}).contiguous();  // (M, N)
    // dX = dY W: the forward's product with W^T (K, N) as the weight.
    auto dx = torch::empty({M, K}, rows.options());  // (M, K)
    linear_into(dx, dy, w.t().contiguous(), torch::Tensor(), LinearEpilogue::kStore);
    // dW = dY^T X = sum over row chunks of dY_c^T X_c, each on one thread; then the sum.
    const int64_t chunks = std::max<int64_t>(1, (M + kGradRows - 1) / kGradRows);
    auto partial = torch::empty({chunks, N, K}, rows.options());  // (chunks, N, K)
    parallel_tasks(chunks, [&](int64_t c) {
      const int64_t r0 = c * kGradRows, r1 = std::min(M, r0 + kGradRows);
      auto p = partial[c];
      if (r1 <= r0) {
        p.zero_();
        return;
      }
      at::mm_out(p, dy.slice(0, r0, r1).t(), rows.slice(0, r0, r1));
    });
    auto dw = chunks == 1 ? partial[0] : partial.sum(0);  // (N, K)
    auto db = dy.sum(0);                                  // (N)
    return {dx.view(ctx->saved_data["x_sizes"].toIntVector()), dw, db};
  }
};

// Rows per task of the FFN (train_ffn): four of linear_into's 256-row chunks; a (1024, 256)
// float32 activation is 1 MB.
constexpr int64_t kFfnRows = 1024;

class TrainFfn : public torch::autograd::Function<TrainFfn> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w1,
                               const torch::Tensor& b1, const torch::Tensor& w2, const torch::Tensor& b2) {
    const int64_t F = w1.size(0), C = w1.size(1);
    auto rows = x.reshape({-1, C}).contiguous();  // (M, C)
    const int64_t M = rows.size(0);
    const auto w1c = w1.contiguous(), w2c = w2.contiguous(), b1c = b1.contiguous(), b2c = b2.contiguous();
    auto h = torch::empty({M, F}, rows.options());  // fc1's output, saved
    auto g = torch::empty({M, F}, rows.options());  // its GELU, saved (not recomputed: erf is costly)
    auto y = torch::empty({M, C}, rows.options());
    parallel_tasks((M + kFfnRows - 1) / kFfnRows, [&](int64_t t) {
      const int64_t r0 = t * kFfnRows, r1 = std::min(M, r0 + kFfnRows);
      auto hc = h.slice(0, r0, r1), gc = g.slice(0, r0, r1), yc = y.slice(0, r0, r1);
      linear_into(hc, rows.slice(0, r0, r1), w1c, b1c, LinearEpilogue::kStore);
      at::gelu_out(gc, hc);  // exact (erf) GELU, as CoreNet's `gelu`
      linear_into(yc, gc, w2c, b2c, LinearEpilogue::kStore);
    });
    ctx->save_for_backward({rows, h, g, w1c, w2c});
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    return y.view(x.sizes());
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    torch::NoGradGuard no_grad;
    const auto saved = ctx->get_saved_variables();
    const auto &rows = saved[0], &h = saved[1], &g = saved[2], &w1 = saved[3], &w2 = saved[4];
    const int64_t M = rows.size(0), C = rows.size(1), F = h.size(1);
    auto dy = grads[0].reshape({M, C}).contiguous();
    const auto w1t = w1.t().contiguous(), w2t = w2.t().contiguous();  // (C, F), (F, C)
    const int64_t tasks = std::max<int64_t>(1, (M + kFfnRows - 1) / kFfnRows);
    auto dx = torch::empty({M, C}, rows.options());
    auto dw1 = torch::zeros({tasks, F, C}, rows.options()), dw2 = torch::zeros({tasks, C, F}, rows.options());
    auto db1 = torch::zeros({tasks, F}, rows.options());
    parallel_tasks(tasks, [&](int64_t t) {
      const int64_t r0 = t * kFfnRows, r1 = std::min(M, r0 + kFfnRows);
      if (r1 <= r0) return;
      const auto dyc = dy.slice(0, r0, r1), hc = h.slice(0, r0, r1), xc = rows.slice(0, r0, r1);
      auto dg = torch::empty({r1 - r0, F}, rows.options());
      linear_into(dg, dyc, w2t, torch::Tensor(), LinearEpilogue::kStore);  // dG = dY W2
      auto dw2c = dw2[t];
      at::mm_out(dw2c, dyc.t(), g.slice(0, r0, r1));  // dW2 += dY^T gelu(H)
      auto dh = at::gelu_backward(dg, hc);     // dH = dG gelu'(H)
      auto dxc = dx.slice(0, r0, r1);
      linear_into(dxc, dh, w1t, torch::Tensor(), LinearEpilogue::kStore);  // dX = dH W1
      auto dw1c = dw1[t];
      at::mm_out(dw1c, dh.t(), xc);  // dW1 += dH^T X
      auto db1c = db1[t];
      at::sum_out(db1c, dh, {0});
    });
    return {dx.view(ctx->saved_data["x_sizes"].toIntVector()), dw1.sum(0), db1.sum(0), dw2.sum(0), dy.sum(0)};
  }
};

}  // namespace

torch::Tensor train_ffn(const torch::Tensor& x, const torch::Tensor& w1, const torch::Tensor& b1,
                        const torch::Tensor& w2, const torch::Tensor& b2) {
  TORCH_CHECK(w1.dim() == 2 && w2.dim() == 2 && w2.size(0) == w1.size(1) && w2.size(1) == w1.size(0) &&
                  x.dim() >= 1 && x.size(-1) == w1.size(1) && b1.defined() && b2.defined() &&
                  b1.numel() == w1.size(0) && b2.numel() == w2.size(0),
              "train_ffn: expected x (..., C), fc1 (F, C) with bias (F), fc2 (C, F) with bias (C); got x ", x.sizes(),
              ", fc1 ", w1.sizes(), ", fc2 ", w2.sizes());
  for (const auto* t : {&x, &w1, &b1, &w2, &b2})
    TORCH_CHECK(t->device().is_cpu() && t->scalar_type() == torch::kFloat, "train_ffn: expected float32 CPU tensors");
  return TrainFfn::apply(x, w1, b1, w2, b2);
}

bool train_linear_applies(const torch::Tensor& x) {
  return torch::GradMode::is_enabled() && onednn_enabled() && x.scalar_type() == torch::kFloat &&
         cpu_float_outside_autocast(x);
}

torch::Tensor train_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  TORCH_CHECK(weight.dim() == 2 && x.dim() >= 1 && x.size(-1) == weight.size(1),
              "train_linear: expected x (..., ", weight.size(1), ") for a weight ", weight.sizes(), ", got ",
              x.sizes());
  TORCH_CHECK(bias.defined(), "train_linear: expected a bias (", weight.size(0), "), got none");
  TORCH_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "train_linear: expected a bias (", weight.size(0),
              "), got ", bias.sizes());
  TORCH_CHECK(x.device().is_cpu() && x.scalar_type() == torch::kFloat && weight.scalar_type() == torch::kFloat &&
                  bias.scalar_type() == torch::kFloat,
              "train_linear: expected float32 CPU tensors");
  return TrainLinear::apply(x, weight, bias);
}

torch::Tensor linear(torch::nn::Linear& fc, const torch::Tensor& x) {
  return train_linear_applies(x) ? train_linear(x, fc->weight, fc->bias) : fc(x);
}

}  // namespace byteformer
