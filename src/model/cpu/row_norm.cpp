#include "row_norm.h"

#include <cmath>

#include "lanes.h"

namespace byteformer {

namespace {

// The rows' statistics and normalised values, C a multiple of kLanes: two passes over each row
// (the mean, then the variance about it), kLanes partial sums each.
__attribute__((target_clones("avx512f", "avx2", "default"))) void norm_rows_f32(
    const float* __restrict x, int64_t ldx, int64_t m, int64_t C, const float* __restrict w,
    const float* __restrict b, float eps, float* __restrict hn, int64_t ldh, float* __restrict mean,
    float* __restrict rstd) {
  const float inv_c = 1.f / static_cast<float>(C);
  for (int64_t i = 0; i < m; ++i) {
    const float* xi = x + i * ldx;
    Lanes s = {};
    for (int64_t c = 0; c < C; c += kLanes) s += load_lanes(xi + c);
    const float mu = sum_of_lanes(s) * inv_c;
    Lanes v = {};
    for (int64_t c = 0; c < C; c += kLanes) {
      const Lanes d = load_lanes(xi + c) - mu;
      v += d * d;
    }
    const float r = 1.f / std::sqrt(sum_of_lanes(v) * inv_c + eps);
    float* hi = hn + i * ldh;
    for (int64_t c = 0; c < C; c += kLanes)
      store_lanes(hi + c, (load_lanes(xi + c) - mu) * r * load_lanes(w + c) + load_lanes(b + c));
    mean[i] = mu;
    rstd[i] = r;
  }
}

// dx = rstd (g - mean(g) - x_hat mean(g x_hat)) with g = dhn * weight, row by row; the
// parameters' gradients summed over the rows in order into dw and db.
__attribute__((target_clones("avx512f", "avx2", "default"))) void norm_rows_backward_f32(
    const float* __restrict dhn, int64_t ldd, const float* __restrict x, int64_t ldx, int64_t m, int64_t C,
    const float* __restrict mean, const float* __restrict rstd, const float* __restrict w, float* __restrict dx,
    int64_t lddx, float* __restrict dw, float* __restrict db) {
  const float inv_c = 1.f / static_cast<float>(C);
  for (int64_t i = 0; i < m; ++i) {
    const float *di = dhn + i * ldd, *xi = x + i * ldx;
    const float mu = mean[i], r = rstd[i];
    Lanes sg = {}, sgx = {};
    for (int64_t c = 0; c < C; c += kLanes) {
      const Lanes dy = load_lanes(di + c), xh = (load_lanes(xi + c) - mu) * r;
      const Lanes g = dy * load_lanes(w + c);
      sg += g;
      sgx += g * xh;
      store_lanes(dw + c, load_lanes(dw + c) + dy * xh);
      store_lanes(db + c, load_lanes(db + c) + dy);
    }
    const float a = sum_of_lanes(sg) * inv_c, bx = sum_of_lanes(sgx) * inv_c;
    float* dxi = dx + i * lddx;
    for (int64_t c = 0; c < C; c += kLanes) {
      const Lanes xh = (load_lanes(xi + c) - mu) * r;
      store_lanes(dxi + c, (load_lanes(di + c) * load_lanes(w + c) - a - xh * bx) * r);
    }
  }
}

// Whether the float32 kernels take these tensors: float32 rows with unit column stride, C a
// multiple of kLanes, the statistics and parameters contiguous.
bool float_rows(std::initializer_list<const torch::Tensor*> rows, std::initializer_list<const torch::Tensor*> vectors) {
  for (const auto* t : rows)
    if (t->scalar_type() != torch::kFloat || t->dim() != 2 || t->stride(1) != 1 || t->size(1) == 0 ||
        t->size(1) % kLanes != 0)
      return false;
  for (const auto* t : vectors)
    if (t->scalar_type() != torch::kFloat || !t->is_contiguous()) return false;
  return true;
}

}  // namespace

void norm_rows_into(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                    torch::Tensor hn, torch::Tensor mean, torch::Tensor rstd) {
  const int64_t m = x.size(0), C = x.size(1);
  if (float_rows({&x, &hn}, {&weight, &bias, &mean, &rstd})) {
    norm_rows_f32(x.data_ptr<float>(), x.stride(0), m, C, weight.data_ptr<float>(), bias.data_ptr<float>(),
                  static_cast<float>(eps), hn.data_ptr<float>(), hn.stride(0), mean.data_ptr<float>(),
                  rstd.data_ptr<float>());
    return;
  }
  auto [n, mu, rs] = at::native_layer_norm(x, {C}, weight, bias, eps);
  hn.copy_(n);
  mean.copy_(mu.view({m, 1}));
  rstd.copy_(rs.view({m, 1}));
}

torch::Tensor norm_rows_backward(const torch::Tensor& dhn, const torch::Tensor& x, const torch::Tensor& mean,
                                 const torch::Tensor& rstd, const torch::Tensor& weight, const torch::Tensor& bias,
                                 torch::Tensor d_weight, torch::Tensor d_bias) {
  const int64_t m = x.size(0), C = x.size(1);
  if (float_rows({&dhn, &x}, {&mean, &rstd, &weight, &d_weight, &d_bias})) {
    auto dx = torch::empty({m, C}, x.options());  // (m, C)
    norm_rows_backward_f32(dhn.data_ptr<float>(), dhn.stride(0), x.data_ptr<float>(), x.stride(0), m, C,
                           mean.data_ptr<float>(), rstd.data_ptr<float>(), weight.data_ptr<float>(),
                           dx.data_ptr<float>(), C, d_weight.data_ptr<float>(), d_bias.data_ptr<float>());
    return dx;
  }
  auto dx = std::get<0>(
      at::native_layer_norm_backward(dhn, x, {C}, mean, rstd, weight, bias, {true, false, false}));
  d_weight.add_((dhn * ((x - mean) * rstd)).sum(0));
  d_bias.add_(dhn.sum(0));
  return dx;
}

}  // namespace byteformer
