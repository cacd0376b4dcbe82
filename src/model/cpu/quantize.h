// The element loops of the int8 products (fast_linear.h): activations to u8 per row, and the s32
// sums back to float32. Written for the vectoriser (lanes.h), compiled for AVX-512 and AVX2 too.
#pragma once
#include <cstdint>

namespace byteformer {

/// x (K) as u8 with a scale and zero point of its own: lo = min(0, min x), hi = max(0, max x),
/// scale = (hi - lo) / 255 (1 for a row of zeros), zero = round(-lo / scale), q = clamp(round(x /
/// scale) + zero, 0, 255), rounding to nearest even.
void quantize_row_u8(const float* __restrict x, int64_t K, uint8_t* __restrict q, float* scale, int32_t* zero);

/// y[n] (=, or += when `accumulate`) row_scale * w_scales[n] * (acc[n] - zero * w_sums[n]) +
/// bias[n] (bias may be null) for n < N: one row of an int8 product's s32 sums in float32.
void dequantize_row(float* __restrict y, const int32_t* __restrict acc, int64_t N, float row_scale, int32_t zero,
                    const float* __restrict w_scales, const int32_t* __restrict w_sums, const float* __restrict bias,
                    bool accumulate);

}  // namespace byteformer
