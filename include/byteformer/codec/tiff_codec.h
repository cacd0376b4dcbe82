// TIFF decoding through libtiff (from memory) and PIL-compatible encoding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/codec/image.h"

namespace byteformer {

/// Decodes a TIFF (first directory) with libtiff reading from memory. Grey (one sample,
/// MinIsBlack/MinIsWhite, 8-bit) gives 1 channel; everything else goes through libtiff's RGBA
/// reader and gives RGB. libtiff's warnings are silenced and its errors become CodecError.
Image decode_tiff(const uint8_t* data, size_t size, const std::string& name);

/// PIL 9.4's uncompressed `Image.save(format="tiff")`, byte for byte. libtiff cannot write
/// PIL's exact tag layout, so this writer is hand-written: little-endian header, one IFD at
/// offset 8 (tags 256 257 258 259 262 273 [277] 278 279 284), BitsPerSample array for RGB,
/// then the pixels as a single strip.
std::vector<uint8_t> encode_tiff(const Image& image);

}  // namespace byteformer
