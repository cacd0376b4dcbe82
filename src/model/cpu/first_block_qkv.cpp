#include "model/cpu/first_block_qkv.h"

#include <ATen/Parallel.h>

#include <cmath>

namespace byteformer {

namespace {

// Storage, version and size of each tensor: a cache built from them is stale when one differs.
// (Parameters and buffers; an inference tensor has no version, and only its storage counts.)
int64_t version_of(const torch::Tensor& t) { return t.is_inference() ? -1 : static_cast<int64_t>(t._version()); }

std::vector<int64_t> identity_of(std::initializer_list<const torch::Tensor*> tensors) {
  std::vector<int64_t> key;
  for (const auto* t : tensors) {
    key.push_back(reinterpret_cast<int64_t>(t->data_ptr()));
    key.push_back(version_of(*t));
    key.push_back(t->numel());
    key.push_back(static_cast<int64_t>(t->scalar_type()));
  }
  return key;
}

// out[t] = (sum_j U[rows[t*k + j]] + P[n] - m s) r + offset for tokens t = b*N + n in [t0, t1),
// m and r the mean and 1/sqrt(var + eps) of x[t] (biased variance, as LayerNorm).
template <typename T>
void combine_tokens(T* out, const T* U, const int64_t* rows, int64_t k, const T* x, const T* P, const T* s,
                    const T* offset, int64_t N, int64_t C, int64_t C3, double eps, int64_t t0, int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    const T* xr = x + t * C;
    double mean = 0;
    for (int64_t c = 0; c < C; ++c) mean += xr[c];
    mean /= static_cast<double>(C);
    double var = 0;
    for (int64_t c = 0; c < C; ++c) var += (xr[c] - mean) * (xr[c] - mean);
    var /= static_cast<double>(C);
    const T m = static_cast<T>(mean), r = static_cast<T>(1.0 / std::sqrt(var + eps));
    T* o = out + t * C3;
    const T* p = P + (t % N) * C3;
    for (int64_t c = 0; c < C3; ++c) o[c] = p[c];
    for (int64_t j = 0; j < k; ++j) {
      const T* u = U + rows[t * k + j] * C3;
      for (int64_t c = 0; c < C3; ++c) o[c] += u[c];
    }
    for (int64_t c = 0; c < C3; ++c) o[c] = (o[c] - m * s[c]) * r + offset[c];
  }
}

}  // namespace

torch::Tensor FirstBlockQkv::compute(const torch::Tensor& table, const torch::Tensor& embedding_weight,
                                     const torch::Tensor& conv_weight, const torch::Tensor& bag_rows, int64_t kernel,
                                     const torch::Tensor& x, const torch::Tensor& pos,
                                     const torch::Tensor& norm_weight, const torch::Tensor& norm_bias, double eps,
                                     const torch::Tensor& qkv_weight, const torch::Tensor& qkv_bias) {
  TORCH_CHECK(!torch::GradMode::is_enabled(), "FirstBlockQkv::compute: inference only");
  TORCH_CHECK(x.dim() == 3 && x.is_contiguous() && x.device().is_cpu(),
              "FirstBlockQkv::compute: expected contiguous CPU x (B, N, C), got ", x.sizes());
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2), C3 = qkv_weight.size(0);
  TORCH_CHECK(table.dim() == 2 && table.size(1) == C && qkv_weight.sizes() == torch::IntArrayRef({C3, C}) &&
                  pos.sizes() == torch::IntArrayRef({N, C}) && bag_rows.numel() == B * N * kernel &&
                  bag_rows.scalar_type() == torch::kLong,
              "FirstBlockQkv::compute: shapes do not match: table ", table.sizes(), ", x ", x.sizes(), ", pos ",
              pos.sizes(), ", qkv weight ", qkv_weight.sizes(), ", ", bag_rows.numel(), " bag rows");
  TORCH_CHECK(x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble,
              "FirstBlockQkv::compute: float32 or float64 only");
  const auto key = identity_of({&embedding_weight, &conv_weight, &norm_weight, &norm_bias, &qkv_weight, &qkv_bias});
  if (key != key_) {
    weight_g_ = (qkv_weight * norm_weight.unsqueeze(0)).to(x.scalar_type());             // W diag g: (3C, C)
    lookup_ = torch::matmul(table.to(x.scalar_type()), weight_g_.t()).contiguous();      // U: (k*V, 3C)
    shift_ = weight_g_.sum(1).contiguous();                                               // s: (3C)
    offset_ = (torch::mv(qkv_weight, norm_bias) + qkv_bias).to(x.scalar_type()).contiguous();  // (3C)
    pos_ = torch::Tensor();
    key_ = key;
  }
  const std::array<int64_t, 2> pos_key{reinterpret_cast<int64_t>(pos.data_ptr()), version_of(pos)};
  if (!pos_.defined() || pos_key != pos_key_ || pos_.size(0) < N) {
    pos_ = torch::matmul(pos.to(x.scalar_type()), weight_g_.t()).contiguous();  // P: (N, 3C)
    pos_key_ = pos_key;
  }
  auto out = torch::empty({B, N, C3}, x.options());
  const auto rows = bag_rows.contiguous();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "FirstBlockQkv", [&] {
    const auto* U = lookup_.data_ptr<scalar_t>();
    const auto* P = pos_.data_ptr<scalar_t>();
    const auto* s = shift_.data_ptr<scalar_t>();
    const auto* off = offset_.data_ptr<scalar_t>();
    const auto* xp = x.data_ptr<scalar_t>();
    auto* o = out.data_ptr<scalar_t>();
    const auto* r = rows.data_ptr<int64_t>();
    at::parallel_for(0, B * N, /*grain_size=*/256, [&](int64_t t0, int64_t t1) {
      combine_tokens<scalar_t>(o, U, r, kernel, xp, P, s, off, N, C, C3, eps, t0, t1);
    });
  });
  return out;
}

}  // namespace byteformer
