// torchvision RandAugment (Cubuk et al. 2019), which CoreNet's `image_pil.RandAugment` wraps:
// `num_ops` times, pick one of 14 ops uniformly, use magnitude bin `magnitude` of
// `num_magnitude_bins`, negate signed magnitudes with probability 1/2. Ops run on PIL images in
// CoreNet, so they are the Pillow-exact ops of image_ops.h; fill is 0.
#pragma once
#include <string>

#include <torch/torch.h>

#include "byteformer/codec/image.h"
#include "byteformer/transforms/resample.h"

namespace byteformer {

/// The ops in torchvision's order (the op index drawn is a position in this list).
enum class RandAugmentOp {
  kIdentity,
  kShearX,
  kShearY,
  kTranslateX,
  kTranslateY,
  kRotate,
  kBrightness,
  kColor,
  kContrast,
  kSharpness,
  kPosterize,
  kSolarize,
  kAutoContrast,
  kEqualize,
};
inline constexpr int kNumRandAugmentOps = 14;
std::string to_string(RandAugmentOp op);

struct RandAugmentOptions {
  int num_ops = 2;              // image_augmentation.rand_augment.num_ops
  int magnitude = 9;            // .magnitude
  int num_magnitude_bins = 31;  // .num_magnitude_bins
  Interpolation interpolation = Interpolation::kBilinear;  // .interpolation (CoreNet default)
  void validate() const;
};

/// The (unsigned) magnitude torchvision uses for `op`: bin `magnitude` of its float32
/// linspace table (posterize: 8 - round(bin / ((bins - 1) / 4)); solarize: 255 -> 0).
double rand_augment_magnitude(RandAugmentOp op, const RandAugmentOptions& options,
                              int image_width, int image_height);

/// Applies one op with a signed magnitude, as torchvision's `_apply_op` does on PIL images.
Image apply_rand_augment_op(const Image& image, RandAugmentOp op, double magnitude,
                            Interpolation interpolation);

/// Full RandAugment; draws torch.randint(14) per op and torch.randint(2) for signed ops.
Image rand_augment(const Image& image, const RandAugmentOptions& options, torch::Generator& gen);

}  // namespace byteformer
