// Bytes of a sound file -> samples: WAV (any libsndfile reads) and MP3, via libsndfile.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "byteformer/codec/audio.h"

namespace byteformer {

/// Decodes a WAV (PCM 8/16/24/32-bit, IEEE float, WAVE_FORMAT_EXTENSIBLE) or MP3 file with
/// libsndfile reading from memory (virtual I/O; libsndfile 1.1+ decodes MP3 through mpg123).
/// Channels are kept interleaved; when `target_rate` is set and differs from the file's rate
/// the sound is resampled with libsamplerate (SRC_SINC_BEST_QUALITY). Throws CodecError.
Audio decode_audio(const uint8_t* data, size_t size, const std::string& name_for_errors,
                   std::optional<int> target_rate = std::nullopt);
inline Audio decode_audio(const std::vector<uint8_t>& bytes, const std::string& name_for_errors,
                          std::optional<int> target_rate = std::nullopt) {
  return decode_audio(bytes.data(), bytes.size(), name_for_errors, target_rate);
}

/// For a RIFF/WAVE file whose `data` chunk declares more bytes than the file holds (cut off,
/// e.g. an interrupted download): what is missing, as "WAV data chunk declares 32000 bytes,
/// the file holds 956 of them (truncated?)". libsndfile then decodes the samples present
/// without a word (its log notes "Data length in header is too big"). "" for a complete file,
/// for a streamed WAV whose size field is 0xFFFFFFFF, and for anything that is not a WAV.
std::string wav_truncation(const uint8_t* data, size_t size);

/// Mean of the channels, as CoreNet's TorchaudioSave does before writing (x.mean(dim=0)).
Audio to_mono(const Audio& audio);

/// Resamples to `target_rate` with libsamplerate's best sinc converter; unchanged if equal.
Audio resample(const Audio& audio, int target_rate);

}  // namespace byteformer
