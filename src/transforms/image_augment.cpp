#include "byteformer/transforms/image_augment.h"

#include <cstring>
#include <stdexcept>

#include "byteformer/transforms/image_ops.h"
#include "byteformer/transforms/random_resized_crop.h"
#include "byteformer/transforms/rng.h"
#include "transforms/option_values.h"

namespace byteformer {
namespace {

std::string pair_text(std::array<double, 2> v) {
  return "[" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + "]";
}

}  // namespace

ImageAugmentOptions ImageAugmentOptions::from_config(const Config& c) {
  return detail::read_options<ImageAugmentOptions>(c, [&](ImageAugmentOptions& o) {
    const std::string I = "image_augmentation.";
    o.random_resized_crop = c.get_bool(I + "random_resized_crop.enable", o.random_resized_crop);
    o.rrc_interpolation = detail::config_interpolation(c, I + "random_resized_crop.interpolation", o.rrc_interpolation);
    o.rrc_scale = detail::config_pair(c, I + "random_resized_crop.scale", o.rrc_scale);
    o.rrc_ratio = detail::config_pair(c, I + "random_resized_crop.aspect_ratio", o.rrc_ratio);
    for (const auto& [key, slot] : {std::pair<const char*, int*>{"sampler.bs.crop_size_height", &o.crop_size[0]},
                                    std::pair<const char*, int*>{"sampler.bs.crop_size_width", &o.crop_size[1]}}) {
      const int64_t v = c.get_int(key, *slot);
      if (v <= 0 || v > (1 << 20)) detail::throw_bad_config(c, key, "a positive size");
      *slot = static_cast<int>(v);
    }
    o.random_horizontal_flip = c.get_bool(I + "random_horizontal_flip.enable", o.random_horizontal_flip);
    o.flip_p = c.get_double(I + "random_horizontal_flip.p", o.flip_p);
    o.rand_augment = c.get_bool(I + "rand_augment.enable", o.rand_augment);
    auto& ra = o.rand_augment_options;
    ra.num_ops = static_cast<int>(c.get_int(I + "rand_augment.num_ops", ra.num_ops));
    ra.magnitude = static_cast<int>(c.get_int(I + "rand_augment.magnitude", ra.magnitude));
    ra.num_magnitude_bins = static_cast<int>(c.get_int(I + "rand_augment.num_magnitude_bins", ra.num_magnitude_bins));
    ra.interpolation = detail::config_interpolation(c, I + "rand_augment.interpolation", ra.interpolation);
    o.random_erase = c.get_bool(I + "random_erase.enable", o.random_erase);
    o.random_erase_options.p = c.get_double(I + "random_erase.p", o.random_erase_options.p);
    o.resize = c.get_bool(I + "resize.enable", o.resize);
    const auto rs = c.get_int_list(I + "resize.size", {o.resize_size.begin(), o.resize_size.end()});
    if (rs.empty() || rs.size() > 2) detail::throw_bad_config(c, I + "resize.size", "one or two integers");
    for (int64_t v : rs)
      if (v <= 0 || v > (1 << 20)) detail::throw_bad_config(c, I + "resize.size", "a positive size");
    o.resize_size.assign(rs.begin(), rs.end());
    o.resize_interpolation = detail::config_interpolation(c, I + "resize.interpolation", o.resize_interpolation);
    o.center_crop = c.get_bool(I + "center_crop.enable", o.center_crop);
    o.center_crop_size = detail::config_size(c, I + "center_crop.size", o.center_crop_size);
  });
}

void ImageAugmentOptions::validate() const {
  if (!(rrc_scale[0] >= 0.0 && rrc_scale[0] <= rrc_scale[1])) {
    detail::throw_bad_value("image_augmentation.random_resized_crop.scale", pair_text(rrc_scale),
                            "0 <= low <= high");
  }
  if (!(rrc_ratio[0] > 0.0 && rrc_ratio[0] <= rrc_ratio[1])) {
    detail::throw_bad_value("image_augmentation.random_resized_crop.aspect_ratio",
                            pair_text(rrc_ratio), "0 < low <= high");
  }
  if (crop_size[0] <= 0 || crop_size[1] <= 0) {
    detail::throw_bad_value("sampler.bs.crop_size",
                            std::to_string(crop_size[0]) + "x" + std::to_string(crop_size[1]),
                            "a positive size");
  }
  if (!(flip_p >= 0.0 && flip_p <= 1.0)) {
    detail::throw_bad_value("image_augmentation.random_horizontal_flip.p", std::to_string(flip_p),
                            "a probability in [0, 1]");
  }
  rand_augment_options.validate();
  if (!(random_erase_options.p >= 0.0 && random_erase_options.p <= 1.0)) {
    detail::throw_bad_value("image_augmentation.random_erase.p",
                            std::to_string(random_erase_options.p), "a probability in [0, 1]");
  }
  for (int s : resize_size) {
    if (s <= 0) detail::throw_bad_value("image_augmentation.resize.size", std::to_string(s), "a positive size");
  }
  if (resize_size.empty() || resize_size.size() > 2) {
    detail::throw_bad_value("image_augmentation.resize.size", std::to_string(resize_size.size()) + " values",
                            "one or two integers");
  }
  if (center_crop_size[0] <= 0 || center_crop_size[1] <= 0) {
    detail::throw_bad_value("image_augmentation.center_crop.size",
                            std::to_string(center_crop_size[0]) + "x" +
                                std::to_string(center_crop_size[1]),
                            "a positive size");
  }
}

Image random_horizontal_flip(const Image& image, double p, torch::Generator& gen) {
  return rand_uniform(gen) <= p ? hflip(image) : image;
}

Image train_augment(const Image& image, const ImageAugmentOptions& o, torch::Generator& gen) {
  o.validate();
  check_image(image, "train_augment");
  Image x = o.random_resized_crop ? random_resized_crop(image, o.crop_size[0], o.crop_size[1], o.rrc_scale,
                                                        o.rrc_ratio, o.rrc_interpolation, gen)
                                  : image;
  if (o.random_horizontal_flip) x = random_horizontal_flip(x, o.flip_p, gen);
  if (o.rand_augment) x = rand_augment(x, o.rand_augment_options, gen);
  if (o.random_erase) x = random_erasing(x, o.random_erase_options, gen);
  return x;
}

Image eval_augment(const Image& image, const ImageAugmentOptions& o) {
  o.validate();
  check_image(image, "eval_augment");
  Image x = image;
  if (o.resize) {
    x = o.resize_size.size() == 1
            ? resize_shorter_side(x, o.resize_size[0], o.resize_interpolation)
            : byteformer::resize(x, o.resize_size[1], o.resize_size[0], o.resize_interpolation);
  }
  return o.center_crop ? byteformer::center_crop(x, o.center_crop_size[0], o.center_crop_size[1]) : x;
}

torch::Tensor image_to_tensor(const Image& image) {
  check_image(image, "image_to_tensor");
  torch::Tensor hwc = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()),
                                       {image.height, image.width, image.channels}, torch::kUInt8);
  return hwc.permute({2, 0, 1}).to(torch::kFloat32).div(255).contiguous();  // [C, H, W]
}

Image tensor_to_image(const torch::Tensor& chw) {
  TORCH_CHECK(chw.dim() == 3 && (chw.size(0) == 1 || chw.size(0) == 3),
              "tensor_to_image: expected [C, H, W] with C 1 or 3, got ", chw.sizes());
  const torch::Tensor hwc = chw.mul(255).to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  Image out = make_image(static_cast<int>(chw.size(2)), static_cast<int>(chw.size(1)),
                         static_cast<int>(chw.size(0)));
  std::memcpy(out.pixels.data(), hwc.data_ptr<uint8_t>(), out.pixels.size());
  return out;
}

}  // namespace byteformer
