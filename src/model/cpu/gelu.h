// The exact (erf) GELU of the CPU training functions over float32 rows (train_linear.cpp), and
// its derivative read off the saved output: written for the vectoriser (lanes.h), where ATen's
// gelu spends about 0.6 ns an element on this project's CPUs.
#pragma once
#include <cstdint>

namespace byteformer {

/// g[i] = h[i] Phi(h[i]) for i < n, Phi the standard normal CDF through erfc by Abramowitz and
/// Stegun 7.1.26 (absolute error below 1.5e-7; ATen's vectorised erf uses the same formula),
/// evaluated as a tail on either side, so no 1 - Phi cancels.
void gelu_forward(float* __restrict g, const float* __restrict h, int64_t n);

/// dg[i] *= gelu'(h[i]) in place, with Phi(h) = g / h read off gelu_forward's output g.
void gelu_backward_from_output(float* __restrict dg, const float* __restrict h, const float* __restrict g,
                               int64_t n);

}  // namespace byteformer
