#include "small_window_attention.h"

#include <limits>

#include "lanes.h"

namespace byteformer {

namespace {

// Sum of x[0..n) by kLanes partial sums.
__attribute__((always_inline)) inline float lane_sum(const float* x, int64_t n) {
  float acc[kLanes] = {0.f};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) acc[l] += x[j + l];
  float s = 0.f;
  for (; j < n; ++j) s += x[j];
  for (int64_t l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

// Largest of x[0..n) by kLanes partial maxima.
__attribute__((always_inline)) inline float lane_max(const float* x, int64_t n) {
  float acc[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) acc[l] = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
  float m = -std::numeric_limits<float>::infinity();
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  for (int64_t l = 0; l < kLanes; ++l) m = acc[l] > m ? acc[l] : m;
  return m;
}

// out[r][n] = sum_k A[r][k] B[k][n] for R rows (row strides lda, ldb, ldo) and n < N, kLanes
// outputs of R rows at a time: R independent accumulators in registers over k (one accumulator
// waited on each multiply-add's latency, and accumulating into `out` on each store).
template <int R>
__attribute__((always_inline)) inline void rows_times(const float* A, int64_t lda, int64_t K, const float* B,
                                                      int64_t ldb, int64_t N, float* out, int64_t ldo) {
  int64_t n0 = 0;
  for (; n0 + kLanes <= N; n0 += kLanes) {
    Lanes acc[R] = {};
    for (int64_t k = 0; k < K; ++k) {
      const Lanes b = load_lanes(B + k * ldb + n0);
      for (int r = 0; r < R; ++r) acc[r] += A[r * lda + k] * b;
    }
    for (int r = 0; r < R; ++r) store_lanes(out + r * ldo + n0, acc[r]);
  }
  for (; n0 < N; ++n0)
    for (int r = 0; r < R; ++r) {
      float acc = 0.f;
      for (int64_t k = 0; k < K; ++k) acc += A[r * lda + k] * B[k * ldb + n0];
      out[r * ldo + n0] = acc;
    }
}

// The same for M rows: four at a time, then one at a time.
__attribute__((always_inline)) inline void mat_mul(const float* A, int64_t lda, int64_t M, int64_t K, const float* B,
                                                   int64_t ldb, int64_t N, float* out, int64_t ldo) {
  int64_t r0 = 0;
  for (; r0 + 4 <= M; r0 += 4) rows_times<4>(A + r0 * lda, lda, K, B, ldb, N, out + r0 * ldo, ldo);
  for (; r0 < M; ++r0) rows_times<1>(A + r0 * lda, lda, K, B, ldb, N, out + r0 * ldo, ldo);
}

// dst (cols, rows) = src (rows, cols)^T, src with row stride lds.
__attribute__((always_inline)) inline void transpose(const float* src, int64_t lds, int64_t rows, int64_t cols,
                                                     float* dst) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[j * rows + i] = src[i * lds + j];
}

}  // namespace

// Both kernels are compiled for AVX-512 and AVX2 as well, chosen when the program loads (the
// build targets baseline x86-64).
__attribute__((target_clones("avx512f", "avx2", "default"))) void small_window_forward(const SmallWindowHead& h,
                                                                                       float* probs, float* out,
                                                                                       int64_t ldo) {
  const int64_t w = h.w, d = h.d;
  float kt[kSmallHead * kSmallWindow];  // k^T (d, w)
  float keep[kSmallWindow], bias[kSmallWindow];
  for (int64_t j = 0; j < w; ++j) {
    keep[j] = h.key_valid[j] ? 1.f : 0.f;
    bias[j] = h.key_valid[j] ? 0.f : -std::numeric_limits<float>::infinity();
  }
  transpose(h.k, h.ld, w, d, kt);
  mat_mul(h.q, h.ld, w, d, kt, w, w, probs, w);  // q k^T (w, w)
  for (int64_t i = 0; i < w; ++i) {
    // Softmax of the scaled scores over the valid keys: masked keys are -inf before the maximum
    // and 0 after exp.
    float* s = probs + i * w;
    for (int64_t j = 0; j < w; ++j) s[j] = s[j] * h.scale + bias[j];
    const float m = lane_max(s, w);
    for (int64_t j = 0; j < w; ++j) s[j] = keep[j] * exp_nonpositive(s[j] - m);
    const float inv = 1.f / lane_sum(s, w);
    for (int64_t j = 0; j < w; ++j) s[j] *= inv;
  }
  mat_mul(probs, w, w, w, h.v, h.ld, d, out, ldo);  // P v (w, d)
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void small_window_backward(
    const SmallWindowHead& h, const float* probs, const float* dout, int64_t ldo, float* dq, float* dk, float* dv,
    int64_t ldd) {
  const int64_t w = h.w, d = h.d;
  float vt[kSmallHead * kSmallWindow];                     // v^T (d, w)
  float ds[kSmallWindow * kSmallWindow], t[kSmallWindow * kSmallWindow];  // (w, w)
  float prod[kSmallWindow];
  transpose(h.v, h.ld, w, d, vt);
  transpose(probs, w, w, w, t);                         // P^T
  mat_mul(t, w, w, w, dout, ldo, d, dv, ldd);           // dV = P^T dO
  mat_mul(dout, ldo, w, d, vt, w, w, ds, w);            // dP = dO v^T
  for (int64_t i = 0; i < w; ++i) {
    // dS_i = P_i (dP_i - <P_i, dP_i>), with the scores' scale folded in.
    const float* p = probs + i * w;
    float* g = ds + i * w;
    for (int64_t j = 0; j < w; ++j) prod[j] = p[j] * g[j];
    const float dot = lane_sum(prod, w);
    for (int64_t j = 0; j < w; ++j) g[j] = h.scale * p[j] * (g[j] - dot);
  }
  mat_mul(ds, w, w, w, h.k, h.ld, d, dq, ldd);  // dQ = s dS k
  transpose(ds, w, w, w, t);                    // s dS^T
  mat_mul(t, w, w, w, h.q, h.ld, d, dk, ldd);   // dK = s dS^T q
}

}  // namespace byteformer
