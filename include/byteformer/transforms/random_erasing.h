// torchvision RandomErasing (CoreNet `image_pil.RandomErasing`, applied after ToTensor): with
// probability p, set a random rectangle (area fraction in `scale`, log-uniform aspect ratio in
// `ratio`, 10 attempts, else nothing) to `value`. CoreNet keeps torchvision's defaults
// scale (0.02, 0.33), ratio (0.3, 3.3), value 0; on our 8-bit images value 0 is pixel 0, which
// is what (x * 255).byte() of an erased float tensor gives.
#pragma once
#include <array>
#include <cstdint>
#include <optional>

#include <torch/torch.h>

#include "byteformer/codec/image.h"
#include "byteformer/transforms/random_resized_crop.h"

namespace byteformer {

struct RandomErasingOptions {
  double p = 0.5;  // image_augmentation.random_erase.p (CoreNet default 0.5; recipe 0.25)
  std::array<double, 2> scale = {0.02, 0.33};
  std::array<double, 2> ratio = {0.3, 3.3};
  uint8_t value = 0;
};

/// torchvision's draws: torch.rand(1) < p, then up to 10 (uniform area, uniform log-ratio)
/// attempts and two randint for the position. nullopt: nothing erased.
std::optional<CropBox> random_erasing_params(int image_height, int image_width,
                                             const RandomErasingOptions& options,
                                             torch::Generator& gen);

Image random_erasing(const Image& image, const RandomErasingOptions& options,
                     torch::Generator& gen);

}  // namespace byteformer
