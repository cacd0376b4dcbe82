// Bounds every image decoder enforces before allocating, so a hostile header cannot ask for
// gigabytes. Private to src/codec.
#pragma once
#include <cstdint>
#include <string>

#include <fmt/format.h>

#include "byteformer/codec/codec_error.h"

namespace byteformer::detail {

/// The pixel budget: 2^27 pixels (134 MP, a 108 MP phone photo fits; 11585 x 11585), checked
/// from the header before decoding. A decoded RGB image is then at most 400 MB.
constexpr uint64_t kMaxImagePixels = uint64_t{1} << 27;
constexpr uint64_t kMaxImageSide = 1u << 20;

inline void check_image_size(const std::string& name, const char* format, uint64_t width,
                             uint64_t height) {
  if (width == 0 || height == 0 || width > kMaxImageSide || height > kMaxImageSide ||
      width * height > kMaxImagePixels) {
    throw CodecError(fmt::format("{}: {} header gives {}x{} pixels; expected 1 to {} pixels",
                                 name, format, width, height, kMaxImagePixels));
  }
}

}  // namespace byteformer::detail
