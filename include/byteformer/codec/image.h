// Decoded pixels: the type every image codec and augmentation exchanges.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace byteformer {

/// 8-bit pixels, row-major, interleaved channels (HWC). channels is 1 (grey) or 3 (RGB).
struct Image {
  int width = 0;
  int height = 0;
  int channels = 3;
  std::vector<uint8_t> pixels;  // (height, width, channels)

  size_t size_bytes() const { return static_cast<size_t>(width) * height * channels; }
  bool operator==(const Image& o) const {
    return width == o.width && height == o.height && channels == o.channels && pixels == o.pixels;
  }
};

}  // namespace byteformer
