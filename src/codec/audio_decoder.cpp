// Sound files through libsndfile's virtual I/O (reading from memory). libsndfile 1.1+ decodes
// MP3 through mpg123, so WAV (PCM 8-32 bit, float, WAVE_FORMAT_EXTENSIBLE) and MP3 share one
// path. Resampling uses libsamplerate.
#include "byteformer/codec/audio_decoder.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include <samplerate.h>
#include <sndfile.h>

#include <fmt/format.h>

#include "byteformer/codec/codec_error.h"
#include "byteformer/codec/file_format.h"

namespace byteformer {
namespace {

struct MemoryFile {
  const uint8_t* data;
  sf_count_t size;
  sf_count_t offset;
};

sf_count_t vio_length(void* user) { return static_cast<MemoryFile*>(user)->size; }
sf_count_t vio_seek(sf_count_t off, int whence, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  sf_count_t base = whence == SEEK_CUR ? f->offset : whence == SEEK_END ? f->size : 0;
  sf_count_t to = base + off;
  if (to < 0) return -1;
  f->offset = to;
  return to;
}
sf_count_t vio_read(void* ptr, sf_count_t count, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  if (count <= 0 || f->offset >= f->size) return 0;
  const sf_count_t n = std::min(count, f->size - f->offset);
  std::memcpy(ptr, f->data + f->offset, static_cast<size_t>(n));
  f->offset += n;
  return n;
}
sf_count_t vio_write(const void*, sf_count_t, void*) { return 0; }
sf_count_t vio_tell(void* user) { return static_cast<MemoryFile*>(user)->offset; }

struct SndfileCloser {
  void operator()(SNDFILE* s) const { sf_close(s); }
};

// 2^31 samples (8 GiB of float) is beyond any clip we train on; refuse before allocating.
constexpr sf_count_t kMaxSamples = sf_count_t{1} << 31;

}  // namespace

Audio decode_audio(const uint8_t* data, size_t size, const std::string& name_for_errors,
                   std::optional<int> target_rate) {
  const std::string& name = name_for_errors;
  if (data == nullptr || size == 0) throw CodecError(fmt::format("{}: empty file", name));
  const FileFormat format = detect_format(data, size);
  if (format != FileFormat::kWav && format != FileFormat::kMp3) {
    throw CodecError(fmt::format("{}: not a WAV or MP3 file (format {}); expected \"RIFF....WAVE\", "
                                 "an ID3 tag or an MPEG frame at byte 0",
                                 name, format_name(format)));
  }
  if (target_rate && *target_rate <= 0) {
    throw CodecError(fmt::format("{}: target sample rate must be positive, got {}", name,
                                 *target_rate));
  }
  MemoryFile file{data, static_cast<sf_count_t>(size), 0};
  SF_VIRTUAL_IO vio{vio_length, vio_seek, vio_read, vio_write, vio_tell};
  SF_INFO info;
  std::memset(&info, 0, sizeof(info));
  std::unique_ptr<SNDFILE, SndfileCloser> snd(sf_open_virtual(&vio, SFM_READ, &info, &file));
  if (!snd) {
    throw CodecError(fmt::format("{}: cannot read {}: {}", name, format_name(format),
                                 sf_strerror(nullptr)));
  }
  if (info.channels < 1 || info.channels > 64 || info.samplerate <= 0) {
    throw CodecError(fmt::format("{}: {} header gives {} channels at {} Hz; expected 1-64 "
                                 "channels and a positive rate",
                                 name, format_name(format), info.channels, info.samplerate));
  }
  Audio audio;
  audio.sample_rate = info.samplerate;
  audio.channels = info.channels;
  // Read in blocks rather than trusting info.frames (unknown for some MP3s, a lie in broken
  // WAVs); libsndfile yields float in [-1, 1] for integer PCM (divided by 2^(bits-1)).
  constexpr sf_count_t kBlock = 16384;
  std::vector<float> block(static_cast<size_t>(kBlock * info.channels));
  while (true) {
    const sf_count_t n = sf_readf_float(snd.get(), block.data(), kBlock);
    if (n <= 0) break;
    audio.samples.insert(audio.samples.end(), block.begin(), block.begin() + n * info.channels);
    if (static_cast<sf_count_t>(audio.samples.size()) > kMaxSamples) {
      throw CodecError(fmt::format("{}: more than {} samples; refusing", name, kMaxSamples));
    }
  }
  if (sf_error(snd.get()) != SF_ERR_NO_ERROR) {
    throw CodecError(fmt::format("{}: corrupt {} after {} frames: {}", name, format_name(format),
                                 audio.frames(), sf_strerror(snd.get())));
  }
  if (audio.samples.empty()) {
    throw CodecError(fmt::format("{}: {} holds no samples (truncated?)", name, format_name(format)));
  }
  for (float& s : audio.samples) {  // float WAVs may hold anything; keep the [-1, 1] promise
    if (!(s >= -1.0f)) s = s != s ? 0.0f : -1.0f;
    if (s > 1.0f) s = 1.0f;
  }
  if (target_rate && *target_rate != audio.sample_rate) return resample(audio, *target_rate);
  return audio;
}

std::string wav_truncation(const uint8_t* data, size_t size) {
  auto u32 = [&](size_t pos) {
    return static_cast<uint64_t>(data[pos]) | static_cast<uint64_t>(data[pos + 1]) << 8 |
           static_cast<uint64_t>(data[pos + 2]) << 16 | static_cast<uint64_t>(data[pos + 3]) << 24;
  };
  if (data == nullptr || size < 12 || std::memcmp(data, "RIFF", 4) != 0 || std::memcmp(data + 8, "WAVE", 4) != 0)
    return "";
  size_t pos = 12;
  while (pos + 8 <= size) {
    const uint64_t chunk = u32(pos + 4);
    const uint64_t held = size - pos - 8;
    if (std::memcmp(data + pos, "data", 4) == 0) {
      if (chunk == 0xFFFFFFFFu || chunk <= held) return "";
      return fmt::format("WAV data chunk declares {} bytes, the file holds {} of them (truncated?)", chunk, held);
    }
    if (chunk > held) break;
    pos += 8 + chunk + (chunk & 1);  // chunks are padded to even sizes
  }
  return fmt::format("WAV file of {} bytes ends before its data chunk (truncated?)", size);
}

Audio to_mono(const Audio& audio) {
  if (audio.channels == 1) return audio;
  if (audio.channels < 1) throw CodecError(fmt::format("to_mono: {} channels", audio.channels));
  Audio out;
  out.sample_rate = audio.sample_rate;
  out.channels = 1;
  const size_t frames = audio.frames();
  out.samples.resize(frames);
  for (size_t i = 0; i < frames; ++i) {
    float sum = 0.0f;
    for (int c = 0; c < audio.channels; ++c) sum += audio.samples[i * audio.channels + c];
    out.samples[i] = sum / static_cast<float>(audio.channels);
  }
  return out;
}

Audio resample(const Audio& audio, int target_rate) {
  if (target_rate <= 0) throw CodecError(fmt::format("resample: bad target rate {}", target_rate));
  if (target_rate == audio.sample_rate || audio.samples.empty()) {
    Audio out = audio;
    out.sample_rate = target_rate;
    return out;
  }
  const double ratio = static_cast<double>(target_rate) / audio.sample_rate;
  if (!src_is_valid_ratio(ratio)) {
    throw CodecError(fmt::format("resample: {} Hz -> {} Hz is beyond libsamplerate's ratio range",
                                 audio.sample_rate, target_rate));
  }
  const size_t in_frames = audio.frames();
  const size_t out_frames = static_cast<size_t>(static_cast<double>(in_frames) * ratio + 0.5);
  Audio out;
  out.sample_rate = target_rate;
  out.channels = audio.channels;
  out.samples.resize((out_frames + 1) * audio.channels);
  SRC_DATA d;
  std::memset(&d, 0, sizeof(d));
  d.data_in = audio.samples.data();
  d.input_frames = static_cast<long>(in_frames);
  d.data_out = out.samples.data();
  d.output_frames = static_cast<long>(out_frames + 1);
  d.src_ratio = ratio;
  const int err = src_simple(&d, SRC_SINC_BEST_QUALITY, audio.channels);
  if (err != 0) throw CodecError(fmt::format("resample: libsamplerate: {}", src_strerror(err)));
  out.samples.resize(static_cast<size_t>(d.output_frames_gen) * audio.channels);
  for (float& s : out.samples) s = std::clamp(s, -1.0f, 1.0f);
  return out;
}

}  // namespace byteformer
