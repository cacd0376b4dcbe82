#include "model/cpu/train_linear.h"

#include "model/cpu/cpu_parallel.h"
#include "model/cpu/fast_linear.h"
#include "gelu.h"
#include "row_norm.h"

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

// Rows per task of the FFN sublayer (train_ffn_sublayer): four of linear_into's 256-row chunks;
// a (1024, 256) float32 activation is 1 MB.
constexpr int64_t kFfnRows = 1024;

class TrainFfnSublayer : public torch::autograd::Function<TrainFfnSublayer> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& norm_w, const torch::Tensor& norm_b, const torch::Tensor& w1,
                               const torch::Tensor& b1, const torch::Tensor& w2, const torch::Tensor& b2, double eps) {
    const int64_t F = w1.size(0), C = w1.size(1);
    auto rows = x.reshape({-1, C}).contiguous();  // (M, C)
    const int64_t M = rows.size(0);
    const auto w1c = w1.contiguous(), w2c = w2.contiguous(), b1c = b1.contiguous(), b2c = b2.contiguous();
    const auto o = rows.options();
    auto hn = torch::empty({M, C}, o);                                   // the normalised rows, saved
    auto mean = torch::empty({M, 1}, o), rstd = torch::empty({M, 1}, o);  // their statistics, saved
    auto h = torch::empty({M, F}, o);  // fc1's output, saved
    auto g = torch::empty({M, F}, o);  // its GELU, saved (the backward reads Phi off it)
    auto y = rows.clone();             // the residual; the FFN's output is added in fc2's product
    parallel_tasks((M + kFfnRows - 1) / kFfnRows, [&](int64_t t) {
      const int64_t r0 = t * kFfnRows, r1 = std::min(M, r0 + kFfnRows);
      auto hc = h.slice(0, r0, r1), gc = g.slice(0, r0, r1), yc = y.slice(0, r0, r1), hnc = hn.slice(0, r0, r1);
      norm_rows_into(rows.slice(0, r0, r1), norm_w, norm_b, eps, hnc, mean.slice(0, r0, r1), rstd.slice(0, r0, r1));
      linear_into(hc, hnc, w1c, b1c, LinearEpilogue::kStore);
      gelu_forward(gc.data_ptr<float>(), hc.data_ptr<float>(), gc.numel());  // exact (erf) GELU, as CoreNet's `gelu`
      linear_into(yc, gc, w2c, b2c, LinearEpilogue::kAccumulate);
    });
    ctx->save_for_backward({rows, norm_w, norm_b, hn, mean, rstd, h, g, w1c, w2c});
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    return y.view(x.sizes());
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    torch::NoGradGuard no_grad;
    const auto saved = ctx->get_saved_variables();
    const auto &rows = saved[0], &norm_w = saved[1], &norm_b = saved[2], &hn = saved[3], &mean = saved[4],
               &rstd = saved[5], &h = saved[6], &g = saved[7], &w1 = saved[8], &w2 = saved[9];
    const int64_t M = rows.size(0), C = rows.size(1), F = h.size(1);
    const auto o = rows.options();
    auto dy = grads[0].reshape({M, C}).contiguous();
    const auto w1t = w1.t().contiguous(), w2t = w2.t().contiguous();  // (C, F), (F, C)
    const int64_t tasks = std::max<int64_t>(1, (M + kFfnRows - 1) / kFfnRows);
    auto dx = torch::empty({M, C}, o);
    // Per group of tasks (cpu_parallel.h): partial sums of the parameters' gradients.
    const int64_t G = task_groups(tasks, kMaxGradientGroups);
    auto dw1 = torch::zeros({G, F, C}, o), dw2 = torch::zeros({G, C, F}, o);
    auto db1 = torch::zeros({G, F}, o), dnw = torch::zeros({G, C}, o), dnb = torch::zeros({G, C}, o);
    parallel_task_groups(tasks, kMaxGradientGroups, [&](int64_t t, int64_t gi) {
      const int64_t r0 = t * kFfnRows, r1 = std::min(M, r0 + kFfnRows);
      if (r1 <= r0) return;
      const auto dyc = dy.slice(0, r0, r1), hc = h.slice(0, r0, r1), xc = rows.slice(0, r0, r1);
      const auto hnc = hn.slice(0, r0, r1), mc = mean.slice(0, r0, r1), rc = rstd.slice(0, r0, r1);
      auto dg = torch::empty({r1 - r0, F}, o);
      linear_into(dg, dyc, w2t, torch::Tensor(), LinearEpilogue::kStore);  // dG = dY W2
      const auto gc = g.slice(0, r0, r1);
      add_weight_gradient(dw2[gi], dyc, gc);  // dW2 += dY^T gelu(H)
      gelu_backward_from_output(dg.data_ptr<float>(), hc.data_ptr<float>(), gc.data_ptr<float>(), dg.numel());
      const auto& dh = dg;  // dH = dG gelu'(H)
      auto dhn = torch::empty({r1 - r0, C}, o);
      linear_into(dhn, dh, w1t, torch::Tensor(), LinearEpilogue::kStore);  // dHn = dH W1
      add_weight_gradient(dw1[gi], dh, hnc);  // dW1 += dH^T Hn
      db1[gi].add_(dh.sum(0));
      const auto dxn = norm_rows_backward(dhn, xc, mc, rc, norm_w, norm_b, dnw[gi], dnb[gi]);
      auto dxc = dx.slice(0, r0, r1);
      at::add_out(dxc, dyc, dxn);  // the residual's gradient and the FFN's
    });
    return {dx.view(ctx->saved_data["x_sizes"].toIntVector()),
            dnw.sum(0),
            dnb.sum(0),
            dw1.sum(0),
            db1.sum(0),
            dw2.sum(0),
            dy.sum(0),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor train_ffn_sublayer(const torch::Tensor& x, const FfnSublayerWeights& wt) {
  const auto &w1 = wt.fc1_weight, &b1 = wt.fc1_bias, &w2 = wt.fc2_weight, &b2 = wt.fc2_bias;
  TORCH_CHECK(w1.dim() == 2 && w2.dim() == 2 && w2.size(0) == w1.size(1) && w2.size(1) == w1.size(0) &&
                  x.dim() >= 1 && x.size(-1) == w1.size(1) && b1.defined() && b2.defined() &&
                  b1.numel() == w1.size(0) && b2.numel() == w2.size(0) && wt.norm_weight.defined() &&
                  wt.norm_bias.defined() && wt.norm_weight.numel() == w1.size(1) &&
                  wt.norm_bias.numel() == w1.size(1),
              "train_ffn_sublayer: expected x (..., C), a norm of (C), fc1 (F, C) with bias (F), fc2 (C, F) with "
              "bias (C); got x ", x.sizes(), ", fc1 ", w1.sizes(), ", fc2 ", w2.sizes());
  for (const auto* t : {&x, &wt.norm_weight, &wt.norm_bias, &w1, &b1, &w2, &b2})
    TORCH_CHECK(t->device().is_cpu() && t->scalar_type() == torch::kFloat,
                "train_ffn_sublayer: expected float32 CPU tensors");
  return TrainFfnSublayer::apply(x, wt.norm_weight, wt.norm_bias, w1, b1, w2, b2, wt.eps);
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
