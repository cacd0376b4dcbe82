// WAV bytes as torchaudio 0.13's sox backend writes them (sox 14.4.2 wav.c), hand-written so
// the header and sox's sample conversions are byte-exact; checked against fixtures/encoders/audio*.wav. The sample casts are
// CoreNet's (corenet/data/transforms/audio_bytes.py, _stream_to_wav), done in float32 as
// PyTorch does, then truncated toward zero.
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "byte_writer.h"
#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/wav_encoder.h"

namespace byteformer {
namespace {

constexpr uint16_t kFormatPcm = 1;
constexpr uint16_t kFormatFloat = 3;
constexpr uint16_t kFormatExtensible = 0xFFFE;

// float -> int32 as x86 (and so PyTorch's CPU cast) does it: out-of-range and NaN give INT32_MIN.
// This matters for x == 1.0: float32(2^31 - 1) is 2^31, one past INT32_MAX.
int32_t to_int32(float v) {
  if (!(v > -2147483904.0f && v < 2147483648.0f)) return INT32_MIN;
  return static_cast<int32_t>(v);
}
int16_t to_int16(float v) {
  // The product is within [-32767, 32767] for x in [-1, 1]; wrap like a C cast through int32
  // otherwise (torch's float -> int16 goes through int32).
  return static_cast<int16_t>(to_int32(v));
}
uint8_t to_uint8(float v) { return static_cast<uint8_t>(to_int32(v)); }

// A float32 sample as it comes out of torchaudio + sox: torchaudio hands sox 32-bit integers
// (double(x) * 2^31, clamped, truncated), and sox's SOX_SAMPLE_TO_FLOAT_32BIT rounds those to
// a multiple of 128 (float32's 24-bit mantissa) before scaling back, clipping the top 64 to 1.
float sox_float32(float x) {
  double d = static_cast<double>(x) * 2147483648.0;
  if (d != d) d = 0.0;
  d = d < -2147483648.0 ? -2147483648.0 : (d > 2147483647.0 ? 2147483647.0 : d);
  const int32_t s = static_cast<int32_t>(d);
  if (s > INT32_MAX - 64) return 1.0f;
  const int32_t rounded = static_cast<int32_t>((static_cast<uint32_t>(s) + 64u) & ~127u);
  return static_cast<float>(rounded * (1.0 / 2147483648.0));
}

void put_fmt_guid(std::vector<uint8_t>& out, uint16_t sub_format) {
  // KSDATAFORMAT_SUBTYPE_{PCM,IEEE_FLOAT}: xxxx0000-0000-0010-8000-00aa00389b71
  detail::put_u16le(out, sub_format);
  const uint8_t rest[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                            0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
  out.insert(out.end(), rest, rest + 14);
}

}  // namespace

std::vector<uint8_t> encode_wav(const Audio& audio, WavSampleType type) {
  if (audio.channels < 1 || audio.channels > 64) {
    throw CodecError(fmt::format("encode_wav: expected 1-64 channels, got {}", audio.channels));
  }
  if (audio.sample_rate <= 0) {
    throw CodecError(fmt::format("encode_wav: expected a positive sample rate, got {}",
                                 audio.sample_rate));
  }
  if (audio.samples.size() % audio.channels != 0) {
    throw CodecError(fmt::format("encode_wav: {} samples do not divide into {} channels",
                                 audio.samples.size(), audio.channels));
  }
  const uint16_t channels = static_cast<uint16_t>(audio.channels);
  const uint32_t frames = static_cast<uint32_t>(audio.frames());
  const bool is_float = type == WavSampleType::kFloat32;
  const uint16_t bits = type == WavSampleType::kUInt8 ? 8 : type == WavSampleType::kInt16 ? 16 : 32;
  const uint16_t block_align = static_cast<uint16_t>(channels * bits / 8);
  const uint64_t data_bytes64 = uint64_t{frames} * block_align;
  if (data_bytes64 > 0xFFFFFFF0u - 100) throw CodecError("encode_wav: sound too long for WAV");
  const uint32_t data_bytes = static_cast<uint32_t>(data_bytes64);

  // sox: WAVE_FORMAT_EXTENSIBLE for more than 2 channels or PCM wider than 16 bits; a fact
  // chunk whenever the format is not plain PCM.
  const bool extensible = channels > 2 || (!is_float && bits > 16);
  const bool has_fact = is_float || extensible;
  const uint32_t fmt_size = extensible ? 40 : is_float ? 18 : 16;
  const uint32_t pad = data_bytes & 1u;
  const uint32_t riff_size =
      4 + (8 + fmt_size) + (has_fact ? 12 : 0) + 8 + data_bytes + pad;

  std::vector<uint8_t> out;
  out.reserve(riff_size + 8);
  detail::put_tag(out, "RIFF");
  detail::put_u32le(out, riff_size);
  detail::put_tag(out, "WAVE");
  detail::put_tag(out, "fmt ");
  detail::put_u32le(out, fmt_size);
  detail::put_u16le(out, extensible ? kFormatExtensible : is_float ? kFormatFloat : kFormatPcm);
  detail::put_u16le(out, channels);
  detail::put_u32le(out, static_cast<uint32_t>(audio.sample_rate));
  detail::put_u32le(out, static_cast<uint32_t>(audio.sample_rate) * block_align);
  detail::put_u16le(out, block_align);
  detail::put_u16le(out, bits);
  if (extensible) {
    detail::put_u16le(out, 22);    // cbSize
    detail::put_u16le(out, bits);  // valid bits per sample
    // Speaker mask: front centre for mono, front left|right for stereo, else the first N.
    const uint32_t mask = channels == 1 ? 0x4 : channels == 2 ? 0x3 : (1u << channels) - 1;
    detail::put_u32le(out, mask);
    put_fmt_guid(out, is_float ? kFormatFloat : kFormatPcm);
  } else if (is_float) {
    detail::put_u16le(out, 0);  // cbSize
  }
  if (has_fact) {
    detail::put_tag(out, "fact");
    detail::put_u32le(out, 4);
    detail::put_u32le(out, frames);
  }
  detail::put_tag(out, "data");
  detail::put_u32le(out, data_bytes);

  const size_t start = out.size();
  out.resize(start + data_bytes + pad, 0);
  uint8_t* p = out.data() + start;
  for (float x : audio.samples) {
    switch (type) {
      case WavSampleType::kFloat32: {
        const float f = sox_float32(x);
        std::memcpy(p, &f, 4);  // little-endian host (x86-64, aarch64)
        p += 4;
        break;
      }
      case WavSampleType::kInt32: {
        const uint32_t v = static_cast<uint32_t>(to_int32(x * 2147483647.0f));
        for (int i = 0; i < 4; ++i) *p++ = static_cast<uint8_t>(v >> (8 * i));
        break;
      }
      case WavSampleType::kInt16: {
        const uint16_t v = static_cast<uint16_t>(to_int16(x * 32767.0f));
        *p++ = static_cast<uint8_t>(v);
        *p++ = static_cast<uint8_t>(v >> 8);
        break;
      }
      case WavSampleType::kUInt8:
        *p++ = to_uint8((x + 1.0f) * 255.0f / 2.0f);
        break;
    }
  }
  return out;
}

}  // namespace byteformer
