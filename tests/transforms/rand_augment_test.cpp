// Tests for src/transforms/rand_augment.cpp: torchvision's magnitude tables at the recipe's
// (magnitude 9 of 31), op order, determinism. The ops themselves are checked against Pillow in
// image_ops_test.cpp.
#include "byteformer/transforms/rand_augment.h"

#include <gtest/gtest.h>

#include "byteformer/transforms/rng.h"
#include "image_test_util.h"

namespace byteformer {
namespace {

TEST(RandAugment, MagnitudesAtBin9Of31) {
  const RandAugmentOptions o;  // 2 ops, magnitude 9, 31 bins
  // linspace(0, 0.3, 31)[9] in float32.
  EXPECT_FLOAT_EQ(rand_augment_magnitude(RandAugmentOp::kShearX, o, 224, 224), 0.09f);
  EXPECT_FLOAT_EQ(rand_augment_magnitude(RandAugmentOp::kRotate, o, 224, 224), 9.0f);
  EXPECT_FLOAT_EQ(rand_augment_magnitude(RandAugmentOp::kBrightness, o, 224, 224), 0.27f);
  // 150/331 * 224 * 9/30 = 30.45 (int() in the op makes it 30 pixels).
  EXPECT_NEAR(rand_augment_magnitude(RandAugmentOp::kTranslateX, o, 224, 100), 30.453, 1e-3);
  EXPECT_NEAR(rand_augment_magnitude(RandAugmentOp::kTranslateY, o, 224, 100), 13.595, 1e-3);
  // 8 - round(9 / 7.5) = 7; 255 - 9 * 8.5 = 178.5.
  EXPECT_EQ(rand_augment_magnitude(RandAugmentOp::kPosterize, o, 224, 224), 7.0);
  EXPECT_FLOAT_EQ(rand_augment_magnitude(RandAugmentOp::kSolarize, o, 224, 224), 178.5f);
  EXPECT_EQ(rand_augment_magnitude(RandAugmentOp::kEqualize, o, 224, 224), 0.0);
  EXPECT_EQ(to_string(RandAugmentOp::kIdentity), "Identity");
  EXPECT_EQ(to_string(RandAugmentOp::kEqualize), "Equalize");
}

TEST(RandAugment, SeededAndShapePreserving) {
  const Image in = test::test_pattern(32, 24);
  RandAugmentOptions o;
  int changed = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    torch::Generator g1 = make_generator(seed), g2 = make_generator(seed);
    const Image a = rand_augment(in, o, g1);
    EXPECT_EQ(a, rand_augment(in, o, g2));
    EXPECT_EQ(a.width, 32);
    EXPECT_EQ(a.height, 24);
    changed += !(a == in);
  }
  EXPECT_GT(changed, 10);
  o.num_ops = 0;
  torch::Generator g = make_generator(0);
  EXPECT_EQ(rand_augment(in, o, g), in);
}

TEST(RandAugment, BadOptions) {
  RandAugmentOptions o;
  o.magnitude = 31;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o = RandAugmentOptions{};
  o.interpolation = Interpolation::kBicubic;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  o = RandAugmentOptions{};
  o.num_ops = -1;
  EXPECT_THROW(o.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace byteformer
