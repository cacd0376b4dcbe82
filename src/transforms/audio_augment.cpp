#include "byteformer/transforms/audio_augment.h"

#include <cmath>
#include <stdexcept>

#include "byteformer/transforms/rng.h"
#include "transforms/option_values.h"

namespace byteformer {
namespace {

constexpr const char* kPrefix = "audio_augmentation.";

void check_audio(const Audio& audio, const char* where) {
  if (audio.channels <= 0 || audio.samples.size() % static_cast<size_t>(audio.channels) != 0) {
    throw std::invalid_argument(std::string(where) + ": expected channels > 0 and a whole number "
                                "of frames, got channels=" + std::to_string(audio.channels) +
                                " samples=" + std::to_string(audio.samples.size()));
  }
}

}  // namespace

AudioAugmentOptions AudioAugmentOptions::from_config(const Config& c) {
  return detail::read_options<AudioAugmentOptions>(c, [&](AudioAugmentOptions& o) {
    const std::string A = kPrefix;
    // set_fixed_length.enable is read by CoreNet's SetFixedLength but never consulted: the
    // clip is always cut or padded, so it is not read here either (docs/CONFIG.md: no effect).
    o.length = c.get_int(A + "set_fixed_length.length", o.length);
    o.noise = c.get_bool(A + "noise.enable", o.noise);
    o.noise_levels = c.get_double_list(A + "noise.levels", o.noise_levels);
    o.roll = c.get_bool(A + "roll.enable", o.roll);
    o.roll_window = c.get_double(A + "roll.window", o.roll_window);
    o.mixup = c.get_bool("dataset.speech_commands_v2.mixup", o.mixup);
  });
}

void AudioAugmentOptions::validate() const {
  if (length <= 0 || length > kMaxLength) {
    detail::throw_bad_value("audio_augmentation.set_fixed_length.length", std::to_string(length),
                            "a positive number of samples");
  }
  if (noise && noise_levels.empty()) {
    detail::throw_bad_value("audio_augmentation.noise.levels", "[]", "at least one level in dB");
  }
  if (!(roll_window >= 0.0 && roll_window <= 1.0)) {
    detail::throw_bad_value("audio_augmentation.roll.window", std::to_string(roll_window),
                            "a fraction in [0, 1]");
  }
}

Audio set_fixed_length(const Audio& audio, int64_t length) {
  check_audio(audio, "set_fixed_length");
  if (length < 0) {
    throw std::invalid_argument("set_fixed_length: expected length >= 0, got " +
                                std::to_string(length));
  }
  Audio out = audio;
  out.samples.resize(static_cast<size_t>(length) * audio.channels, 0.0f);
  return out;
}

Audio add_background_noise(const Audio& audio, const std::vector<Audio>& noise_clips,
                           const std::vector<double>& levels_db, torch::Generator& gen) {
  check_audio(audio, "add_background_noise");
  if (noise_clips.empty()) {
    throw std::invalid_argument("add_background_noise: no background clips given "
                                "(audio_augmentation.noise needs _background_noise_/*.wav)");
  }
  if (levels_db.empty()) {
    detail::throw_bad_value("audio_augmentation.noise.levels", "[]", "at least one level in dB");
  }
  const double level = levels_db[rand_int(gen, 0, static_cast<int64_t>(levels_db.size()))];
  const Audio& noise = noise_clips[rand_int(gen, 0, static_cast<int64_t>(noise_clips.size()))];
  check_audio(noise, "add_background_noise (noise clip)");
  if (noise.sample_rate != audio.sample_rate) {
    throw std::invalid_argument("add_background_noise: noise sample rate " +
                                std::to_string(noise.sample_rate) + " differs from audio " +
                                std::to_string(audio.sample_rate));
  }
  if (noise.channels != 1 && noise.channels != audio.channels) {
    throw std::invalid_argument("add_background_noise: noise has " +
                                std::to_string(noise.channels) + " channels, audio " +
                                std::to_string(audio.channels));
  }
  const int64_t n = static_cast<int64_t>(audio.frames());
  const int64_t nf = static_cast<int64_t>(noise.frames());
  if (nf == 0) throw std::invalid_argument("add_background_noise: empty noise clip");
  int64_t start = 0;
  if (nf >= n) start = rand_int(gen, 0, nf - n + 1);  // random.randint(0, nf - n), inclusive
  const float gain = static_cast<float>(std::pow(10.0, level / 20.0));
  Audio out = audio;
  const int ch = audio.channels;
  for (int64_t t = 0; t < n; ++t) {
    const int64_t src = nf >= n ? start + t : t % nf;
    for (int c = 0; c < ch; ++c) {
      const float v = noise.samples[static_cast<size_t>(src * noise.channels +
                                                        (noise.channels == 1 ? 0 : c))];
      out.samples[static_cast<size_t>(t * ch + c)] += gain * v;
    }
  }
  return out;
}

Audio random_roll(const Audio& audio, double window, torch::Generator& gen) {
  check_audio(audio, "random_roll");
  if (!(window >= 0.0)) {
    detail::throw_bad_value("audio_augmentation.roll.window", std::to_string(window),
                            "a non-negative fraction");
  }
  const int64_t n = static_cast<int64_t>(audio.frames());
  const int64_t w = static_cast<int64_t>(static_cast<double>(n) * window);
  if (w <= 0 || n == 0) return audio;
  const int64_t shift = rand_int(gen, -w, w);
  const int64_t s = ((shift % n) + n) % n;
  Audio out = audio;
  const int ch = audio.channels;
  for (int64_t t = 0; t < n; ++t) {
    for (int c = 0; c < ch; ++c) {
      out.samples[static_cast<size_t>(((t + s) % n) * ch + c)] =
          audio.samples[static_cast<size_t>(t * ch + c)];
    }
  }
  return out;
}

MixedSample mixup(const Audio& a, int64_t label_a, const Audio& b, int64_t label_b,
                  int64_t num_classes, torch::Generator& gen) {
  check_audio(a, "mixup");
  check_audio(b, "mixup");
  if (a.sample_rate != b.sample_rate || a.channels != b.channels ||
      a.samples.size() != b.samples.size()) {
    throw std::invalid_argument("mixup: clips differ in sample rate, channels or length (" +
                                std::to_string(a.sample_rate) + " vs " +
                                std::to_string(b.sample_rate) + " Hz, " +
                                std::to_string(a.samples.size()) + " vs " +
                                std::to_string(b.samples.size()) + " samples)");
  }
  if (label_a < 0 || label_a >= num_classes || label_b < 0 || label_b >= num_classes) {
    throw std::invalid_argument("mixup: labels must be in [0, " + std::to_string(num_classes) +
                                "), got " + std::to_string(label_a) + " and " +
                                std::to_string(label_b));
  }
  MixedSample m;
  m.lambda = static_cast<float>(rand_uniform(gen));
  const float lam = m.lambda, rest = 1.0f - lam;
  m.audio = a;
  for (size_t i = 0; i < a.samples.size(); ++i) m.audio.samples[i] = a.samples[i] * lam + b.samples[i] * rest;
  m.target.assign(static_cast<size_t>(num_classes), 0.0f);
  m.target[label_a] += lam;
  m.target[label_b] += rest;
  return m;
}

std::pair<torch::Tensor, torch::Tensor> mixup_batch(const torch::Tensor& waveforms,
                                                    const torch::Tensor& labels,
                                                    int64_t num_classes, torch::Generator& gen) {
  TORCH_CHECK(waveforms.dim() == 2, "mixup_batch: expected waveforms [B, N], got ",
              waveforms.sizes());
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == waveforms.size(0),
              "mixup_batch: expected labels [B] with B = ", waveforms.size(0), ", got ",
              labels.sizes());
  TORCH_CHECK(num_classes > 0, "mixup_batch: expected num_classes > 0, got ", num_classes);
  const int64_t batch = waveforms.size(0);
  const torch::Tensor onehot =
      torch::one_hot(labels.to(torch::kInt64), num_classes).to(torch::kFloat32);  // [B, K]
  if (batch == 0) return {waveforms.clone(), onehot};
  const torch::Tensor partner = torch::randint(0, batch, {batch}, gen, torch::kInt64);  // [B]
  const torch::Tensor lam = torch::rand({batch, 1}, gen, torch::kFloat32);             // [B, 1]
  const torch::Tensor x = waveforms.to(torch::kFloat32);
  const torch::Tensor mixed = x * lam + x.index_select(0, partner) * (1.0 - lam);       // [B, N]
  const torch::Tensor targets = onehot * lam + onehot.index_select(0, partner) * (1.0 - lam);
  return {mixed, targets};
}

Audio train_augment(const Audio& audio, const AudioAugmentOptions& o,
                    const std::vector<Audio>& noise_clips, torch::Generator& gen) {
  o.validate();
  Audio x = o.set_fixed_length ? set_fixed_length(audio, o.length) : audio;
  if (o.noise) x = add_background_noise(x, noise_clips, o.noise_levels, gen);
  if (o.roll) x = random_roll(x, o.roll_window, gen);
  return x;
}

Audio eval_augment(const Audio& audio, const AudioAugmentOptions& o) {
  o.validate();
  return o.set_fixed_length ? set_fixed_length(audio, o.length) : audio;
}

}  // namespace byteformer
