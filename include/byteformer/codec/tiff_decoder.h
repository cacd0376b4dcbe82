// TIFF decoding through libtiff (from memory).
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

}  // namespace byteformer
