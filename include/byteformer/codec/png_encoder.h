// PIL-compatible PNG encoding through zlib.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "byteformer/codec/image.h"

namespace byteformer {

/// PIL 9.4's `Image.save(format="png", compress_level=compress_level)`, byte for byte:
/// IHDR, IDAT chunks of at most max(65536, 4*width) bytes of zlib stream, IEND. Each row is
/// filtered as PIL's ZipEncode.c does (None, Up, Sub, Paeth, least sum of |byte| wins) and
/// fed to zlib with the same call pattern, since stored-block boundaries depend on it.
std::vector<uint8_t> encode_png(const Image& image, int compress_level = 0);

}  // namespace byteformer
