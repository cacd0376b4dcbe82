#include "byteformer/io/config_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "byteformer/io/suggest.h"

namespace byteformer {

namespace {

using K = KeyKind;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Keys are CoreNet's (corenet/options/opts.py and the argument groups of the classes the
// ByteFormer recipes use); `acts = false` marks the ones with no meaning here.
std::vector<KeySpec> build_schema() {
  return {
      // common.*
      {"common.run_label", K::kString},
      {"common.results_loc", K::kString},
      {"common.seed", K::kInt},
      {"common.log_freq", K::kInt},
      {"common.auto_resume", K::kBool},
      {"common.resume", K::kString},
      {"common.mixed_precision", K::kBool},
      {"common.mixed_precision_dtype", K::kString, true, {"float16", "bfloat16"}},
      {"common.disable_tf32", K::kBool},
      {"common.accum_freq", K::kInt},
      {"common.accum_after_epoch", K::kInt},
      {"common.grad_clip", K::kFloat},
      {"common.save_interval_freq", K::kInt},
      {"common.config_file", K::kString, false},
      {"common.override_kwargs", K::kAny, false},
      {"common.logs_loc", K::kString, false},
      {"common.tensorboard_logging", K::kBool, false},
      {"common.file_logging", K::kBool, false},
      {"common.k_best_checkpoints", K::kInt, false},
      {"common.save_all_checkpoints", K::kBool, false},
      {"common.channels_last", K::kBool, false},
      {"common.eval_stage_name", K::kString, false},
      {"common.debug_mode", K::kBool, false},
      {"common.set_grad_to_none", K::kBool, false},
      {"common.eval_every_k_iterations", K::kInt, false},
      {"common.enable_coreml_compatible_module", K::kBool, false},
      {"common.finetune", K::kString, false},
      {"common.finetune_ema", K::kString, false},
      // dataset.*
      {"dataset.root_train", K::kString},
      {"dataset.root_val", K::kString},
      {"dataset.root_test", K::kString},
      {"dataset.name", K::kString, true, {"imagenet", "speech_commands_v2", "image_folder", "folder"}},
      {"dataset.category", K::kString, true, {"classification", "audio_classification", "file_classification"}},
      {"dataset.val_fraction", K::kFloat},  // ours: hold out this fraction of root_train per class
      {"dataset.split_seed", K::kInt},      // ours: the seed of that hold-out
      {"dataset.train_batch_size0", K::kInt},
      {"dataset.val_batch_size0", K::kInt},
      {"dataset.eval_batch_size0", K::kInt},
      {"dataset.workers", K::kInt},
      {"dataset.prefetch_factor", K::kInt},
      {"dataset.speech_commands_v2.mixup", K::kBool},
      {"dataset.length_bucketing", K::kBool},  // ours: batches of similar encoded length
      {"dataset.persistent_workers", K::kBool, false},
      {"dataset.pin_memory", K::kBool, false},
      {"dataset.collate_fn_name_train", K::kString, false},
      {"dataset.collate_fn_name_val", K::kString, false},
      {"dataset.collate_fn_name_test", K::kString, false},
      {"dataset.collate_fn_name_eval", K::kString, false},
      // image_augmentation.* (docs/MODEL.md, the byte pipeline)
      {"image_augmentation.random_resized_crop.enable", K::kBool},
      {"image_augmentation.random_resized_crop.interpolation", K::kString, true,
       {"nearest", "bilinear", "bicubic", "cubic", "box", "hamming", "lanczos"}},
      {"image_augmentation.random_resized_crop.scale", K::kFloatList},
      {"image_augmentation.random_resized_crop.aspect_ratio", K::kFloatList},
      {"image_augmentation.resize.enable", K::kBool},
      {"image_augmentation.resize.size", K::kIntList},
      {"image_augmentation.resize.interpolation", K::kString, true,
       {"nearest", "bilinear", "bicubic", "cubic", "box", "hamming", "lanczos"}},
      {"image_augmentation.center_crop.enable", K::kBool},
      {"image_augmentation.center_crop.size", K::kIntList},
      {"image_augmentation.random_horizontal_flip.enable", K::kBool},
      {"image_augmentation.random_horizontal_flip.p", K::kFloat},
      {"image_augmentation.rand_augment.enable", K::kBool},
      {"image_augmentation.rand_augment.num_ops", K::kInt},
      {"image_augmentation.rand_augment.magnitude", K::kInt},
      {"image_augmentation.rand_augment.num_magnitude_bins", K::kInt},
      {"image_augmentation.rand_augment.interpolation", K::kString, true,
       {"nearest", "bilinear", "bicubic", "cubic", "box", "hamming", "lanczos"}},
      {"image_augmentation.random_erase.enable", K::kBool},
      {"image_augmentation.random_erase.p", K::kFloat},
      {"image_augmentation.mixup.enable", K::kBool},
      {"image_augmentation.cutmix.enable", K::kBool},
      {"image_augmentation.pil_save.enable", K::kBool},
      {"image_augmentation.pil_save.file_encoding", K::kString, true, {"tiff", "png", "jpeg", "fchw", "fhwc"}},
      {"image_augmentation.pil_save.quality", K::kInt},
      {"image_augmentation.shuffle_bytes.enable", K::kBool},
      {"image_augmentation.shuffle_bytes.mode", K::kString, true,
       {"reverse", "random_shuffle", "cyclic_half_length", "stride", "window_shuffle"}},
      {"image_augmentation.shuffle_bytes.stride", K::kInt},
      {"image_augmentation.shuffle_bytes.window_size", K::kInt},
      {"image_augmentation.shuffle_bytes.window_shuffle_seed", K::kInt},  // ours
      {"image_augmentation.mask_positions.enable", K::kBool},
      {"image_augmentation.mask_positions.keep_frac", K::kFloat},
      {"image_augmentation.random_uniform.enable", K::kBool},
      {"image_augmentation.random_uniform.width_range", K::kIntList},
      {"image_augmentation.byte_permutation.enable", K::kBool},
      // audio_augmentation.* (docs/MODEL.md, the byte pipeline and audio)
      {"audio_augmentation.noise.enable", K::kBool},
      {"audio_augmentation.noise.levels", K::kFloatList},
      {"audio_augmentation.noise.files_dir", K::kString, false},  // we read root/_background_noise_
      {"audio_augmentation.noise.refresh_freq", K::kInt, false},
      {"audio_augmentation.noise.cache_size", K::kInt, false},
      {"audio_augmentation.roll.enable", K::kBool},
      {"audio_augmentation.roll.window", K::kFloat},
      {"audio_augmentation.set_fixed_length.enable", K::kBool, false},  // always 16000 samples
      {"audio_augmentation.set_fixed_length.length", K::kInt},
      {"audio_augmentation.torchaudio_save.enable", K::kBool},
      {"audio_augmentation.torchaudio_save.format", K::kString, true, {"wav", "mp3"}},
      {"audio_augmentation.torchaudio_save.encoding_dtype", K::kString, true,
       {"float32", "int32", "int16", "uint8"}},
      {"audio_augmentation.torchaudio_save.backend", K::kString, false},
      // model.*
      {"model.classification.name", K::kString, true, {"byteformer"}},
      {"model.classification.n_classes", K::kInt},
      {"model.classification.pretrained", K::kString},
      {"model.classification.byteformer.*", K::kAny},
      {"model.audio_classification.name", K::kString, true, {"byteformer"}},
      {"model.classification.activation.*", K::kAny, false},
      {"model.activation.*", K::kAny, false},
      {"model.layer.*", K::kAny, false},
      {"model.normalization.*", K::kAny, false},
      // loss.*
      {"loss.category", K::kString, true, {"classification"}},
      {"loss.classification.name", K::kString, true, {"cross_entropy"}},
      {"loss.classification.cross_entropy.label_smoothing", K::kFloat},
      {"loss.classification.cross_entropy.ignore_index", K::kInt, false},
      {"loss.classification.cross_entropy.class_weights", K::kBool, false},
      // optim.*
      {"optim.name", K::kString, true, {"adamw"}},
      {"optim.weight_decay", K::kFloat},
      {"optim.no_decay_bn_filter_bias", K::kBool},
      {"optim.adamw.beta1", K::kFloat},
      {"optim.adamw.beta2", K::kFloat},
      {"optim.adamw.amsgrad", K::kBool},
      {"optim.eps", K::kFloat},
      // scheduler.*
      {"scheduler.name", K::kString, true, {"cosine"}},
      {"scheduler.is_iteration_based", K::kBool},
      {"scheduler.max_epochs", K::kInt},
      {"scheduler.max_iterations", K::kInt},
      {"scheduler.warmup_iterations", K::kInt},
      {"scheduler.warmup_init_lr", K::kFloat},
      {"scheduler.adjust_period_for_epochs", K::kBool},
      {"scheduler.cosine.max_lr", K::kFloat},
      {"scheduler.cosine.min_lr", K::kFloat},
      // ema.*
      {"ema.enable", K::kBool},
      {"ema.momentum", K::kFloat},
      {"ema.copy_at_epoch", K::kInt, false},
      // CoreNet's variable-size samplers pick crop sizes per batch; we use fixed sizes, as its
      // batch_sampler does (check_config: that name is accepted with effect, the others without).
      {"sampler.name", K::kString, false},
      {"sampler.bs.crop_size_width", K::kInt},
      {"sampler.bs.crop_size_height", K::kInt},
      {"sampler.*", K::kAny, false},
      // ours: what a model of any file reads of it (data/byte_window.h)
      {"byte_window.head", K::kInt},
      {"byte_window.tail", K::kInt},
      {"byte_window.strip_whitespace", K::kBool},
      {"stats.*", K::kAny, false},
      {"ddp.*", K::kAny, false},
  };
}

const KeySpec* find_spec(const std::vector<KeySpec>& schema, const std::string& key) {
  const KeySpec* family = nullptr;
  size_t family_len = 0;
  for (const auto& s : schema) {
    if (s.key == key) return &s;
    if (s.key.size() > 2 && s.key.compare(s.key.size() - 2, 2, ".*") == 0) {
      const std::string prefix = s.key.substr(0, s.key.size() - 1);
      if (key.rfind(prefix, 0) == 0 && prefix.size() > family_len) {
        family = &s;
        family_len = prefix.size();
      }
    }
  }
  return family;
}

[[noreturn]] void fail(const Config& c, const std::string& key, const std::string& why) {
  throw std::invalid_argument(fmt::format("config: {}: {}", c.describe(key), why));
}

// CoreNet's keys are argparse names: dot-separated words of letters, digits, '_' and '-'.
bool is_key_spelling(const std::string& key) {
  bool segment_empty = true;
  for (const char ch : key) {
    if (ch == '.') {
      if (segment_empty) return false;
      segment_empty = true;
    } else if (std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_' || ch == '-') {
      segment_empty = false;
    } else {
      return false;
    }
  }
  return !segment_empty;
}

void check_value(const Config& c, const KeySpec& spec, const std::string& key) {
  if (!c.is_set(key)) return;  // YAML null: CoreNet's "not set"
  try {
    switch (spec.kind) {
      case K::kBool: c.get_bool(key, false); break;
      case K::kInt: c.get_int(key, 0); break;
      case K::kFloat: c.get_double(key, 0); break;
      case K::kIntList: c.get_int_list(key, {}); break;
      case K::kFloatList: c.get_double_list(key, {}); break;
      case K::kStringList: c.get_string_list(key, {}); break;
      case K::kString: {
        const std::string v = lower(c.get_string(key, ""));
        if (!spec.choices.empty() &&
            std::find(spec.choices.begin(), spec.choices.end(), v) == spec.choices.end()) {
          std::string list;
          for (const auto& ch : spec.choices) list += (list.empty() ? "" : ", ") + ch;
          fail(c, key, "expected one of: " + list);
        }
        break;
      }
      case K::kAny: break;
    }
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::invalid_argument(e.what());
  }
}

}  // namespace

const std::vector<KeySpec>& config_schema() {
  static const std::vector<KeySpec> schema = build_schema();
  return schema;
}

ConfigCheck check_config(const Config& config) {
  const auto& schema = config_schema();
  ConfigCheck check;
  for (const auto& kv : config.entries()) {
    const std::string& key = kv.first;
    if (!is_key_spelling(key)) {
      fail(config, key, "a key is dot-separated names of letters, digits, '_' or '-'");
    }
    const KeySpec* spec = find_spec(schema, key);
    if (spec == nullptr) {
      std::vector<std::string> known;
      for (const auto& s : schema)
        if (s.key.size() < 2 || s.key.compare(s.key.size() - 2, 2, ".*") != 0) known.push_back(s.key);
      const std::string closest = closest_spelling(key, known, std::max<size_t>(2, key.size() / 8));
      fail(config, key,
           "unknown key" + (closest.empty() ? std::string() : " (did you mean '" + closest + "'?)") +
               " (docs/CONFIG.md lists the keys we read)");
    }
    check_value(config, *spec, key);
    // CoreNet's fixed-size batch sampler is what the loader does: the one sampler with effect.
    const bool what_we_do = key == "sampler.name" && lower(config.get_string(key, "")) == "batch_sampler";
    if (!spec->acts && !what_we_do) check.ignored.push_back(key);
  }
  // Features CoreNet has and the ByteFormer recipes leave off: refuse rather than ignore.
  for (const char* key : {"image_augmentation.mixup.enable", "image_augmentation.cutmix.enable"}) {
    if (config.get_bool(key, false)) fail(config, key, "image mixup/cutmix is not implemented; set it to false");
  }
  if (config.get_bool("optim.adamw.amsgrad", false)) fail(config, "optim.adamw.amsgrad", "amsgrad is not implemented");
  std::sort(check.ignored.begin(), check.ignored.end());
  return check;
}

std::string describe_ignored(const ConfigCheck& check) {
  if (check.ignored.empty()) return "";
  std::string out = fmt::format("config: {} key(s) accepted with no effect here:", check.ignored.size());
  for (const auto& k : check.ignored) out += " " + k;
  return out;
}

}  // namespace byteformer
