// Decoded pixels and decoded sound: the types every codec and augmentation exchanges.
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

/// Mono or interleaved multi-channel float samples in [-1, 1].
struct Audio {
  int sample_rate = 16000;
  int channels = 1;
  std::vector<float> samples;  // (frames, channels)

  size_t frames() const { return channels > 0 ? samples.size() / channels : 0; }
};

}  // namespace byteformer
