#include "byteformer/transforms/rand_augment.h"

#include <cmath>
#include <stdexcept>

#include "byteformer/transforms/image_ops.h"
#include "byteformer/transforms/rng.h"
#include "transforms/option_values.h"

namespace byteformer {
namespace {

constexpr double kRadToDeg = 180.0 / M_PI;  // CPython's math.degrees factor

bool is_signed(RandAugmentOp op) {
  switch (op) {
    case RandAugmentOp::kShearX:
    case RandAugmentOp::kShearY:
    case RandAugmentOp::kTranslateX:
    case RandAugmentOp::kTranslateY:
    case RandAugmentOp::kRotate:
    case RandAugmentOp::kBrightness:
    case RandAugmentOp::kColor:
    case RandAugmentOp::kContrast:
    case RandAugmentOp::kSharpness:
      return true;
    default:
      return false;
  }
}

double linspace_bin(double end, int bins, int index) {
  return torch::linspace(0.0, end, bins, torch::kFloat32)[index].item<float>();
}

}  // namespace

std::string to_string(RandAugmentOp op) {
  static const char* const kNames[kNumRandAugmentOps] = {
      "Identity",   "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate",       "Brightness",
      "Color",      "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize"};
  return kNames[static_cast<int>(op)];
}

void RandAugmentOptions::validate() const {
  const std::string k = "image_augmentation.rand_augment.";
  if (num_ops < 0) detail::throw_bad_value(k + "num_ops", std::to_string(num_ops), ">= 0");
  if (num_magnitude_bins < 2)
    detail::throw_bad_value(k + "num_magnitude_bins", std::to_string(num_magnitude_bins), ">= 2");
  if (magnitude < 0 || magnitude >= num_magnitude_bins)
    detail::throw_bad_value(k + "magnitude", std::to_string(magnitude),
                            "0.." + std::to_string(num_magnitude_bins - 1));
  if (interpolation != Interpolation::kNearest && interpolation != Interpolation::kBilinear)
    detail::throw_bad_value(k + "interpolation", to_string(interpolation), "nearest or bilinear");
}

double rand_augment_magnitude(RandAugmentOp op, const RandAugmentOptions& o, int image_width,
                              int image_height) {
  const int bins = o.num_magnitude_bins, m = o.magnitude;
  switch (op) {
    case RandAugmentOp::kShearX:
    case RandAugmentOp::kShearY:
      return linspace_bin(0.3, bins, m);
    case RandAugmentOp::kTranslateX:
      return linspace_bin(150.0 / 331.0 * image_width, bins, m);
    case RandAugmentOp::kTranslateY:
      return linspace_bin(150.0 / 331.0 * image_height, bins, m);
    case RandAugmentOp::kRotate:
      return linspace_bin(30.0, bins, m);
    case RandAugmentOp::kBrightness:
    case RandAugmentOp::kColor:
    case RandAugmentOp::kContrast:
    case RandAugmentOp::kSharpness:
      return linspace_bin(0.9, bins, m);
    case RandAugmentOp::kPosterize: {
      const torch::Tensor t =
          8 - (torch::arange(bins) / ((bins - 1) / 4.0)).round().to(torch::kInt32);
      return t[m].item<int>();
    }
    case RandAugmentOp::kSolarize:
      return torch::linspace(255.0, 0.0, bins, torch::kFloat32)[m].item<float>();
    default:
      return 0.0;
  }
}

Image apply_rand_augment_op(const Image& image, RandAugmentOp op, double magnitude,
                            Interpolation interpolation) {
  static const std::array<double, 2> kOrigin = {0.0, 0.0};
  switch (op) {
    case RandAugmentOp::kIdentity:
      return image;
    case RandAugmentOp::kShearX:
      return affine(image, 0.0, {0.0, 0.0}, 1.0, {kRadToDeg * std::atan(magnitude), 0.0},
                    interpolation, &kOrigin);
    case RandAugmentOp::kShearY:
      return affine(image, 0.0, {0.0, 0.0}, 1.0, {0.0, kRadToDeg * std::atan(magnitude)},
                    interpolation, &kOrigin);
    case RandAugmentOp::kTranslateX:
      return affine(image, 0.0, {static_cast<double>(static_cast<int>(magnitude)), 0.0}, 1.0,
                    {0.0, 0.0}, interpolation);
    case RandAugmentOp::kTranslateY:
      return affine(image, 0.0, {0.0, static_cast<double>(static_cast<int>(magnitude))}, 1.0,
                    {0.0, 0.0}, interpolation);
    case RandAugmentOp::kRotate:
      return rotate(image, magnitude, interpolation);
    case RandAugmentOp::kBrightness:
      return adjust_brightness(image, 1.0 + magnitude);
    case RandAugmentOp::kColor:
      return adjust_saturation(image, 1.0 + magnitude);
    case RandAugmentOp::kContrast:
      return adjust_contrast(image, 1.0 + magnitude);
    case RandAugmentOp::kSharpness:
      return adjust_sharpness(image, 1.0 + magnitude);
    case RandAugmentOp::kPosterize:
      return posterize(image, static_cast<int>(magnitude));
    case RandAugmentOp::kSolarize:
      return solarize(image, magnitude);
    case RandAugmentOp::kAutoContrast:
      return autocontrast(image);
    case RandAugmentOp::kEqualize:
      return equalize(image);
  }
  throw std::invalid_argument("apply_rand_augment_op: unknown op");
}

Image rand_augment(const Image& image, const RandAugmentOptions& options, torch::Generator& gen) {
  options.validate();
  check_image(image, "rand_augment");
  Image img = image;
  for (int i = 0; i < options.num_ops; ++i) {
    const auto op = static_cast<RandAugmentOp>(rand_int(gen, 0, kNumRandAugmentOps));
    double magnitude = rand_augment_magnitude(op, options, img.width, img.height);
    if (is_signed(op) && rand_int(gen, 0, 2) != 0) magnitude = -magnitude;
    img = apply_rand_augment_op(img, op, magnitude, options.interpolation);
  }
  return img;
}

}  // namespace byteformer
