#include "byteformer/codec/audio_encoding.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <fmt/format.h>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/codec/mp3_encoder.h"

namespace byteformer {

AudioEncoding AudioEncoding::parse(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  AudioEncoding e;
  if (t == "mp3") {
    e.kind = Kind::kMp3;
    return e;
  }
  e.kind = Kind::kWav;
  if (t == "wav" || t == "wav:float32") {
    e.wav_type = WavSampleType::kFloat32;
  } else if (t == "wav:int32") {
    e.wav_type = WavSampleType::kInt32;
  } else if (t == "wav:int16") {
    e.wav_type = WavSampleType::kInt16;
  } else if (t == "wav:uint8") {
    e.wav_type = WavSampleType::kUInt8;
  } else {
    throw std::invalid_argument(fmt::format(
        "unknown audio encoding '{}'; expected wav:float32, wav:int32, wav:int16, wav:uint8 or mp3",
        text));
  }
  return e;
}

std::string AudioEncoding::to_string() const {
  if (kind == Kind::kMp3) return "mp3";
  switch (wav_type) {
    case WavSampleType::kFloat32: return "wav:float32";
    case WavSampleType::kInt32: return "wav:int32";
    case WavSampleType::kInt16: return "wav:int16";
    case WavSampleType::kUInt8: return "wav:uint8";
  }
  return "?";
}

std::vector<uint8_t> encode_audio(const Audio& audio, const AudioEncoding& encoding) {
  const Audio mono = to_mono(audio);  // CoreNet: x.mean(dim=0) before saving
  if (encoding.kind == AudioEncoding::Kind::kMp3) return encode_mp3(mono);
  return encode_wav(mono, encoding.wav_type);
}

}  // namespace byteformer
