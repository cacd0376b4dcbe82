// Tests for src/transforms/random_erasing.cpp: probability, rectangle size bounds, determinism.
#include "byteformer/transforms/random_erasing.h"

#include <gtest/gtest.h>

#include "byteformer/transforms/image_ops.h"
#include "byteformer/transforms/rng.h"

namespace byteformer {
namespace {

Image white(int w, int h) {
  Image im = make_image(w, h, 3);
  std::fill(im.pixels.begin(), im.pixels.end(), 255);
  return im;
}

TEST(RandomErasing, ProbabilityZeroAndOne) {
  torch::Generator gen = make_generator(0);
  RandomErasingOptions o;
  o.p = 0.0;
  EXPECT_EQ(random_erasing(white(50, 40), o, gen), white(50, 40));
  o.p = 1.0;
  int erased_images = 0;
  for (int i = 0; i < 50; ++i) {
    const auto box = random_erasing_params(40, 50, o, gen);
    if (!box) continue;  // all 10 attempts may fail; then nothing is erased
    ++erased_images;
    EXPECT_LT(box->height, 40);
    EXPECT_LT(box->width, 50);
    EXPECT_LE(box->top + box->height, 40);
    EXPECT_LE(box->left + box->width, 50);
    const double frac = double(box->height) * box->width / 2000.0;
    EXPECT_GE(frac, 0.01);
    EXPECT_LE(frac, 0.40);
  }
  EXPECT_GT(erased_images, 40);
}

TEST(RandomErasing, ErasesARectangleToZero) {
  torch::Generator g1 = make_generator(3), g2 = make_generator(3);
  RandomErasingOptions o;
  o.p = 1.0;
  const auto box = random_erasing_params(40, 50, o, g1);
  ASSERT_TRUE(box.has_value());
  const Image out = random_erasing(white(50, 40), o, g2);
  int zeros = 0;
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 50; ++x) {
      const bool inside = y >= box->top && y < box->top + box->height && x >= box->left &&
                          x < box->left + box->width;
      const uint8_t v = out.pixels[(y * 50 + x) * 3];
      EXPECT_EQ(v, inside ? 0 : 255);
      zeros += v == 0;
    }
  }
  EXPECT_EQ(zeros, box->height * box->width);
}

TEST(RandomErasing, BadProbability) {
  torch::Generator gen = make_generator(0);
  RandomErasingOptions o;
  o.p = 1.5;
  try {
    random_erasing(white(4, 4), o, gen);
    FAIL() << "expected a throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("random_erase.p"), std::string::npos);
  }
}

}  // namespace
}  // namespace byteformer
