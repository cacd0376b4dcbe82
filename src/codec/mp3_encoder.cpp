// MP3 through libmp3lame, configured as sox 14.4.2's mp3 writer is by torchaudio 0.13 when no
// compression is given (torchaudio documents the default as -4.5: VBR quality 4, LAME
// algorithm quality 5), with the Xing/LAME VBR header frame written in front, as LAME does for
// a seekable file. sox may also write an ID3v2 tag; we do not. So this is not byte-exact with
// CoreNet: same encoder family and settings, possibly different container bytes.
#include "byteformer/codec/mp3_encoder.h"

#include <algorithm>
#include <memory>

#include <lame/lame.h>

#include <fmt/format.h>

#include "byteformer/codec/codec_error.h"

namespace byteformer {
namespace {

struct LameCloser {
  void operator()(lame_global_flags* g) const { lame_close(g); }
};

void silent(const char*, va_list) {}

}  // namespace

std::vector<uint8_t> encode_mp3(const Audio& audio) {
  if (audio.channels != 1 && audio.channels != 2) {
    throw CodecError(fmt::format("encode_mp3: expected 1 or 2 channels, got {}", audio.channels));
  }
  if (audio.sample_rate <= 0) {
    throw CodecError(fmt::format("encode_mp3: bad sample rate {}", audio.sample_rate));
  }
  std::unique_ptr<lame_global_flags, LameCloser> gf(lame_init());
  if (!gf) throw CodecError("encode_mp3: lame_init failed");
  lame_set_errorf(gf.get(), silent);
  lame_set_debugf(gf.get(), silent);
  lame_set_msgf(gf.get(), silent);
  lame_set_num_channels(gf.get(), audio.channels);
  lame_set_in_samplerate(gf.get(), audio.sample_rate);
  lame_set_VBR(gf.get(), vbr_default);
  lame_set_VBR_quality(gf.get(), 4.0f);
  lame_set_quality(gf.get(), 5);
  lame_set_bWriteVbrTag(gf.get(), 1);  // LAME leaves room for the Xing frame; filled below
  lame_set_write_id3tag_automatic(gf.get(), 0);
  if (audio.channels == 1) lame_set_mode(gf.get(), MONO);
  if (lame_init_params(gf.get()) < 0) {
    throw CodecError(fmt::format("encode_mp3: LAME rejects {} Hz, {} channels", audio.sample_rate,
                                 audio.channels));
  }
  const size_t frames = audio.frames();
  std::vector<float> left(frames), right(audio.channels == 2 ? frames : 0);
  for (size_t i = 0; i < frames; ++i) {
    left[i] = audio.samples[i * audio.channels];
    if (audio.channels == 2) right[i] = audio.samples[i * 2 + 1];
  }
  std::vector<uint8_t> out;
  // LAME's documented worst case: 1.25 * samples + 7200 bytes.
  constexpr size_t kChunk = 1 << 16;
  std::vector<uint8_t> buf(kChunk + kChunk / 4 + 7200);
  for (size_t start = 0; start < frames; start += kChunk) {
    const int n = static_cast<int>(std::min(kChunk, frames - start));
    const int written = lame_encode_buffer_ieee_float(
        gf.get(), left.data() + start, audio.channels == 2 ? right.data() + start : nullptr, n,
        buf.data(), static_cast<int>(buf.size()));
    if (written < 0) throw CodecError(fmt::format("encode_mp3: LAME error {}", written));
    out.insert(out.end(), buf.data(), buf.data() + written);
  }
  const int written = lame_encode_flush(gf.get(), buf.data(), static_cast<int>(buf.size()));
  if (written < 0) throw CodecError(fmt::format("encode_mp3: LAME flush error {}", written));
  out.insert(out.end(), buf.data(), buf.data() + written);
  // The Xing/LAME frame (frame count, bytes, seek table, encoder delay and padding, which lets
  // decoders return exactly the input length) replaces the placeholder frame at the start.
  const size_t tag = lame_get_lametag_frame(gf.get(), buf.data(), buf.size());
  if (tag > 0 && tag <= out.size()) std::copy(buf.begin(), buf.begin() + tag, out.begin());
  return out;
}

}  // namespace byteformer
