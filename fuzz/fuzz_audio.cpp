// libFuzzer target: decode_audio (libsndfile) on arbitrary bytes must return samples in [-1, 1]
// or throw CodecError. Resampling to 16 kHz is exercised too. Built twice, as fuzz_wav and
// fuzz_mp3: one code, each with its own seed corpus (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/codec/codec_error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const byteformer::Audio a = byteformer::decode_audio(data, size, "fuzz", 16000);
    for (float s : a.samples) {
      if (!(s >= -1.0f && s <= 1.0f)) __builtin_trap();
    }
  } catch (const byteformer::CodecError&) {
  }
  return 0;
}
