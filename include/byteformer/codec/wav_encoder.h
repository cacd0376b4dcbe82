// WAV writing byte-exact with torchaudio 0.13's sox writer, as CoreNet's TorchaudioSave uses it.
#pragma once
#include <cstdint>
#include <vector>

#include "byteformer/codec/audio.h"

namespace byteformer {

/// The sample type CoreNet casts to before saving (`torchaudio_save.encoding_dtype`).
enum class WavSampleType { kFloat32, kInt32, kInt16, kUInt8 };

/// The sox writer's WAV bytes for `audio` (any channel count), cast as CoreNet casts:
///   float32: IEEE float, 18-byte fmt chunk + fact chunk; values pass through sox's 32-bit
///            integer samples, so they are rounded to a multiple of 2^-24 (as sox does);
///   int32:   float32(x * (2^31 - 1)) truncated, WAVE_FORMAT_EXTENSIBLE 40-byte fmt + fact;
///   int16:   float32(x * (2^15 - 1)) truncated, plain PCM;
///   uint8:   float32((x + 1) * 255 / 2) truncated, plain PCM.
/// sox's header layout is written by hand (a byte-exact writer; libsndfile's differs).
std::vector<uint8_t> encode_wav(const Audio& audio, WavSampleType type);

}  // namespace byteformer
