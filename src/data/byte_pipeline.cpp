#include "byteformer/data/byte_pipeline.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/codec/image_decoder.h"
#include "byteformer/io/config.h"
#include "byteformer/transforms/audio_augment.h"
#include "byteformer/transforms/image_ops.h"
#include "byteformer/transforms/random_resized_crop.h"
#include "byteformer/transforms/rng.h"

namespace byteformer {

namespace {

constexpr const char* kImg = "image_augmentation.";
constexpr const char* kAud = "audio_augmentation.";

std::pair<int, int> size_pair(const Config& c, const std::string& key, int fallback) {
  const auto v = c.get_int_list(key, {fallback});
  if (v.empty() || v.size() > 2 || v[0] <= 0 || v.back() <= 0)
    throw std::invalid_argument(fmt::format("config: {}: expected a positive size or [height, width]", c.describe(key)));
  return {static_cast<int>(v[0]), static_cast<int>(v.back())};
}

std::array<double, 2> range2(const Config& c, const std::string& key, std::array<double, 2> fallback) {
  const auto v = c.get_double_list(key, {fallback[0], fallback[1]});
  if (v.size() != 2 || v[0] > v[1])
    throw std::invalid_argument(fmt::format("config: {}: expected [low, high]", c.describe(key)));
  return {v[0], v[1]};
}

Interpolation interp(const Config& c, const std::string& key, Interpolation fallback) {
  if (!c.is_set(key)) return fallback;
  try {
    return parse_interpolation(c.get_string(key, ""), key);
  } catch (const std::exception& e) {
    throw std::invalid_argument(fmt::format("config: {}: {}", c.describe(key), e.what()));
  }
}

// The text PrivacyOptions::set parses: a scalar as it is, a list as "[a, b]".
std::string flow(const YAML::Node& n) {
  if (!n.IsSequence()) return n.as<std::string>();
  std::string out = "[";
  for (size_t i = 0; i < n.size(); ++i) out += (i ? ", " : "") + n[i].as<std::string>();
  return out + "]";
}

}  // namespace

BytePipelineOptions BytePipelineOptions::from_config(const Config& c, Modality modality, bool training) {
  BytePipelineOptions o;
  o.modality = modality;
  o.training = training;
  const std::string I = kImg, A = kAud;
  try {
    o.random_resized_crop = c.get_bool(I + "random_resized_crop.enable", o.random_resized_crop);
    o.crop_height = static_cast<int>(c.get_int("sampler.bs.crop_size_height", o.crop_height));
    o.crop_width = static_cast<int>(c.get_int("sampler.bs.crop_size_width", o.crop_width));
    o.crop_scale = range2(c, I + "random_resized_crop.scale", o.crop_scale);
    o.crop_ratio = range2(c, I + "random_resized_crop.aspect_ratio", o.crop_ratio);
    o.crop_interpolation = interp(c, I + "random_resized_crop.interpolation", o.crop_interpolation);
    o.horizontal_flip = c.get_bool(I + "random_horizontal_flip.enable", false);
    o.flip_p = c.get_double(I + "random_horizontal_flip.p", o.flip_p);
    o.rand_augment = c.get_bool(I + "rand_augment.enable", false);
    o.rand_augment_options.num_ops = static_cast<int>(c.get_int(I + "rand_augment.num_ops", 2));
    o.rand_augment_options.magnitude = static_cast<int>(c.get_int(I + "rand_augment.magnitude", 9));
    o.rand_augment_options.num_magnitude_bins = static_cast<int>(c.get_int(I + "rand_augment.num_magnitude_bins", 31));
    o.rand_augment_options.interpolation = interp(c, I + "rand_augment.interpolation", Interpolation::kBilinear);
    o.rand_augment_options.validate();
    o.random_erase = c.get_bool(I + "random_erase.enable", false);
    o.random_erase_options.p = c.get_double(I + "random_erase.p", 0.5);
    o.resize = c.get_bool(I + "resize.enable", o.resize);
    o.resize_size = size_pair(c, I + "resize.size", o.resize_size).first;
    o.resize_interpolation = interp(c, I + "resize.interpolation", o.resize_interpolation);
    o.center_crop = c.get_bool(I + "center_crop.enable", o.center_crop);
    std::tie(o.center_height, o.center_width) = size_pair(c, I + "center_crop.size", 224);
    o.pil_save = c.get_bool(I + "pil_save.enable", modality == Modality::kImage);
    const std::string enc_key = I + "pil_save.file_encoding";
    const int quality = static_cast<int>(c.get_int(I + "pil_save.quality", 100));
    if (quality < 1 || quality > 100)
      throw std::invalid_argument(fmt::format("config: {}: expected 1..100", c.describe(I + "pil_save.quality")));
    try {
      o.image_encoding = ImageEncoding::parse(c.get_string(enc_key, "TIFF"), quality);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("config: {}: {}", c.describe(enc_key), e.what()));
    }

    o.clip_frames = c.get_int(A + "set_fixed_length.length", o.clip_frames);
    o.noise = c.get_bool(A + "noise.enable", false);
    o.noise_levels = c.get_double_list(A + "noise.levels", o.noise_levels);
    o.roll = c.get_bool(A + "roll.enable", false);
    o.roll_window = c.get_double(A + "roll.window", o.roll_window);
    o.mixup = c.get_bool("dataset.speech_commands_v2.mixup", false);
    o.audio_save = c.get_bool(A + "torchaudio_save.enable", modality == Modality::kAudio);
    const std::string format = c.get_string(A + "torchaudio_save.format", "wav");
    const std::string dtype = c.get_string(A + "torchaudio_save.encoding_dtype", "float32");
    try {
      o.audio_encoding = AudioEncoding::parse(format == "mp3" ? "mp3" : "wav:" + dtype);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("config: {}: {}", c.describe(A + "torchaudio_save.encoding_dtype"), e.what()));
    }

    for (const char* group : {"shuffle_bytes.", "mask_positions.", "random_uniform.", "byte_permutation."}) {
      for (const auto& key : c.keys_with_prefix(I + group)) {
        if (!c.is_set(key)) continue;
        try {
          o.privacy.set(key.substr(I.size()), flow(c.node(key)));
        } catch (const std::exception& e) {
          throw std::invalid_argument(fmt::format("config: {}: {}", c.describe(key), e.what()));
        }
      }
    }
    o.privacy.validate();
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::invalid_argument(e.what());
  }
  if (o.clip_frames <= 0) throw std::invalid_argument("config: audio_augmentation.set_fixed_length.length must be > 0");
  return o;
}

Config pipeline_config(const Config& config) {
  static const char* const kPrefixes[] = {kImg, kAud, "sampler.bs.crop_size_"};
  static const char* const kKeys[] = {"dataset.name", "dataset.category", "dataset.speech_commands_v2.mixup"};
  Config out;
  for (const auto& [key, node] : config.entries()) {
    bool keep = std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
    for (const char* p : kPrefixes) keep = keep || key.rfind(p, 0) == 0;
    if (keep) out.set(key, node, config.origin(key));
  }
  return out;
}

std::string BytePipelineOptions::describe() const {
  std::vector<std::string> steps;
  if (modality == Modality::kImage) {
    if (!pil_save) {
      steps.push_back("file bytes as they are (pil_save off)");
    } else {
      if (training) {
        if (random_resized_crop) steps.push_back(fmt::format("random-resized-crop {}x{}", crop_height, crop_width));
        if (horizontal_flip) steps.push_back("flip");
        if (rand_augment) steps.push_back("randaugment");
        if (random_erase) steps.push_back(fmt::format("erase p={}", random_erase_options.p));
      } else {
        if (resize) steps.push_back(fmt::format("resize {}", resize_size));
        if (center_crop) steps.push_back(fmt::format("center-crop {}x{}", center_height, center_width));
      }
      steps.push_back("pil_save " + image_encoding.to_string());
    }
  } else if (!audio_save) {
    steps.push_back("file bytes as they are (torchaudio_save off)");
  } else {
    steps.push_back(fmt::format("{} frames", clip_frames));
    if (training && noise) steps.push_back("noise");
    if (training && roll) steps.push_back(fmt::format("roll {}", roll_window));
    if (training && mixup) steps.push_back("mixup");
    steps.push_back("torchaudio_save " + audio_encoding.to_string());
  }
  if (privacy.shuffle_bytes) steps.push_back("shuffle_bytes " + to_string(privacy.shuffle_mode));
  if (privacy.mask_positions) steps.push_back(fmt::format("mask_positions {}", privacy.keep_frac));
  if (privacy.random_uniform) steps.push_back(fmt::format("random_uniform [{}, {}]", privacy.width_lo, privacy.width_hi));
  if (privacy.byte_permutation) steps.push_back("byte_permutation");
  return fmt::format("{} {}: {}", training ? "train" : "eval", modality == Modality::kImage ? "image" : "audio",
                     fmt::join(steps, ", "));
}

BytePipeline::BytePipeline(BytePipelineOptions options, std::shared_ptr<const DatasetIndex> index)
    : options_(std::move(options)), index_(std::move(index)), privacy_(options_.privacy) {
  if (!index_) throw std::invalid_argument("BytePipeline: null dataset index");
}

const std::vector<Audio>& BytePipeline::noise_clips() const {
  std::call_once(noise_once_, [&] {
    for (const auto& f : index_->noise_files) {
      try {
        noise_clips_.push_back(to_mono(decode_audio(read_file(f), f, 16000)));
      } catch (const std::exception& e) {
        fmt::print(stderr, "warning: background noise {} skipped: {}\n", f, e.what());
      }
    }
  });
  if (noise_clips_.empty())
    throw std::runtime_error(fmt::format(
        "audio_augmentation.noise: no readable _background_noise_/*.wav under the dataset root ({})",
        index_->description));
  return noise_clips_;
}

Image BytePipeline::augment_image(Image img, torch::Generator& gen) const {
  const auto& o = options_;
  if (o.training) {
    if (o.random_resized_crop)
      img = random_resized_crop(img, o.crop_height, o.crop_width, o.crop_scale, o.crop_ratio, o.crop_interpolation, gen);
    if (o.horizontal_flip && rand_uniform(gen) < o.flip_p) img = hflip(img);
    if (o.rand_augment) img = rand_augment(img, o.rand_augment_options, gen);
    if (o.random_erase) img = random_erasing(img, o.random_erase_options, gen);
  } else {
    if (o.resize) img = resize_shorter_side(img, o.resize_size, o.resize_interpolation);
    if (o.center_crop) img = center_crop(img, o.center_height, o.center_width);
  }
  return img;
}

Audio BytePipeline::clip_audio(Audio a, int64_t offset, const std::string& name, torch::Generator& gen) const {
  if (offset >= 0) {
    const size_t begin = static_cast<size_t>(offset);
    const size_t end = std::min(a.samples.size(), begin + static_cast<size_t>(options_.clip_frames));
    if (begin >= a.samples.size())
      throw std::runtime_error(fmt::format("{}: silence slice at frame {} is past the end", name, offset));
    a.samples = std::vector<float>(a.samples.begin() + begin, a.samples.begin() + end);
  }
  a = set_fixed_length(a, options_.clip_frames);
  if (options_.training) {
    if (options_.noise) a = add_background_noise(a, noise_clips(), options_.noise_levels, gen);
    if (options_.roll) a = random_roll(a, options_.roll_window, gen);
  }
  return a;
}

Image BytePipeline::image_pixels(int64_t i, torch::Generator& gen) const {
  const SampleRef& s = index_->samples.at(static_cast<size_t>(i));
  return augment_image(to_rgb(decode_image(read_file(s.path), s.path)), gen);
}

Audio BytePipeline::audio_samples(int64_t i, torch::Generator& gen) const {
  const SampleRef& s = index_->samples.at(static_cast<size_t>(i));
  return clip_audio(to_mono(decode_audio(read_file(s.path), s.path, 16000)), s.offset, s.path, gen);
}

bool BytePipeline::decodes() const {
  return options_.modality == Modality::kImage ? options_.pil_save : options_.audio_save;
}

ByteSeq BytePipeline::finish(const std::vector<uint8_t>& encoded, const std::string& name, torch::Generator& gen) const {
  ByteSeq out = privacy_.options().any_enabled() ? privacy_(to_byte_seq(encoded), gen) : to_byte_seq(encoded);
  if (out.empty()) throw std::runtime_error(fmt::format("{}: no bytes left after the pipeline", name));
  return out;
}

ByteSeq BytePipeline::prepare(const std::vector<uint8_t>& file_bytes, const std::string& name,
                              torch::Generator& gen) const {
  if (!decodes()) return finish(file_bytes, name, gen);
  if (options_.modality == Modality::kImage)
    return finish(encode_image(augment_image(to_rgb(decode_image(file_bytes, name)), gen), options_.image_encoding),
                  name, gen);
  Audio a = clip_audio(to_mono(decode_audio(file_bytes, name, 16000)), /*offset=*/-1, name, gen);
  return finish(encode_audio(a, options_.audio_encoding), name, gen);
}

ProcessedSample BytePipeline::operator()(int64_t i, torch::Generator& gen) const {
  const SampleRef& s = index_->samples.at(static_cast<size_t>(i));
  ProcessedSample out;
  out.label = s.label;
  if (!decodes()) {
    out.bytes = finish(read_file(s.path), s.path, gen);
  } else if (options_.modality == Modality::kImage) {
    out.bytes = finish(encode_image(image_pixels(i, gen), options_.image_encoding), s.path, gen);
  } else {
    Audio a = audio_samples(i, gen);
    if (options_.training && options_.mixup && index_->size() > 1) {
      // CoreNet's SpeechCommandsv2Dataset.__getitem__: mix with a random other sample.
      const int64_t j = rand_int(gen, 0, static_cast<int64_t>(index_->size()));
      const int64_t label_j = index_->samples[static_cast<size_t>(j)].label;
      MixedSample mixed = mixup(a, s.label, audio_samples(j, gen), label_j, num_classes(), gen);
      a = std::move(mixed.audio);
      out.soft_target = std::move(mixed.target);
      out.label = mixed.lambda >= 0.5f ? s.label : label_j;
    }
    out.bytes = finish(encode_audio(a, options_.audio_encoding), s.path, gen);
  }
  return out;
}

}  // namespace byteformer
