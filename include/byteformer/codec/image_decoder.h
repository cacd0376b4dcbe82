// Bytes of any supported image file -> pixels, dispatching on the magic bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/codec/image.h"

namespace byteformer {

/// Decodes a JPEG, PNG, TIFF, BMP or PGM/PPM file. `name_for_errors` (usually the path) starts
/// every error message. Throws CodecError for unknown, truncated or corrupt files.
///
///   auto bytes = read_file("cat.png");
///   Image img = decode_image(bytes.data(), bytes.size(), "cat.png");  // img.channels 1 or 3
Image decode_image(const uint8_t* data, size_t size, const std::string& name_for_errors);
inline Image decode_image(const std::vector<uint8_t>& bytes, const std::string& name_for_errors) {
  return decode_image(bytes.data(), bytes.size(), name_for_errors);
}

/// Grey -> RGB by repeating the channel; RGB images are returned unchanged.
Image to_rgb(const Image& image);

}  // namespace byteformer
