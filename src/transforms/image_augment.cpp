#include "byteformer/transforms/image_augment.h"

#include <cstring>
#include <stdexcept>

#include "byteformer/transforms/image_ops.h"
#include "byteformer/transforms/random_resized_crop.h"
#include "byteformer/transforms/rng.h"
#include "transforms/option_values.h"

namespace byteformer {
namespace {

constexpr const char* kPrefix = "image_augmentation.";

std::array<double, 2> parse_pair(const std::string& key, const std::string& value) {
  const std::vector<double> v = detail::parse_double_list(key, value);
  if (v.size() != 2) detail::throw_bad_value(key, value, "two numbers [low, high]");
  return {v[0], v[1]};
}

std::array<int, 2> parse_size(const std::string& key, const std::string& value) {
  const std::vector<int64_t> v = detail::parse_int_list(key, value);
  if (v.size() == 1) return {static_cast<int>(v[0]), static_cast<int>(v[0])};
  if (v.size() == 2) return {static_cast<int>(v[0]), static_cast<int>(v[1])};
  detail::throw_bad_value(key, value, "a size (one integer or [height, width])");
}

int to_int(const std::string& key, const std::string& value) {
  return static_cast<int>(detail::parse_int(key, value));
}

std::string pair_text(std::array<double, 2> v) {
  return "[" + std::to_string(v[0]) + ", " + std::to_string(v[1]) + "]";
}

}  // namespace

void ImageAugmentOptions::set(const std::string& raw_key, const std::string& value) {
  std::string key = detail::normalise_key(raw_key, kPrefix);
  const std::string full = kPrefix + key;
  if (key == "random_resized_crop.enable") {
    random_resized_crop = detail::parse_bool(full, value);
  } else if (key == "random_resized_crop.interpolation") {
    rrc_interpolation = parse_interpolation(value, full);
  } else if (key == "random_resized_crop.scale") {
    rrc_scale = parse_pair(full, value);
  } else if (key == "random_resized_crop.aspect_ratio") {
    rrc_ratio = parse_pair(full, value);
  } else if (key == "sampler.bs.crop_size_width") {
    crop_size[1] = to_int(key, value);
  } else if (key == "sampler.bs.crop_size_height") {
    crop_size[0] = to_int(key, value);
  } else if (key == "random_horizontal_flip.enable") {
    random_horizontal_flip = detail::parse_bool(full, value);
  } else if (key == "random_horizontal_flip.p") {
    flip_p = detail::parse_double(full, value);
  } else if (key == "rand_augment.enable") {
    rand_augment = detail::parse_bool(full, value);
  } else if (key == "rand_augment.num_ops") {
    rand_augment_options.num_ops = to_int(full, value);
  } else if (key == "rand_augment.magnitude") {
    rand_augment_options.magnitude = to_int(full, value);
  } else if (key == "rand_augment.num_magnitude_bins") {
    rand_augment_options.num_magnitude_bins = to_int(full, value);
  } else if (key == "rand_augment.interpolation") {
    rand_augment_options.interpolation = parse_interpolation(value, full);
  } else if (key == "random_erase.enable") {
    random_erase = detail::parse_bool(full, value);
  } else if (key == "random_erase.p") {
    random_erase_options.p = detail::parse_double(full, value);
  } else if (key == "resize.enable") {
    resize = detail::parse_bool(full, value);
  } else if (key == "resize.size") {
    const std::vector<int64_t> v = detail::parse_int_list(full, value);
    if (v.empty() || v.size() > 2) detail::throw_bad_value(full, value, "one or two integers");
    resize_size.assign(v.begin(), v.end());
  } else if (key == "resize.interpolation") {
    resize_interpolation = parse_interpolation(value, full);
  } else if (key == "center_crop.enable") {
    center_crop = detail::parse_bool(full, value);
  } else if (key == "center_crop.size") {
    center_crop_size = parse_size(full, value);
  } else {
    throw std::invalid_argument("ImageAugmentOptions: unknown option '" + raw_key + "'");
  }
}

ImageAugmentOptions ImageAugmentOptions::from_key_values(const std::vector<std::string>& items) {
  ImageAugmentOptions o;
  for (const auto& item : items) {
    const auto [k, v] = detail::split_key_value(item);
    o.set(k, v);
  }
  o.validate();
  return o;
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
  if (!o.random_resized_crop) {
    throw std::invalid_argument("image_augmentation.random_resized_crop.enable must be true for "
                                "training (CoreNet requires it), got false");
  }
  Image x = random_resized_crop(image, o.crop_size[0], o.crop_size[1], o.rrc_scale, o.rrc_ratio,
                                o.rrc_interpolation, gen);
  if (o.random_horizontal_flip) x = random_horizontal_flip(x, o.flip_p, gen);
  if (o.rand_augment) x = rand_augment(x, o.rand_augment_options, gen);
  if (o.random_erase) x = random_erasing(x, o.random_erase_options, gen);
  return x;
}

Image eval_augment(const Image& image, const ImageAugmentOptions& o) {
  o.validate();
  check_image(image, "eval_augment");
  if (!o.resize || !o.center_crop) {
    throw std::invalid_argument("image_augmentation.resize.enable and center_crop.enable must be "
                                "true for evaluation (CoreNet requires them)");
  }
  Image x = o.resize_size.size() == 1
                ? resize_shorter_side(image, o.resize_size[0], o.resize_interpolation)
                : byteformer::resize(image, o.resize_size[1], o.resize_size[0],
                                     o.resize_interpolation);
  return byteformer::center_crop(x, o.center_crop_size[0], o.center_crop_size[1]);
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
