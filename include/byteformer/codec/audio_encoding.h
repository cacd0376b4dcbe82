// Samples -> file bytes as CoreNet's `torchaudio_save` transform writes them
// (corenet/data/transforms/audio_bytes.py): mono mixdown, then WAV of a dtype, or MP3.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "byteformer/codec/audio.h"
#include "byteformer/codec/wav_encoder.h"

namespace byteformer {

struct AudioEncoding {
  enum class Kind { kWav, kMp3 };
  Kind kind = Kind::kWav;
  WavSampleType wav_type = WavSampleType::kFloat32;  // CoreNet's default encoding_dtype

  /// "wav" (float32), "wav:float32", "wav:int32", "wav:int16", "wav:uint8", "mp3".
  /// Throws std::invalid_argument naming the bad string.
  static AudioEncoding parse(const std::string& text);
  std::string to_string() const;
};

/// CoreNet's TorchaudioSave: mean of the channels (mono), then the encoding's file bytes.
///
///   Audio a = decode_audio(bytes, "speech.wav", 16000);
///   std::vector<uint8_t> wav = encode_audio(a, AudioEncoding::parse("wav:int16"));
std::vector<uint8_t> encode_audio(const Audio& audio, const AudioEncoding& encoding);

}  // namespace byteformer
