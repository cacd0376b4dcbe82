#include "byteformer/data/byte_pipeline.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/codec/image_decoder.h"
#include "byteformer/io/config.h"
#include "byteformer/transforms/rng.h"

namespace byteformer {

BytePipelineOptions BytePipelineOptions::from_config(const Config& c, Modality modality, bool training) {
  BytePipelineOptions o;
  o.modality = modality;
  o.training = training;
  o.image = ImageAugmentOptions::from_config(c);
  o.audio = AudioAugmentOptions::from_config(c);
  o.privacy = PrivacyOptions::from_config(c);
  o.window = ByteWindow::from_config(c);
  const std::string I = "image_augmentation.", A = "audio_augmentation.";
  try {
    o.pil_save = c.get_bool(I + "pil_save.enable", modality == Modality::kImage);
    const std::string enc_key = I + "pil_save.file_encoding";
    const int64_t quality = c.get_int(I + "pil_save.quality", 100);
    if (quality < 1 || quality > 100)
      throw std::invalid_argument(fmt::format("config: {}: expected 1..100", c.describe(I + "pil_save.quality")));
    try {
      o.image_encoding = ImageEncoding::parse(c.get_string(enc_key, "TIFF"), static_cast<int>(quality));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("config: {}: {}", c.describe(enc_key), e.what()));
    }
    o.audio_save = c.get_bool(A + "torchaudio_save.enable", modality == Modality::kAudio);
    const std::string format = c.get_string(A + "torchaudio_save.format", "wav");
    const std::string dtype = c.get_string(A + "torchaudio_save.encoding_dtype", "float32");
    try {
      o.audio_encoding = AudioEncoding::parse(format == "mp3" ? "mp3" : "wav:" + dtype);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(fmt::format("config: {}: {}", c.describe(A + "torchaudio_save.encoding_dtype"), e.what()));
    }
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::invalid_argument(e.what());
  }
  return o;
}

Config pipeline_config(const Config& config) {
  static const char* const kPrefixes[] = {"image_augmentation.", "audio_augmentation.", "byte_window.",
                                              "sampler.bs.crop_size_"};
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
  if (modality == Modality::kBytes) {
    steps.push_back(window.describe());
  } else if (modality == Modality::kImage) {
    if (!pil_save) {
      steps.push_back("file bytes as they are (pil_save off)");
    } else {
      const auto& m = image;
      if (training) {
        if (m.random_resized_crop) steps.push_back(fmt::format("random-resized-crop {}x{}", m.crop_size[0], m.crop_size[1]));
        if (m.random_horizontal_flip) steps.push_back(fmt::format("flip p={}", m.flip_p));
        if (m.rand_augment) steps.push_back("randaugment");
        if (m.random_erase) steps.push_back(fmt::format("erase p={}", m.random_erase_options.p));
      } else {
        if (m.resize) steps.push_back(fmt::format("resize {}", fmt::join(m.resize_size, "x")));
        if (m.center_crop) steps.push_back(fmt::format("center-crop {}x{}", m.center_crop_size[0], m.center_crop_size[1]));
      }
      steps.push_back("pil_save " + image_encoding.to_string());
    }
  } else if (!audio_save) {
    steps.push_back("file bytes as they are (torchaudio_save off)");
  } else {
    const auto& m = audio;
    if (m.set_fixed_length) steps.push_back(fmt::format("{} frames", m.length));
    if (training && m.noise) steps.push_back(fmt::format("noise {} dB", fmt::join(m.noise_levels, "/")));
    if (training && m.roll) steps.push_back(fmt::format("roll {}", m.roll_window));
    if (training && m.mixup) steps.push_back("mixup");
    steps.push_back("torchaudio_save " + audio_encoding.to_string());
  }
  if (privacy.shuffle_bytes) steps.push_back("shuffle_bytes " + to_string(privacy.shuffle_mode));
  if (privacy.mask_positions) steps.push_back(fmt::format("mask_positions {}", privacy.keep_frac));
  if (privacy.random_uniform) steps.push_back(fmt::format("random_uniform [{}, {}]", privacy.width_lo, privacy.width_hi));
  if (privacy.byte_permutation) steps.push_back("byte_permutation");
  return fmt::format("{} {}: {}", training ? "train" : "eval", to_string(modality), fmt::join(steps, ", "));
}

BytePipeline::BytePipeline(BytePipelineOptions options, std::shared_ptr<const DatasetIndex> index)
    : options_(std::move(options)), index_(std::move(index)), privacy_(options_.privacy) {
  if (!index_) throw std::invalid_argument("BytePipeline: null dataset index");
  if (options_.training && options_.modality == Modality::kAudio && options_.audio.noise) load_noise_clips();
}

void BytePipeline::load_noise_clips() {
  for (const auto& f : index_->noise_files) {
    try {
      noise_clips_.push_back(to_mono(decode_audio(read_file(f), f, 16000)));
    } catch (const std::exception& e) {
      warnings_.push_back(fmt::format("background noise {} skipped: {}", f, e.what()));
    }
  }
  if (noise_clips_.empty())
    throw std::runtime_error(fmt::format(
        "audio_augmentation.noise: no readable _background_noise_/*.wav under the dataset root ({}){}{}",
        index_->description, warnings_.empty() ? "" : "; ", fmt::join(warnings_, "; ")));
}

Image BytePipeline::augment_image(const Image& img, torch::Generator& gen) const {
  return options_.training ? train_augment(img, options_.image, gen) : eval_augment(img, options_.image);
}

Audio BytePipeline::clip_audio(Audio a, int64_t offset, const std::string& name, torch::Generator& gen) const {
  if (offset >= 0) {  // a `silence` slice of a background-noise file
    const size_t begin = static_cast<size_t>(offset);
    const size_t end = std::min(a.samples.size(), begin + static_cast<size_t>(options_.audio.length));
    if (begin >= a.samples.size())
      throw std::runtime_error(fmt::format("{}: silence slice at frame {} is past the end", name, offset));
    a.samples = std::vector<float>(a.samples.begin() + begin, a.samples.begin() + end);
  }
  if (!options_.training) return eval_augment(a, options_.audio);
  static const std::vector<Audio> kNone;
  return train_augment(a, options_.audio, options_.audio.noise ? noise_clips_ : kNone, gen);
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
  if (options_.modality == Modality::kBytes) return false;
  return options_.modality == Modality::kImage ? options_.pil_save : options_.audio_save;
}

ByteSeq BytePipeline::finish(const std::vector<uint8_t>& encoded, const std::string& name, torch::Generator& gen) const {
  ByteSeq out = privacy_.options().any_enabled() ? privacy_(to_byte_seq(encoded), gen) : to_byte_seq(encoded);
  if (out.empty()) throw std::runtime_error(fmt::format("{}: no bytes left after the pipeline", name));
  return out;
}

ByteSeq BytePipeline::prepare(const std::vector<uint8_t>& file_bytes, const std::string& name,
                              torch::Generator& gen) const {
  if (options_.modality == Modality::kBytes)
    return finish(apply_byte_window(file_bytes.data(), file_bytes.size(), options_.window), name, gen);
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
  if (options_.modality == Modality::kBytes) {
    out.bytes = finish(read_byte_window(s.path, options_.window), s.path, gen);
  } else if (!decodes()) {
    out.bytes = finish(read_file(s.path), s.path, gen);
  } else if (options_.modality == Modality::kImage) {
    out.bytes = finish(encode_image(image_pixels(i, gen), options_.image_encoding), s.path, gen);
  } else {
    Audio a = audio_samples(i, gen);
    if (options_.training && options_.audio.mixup && index_->size() > 1) {
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
