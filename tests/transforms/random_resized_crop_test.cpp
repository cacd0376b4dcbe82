// Tests for src/transforms/random_resized_crop.cpp: torchvision's get_params rules (bounds,
// fallback) and seeded determinism.
#include "byteformer/transforms/random_resized_crop.h"

#include <gtest/gtest.h>

#include "byteformer/transforms/rng.h"
#include "image_test_util.h"

namespace byteformer {
namespace {

TEST(RandomResizedCrop, ParamsStayInsideAndFollowTheScaleRange) {
  torch::Generator gen = make_generator(0);
  for (int i = 0; i < 200; ++i) {
    const CropBox b = random_resized_crop_params(375, 500, {0.08, 1.0}, {3.0 / 4, 4.0 / 3}, gen);
    ASSERT_GT(b.height, 0);
    ASSERT_GT(b.width, 0);
    ASSERT_GE(b.top, 0);
    ASSERT_GE(b.left, 0);
    ASSERT_LE(b.top + b.height, 375);
    ASSERT_LE(b.left + b.width, 500);
    const double frac = double(b.height) * b.width / (375.0 * 500.0);
    // Rounding of w and h moves the area slightly outside [0.08, 1].
    EXPECT_GE(frac, 0.07);
    EXPECT_LE(frac, 1.0);
  }
}

TEST(RandomResizedCrop, FallbackIsTheCentralCrop) {
  // A 10x100 strip cannot hold a whole-area crop of ratio <= 4/3 in 10 attempts: torchvision
  // falls back to h = 10, w = round(10 * 4/3) = 13, centred: left = (100 - 13) // 2 = 43.
  torch::Generator gen = make_generator(1);
  const CropBox b = random_resized_crop_params(10, 100, {1.0, 1.0}, {3.0 / 4, 4.0 / 3}, gen);
  EXPECT_EQ(b, (CropBox{0, 43, 10, 13}));
  // An in-range ratio falls back to the whole image.
  const CropBox whole = random_resized_crop_params(10, 10, {2.0, 2.0}, {0.5, 2.0}, gen);
  EXPECT_EQ(whole, (CropBox{0, 0, 10, 10}));
}

TEST(RandomResizedCrop, SeededAndSized) {
  const Image in = test::test_pattern(40, 30);
  torch::Generator g1 = make_generator(7), g2 = make_generator(7), g3 = make_generator(8);
  const Image a = random_resized_crop(in, 16, 12, {0.08, 1.0}, {0.75, 4.0 / 3},
                                      Interpolation::kBicubic, g1);
  EXPECT_EQ(a.height, 16);
  EXPECT_EQ(a.width, 12);
  EXPECT_EQ(a, random_resized_crop(in, 16, 12, {0.08, 1.0}, {0.75, 4.0 / 3},
                                   Interpolation::kBicubic, g2));
  EXPECT_FALSE(random_resized_crop_params(30, 40, {0.08, 1.0}, {0.75, 4.0 / 3}, g1) ==
               random_resized_crop_params(30, 40, {0.08, 1.0}, {0.75, 4.0 / 3}, g3));
}

TEST(RandomResizedCrop, Errors) {
  torch::Generator gen = make_generator(0);
  EXPECT_THROW(random_resized_crop_params(0, 10, {0.08, 1.0}, {0.75, 1.33}, gen),
               std::invalid_argument);
  EXPECT_THROW(random_resized_crop_params(10, 10, {1.0, 0.08}, {0.75, 1.33}, gen),
               std::invalid_argument);
  EXPECT_THROW(random_resized_crop_params(10, 10, {0.08, 1.0}, {0.0, 1.33}, gen),
               std::invalid_argument);
}

}  // namespace
}  // namespace byteformer
