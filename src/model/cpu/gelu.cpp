#include "gelu.h"

#include "lanes.h"

namespace byteformer {

__attribute__((target_clones("avx512f", "avx2", "default"))) void gelu_forward(float* __restrict g,
                                                                              const float* __restrict h, int64_t n) {
  constexpr float kInvSqrt2 = 0.707106781186547524f;
  constexpr float kP = 0.3275911f;
  for (int64_t i = 0; i < n; ++i) {
    const float x = h[i];
    const float z = x * kInvSqrt2;
    const float a = z < 0.f ? -z : z;
    const float t = 1.f / (1.f + kP * a);
    float p = 1.061405429f;
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    const float tail = 0.5f * p * t * exp_nonpositive(-a * a);  // Phi(-|x|) = erfc(|z|) / 2
    g[i] = x * (x < 0.f ? tail : 1.f - tail);
  }
}

// gelu'(h) = Phi(h) + h phi(h), with phi(h) = e^(-h^2/2) / sqrt(2 pi) by exp_nonpositive and
// Phi(h) = g / h (1/2 at h = 0): one exp per element where ATen's gelu_backward evaluates erf
// and exp again.
__attribute__((target_clones("avx512f", "avx2", "default"))) void gelu_backward_from_output(
    float* __restrict dg, const float* __restrict h, const float* __restrict g, int64_t n) {
  constexpr float kInvSqrt2Pi = 0.398942280401432678f;
  for (int64_t i = 0; i < n; ++i) {
    const float x = h[i];
    const float cdf = x != 0.f ? g[i] / x : 0.5f;
    const float pdf = kInvSqrt2Pi * exp_nonpositive(-0.5f * x * x);
    dg[i] *= cdf + x * pdf;
  }
}

}  // namespace byteformer
