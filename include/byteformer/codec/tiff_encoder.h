// PIL-compatible uncompressed TIFF encoding (a byte-exact writer).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "byteformer/codec/image.h"

namespace byteformer {

/// PIL 9.4's uncompressed `Image.save(format="tiff")`, byte for byte. libtiff cannot write
/// PIL's exact tag layout, so this writer is hand-written: little-endian header, one IFD at
/// offset 8 (tags 256 257 258 259 262 273 [277] 278 279 284), BitsPerSample array for RGB,
/// then the pixels as a single strip.
std::vector<uint8_t> encode_tiff(const Image& image);

}  // namespace byteformer
