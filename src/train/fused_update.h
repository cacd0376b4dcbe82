// One pass over each float32 tensor for the optimiser step and the EMA update, where LibTorch
// runs 5-10 operators per tensor (a parallel region and a temporary each): on the small models'
// hundred-odd tensors those operators cost more than the arithmetic.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace byteformer {

/// Whether the one-pass updates take `t`: a defined, contiguous, strided float32 CPU tensor.
/// They write through raw pointers, so the caller then bumps the tensor's version (as LibTorch's
/// in-place operators do): caches keyed by it (the reduction table, oneDNN's weights) must see it.
bool fits_one_pass(const at::Tensor& t);

/// One parameter's AdamW update, LibTorch's AdamW::step (amsgrad off) per element, in float:
///   p = p * decay;  m = m * beta1 + one_minus_beta1 * g;  v = v * beta2 + one_minus_beta2 * g * g;
///   p = p + neg_step * (m / (sqrt(v) / sqrt_bias_correction2 + eps))
struct AdamWSlice {
  float* param;
  const float* grad;
  float* exp_avg;
  float* exp_avg_sq;
  int64_t n;
  float decay, beta1, one_minus_beta1, beta2, one_minus_beta2, sqrt_bias_correction2, eps, neg_step;
};

/// Runs every slice, split into pieces of at most 16,384 elements over the intra-op threads.
/// The result does not depend on the thread count (each element is updated once, alone).
void adamw_update(const std::vector<AdamWSlice>& slices);

/// ema = ema * keep + take * src per element (CoreNet's EMA: keep = 1 - momentum, take = momentum).
struct EmaSlice {
  float* ema;
  const float* src;
  int64_t n;
};
void ema_update(const std::vector<EmaSlice>& slices, float keep, float take);

}  // namespace byteformer
