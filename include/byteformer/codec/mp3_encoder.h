// MP3 writing through libmp3lame with the settings of sox's mp3 writer (torchaudio 0.13).
#pragma once
#include <cstdint>
#include <vector>

#include "byteformer/codec/image.h"

namespace byteformer {

/// LAME's default settings (as sox uses them when no compression is given: LAME's default
/// bitrate for the sample rate, quality 5, joint stereo for 2 channels), samples converted to
/// 16-bit as sox does, no ID3 tag, no Xing/LAME header. Not byte-exact with CoreNet (sox adds
/// its own tags); see tests/codec/mp3_encoder_test.cpp for how close it is. 1 or 2 channels.
std::vector<uint8_t> encode_mp3(const Audio& audio);

}  // namespace byteformer
