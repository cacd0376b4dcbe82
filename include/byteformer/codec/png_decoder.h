// PNG decoding through libpng.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/codec/image.h"

namespace byteformer {

/// Decodes any PNG libpng reads: 1-16-bit grey, grey+alpha, palette, RGB, RGBA. Alpha is
/// dropped, 16-bit samples keep their high byte, grey stays 1 channel, palette becomes RGB.
Image decode_png(const uint8_t* data, size_t size, const std::string& name);

}  // namespace byteformer
