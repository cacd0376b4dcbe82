// Tests for src/transforms/image_augment.cpp: CoreNet's train/eval order and sizes, options,
// and the exactness of ToTensor -> pil_save's (x * 255).byte() round trip.
#include "byteformer/transforms/image_augment.h"

#include <gtest/gtest.h>

#include "byteformer/io/config.h"
#include "byteformer/transforms/image_ops.h"
#include "byteformer/transforms/rng.h"
#include "image_test_util.h"

namespace byteformer {
namespace {

// The released ImageNet recipe's augmentation keys (projects/byteformer/imagenet_*).
Config recipe_config(const std::vector<std::string>& overrides = {}) {
  Config c = Config::load_string(
      "image_augmentation:\n"
      "  random_resized_crop: {enable: true, interpolation: bicubic}\n"
      "  random_horizontal_flip: {enable: true}\n"
      "  rand_augment: {enable: true}\n"
      "  random_erase: {enable: true, p: 0.25}\n"
      "  resize: {enable: true, size: 256, interpolation: bicubic}\n"
      "  center_crop: {enable: true, size: 224}\n"
      "sampler: {bs: {crop_size_width: 224, crop_size_height: 224}}\n",
      "recipe.yaml");
  for (const auto& o : overrides) c.apply_override(o);
  return c;
}

TEST(ImageAugment, TrainIsSeededAndCropSized) {
  const Image in = test::test_pattern(120, 90);
  const ImageAugmentOptions o = ImageAugmentOptions::from_config(recipe_config());
  EXPECT_TRUE(o.random_horizontal_flip && o.rand_augment && o.random_erase);
  torch::Generator g1 = make_generator(11), g2 = make_generator(11), g3 = make_generator(12);
  const Image a = train_augment(in, o, g1);
  EXPECT_EQ(a.width, 224);
  EXPECT_EQ(a.height, 224);
  EXPECT_EQ(a.channels, 3);
  EXPECT_EQ(a, train_augment(in, o, g2));
  EXPECT_FALSE(a == train_augment(in, o, g3));
}

TEST(ImageAugment, TrainWithOnlyCropMatchesRandomResizedCrop) {
  ImageAugmentOptions o;  // CoreNet's defaults: crop only, bilinear
  o.crop_size = {20, 30};
  const Image in = test::test_pattern(64, 48);
  torch::Generator g1 = make_generator(5), g2 = make_generator(5);
  EXPECT_EQ(train_augment(in, o, g1),
            random_resized_crop(in, 20, 30, o.rrc_scale, o.rrc_ratio, Interpolation::kBilinear, g2));
  o.random_resized_crop = false;  // every step off: the image as it is, no draw
  EXPECT_EQ(train_augment(in, o, g1), in);
}

TEST(ImageAugment, DefaultsAreCoreNetsWhenKeysAreAbsent) {
  const ImageAugmentOptions o = ImageAugmentOptions::from_config(Config::load_string("common: {seed: 0}\n"));
  EXPECT_TRUE(o.random_resized_crop);
  EXPECT_FALSE(o.random_horizontal_flip || o.rand_augment || o.random_erase);
  EXPECT_EQ(o.rrc_interpolation, Interpolation::kBilinear);
  EXPECT_EQ(o.resize_interpolation, Interpolation::kBilinear);
  EXPECT_DOUBLE_EQ(o.random_erase_options.p, 0.5);
  EXPECT_DOUBLE_EQ(o.flip_p, 0.5);
  EXPECT_EQ(o.resize_size, (std::vector<int>{256}));
  EXPECT_EQ(o.center_crop_size, (std::array<int, 2>{224, 224}));
}

TEST(ImageAugment, FlipProbability) {
  const Image in = test::test_pattern();
  torch::Generator gen = make_generator(0);
  EXPECT_EQ(random_horizontal_flip(in, 0.0, gen), in);
  EXPECT_EQ(random_horizontal_flip(in, 1.0, gen), hflip(in));
  int flips = 0;
  for (int i = 0; i < 400; ++i) flips += random_horizontal_flip(in, 0.5, gen) == hflip(in);
  EXPECT_GT(flips, 150);
  EXPECT_LT(flips, 250);
}

TEST(ImageAugment, EvalResizesThenCentreCrops) {
  const Image in = test::test_pattern(500, 375);
  ImageAugmentOptions o = ImageAugmentOptions::from_config(recipe_config());
  const Image out = eval_augment(in, o);
  EXPECT_EQ(out.width, 224);
  EXPECT_EQ(out.height, 224);
  // 500x375 -> 341x256 bicubic -> crop at top (256-224)//2 = 16, left (341-224)//2 = 58.
  const Image expected = crop(resize(in, 341, 256, Interpolation::kBicubic), 16, 58, 224, 224);
  EXPECT_EQ(out, expected);
  o.resize = false;  // centre crop of the image as it is
  EXPECT_EQ(eval_augment(in, o), center_crop(in, 224, 224));
  o.center_crop = false;
  EXPECT_EQ(eval_augment(in, o), in);
}

TEST(ImageAugment, OptionsFromCoreNetKeys) {
  const ImageAugmentOptions o = ImageAugmentOptions::from_config(recipe_config(
      {"image_augmentation.random_resized_crop.interpolation=bilinear",
       "image_augmentation.random_resized_crop.scale=[0.5, 1.0]",
       "--image-augmentation.random-horizontal-flip.enable=false", "image_augmentation.rand_augment.magnitude=5",
       "image_augmentation.random_erase.p=0.1", "image_augmentation.resize.size=[300, 280]",
       "image_augmentation.center_crop.size=200", "sampler.bs.crop_size_width=160"}));
  EXPECT_EQ(o.rrc_interpolation, Interpolation::kBilinear);
  EXPECT_DOUBLE_EQ(o.rrc_scale[0], 0.5);
  EXPECT_FALSE(o.random_horizontal_flip);
  EXPECT_EQ(o.rand_augment_options.magnitude, 5);
  EXPECT_DOUBLE_EQ(o.random_erase_options.p, 0.1);
  EXPECT_EQ(o.resize_size, (std::vector<int>{300, 280}));
  EXPECT_EQ(o.center_crop_size, (std::array<int, 2>{200, 200}));
  EXPECT_EQ(o.crop_size, (std::array<int, 2>{224, 160}));
}

TEST(ImageAugment, BadOptionsNameKeyAndValue) {
  auto message_of = [](const std::string& item) -> std::string {
    try {
      ImageAugmentOptions::from_config(recipe_config({"image_augmentation." + item}));
    } catch (const std::invalid_argument& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("(in override)"), std::string::npos) << item << " -> " << m;  // and where it came from
      return m;
    }
    return "";
  };
  for (const auto& [item, needle] : std::vector<std::pair<std::string, std::string>>{
           {"random_resized_crop.interpolation=fuzzy", "fuzzy"},
           {"random_resized_crop.scale=[0.9, 0.1]", "random_resized_crop.scale"},
           {"random_horizontal_flip.p=2", "random_horizontal_flip.p"},
           {"rand_augment.magnitude=40", "rand_augment.magnitude"},
           {"random_erase.p=-1", "random_erase.p"},
           {"center_crop.size=[1,2,3]", "center_crop.size"},
           {"resize.size=abc", "abc"},
           {"resize.size=[0]", "resize.size"},
           {"center_crop.size=[224, -1]", "center_crop.size"},
           {"random_horizontal_flip.enable=sometimes", "sometimes"}}) {
    const std::string m = message_of(item);
    EXPECT_NE(m.find(needle), std::string::npos) << item << " -> '" << m << "'";
  }
}

TEST(ImageAugment, TensorRoundTripIsExact) {
  Image in = make_image(256, 1, 1);
  for (int i = 0; i < 256; ++i) in.pixels[i] = static_cast<uint8_t>(i);
  const torch::Tensor t = image_to_tensor(in);  // [1, 1, 256]
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{1, 1, 256}));
  EXPECT_FLOAT_EQ(t[0][0][255].item<float>(), 1.0f);
  EXPECT_EQ(tensor_to_image(t), in);
  const Image rgb = test::test_pattern();
  EXPECT_EQ(tensor_to_image(image_to_tensor(rgb)), rgb);
}

}  // namespace
}  // namespace byteformer
