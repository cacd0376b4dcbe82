// Netpbm PGM/PPM decoding (hand-written: the format is a few lines of header).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/codec/image.h"

namespace byteformer {

/// Decodes binary P5 (PGM, 1 channel) and P6 (PPM, RGB), and ASCII P2/P3; maxval up to
/// 65535, samples rescaled to 0-255 (v * 255 / maxval, rounded).
Image decode_pnm(const uint8_t* data, size_t size, const std::string& name);

}  // namespace byteformer
