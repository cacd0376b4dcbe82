// e^x for x <= 0 in plain float arithmetic the vectoriser turns into AVX-512 or AVX2 code in the
// functions that inline it (small_window_attention.cpp, train_linear.cpp).
#pragma once
#include <cstdint>

namespace byteformer {

// e^x for x <= 0 (softmax's shifted scores), to about 2 ulp: Cody-Waite reduction by ln 2 and
// Cephes' degree-6 polynomial for expf, then 2^n by the exponent bits. Below -80 (e^-80 is
// 1.8e-35 of the row's largest term) it returns e^-80. Written for the vectoriser: no branches.
__attribute__((always_inline)) inline float exp_nonpositive(float x) {
  x = x < -80.f ? -80.f : x;
  const float n = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;  // round(x / ln 2): 1.5 * 2^23
  const float r = x - n * 0.693359375f - n * -2.12194440e-4f;            // x - n ln 2, two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // 2^n, n in [-116, 0]
  return p * __builtin_bit_cast(float, bits);
}

}  // namespace byteformer
