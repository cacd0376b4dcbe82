// Decoded sound: the type every audio codec and augmentation exchanges.
#pragma once
#include <cstddef>
#include <vector>

namespace byteformer {

/// Mono or interleaved multi-channel float samples in [-1, 1].
struct Audio {
  int sample_rate = 16000;
  int channels = 1;
  std::vector<float> samples;  // (frames, channels)

  size_t frames() const { return channels > 0 ? samples.size() / channels : 0; }
};

}  // namespace byteformer
