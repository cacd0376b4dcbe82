// torchvision RandomResizedCrop (as CoreNet `image_pil.RandomResizedCrop` uses it): crop a
// random area fraction in `scale` with a log-uniform aspect ratio in `ratio`, 10 attempts, then
// the central-crop fallback; resize the crop to the output size with PIL's resampling.
#pragma once
#include <array>

#include <torch/torch.h>

#include "byteformer/codec/image.h"
#include "byteformer/transforms/resample.h"

namespace byteformer {

/// A crop box: top row, left column, height, width.
struct CropBox {
  int top = 0;
  int left = 0;
  int height = 0;
  int width = 0;
  bool operator==(const CropBox& o) const {
    return top == o.top && left == o.left && height == o.height && width == o.width;
  }
};

/// `T.RandomResizedCrop.get_params`: draws from `gen` exactly as torchvision draws from torch's
/// RNG (uniform_ for area and log-ratio, randint for the position).
CropBox random_resized_crop_params(int image_height, int image_width,
                                   std::array<double, 2> scale, std::array<double, 2> ratio,
                                   torch::Generator& gen);

/// Crop with `random_resized_crop_params`, then resize to out_height x out_width.
Image random_resized_crop(const Image& image, int out_height, int out_width,
                          std::array<double, 2> scale, std::array<double, 2> ratio,
                          Interpolation interpolation, torch::Generator& gen);

}  // namespace byteformer
