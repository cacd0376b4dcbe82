// Fixture loaders shared by the codec tests.
#pragma once
#include <cstring>
#include <string>
#include <vector>

#include "byteformer/codec/audio.h"
#include "byteformer/codec/image.h"
#include "test_util.h"

namespace byteformer::test {

struct ImageFixture {
  std::string stem;  // "image0"
  int width, height;
};
/// fixtures/encoders/manifest.json's images.
inline const std::vector<ImageFixture>& image_fixtures() {
  static const std::vector<ImageFixture> f = {{"image0", 32, 32}, {"image1", 45, 29}};
  return f;
}
inline std::string encoders_dir() { return fixtures_dir() + "/encoders/"; }

inline Image load_fixture_image(const ImageFixture& f) {
  Image img;
  img.width = f.width;
  img.height = f.height;
  img.channels = 3;
  img.pixels = read_bytes(encoders_dir() + f.stem + ".rgb");
  return img;
}

/// audioK.f32: mono float32 little-endian samples at 16 kHz.
inline Audio load_fixture_audio(const std::string& stem) {
  const std::vector<uint8_t> raw = read_bytes(encoders_dir() + stem + ".f32");
  Audio a;
  a.sample_rate = 16000;
  a.channels = 1;
  a.samples.resize(raw.size() / 4);
  std::memcpy(a.samples.data(), raw.data(), a.samples.size() * 4);
  return a;
}

/// A deterministic test picture: smooth gradients plus a little pseudo-random texture.
inline Image synthetic_image(int width, int height, int channels, uint32_t seed = 1) {
  Image img;
  img.width = width;
  img.height = height;
  img.channels = channels;
  img.pixels.resize(img.size_bytes());
  uint32_t s = seed;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        s = s * 1664525u + 1013904223u;
        const int v = (x * 255 / width + y * 128 / height + c * 60) + static_cast<int>(s >> 29);
        img.pixels[(static_cast<size_t>(y) * width + x) * channels + c] = static_cast<uint8_t>(v);
      }
    }
  }
  return img;
}

}  // namespace byteformer::test
