// Pixels -> file bytes as CoreNet's `pil_save` transform writes them
// (corenet/data/transforms/image_bytes.py): TIFF, PNG (compress_level 0), JPEG at a quality,
// or the headerless fCHW / fHWC byte orders.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/codec/image.h"

namespace byteformer {

/// Which file encoding to write, parsed from a string (see parse_image_encoding).
struct ImageEncoding {
  enum class Kind { kTiff, kPng, kJpeg, kCHW, kHWC };
  Kind kind = Kind::kTiff;
  int quality = 100;  // JPEG only; CoreNet's default `pil_save.quality`

  /// Accepts ours ("tiff", "png", "jpeg", "jpeg:Q", "fchw", "fhwc") and CoreNet's
  /// `pil_save.file_encoding` names ("TIFF", "PNG", "JPEG", "fCHW", "fHWC"), case-insensitively.
  /// `quality` is used for a bare "jpeg". Throws std::invalid_argument naming the bad string.
  static ImageEncoding parse(const std::string& text, int quality = 100);
  std::string to_string() const;  // "tiff", "png", "jpeg:Q", "fchw", "fhwc"
};

/// The file bytes CoreNet's `pil_save` produces for these pixels (byte-exact with PIL 9.4).
///
///   Image img = decode_image(bytes, "x.png");
///   std::vector<uint8_t> tiff = encode_image(img, ImageEncoding::parse("TIFF"));
std::vector<uint8_t> encode_image(const Image& image, const ImageEncoding& encoding);

/// Float pixels in [0, 1], (channels, height, width) order -> 8-bit HWC Image, converted as
/// CoreNet's `_image_to_bytes` does: `(x * 255).byte()`, i.e. the float product truncated
/// toward zero (not rounded). channels must be 1 or 3; values outside [0, 1] are clamped
/// (CoreNet asserts they are not there).
Image image_from_chw_floats(const float* chw, int channels, int height, int width);

}  // namespace byteformer
