// libFuzzer target: decode_png on arbitrary bytes must return an image or throw CodecError.
#include <cstddef>
#include <cstdint>

#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/png_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const byteformer::Image img = byteformer::decode_png(data, size, "fuzz");
    if (img.pixels.size() != img.size_bytes()) __builtin_trap();  // decoder broke its contract
  } catch (const byteformer::CodecError&) {
  }
  return 0;
}
