// Per-sample byte pipeline (docs/MODEL.md, the byte pipeline; CoreNet's dataset transforms followed by
// corenet/data/collate_fns/byteformer_collate_functions.py):
//   image: decode -> train_augment (random resized crop, flip, RandAugment, random erase)
//                 or eval_augment (resize shorter side, centre crop)   (image_augment.h)
//          -> pil_save (encode as file bytes) -> privacy byte transforms
//   bytes: any file, never decoded: the byte window (byte_window.h) -> privacy byte transforms
//   audio: decode (16 kHz, mono) -> [silence slice] -> train_augment (fixed length, noise,
//          roll) then mixup, or eval_augment (fixed length)             (audio_augment.h)
//          -> torchaudio_save -> privacy byte transforms
// Every random draw comes from the generator passed in, so a sample's bytes depend only on it.
//
//   BytePipeline pipeline(BytePipelineOptions::from_config(cfg, index.modality, true), index);
//   torch::Generator gen = make_generator(sample_seed);
//   ProcessedSample s = pipeline(/*index=*/3, gen);   // s.bytes: values 0..255
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "byteformer/codec/audio_encoding.h"
#include "byteformer/codec/audio.h"
#include "byteformer/codec/image.h"
#include "byteformer/codec/image_encoding.h"
#include "byteformer/data/byte_window.h"
#include "byteformer/data/dataset.h"
#include "byteformer/io/config.h"
#include "byteformer/io/file.h"
#include "byteformer/transforms/audio_augment.h"
#include "byteformer/transforms/image_augment.h"
#include "byteformer/transforms/privacy.h"

namespace byteformer {

/// Options named by CoreNet's `image_augmentation.*` / `audio_augmentation.*` keys: the
/// transforms' own option structs (one parser each, from_config) plus the encoding step.
struct BytePipelineOptions {
  Modality modality = Modality::kImage;
  bool training = false;

  /// Decoded images: train_augment (training) or eval_augment (evaluation) with these.
  ImageAugmentOptions image;
  /// pil_save.enable; when off the file's own bytes go to the model unchanged.
  bool pil_save = true;
  ImageEncoding image_encoding;  // pil_save.file_encoding, pil_save.quality

  /// Decoded sound (16 kHz mono): train_augment / eval_augment, mixup in training.
  AudioAugmentOptions audio;
  /// torchaudio_save.enable; when off the file's own bytes go to the model unchanged.
  bool audio_save = true;
  AudioEncoding audio_encoding;  // torchaudio_save.format, torchaudio_save.encoding_dtype

  /// Any file (Modality::kBytes): the bytes of it the model reads (byte_window.*).
  ByteWindow window;

  /// The byte transforms after encoding (image_augmentation.shuffle_bytes etc., both modalities).
  PrivacyOptions privacy;

  /// Throws std::invalid_argument naming the key, value and file of a bad option.
  static BytePipelineOptions from_config(const Config& config, Modality modality, bool training);
  /// One line for logs, e.g. "train image: random-resized-crop 224x224, flip, pil_save tiff".
  std::string describe() const;
};

/// One sample ready for collation.
struct ProcessedSample {
  ByteSeq bytes;
  int64_t label = 0;
  /// Class probabilities when mixup mixed two samples; empty otherwise.
  std::vector<float> soft_target;
};

/// The keys of `config` that BytePipelineOptions::from_config and config_modality read
/// (image_augmentation.*, audio_augmentation.*, byte_window.*, sampler.bs.crop_size_*, dataset.name,
/// dataset.category, the mixup switch): what a client needs to rebuild the evaluation pipeline,
/// and nothing else of the config (no data paths, no model).
Config pipeline_config(const Config& config);

class BytePipeline {
 public:
  /// A training pipeline with audio_augmentation.noise decodes the index's background-noise
  /// files here: an unreadable one is skipped (see warnings()), none readable is an error.
  BytePipeline(BytePipelineOptions options, std::shared_ptr<const DatasetIndex> index);

  /// What the caller should tell the user (background-noise files skipped); the library prints
  /// nothing itself.
  const std::vector<std::string>& warnings() const { return warnings_; }

  /// Processes sample `index`. Throws (std::exception, message naming the file) when the file
  /// cannot be read or decoded; the loader reports, skips and counts those.
  ProcessedSample operator()(int64_t index, torch::Generator& gen) const;

  const BytePipelineOptions& options() const { return options_; }
  const DatasetIndex& index() const { return *index_; }
  int64_t num_classes() const { return static_cast<int64_t>(index_->classes.size()); }

  /// Sample `index` decoded and augmented, before encoding: the pixels / samples operator()
  /// encodes (the same code path; tests look at them).
  Image image_pixels(int64_t index, torch::Generator& gen) const;
  Audio audio_samples(int64_t index, torch::Generator& gen) const;

  /// The same pipeline on one file's bytes, from outside any dataset (`predict`, the
  /// classifier): decode, the augmentations of this pipeline's mode, encode, the privacy
  /// transforms; with a generator seeded as the loader seeds sample i (sample_seed), these are
  /// the bytes the loader feeds the model for that file at position i. When the pipeline has
  /// no decoding step (pil_save / torchaudio_save off) only the privacy transforms run.
  /// Throws (message naming `name`) when the bytes cannot be decoded.
  ByteSeq prepare(const std::vector<uint8_t>& file_bytes, const std::string& name, torch::Generator& gen) const;
  /// True when files are decoded and re-encoded (pil_save / torchaudio_save on).
  bool decodes() const;

 private:
  void load_noise_clips();
  Image augment_image(const Image& img, torch::Generator& gen) const;
  Audio clip_audio(Audio a, int64_t offset, const std::string& name, torch::Generator& gen) const;
  ByteSeq finish(const std::vector<uint8_t>& encoded, const std::string& name, torch::Generator& gen) const;

  BytePipelineOptions options_;
  std::shared_ptr<const DatasetIndex> index_;
  PrivacyTransform privacy_;
  std::vector<Audio> noise_clips_;
  std::vector<std::string> warnings_;
};

}  // namespace byteformer
