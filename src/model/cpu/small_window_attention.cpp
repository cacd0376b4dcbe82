#include "small_window_attention.h"

#include <limits>

#include "lanes.h"

namespace byteformer {

namespace {

// Sum of x[0..n): kLanes partial sums (one per lane), combined pairwise, then the tail.
__attribute__((always_inline)) inline float lane_sum(const float* x, int64_t n) {
  Lanes acc = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) acc += load_lanes(x + j);
  float s = sum_of_lanes(acc);
  for (; j < n; ++j) s += x[j];
  return s;
}

// Largest of x[0..n): kLanes partial maxima, combined pairwise, then the tail.
__attribute__((always_inline)) inline float lane_max(const float* x, int64_t n) {
  Lanes acc;
  for (int64_t l = 0; l < kLanes; ++l) acc[l] = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes) acc = max_lanes(acc, load_lanes(x + j));
  float m = max_of_lanes(acc);
  for (; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// A matrix read entry by entry, A(r, k) = p[r * rs + k * ks]: its entries are broadcast, so any
// strides do, and a product with a transposed factor in this place needs no transposed copy.
struct Broadcast {
  const float* p;
  int64_t rs, ks;
};

// out[r][n0 + n] = sum_k A(r, k) B[k][n0 + n] for R rows and NB * kLanes columns: R * NB
// independent accumulators in registers over k (at least eight, so that the multiply-adds'
// latency is covered), B's rows loaded once for all R rows.
template <int R, int NB>
__attribute__((always_inline)) inline void tile_times(Broadcast A, int64_t K, const float* B, int64_t ldb, float* out,
                                                      int64_t ldo) {
  Lanes acc[R][NB] = {};
  for (int64_t k = 0; k < K; ++k) {
    Lanes b[NB];
    for (int nb = 0; nb < NB; ++nb) b[nb] = load_lanes(B + k * ldb + nb * kLanes);
    for (int r = 0; r < R; ++r) {
      const float a = A.p[r * A.rs + k * A.ks];
      for (int nb = 0; nb < NB; ++nb) acc[r][nb] += a * b[nb];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int nb = 0; nb < NB; ++nb) store_lanes(out + r * ldo + nb * kLanes, acc[r][nb]);
}

// The same tile for all M rows: R at a time, then one at a time.
template <int R, int NB>
__attribute__((always_inline)) inline void column_block(Broadcast A, int64_t M, int64_t K, const float* B, int64_t ldb,
                                                        float* out, int64_t ldo) {
  int64_t r0 = 0;
  for (; r0 + R <= M; r0 += R) tile_times<R, NB>({A.p + r0 * A.rs, A.rs, A.ks}, K, B, ldb, out + r0 * ldo, ldo);
  for (; r0 < M; ++r0) tile_times<1, NB>({A.p + r0 * A.rs, A.rs, A.ks}, K, B, ldb, out + r0 * ldo, ldo);
}

// out (M, N) = A (M, K) B (K, N), out and B with row strides ldo, ldb: columns in blocks of two
// lanes (four rows at a time), then one lane (eight rows), then one by one. Each entry is its
// products added in k order, whatever the block.
__attribute__((always_inline)) inline void mat_mul(Broadcast A, int64_t M, int64_t K, const float* B, int64_t ldb,
                                                   int64_t N, float* out, int64_t ldo) {
  int64_t n0 = 0;
  for (; n0 + 2 * kLanes <= N; n0 += 2 * kLanes) column_block<4, 2>(A, M, K, B + n0, ldb, out + n0, ldo);
  for (; n0 + kLanes <= N; n0 += kLanes) column_block<8, 1>(A, M, K, B + n0, ldb, out + n0, ldo);
  for (; n0 < N; ++n0)
    for (int64_t r = 0; r < M; ++r) {
      float acc = 0.f;
      for (int64_t k = 0; k < K; ++k) acc += A.p[r * A.rs + k * A.ks] * B[k * ldb + n0];
      out[r * ldo + n0] = acc;
    }
}

// A row-major (rows of stride ld) as a Broadcast, and its transpose.
__attribute__((always_inline)) inline Broadcast rows_of(const float* p, int64_t ld) { return {p, ld, 1}; }
__attribute__((always_inline)) inline Broadcast transposed(const float* p, int64_t ld) { return {p, 1, ld}; }

// A 16 x 16 block transposed in registers: dst row c (stride ldd) = src column c (rows of stride
// lds). Four rounds of two-source shuffles: round h swaps, in every 2h x 2h block, the h x h
// blocks above and below the diagonal ([A B; C D] -> [A C; B D]), which after h = 8, 4, 2, 1 is
// the transpose. 64 shuffles where element by element took 256 loads and stores.
__attribute__((always_inline)) inline void transpose_16x16(const float* src, int64_t lds, float* dst, int64_t ldd) {
  static_assert(kLanes == 16, "the masks below are for 16 lanes");
  Lanes r[16];
  for (int i = 0; i < 16; ++i) r[i] = load_lanes(src + i * lds);
  // Round h: new row i = (row i's element j, or row i+h's element j-h where j & h), new row i+h
  // = (row i's element j+h, or row i+h's element j where j & h), for i & h == 0 (index 16 +
  // j picks row i+h's element j).
  auto round = [&r](int h, const LaneIndex& first, const LaneIndex& second) {
    for (int i = 0; i < 16; ++i) {
      if (i & h) continue;
      const Lanes a = r[i], b = r[i + h];
      r[i] = __builtin_shuffle(a, b, first);
      r[i + h] = __builtin_shuffle(a, b, second);
    }
  };
  round(8, LaneIndex{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
        LaneIndex{8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31});
  round(4, LaneIndex{0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
        LaneIndex{4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31});
  round(2, LaneIndex{0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
        LaneIndex{2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31});
  round(1, LaneIndex{0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30},
        LaneIndex{1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31});
  for (int i = 0; i < 16; ++i) store_lanes(dst + i * ldd, r[i]);
}

// dst (cols, rows) = src (rows, cols)^T, src with row stride lds: 16 x 16 blocks in registers,
// the edges element by element.
__attribute__((always_inline)) inline void transpose(const float* src, int64_t lds, int64_t rows, int64_t cols,
                                                     float* dst) {
  const int64_t rows16 = rows / 16 * 16, cols16 = cols / 16 * 16;
  for (int64_t i = 0; i < rows16; i += 16)
    for (int64_t j = 0; j < cols16; j += 16) transpose_16x16(src + i * lds + j, lds, dst + j * rows + i, rows);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = i < rows16 ? cols16 : 0; j < cols; ++j) dst[j * rows + i] = src[i * lds + j];
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
  mat_mul(rows_of(h.q, h.ld), w, d, kt, w, w, probs, w);  // q k^T (w, w)
  // Softmax of the scaled scores over the valid keys: masked keys are -inf before the maximum
  // and 0 after exp. One pass over all rows per step, so the rows' short dependent chains
  // (maximum, exp, sum, division) overlap instead of one row's waiting on the last's.
  float row_max[kSmallWindow], row_inv[kSmallWindow];
  for (int64_t i = 0; i < w; ++i) {
    float* s = probs + i * w;
    for (int64_t j = 0; j < w; ++j) s[j] = s[j] * h.scale + bias[j];
    row_max[i] = lane_max(s, w);
  }
  for (int64_t i = 0; i < w; ++i) {
    float* s = probs + i * w;
    for (int64_t j = 0; j < w; ++j) s[j] = keep[j] * exp_nonpositive(s[j] - row_max[i]);
  }
  for (int64_t i = 0; i < w; ++i) row_inv[i] = 1.f / lane_sum(probs + i * w, w);
  for (int64_t i = 0; i < w; ++i) {
    float* s = probs + i * w;
    for (int64_t j = 0; j < w; ++j) s[j] *= row_inv[i];
  }
  mat_mul(rows_of(probs, w), w, w, h.v, h.ld, d, out, ldo);  // P v (w, d)
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void small_window_backward(
    const SmallWindowHead& h, const float* probs, const float* dout, int64_t ldo, float* dq, float* dk, float* dv,
    int64_t ldd) {
  const int64_t w = h.w, d = h.d;
  float vt[kSmallHead * kSmallWindow];                     // v^T (d, w)
  float ds[kSmallWindow * kSmallWindow];                  // (w, w)
  float prod[kSmallWindow];
  transpose(h.v, h.ld, w, d, vt);
  mat_mul(transposed(probs, w), w, w, dout, ldo, d, dv, ldd);  // dV = P^T dO
  mat_mul(rows_of(dout, ldo), w, d, vt, w, w, ds, w);          // dP = dO v^T
  // dS_i = P_i (dP_i - <P_i, dP_i>), with the scores' scale folded in; the rows' dot products
  // first, all of them, so that their sums overlap (as in the forward's softmax).
  float dots[kSmallWindow];
  for (int64_t i = 0; i < w; ++i) {
    const float* p = probs + i * w;
    const float* g = ds + i * w;
    for (int64_t j = 0; j < w; ++j) prod[j] = p[j] * g[j];
    dots[i] = lane_sum(prod, w);
  }
  for (int64_t i = 0; i < w; ++i) {
    const float* p = probs + i * w;
    float* g = ds + i * w;
    for (int64_t j = 0; j < w; ++j) g[j] = h.scale * p[j] * (g[j] - dots[i]);
  }
  mat_mul(rows_of(ds, w), w, w, h.k, h.ld, d, dq, ldd);    // dQ = s dS k
  mat_mul(transposed(ds, w), w, w, h.q, h.ld, d, dk, ldd);  // dK = s dS^T q
}

}  // namespace byteformer
