#include "byteformer/transforms/random_erasing.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "byteformer/transforms/image_ops.h"
#include "byteformer/transforms/rng.h"

namespace byteformer {

std::optional<CropBox> random_erasing_params(int height, int width,
                                             const RandomErasingOptions& o,
                                             torch::Generator& gen) {
  if (!(o.p >= 0.0 && o.p <= 1.0)) {
    throw std::invalid_argument("image_augmentation.random_erase.p: expected a probability in "
                                "[0, 1], got " + std::to_string(o.p));
  }
  if (!(o.scale[0] <= o.scale[1]) || !(o.ratio[0] <= o.ratio[1]) || !(o.ratio[0] > 0.0)) {
    throw std::invalid_argument("random_erasing: expected scale[0] <= scale[1] and "
                                "0 < ratio[0] <= ratio[1]");
  }
  if (!(rand_uniform(gen) < o.p)) return std::nullopt;
  const double area = static_cast<double>(height) * width;
  const torch::Tensor log_ratio = torch::log(
      torch::tensor({static_cast<float>(o.ratio[0]), static_cast<float>(o.ratio[1])}));
  const double lr0 = log_ratio[0].item<float>(), lr1 = log_ratio[1].item<float>();
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double erase_area = area * rand_uniform(gen, o.scale[0], o.scale[1]);
    const double aspect_ratio =
        torch::exp(torch::empty({1}, torch::kFloat32).uniform_(lr0, lr1, gen)).item<float>();
    const int h = static_cast<int>(std::nearbyint(std::sqrt(erase_area * aspect_ratio)));
    const int w = static_cast<int>(std::nearbyint(std::sqrt(erase_area / aspect_ratio)));
    if (!(h < height && w < width)) continue;
    const int i = static_cast<int>(rand_int(gen, 0, height - h + 1));
    const int j = static_cast<int>(rand_int(gen, 0, width - w + 1));
    return CropBox{i, j, h, w};
  }
  return std::nullopt;
}

Image random_erasing(const Image& image, const RandomErasingOptions& options,
                     torch::Generator& gen) {
  check_image(image, "random_erasing");
  const auto box = random_erasing_params(image.height, image.width, options, gen);
  if (!box) return image;
  Image out = image;
  const int ch = image.channels;
  for (int y = box->top; y < box->top + box->height; ++y) {
    for (int x = box->left; x < box->left + box->width; ++x) {
      for (int b = 0; b < ch; ++b) {
        out.pixels[(static_cast<size_t>(y) * image.width + x) * ch + b] = options.value;
      }
    }
  }
  return out;
}

}  // namespace byteformer
