#include "model/cpu/quantize.h"

#include "model/cpu/lanes.h"

namespace byteformer {

namespace {

// Adding and taking off 1.5 * 2^23 rounds a float of magnitude below 2^22 to an integer, to
// nearest even (the default rounding mode): a form the vectoriser keeps, where nearbyint is a
// library call.
constexpr float kRoundMagic = 12582912.f;

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void quantize_row_u8(const float* __restrict x,
                                                                                  int64_t K, uint8_t* __restrict q,
                                                                                  float* scale, int32_t* zero) {
  Lanes lo_l{}, hi_l{};  // 0 included: the range always holds zero, which stays exact
  int64_t k = 0;
  for (; k + kLanes <= K; k += kLanes) {
    const Lanes v = load_lanes(x + k);
    lo_l = v < lo_l ? v : lo_l;
    hi_l = v > hi_l ? v : hi_l;
  }
  float lo = reduce_lanes(lo_l, [](Lanes a, Lanes b) { return a < b ? a : b; });
  float hi = reduce_lanes(hi_l, [](Lanes a, Lanes b) { return a > b ? a : b; });
  for (; k < K; ++k) {
    lo = x[k] < lo ? x[k] : lo;
    hi = x[k] > hi ? x[k] : hi;
  }
  const float s = hi > lo ? (hi - lo) / 255.f : 1.f;
  const float inv = 1.f / s;
  float z = -lo * inv;
  z = (z + kRoundMagic) - kRoundMagic;
  z = z < 0.f ? 0.f : (z > 255.f ? 255.f : z);
  *scale = s;
  *zero = static_cast<int32_t>(z);
  // v + 1.5 * 2^23 for v in [0, 255] holds round(v) in its low mantissa bits: its low byte is q.
  typedef int32_t Ints __attribute__((vector_size(kLanes * sizeof(int32_t))));
  typedef uint8_t Bytes __attribute__((vector_size(kLanes)));
  const Lanes inv_l = Lanes{} + inv, z_l = Lanes{} + z, top = Lanes{} + 255.f, bottom = Lanes{};
  int64_t i = 0;
  for (; i + kLanes <= K; i += kLanes) {
    Lanes v = load_lanes(x + i) * inv_l + z_l;
    v = v < bottom ? bottom : v;
    v = v > top ? top : v;
    const Ints bits = reinterpret_cast<Ints>(v + kRoundMagic);
    const Bytes b = __builtin_convertvector(bits & 0xff, Bytes);
    __builtin_memcpy(q + i, &b, sizeof b);
  }
  for (; i < K; ++i) {
    float v = x[i] * inv + z;
    v = v < 0.f ? 0.f : (v > 255.f ? 255.f : v);
    q[i] = static_cast<uint8_t>(static_cast<int32_t>((v + kRoundMagic) - kRoundMagic));
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void dequantize_row(
    float* __restrict y, const int32_t* __restrict acc, int64_t N, float row_scale, int32_t zero,
    const float* __restrict w_scales, const int32_t* __restrict w_sums, const float* __restrict bias,
    bool accumulate) {
  if (accumulate) {
    if (bias) {
      for (int64_t n = 0; n < N; ++n)
        y[n] += row_scale * w_scales[n] * static_cast<float>(acc[n] - zero * w_sums[n]) + bias[n];
    } else {
      for (int64_t n = 0; n < N; ++n) y[n] += row_scale * w_scales[n] * static_cast<float>(acc[n] - zero * w_sums[n]);
    }
  } else if (bias) {
    for (int64_t n = 0; n < N; ++n)
      y[n] = row_scale * w_scales[n] * static_cast<float>(acc[n] - zero * w_sums[n]) + bias[n];
  } else {
    for (int64_t n = 0; n < N; ++n) y[n] = row_scale * w_scales[n] * static_cast<float>(acc[n] - zero * w_sums[n]);
  }
}

}  // namespace byteformer
