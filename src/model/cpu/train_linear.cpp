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

}  // namespace

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
