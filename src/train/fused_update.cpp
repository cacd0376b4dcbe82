// Built with -fno-math-errno (CMakeLists.txt) so that sqrtf vectorises; sqrt and division are
// correctly rounded either way, so vector and scalar lanes agree.
#include "train/fused_update.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

namespace byteformer {

namespace {

constexpr int64_t kPiece = 16384;

struct Piece {
  int64_t slice, begin, end;
};

template <typename Slice>
std::vector<Piece> pieces_of(const std::vector<Slice>& slices) {
  std::vector<Piece> pieces;
  for (size_t s = 0; s < slices.size(); ++s)
    for (int64_t b = 0; b < slices[s].n; b += kPiece)
      pieces.push_back({static_cast<int64_t>(s), b, std::min(slices[s].n, b + kPiece)});
  return pieces;
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void adamw_range(const AdamWSlice& s, int64_t begin,
                                                                                  int64_t end) {
  float* __restrict p = s.param;
  const float* __restrict g = s.grad;
  float* __restrict m = s.exp_avg;
  float* __restrict v = s.exp_avg_sq;
  for (int64_t i = begin; i < end; ++i) {
    const float gi = g[i];
    const float pi = p[i] * s.decay;
    const float mi = m[i] * s.beta1 + s.one_minus_beta1 * gi;
    const float vi = v[i] * s.beta2 + s.one_minus_beta2 * gi * gi;
    const float denom = std::sqrt(vi) / s.sqrt_bias_correction2 + s.eps;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi + s.neg_step * (mi / denom);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void ema_range(const EmaSlice& s, float keep, float take,
                                                                                int64_t begin, int64_t end) {
  float* __restrict e = s.ema;
  const float* __restrict x = s.src;
  for (int64_t i = begin; i < end; ++i) e[i] = e[i] * keep + take * x[i];
}

}  // namespace

bool fits_one_pass(const at::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == at::kFloat && t.layout() == at::kStrided &&
         t.is_contiguous();
}

void adamw_update(const std::vector<AdamWSlice>& slices) {
  const auto pieces = pieces_of(slices);
  at::parallel_for(0, static_cast<int64_t>(pieces.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const auto& piece = pieces[static_cast<size_t>(k)];
      adamw_range(slices[static_cast<size_t>(piece.slice)], piece.begin, piece.end);
    }
  });
}

void ema_update(const std::vector<EmaSlice>& slices, float keep, float take) {
  const auto pieces = pieces_of(slices);
  at::parallel_for(0, static_cast<int64_t>(pieces.size()), 1, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const auto& piece = pieces[static_cast<size_t>(k)];
      ema_range(slices[static_cast<size_t>(piece.slice)], keep, take, piece.begin, piece.end);
    }
  });
}

}  // namespace byteformer
