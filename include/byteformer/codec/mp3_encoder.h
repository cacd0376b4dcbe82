// MP3 writing through libmp3lame with the settings of sox's mp3 writer (torchaudio 0.13).
#pragma once
#include <cstdint>
#include <vector>

#include "byteformer/codec/audio.h"

namespace byteformer {

/// torchaudio/sox's default MP3 settings: VBR quality 4, LAME quality 5, mono for 1 channel,
/// joint stereo for 2, a Xing/LAME header frame first (so decoders recover the exact length),
/// no ID3 tag. Not byte-exact with CoreNet; see tests/codec/mp3_encoder_test.cpp for how close
/// the sound is. 1 or 2 channels.
std::vector<uint8_t> encode_mp3(const Audio& audio);

}  // namespace byteformer
