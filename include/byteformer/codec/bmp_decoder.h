// Windows BMP decoding (hand-written: no BMP library in Debian worth the dependency).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/codec/image.h"

namespace byteformer {

/// Decodes an uncompressed BMP (BITMAPINFOHEADER or later): 1/4/8-bit palette, 24 or 32-bit
/// BGR(A), bottom-up or top-down; 16-bit and BI_BITFIELDS with 32 bits. Always RGB.
Image decode_bmp(const uint8_t* data, size_t size, const std::string& name);

}  // namespace byteformer
