#include "byteformer/transforms/random_resized_crop.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "byteformer/transforms/image_ops.h"
#include "byteformer/transforms/rng.h"

namespace byteformer {

CropBox random_resized_crop_params(int height, int width, std::array<double, 2> scale,
                                   std::array<double, 2> ratio, torch::Generator& gen) {
  if (height <= 0 || width <= 0) {
    throw std::invalid_argument("random_resized_crop: expected a non-empty image, got " +
                                std::to_string(height) + "x" + std::to_string(width));
  }
  if (!(scale[0] <= scale[1]) || !(ratio[0] <= ratio[1]) || !(ratio[0] > 0.0) ||
      !(scale[0] >= 0.0)) {
    throw std::invalid_argument(
        "random_resized_crop: expected 0 <= scale[0] <= scale[1] and 0 < ratio[0] <= ratio[1], "
        "got scale [" + std::to_string(scale[0]) + ", " + std::to_string(scale[1]) + "] ratio [" +
        std::to_string(ratio[0]) + ", " + std::to_string(ratio[1]) + "]");
  }
  const double area = static_cast<double>(height) * width;
  // log_ratio = torch.log(torch.tensor(ratio)): float32, as torchvision computes it.
  const torch::Tensor log_ratio =
      torch::log(torch::tensor({static_cast<float>(ratio[0]), static_cast<float>(ratio[1])}));
  const double lr0 = log_ratio[0].item<float>(), lr1 = log_ratio[1].item<float>();
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * rand_uniform(gen, scale[0], scale[1]);
    const double aspect_ratio =
        torch::exp(torch::empty({1}, torch::kFloat32).uniform_(lr0, lr1, gen)).item<float>();
    // Python's round() rounds half to even, as nearbyint does in the default mode.
    const int w = static_cast<int>(std::nearbyint(std::sqrt(target_area * aspect_ratio)));
    const int h = static_cast<int>(std::nearbyint(std::sqrt(target_area / aspect_ratio)));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int i = static_cast<int>(rand_int(gen, 0, height - h + 1));
      const int j = static_cast<int>(rand_int(gen, 0, width - w + 1));
      return {i, j, h, w};
    }
  }
  // Fallback to a central crop.
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  const double min_ratio = std::min(ratio[0], ratio[1]), max_ratio = std::max(ratio[0], ratio[1]);
  int w, h;
  if (in_ratio < min_ratio) {
    w = width;
    h = static_cast<int>(std::nearbyint(w / min_ratio));
  } else if (in_ratio > max_ratio) {
    h = height;
    w = static_cast<int>(std::nearbyint(h * max_ratio));
  } else {
    w = width;
    h = height;
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

Image random_resized_crop(const Image& image, int out_height, int out_width,
                          std::array<double, 2> scale, std::array<double, 2> ratio,
                          Interpolation interpolation, torch::Generator& gen) {
  check_image(image, "random_resized_crop");
  const CropBox box = random_resized_crop_params(image.height, image.width, scale, ratio, gen);
  const Image cropped = crop(image, box.top, box.left, box.height, box.width);
  return resize(cropped, out_width, out_height, interpolation);
}

}  // namespace byteformer
