// Helpers for the image transform tests: a deterministic test pattern and pixel comparison.
#pragma once
#include <gtest/gtest.h>

#include <vector>

#include "byteformer/codec/image.h"
#include "byteformer/transforms/image_ops.h"

namespace byteformer::test {

/// 7x6 RGB, pixel (x, y, c) = (37x + 91y + 53c + 11xy) mod 256. The expected values in the
/// Pillow-exact tests were produced from this pattern by Pillow 9.4 (Debian 12's python3-pil).
inline Image test_pattern(int width = 7, int height = 6) {
  Image im = make_image(width, height, 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        im.pixels[(static_cast<size_t>(y) * width + x) * 3 + c] =
            static_cast<uint8_t>((x * 37 + y * 91 + c * 53 + x * y * 11) % 256);
      }
    }
  }
  return im;
}

/// Exact comparison (tolerance 0) of an RGB result against expected HWC bytes.
inline void expect_pixels(const Image& got, int width, int height,
                          const std::vector<int>& expected) {
  ASSERT_EQ(got.width, width);
  ASSERT_EQ(got.height, height);
  ASSERT_EQ(got.channels, 3);
  ASSERT_EQ(got.pixels.size(), expected.size());
  int mismatched = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (got.pixels[i] != expected[i]) {
      if (mismatched < 5) {
        ADD_FAILURE() << "byte " << i << ": got " << int(got.pixels[i]) << ", Pillow "
                      << expected[i];
      }
      ++mismatched;
    }
  }
  EXPECT_EQ(mismatched, 0);
}

}  // namespace byteformer::test
