// The image half of CoreNet's ByteFormer input pipeline
// (`corenet/data/datasets/classification/base_image_classification_dataset.py`):
//   training:   [RandomResizedCrop] -> [RandomHorizontalFlip] -> [RandAugment] -> ToTensor
//               -> [RandomErasing]
//   evaluation: [Resize (shorter side)] -> [CenterCrop] -> ToTensor
// CoreNet always crops in training and always resizes and crops in evaluation; here each step
// has its `.enable` key (on by default for those three), so a config can feed images whole.
// Pixels stay 8-bit here: ToTensor's x / 255 followed by pil_save's (x * 255).byte() gives back
// every byte exactly in float32, and RandomErasing's value 0 is byte 0, so the encoders can take
// these images directly.
//
// Example:
//   const ImageAugmentOptions opts = ImageAugmentOptions::from_config(config);
//   torch::Generator gen = make_generator(seed);
//   Image x = train_augment(decoded, opts, gen);    // sampler.bs.crop_size_* (224 x 224)
#pragma once
#include <array>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "byteformer/codec/image.h"
#include "byteformer/io/config.h"
#include "byteformer/transforms/rand_augment.h"
#include "byteformer/transforms/random_erasing.h"
#include "byteformer/transforms/resample.h"

namespace byteformer {

/// Options under CoreNet's `image_augmentation.` keys. Defaults are CoreNet's own when a key is
/// absent (argparse defaults: interpolation bilinear, random_erase.p 0.5, flip p 0.5; flip,
/// RandAugment and random erasing off), which is what the released recipes then override.
struct ImageAugmentOptions {
  // random_resized_crop.{enable,interpolation,scale,aspect_ratio}
  bool random_resized_crop = true;
  Interpolation rrc_interpolation = Interpolation::kBilinear;
  std::array<double, 2> rrc_scale = {0.08, 1.0};
  std::array<double, 2> rrc_ratio = {3.0 / 4.0, 4.0 / 3.0};
  /// Training output size (height, width): CoreNet takes it from sampler.bs.crop_size_*.
  std::array<int, 2> crop_size = {224, 224};
  // random_horizontal_flip.{enable,p}
  bool random_horizontal_flip = false;
  double flip_p = 0.5;
  // rand_augment.{enable,num_ops,magnitude,num_magnitude_bins,interpolation}
  bool rand_augment = false;
  RandAugmentOptions rand_augment_options;
  // random_erase.{enable,p}
  bool random_erase = false;
  RandomErasingOptions random_erase_options = {/*p=*/0.5};
  // resize.{enable,size,interpolation}; size: one int (shorter side) or [height, width].
  bool resize = true;
  std::vector<int> resize_size = {256};
  Interpolation resize_interpolation = Interpolation::kBilinear;
  // center_crop.{enable,size}: one int or [height, width].
  bool center_crop = true;
  std::array<int, 2> center_crop_size = {224, 224};

  /// Reads the `image_augmentation.*` keys above and `sampler.bs.crop_size_{height,width}`,
  /// then validates. Throws std::invalid_argument naming the key, its value and its file.
  static ImageAugmentOptions from_config(const Config& config);
  /// Throws std::invalid_argument naming the key and value of the first bad option.
  void validate() const;
};

/// CoreNet's RandomHorizontalFlip: flips when a uniform draw is <= p (`random.random() <= self.p`).
Image random_horizontal_flip(const Image& image, double p, torch::Generator& gen);

/// Training transforms (order above); each step only when enabled.
Image train_augment(const Image& image, const ImageAugmentOptions& options,
                    torch::Generator& gen);
/// Evaluation transforms: resize then centre crop, each when enabled.
Image eval_augment(const Image& image, const ImageAugmentOptions& options);

/// ToTensor: float32 [C, H, W] in [0, 1] (x / 255).
torch::Tensor image_to_tensor(const Image& image);
/// pil_save's quantisation of a [C, H, W] tensor in [0, 1]: (x * 255) truncated to uint8, HWC.
Image tensor_to_image(const torch::Tensor& chw);

}  // namespace byteformer
