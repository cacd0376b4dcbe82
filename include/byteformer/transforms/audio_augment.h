// Audio augmentations of CoreNet's Speech Commands pipeline (`corenet/data/transforms/audio.py`:
// SetFixedLength, Noise, Roll; mixup from
// `corenet/data/datasets/audio_classification/speech_commands_v2.py`). Training order:
// set_fixed_length -> [background noise] -> [roll] -> [mixup with another sample];
// evaluation: set_fixed_length only.
//
// Example:
//   const AudioAugmentOptions opts = AudioAugmentOptions::from_config(config);
//   torch::Generator gen = make_generator(seed);
//   Audio x = train_augment(clip, opts, background_clips, gen);
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "byteformer/codec/audio.h"
#include "byteformer/io/config.h"

namespace byteformer {

/// Options under CoreNet's `audio_augmentation.` keys (mixup: `dataset.speech_commands_v2.mixup`).
/// Defaults are CoreNet's when a key is absent (noise, roll and mixup off, noise.levels [-100]);
/// the released Speech Commands recipes turn them on with levels [-50].
struct AudioAugmentOptions {
  static constexpr int64_t kMaxLength = int64_t{1} << 28;  // frames (4.6 hours at 16 kHz)
  bool set_fixed_length = true;  // set_fixed_length.length; always on from a config, as CoreNet
  int64_t length = 16000;
  bool noise = false;  // noise.{enable,levels}: dB gains, one chosen uniformly per sample
  std::vector<double> noise_levels = {-100.0};
  bool roll = false;  // roll.{enable,window}: fraction of the length
  double roll_window = 0.1;
  bool mixup = false;  // dataset.speech_commands_v2.mixup (training only)

  /// Reads the keys above, then validates; throws std::invalid_argument naming key and file.
  static AudioAugmentOptions from_config(const Config& config);
  void validate() const;
};

/// Zero-pads or cuts every channel to `length` frames.
Audio set_fixed_length(const Audio& audio, int64_t length);

/// audio + 10^(level/20) * noise, with level drawn uniformly from `levels_db` and the clip from
/// `noise_clips`; a longer clip is cropped at a uniform start, a shorter one repeated circularly
/// (CoreNet's circular pad, without its limit of one wrap). A mono clip is added to every
/// channel. Sample rates must match.
Audio add_background_noise(const Audio& audio, const std::vector<Audio>& noise_clips,
                           const std::vector<double>& levels_db, torch::Generator& gen);

/// torch.roll by s frames, s = torch.randint(-W, W) with W = int(frames * window)
/// (upper bound exclusive, as CoreNet). W = 0: unchanged.
Audio random_roll(const Audio& audio, double window, torch::Generator& gen);

/// A mixed sample: waveform a*lam + b*(1-lam) and soft target onehot(a)*lam + onehot(b)*(1-lam).
struct MixedSample {
  Audio audio;
  std::vector<float> target;  // [num_classes]
  float lambda = 1.0f;
};
/// lam = torch.rand(1) from `gen`. Both clips must have the same rate, channels and length.
MixedSample mixup(const Audio& a, int64_t label_a, const Audio& b, int64_t label_b,
                  int64_t num_classes, torch::Generator& gen);

/// Batch form: each row i is mixed with row j = randint(0, B) under its own lam ~ U(0, 1).
/// waveforms: float [B, N]; labels: int64 [B]. Returns {waveforms [B, N], targets [B, K]}.
std::pair<torch::Tensor, torch::Tensor> mixup_batch(const torch::Tensor& waveforms,
                                                    const torch::Tensor& labels,
                                                    int64_t num_classes, torch::Generator& gen);

/// Training transforms in CoreNet's order, mixup excluded (it needs a second sample).
Audio train_augment(const Audio& audio, const AudioAugmentOptions& options,
                    const std::vector<Audio>& noise_clips, torch::Generator& gen);
/// Evaluation transforms (set_fixed_length when enabled).
Audio eval_augment(const Audio& audio, const AudioAugmentOptions& options);

}  // namespace byteformer
