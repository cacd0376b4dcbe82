// JPEG decoding and PIL-compatible encoding through libjpeg-turbo.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/codec/image.h"

namespace byteformer {

/// Decodes a JPEG; greyscale stays 1 channel, everything else becomes RGB. `name` labels
/// error messages. Throws CodecError.
Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name);

/// PIL 9.4's `Image.save(format="jpeg", quality=quality)`: libjpeg-turbo defaults, 4:2:0 chroma
/// subsampling, baseline Huffman tables (no optimize), JFIF 1.01 header with 1:1 density.
std::vector<uint8_t> encode_jpeg(const Image& image, int quality);

}  // namespace byteformer
