// Float arithmetic written for the vectoriser, shared by the CPU kernels that are compiled for
// AVX-512 and AVX2 too (target_clones): 16-float lanes and e^x for x <= 0.
#pragma once
#include <cstdint>

// Lanes (below) is a 64-byte vector: GCC warns that passing one by value changes the ABI
// without AVX-512. Its helpers are always inlined into the kernels, so no call passes one.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace byteformer {

// Floats in an AVX-512 register: the kernels keep kLanes independent partial sums and maxima and
// accumulators (a float reduction in one accumulator is not reordered without -ffast-math).
constexpr int64_t kLanes = 16;

// kLanes floats as one value (GCC's vector extension): one AVX-512 register in the avx512f
// clones, split into narrower ones elsewhere. Loads and stores through memcpy: unaligned.
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

__attribute__((always_inline)) inline Lanes load_lanes(const float* p) {
  Lanes v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

__attribute__((always_inline)) inline void store_lanes(float* p, Lanes v) { __builtin_memcpy(p, &v, sizeof v); }

// Lane numbers for __builtin_shuffle (16 ints; 16 + j names the second vector's lane j).
typedef int32_t LaneIndex __attribute__((vector_size(kLanes * sizeof(int32_t))));

// The lanes of v combined pairwise by `op` (halves, then quarters, ...): four shuffles deep,
// where combining sixteen lanes one after another waits on sixteen dependent operations (a
// softmax row's, a LayerNorm row's statistics).
template <typename Op>
__attribute__((always_inline)) inline float reduce_lanes(Lanes v, Op op) {
  static_assert(kLanes == 16, "the masks below are for 16 lanes");
  v = op(v, __builtin_shuffle(v, LaneIndex{8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7}));
  v = op(v, __builtin_shuffle(v, LaneIndex{4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11}));
  v = op(v, __builtin_shuffle(v, LaneIndex{2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13}));
  v = op(v, __builtin_shuffle(v, LaneIndex{1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14}));
  return v[0];
}

__attribute__((always_inline)) inline float sum_of_lanes(Lanes v) {
  return reduce_lanes(v, [](Lanes a, Lanes b) { return a + b; });
}

__attribute__((always_inline)) inline Lanes max_lanes(Lanes a, Lanes b) { return b > a ? b : a; }

__attribute__((always_inline)) inline float max_of_lanes(Lanes v) { return reduce_lanes(v, max_lanes); }

// e^x for x <= 0 (softmax's shifted scores, GELU's -h^2/2), to about 2 ulp: Cody-Waite reduction by ln 2 and
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
