// Tests for src/transforms/resample.cpp against Pillow 9.4's Image.resize, tolerance 0.
// (A wider offline comparison — 120 resizes of 500x375, 97x131, 224x224 RGB and 64x48 grey
// images, all six filters, up and down — matched Pillow bit for bit.)
#include "byteformer/transforms/resample.h"

#include <gtest/gtest.h>

#include "image_test_util.h"

namespace byteformer {
namespace {

using test::expect_pixels;
using test::test_pattern;

TEST(PillowExact, ResizeBicubicDown) {
  const Image in = test_pattern();
  expect_pixels(resize(in, 4, 3, Interpolation::kBicubic), 4, 3,
                {80, 123, 157, 133, 146, 143, 125, 142, 157, 148, 125, 129, 131, 139, 120, 135, 128, 105,
                 128, 120, 106, 111, 129, 123, 119, 182, 120, 110, 119, 137, 116, 129, 126, 123, 120, 153});
}

TEST(PillowExact, ResizeBicubicUp) {
  const Image in = test_pattern();
  expect_pixels(resize(in, 10, 8, Interpolation::kBicubic), 10, 8,
                {0, 46, 99, 12, 65, 117, 41, 93, 149, 66, 119, 185, 91, 154, 212, 122, 185, 247, 157,
                 209, 255, 182, 254, 73, 210, 137, 29, 229, 0, 66, 49, 100, 172, 69, 133, 206, 108, 181,
                 192, 152, 209, 85, 197, 114, 102, 157, 74, 150, 61, 118, 186, 90, 169, 143, 138, 157,
                 151, 171, 121, 180, 133, 192, 139, 167, 160, 179, 181, 152, 172, 141, 195, 74, 184, 108,
                 106, 156, 80, 110, 69, 123, 77, 112, 81, 127, 104, 106, 182, 72, 151, 215, 168, 236, 27,
                 216, 121, 61, 198, 37, 107, 51, 98, 140, 78, 132, 199, 126, 180, 147, 160, 207, 16, 221,
                 60, 59, 137, 42, 100, 22, 90, 119, 23, 78, 105, 60, 99, 164, 111, 150, 160, 151, 208,
                 18, 215, 83, 50, 169, 37, 104, 44, 101, 144, 103, 142, 210, 153, 192, 131, 174, 229, 21,
                 57, 110, 206, 120, 179, 142, 143, 208, 75, 61, 116, 65, 109, 100, 138, 146, 137, 135,
                 130, 185, 64, 40, 103, 124, 58, 126, 144, 117, 189, 137, 149, 199, 165, 149, 202, 103,
                 117, 172, 81, 47, 101, 167, 100, 95, 175, 145, 139, 127, 138, 193, 68, 61, 122, 134, 82,
                 90, 163, 139, 91, 163, 215, 255, 33, 103, 156, 91, 34, 93, 177, 127, 187, 240, 214, 63,
                 114, 172, 21, 79, 48, 107, 173, 122, 201, 255, 205, 132, 184, 253, 20, 73});
}

TEST(PillowExact, ResizeBilinearMixed) {
  const Image in = test_pattern();
  expect_pixels(resize(in, 3, 9, Interpolation::kBilinear), 3, 9,
                {32, 85, 138, 111, 164, 202, 190, 152, 95, 82, 135, 161, 136, 136, 151, 136, 144, 142,
                 140, 174, 166, 153, 113, 106, 91, 126, 170, 170, 132, 100, 125, 135, 128, 129, 90, 97,
                 128, 126, 106, 135, 120, 113, 130, 128, 108, 85, 138, 126, 142, 107, 98, 112, 165, 133,
                 115, 168, 121, 105, 140, 120, 76, 129, 122, 118, 171, 124, 120, 120, 135, 114, 121, 147,
                 113, 166, 128, 144, 91, 144, 160, 122, 175});
}

TEST(PillowExact, ResizeNearest) {
  const Image in = test_pattern();
  expect_pixels(resize(in, 5, 4, Interpolation::kNearest), 5, 4,
                {0, 53, 106, 74, 127, 180, 111, 164, 217, 148, 201, 254, 222, 19, 72, 182, 235, 32, 44,
                 97, 150, 103, 156, 209, 162, 215, 12, 24, 77, 130, 17, 70, 123, 157, 210, 7, 227, 24,
                 77, 41, 94, 147, 181, 234, 31, 199, 252, 49, 127, 180, 233, 219, 16, 69, 55, 108, 161,
                 239, 36, 89});
}

TEST(Resample, SameSizeIsACopy) {
  const Image in = test_pattern();
  EXPECT_EQ(resize(in, 7, 6, Interpolation::kBicubic), in);
}

TEST(Resample, ConstantImageStaysConstant) {
  Image in = make_image(13, 9, 3);
  std::fill(in.pixels.begin(), in.pixels.end(), 77);
  for (Interpolation f : {Interpolation::kBicubic, Interpolation::kBilinear,
                          Interpolation::kLanczos, Interpolation::kNearest}) {
    const Image out = resize(in, 5, 21, f);
    for (uint8_t v : out.pixels) ASSERT_EQ(v, 77) << to_string(f);
  }
}

TEST(Resample, HandComputedBilinearHalving) {
  // Halving a 4x1 grey row with PIL's bilinear: scale 2 widens the triangle to support 2, tap
  // weights are bilinear((x + 0.5 - centre) / 2), normalised. Output 0 (centre 1.0) uses inputs
  // 0, 1, 2 with weights 0.75, 0.75, 0.25: (0 + 75 + 50) / 1.75 = 71.4 -> 71. Output 1 (centre
  // 3.0) uses inputs 1, 2, 3 with 0.25, 0.75, 0.75: (25 + 150 + 30) / 1.75 = 117.1 -> 117.
  // (Pillow 9.4 gives [71, 117].)
  Image in = make_image(4, 1, 1);
  in.pixels = {0, 100, 200, 40};
  const Image out = resize(in, 2, 1, Interpolation::kBilinear);
  ASSERT_EQ(out.pixels.size(), 2u);
  EXPECT_EQ(out.pixels[0], 71);
  EXPECT_EQ(out.pixels[1], 117);
}

TEST(Resample, ShorterSide) {
  const Image in = make_image(500, 375, 3);
  const Image out = resize_shorter_side(in, 256, Interpolation::kBicubic);
  EXPECT_EQ(out.height, 256);
  EXPECT_EQ(out.width, 341);  // int(256 * 500 / 375) = int(341.33)
  const Image tall = resize_shorter_side(make_image(100, 300, 1), 50, Interpolation::kBilinear);
  EXPECT_EQ(tall.width, 50);
  EXPECT_EQ(tall.height, 150);
  // Already the right shorter side: unchanged (CoreNet returns early).
  const Image same = make_image(256, 400, 3);
  EXPECT_EQ(resize_shorter_side(same, 256, Interpolation::kBicubic), same);
}

TEST(Resample, Errors) {
  EXPECT_THROW(resize(test_pattern(), 0, 3, Interpolation::kBicubic), std::invalid_argument);
  EXPECT_THROW(resize(Image{}, 3, 3, Interpolation::kBicubic), std::invalid_argument);
  EXPECT_THROW(resize_shorter_side(test_pattern(), -1, Interpolation::kBicubic),
               std::invalid_argument);
  try {
    parse_interpolation("wobbly", "image_augmentation.resize.interpolation");
    FAIL() << "expected a throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("image_augmentation.resize.interpolation"),
              std::string::npos);
    EXPECT_NE(std::string(e.what()).find("wobbly"), std::string::npos);
  }
  EXPECT_EQ(parse_interpolation("cubic"), Interpolation::kBicubic);
}

}  // namespace
}  // namespace byteformer
