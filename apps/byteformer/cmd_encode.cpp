// `byteformer encode --to ENC IN OUT [--privacy KEY=VALUE ...]`: decode any supported image or
// sound file and write it the way CoreNet's pil_save / torchaudio_save would, optionally
// followed by the privacy byte transforms. All work is in the codec and transforms libraries.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "byteformer/codec/audio_decoder.h"
#include "byteformer/codec/codec.h"
#include "byteformer/io/config.h"
#include "byteformer/io/file.h"
#include "byteformer/transforms/privacy.h"
#include "byteformer/transforms/rng.h"
#include "cli_common.h"
#include "commands.h"

namespace byteformer::cli {
namespace {

struct EncodeFlags {
  std::string to;
  std::string input;
  std::string output;
  std::vector<std::string> privacy;
  uint64_t seed = 0;
  int sample_rate = 0;
  bool sample_rate_given = false;
};

void write_output(const std::string& path, const std::vector<uint8_t>& bytes) {
  if (path == "-") {  // stdout, for pipes
    std::cout.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    std::cout.flush();
    if (!std::cout) throw std::runtime_error("encode: failed writing to standard output");
    return;
  }
  write_file_atomic(path, bytes, Durability::kRenameOnly);
}

// --privacy KEY=VALUE items as the config keys they name (`image_augmentation.` added when
// absent), values parsed as YAML as every override is; PrivacyOptions::from_config reads them.
Config privacy_config(const std::vector<std::string>& items) {
  Config c;
  const auto& known = PrivacyOptions::keys();
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument(fmt::format("--privacy '{}': expected KEY=VALUE, e.g. shuffle_bytes.mode=reverse", item));
    std::string key = normalise_config_key(item.substr(0, eq));
    const std::string prefix = "image_augmentation.";
    if (key.rfind(prefix, 0) == 0) key = key.substr(prefix.size());
    if (std::find(known.begin(), known.end(), key) == known.end())
      throw std::invalid_argument(fmt::format("--privacy '{}': unknown option '{}'; expected one of {}", item, key,
                                              fmt::join(known, ", ")));
    c.apply_override(prefix + key + "=" + item.substr(eq + 1));
  }
  return c;
}

bool is_audio_encoding(const std::string& to) {
  std::string t = to;
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t == "mp3" || t.rfind("wav", 0) == 0;
}

void run_encode(const EncodeFlags& flags) {
  const std::vector<uint8_t> input = read_file(flags.input);
  std::vector<uint8_t> encoded;
  if (is_audio_encoding(flags.to)) {
    const AudioEncoding encoding = AudioEncoding::parse(flags.to);
    if (!looks_like_audio(input.data(), input.size())) {
      throw std::runtime_error(fmt::format("encode: '{}' is not a WAV or MP3 file, but --to {} "
                                           "is an audio encoding", flags.input, flags.to));
    }
    if (const std::string cut = wav_truncation(input.data(), input.size()); !cut.empty())
      std::cerr << fmt::format("warning: {}: {}; encoding the samples present\n", flags.input, cut);
    std::optional<int> rate;
    if (flags.sample_rate_given) rate = flags.sample_rate;
    encoded = encode_audio(decode_audio(input, flags.input, rate), encoding);
  } else {
    const ImageEncoding encoding = ImageEncoding::parse(flags.to);
    if (flags.sample_rate_given)
      throw std::invalid_argument(fmt::format("encode: --sample-rate applies to sound, but --to {} is an image "
                                              "encoding", flags.to));
    if (!looks_like_image(input.data(), input.size())) {
      throw std::runtime_error(fmt::format("encode: '{}' is not an image file, but --to {} is an "
                                           "image encoding", flags.input, flags.to));
    }
    encoded = encode_image(decode_image(input, flags.input), encoding);
  }
  if (!flags.privacy.empty()) {
    const Config config = privacy_config(flags.privacy);
    for (const auto& w : disabled_transform_warnings(config)) std::cerr << "warning: --privacy " << w << "\n";
    const PrivacyOptions options = PrivacyOptions::from_config(config);
    torch::Generator gen = make_generator(flags.seed);
    const ByteSeq out = apply_privacy(to_byte_seq(encoded), options, gen);
    encoded.resize(out.size());
    for (size_t i = 0; i < out.size(); ++i) encoded[i] = static_cast<uint8_t>(out[i]);
  }
  write_output(flags.output, encoded);
}

}  // namespace

void add_encode_command(CLI::App& app) {
  auto flags = std::make_shared<EncodeFlags>();
  auto* cmd = app.add_subcommand(
      "encode", "Encode an image or sound file as ByteFormer input bytes (CoreNet's pil_save / "
                "torchaudio_save), optionally with privacy byte transforms");
  cmd->add_option("--to", flags->to,
                  "Encoding: tiff, png, jpeg:Q, fchw, fhwc (images); wav:float32, wav:int32, "
                  "wav:int16, wav:uint8, mp3 (sound)")
      ->required();
  cmd->add_option("input", flags->input, "Input image (JPEG/PNG/TIFF/BMP/PPM) or sound (WAV/MP3)")
      ->required()
      ->check(existing_file());
  cmd->add_option("output", flags->output, "Output file (- for standard output)")->required();
  cmd->add_option("--privacy", flags->privacy,
                  "Privacy transform option KEY=VALUE (CoreNet's image_augmentation keys), "
                  "e.g. shuffle_bytes.enable=true shuffle_bytes.mode=reverse; repeatable")
      ->expected(1)
      ->take_all();
  cmd->add_option("--seed", flags->seed, "Seed for the random privacy transforms")
      ->default_val(0);
  auto* rate = cmd->add_option("--sample-rate", flags->sample_rate,
                               "Resample sound to this rate in Hz before encoding")
                   ->check(positive_int())
                   ->default_str("the file's rate");
  cmd->callback([flags, rate] {
    flags->sample_rate_given = rate->count() > 0;
    run_encode(*flags);
  });
}

}  // namespace byteformer::cli
