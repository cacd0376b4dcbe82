// libFuzzer target: the YAML config path on arbitrary text. The input is a YAML document, then
// (after the first NUL byte) override lines `key=value` as --override passes them. Loading,
// overriding, the key check (config_schema) and every option parser that reads the config
// without data (the model's, the image, audio and privacy pipelines') either succeed or throw
// std::exception; a config that passes the key check writes back (to_yaml) to one that loads to
// the same keys.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "byteformer/io/config.h"
#include "byteformer/io/config_schema.h"
#include "byteformer/model/byteformer_options.h"
#include "byteformer/transforms/audio_augment.h"
#include "byteformer/transforms/image_augment.h"
#include "byteformer/transforms/privacy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  byteformer::Config c;
  try {
    c = byteformer::Config::load_string(input.substr(0, nul), "fuzz.yaml");
    if (nul != std::string::npos) {
      size_t start = nul + 1;
      while (start <= input.size()) {
        const size_t end = std::min(input.find('\n', start), input.size());
        if (end > start) c.apply_override(input.substr(start, end - start));
        start = end + 1;
      }
    }
  } catch (const std::exception&) {
    return 0;
  }
  auto parse = [&](auto&& f) {
    try {
      f();
      return true;
    } catch (const std::exception&) {
      return false;
    }
  };
  // A config that passes the key check is one `train` accepts and copies into its run folder
  // (to_yaml): that copy must load back to the same keys.
  if (parse([&] { byteformer::check_config(c); })) {
    try {
      const byteformer::Config back = byteformer::Config::load_string(c.to_yaml(), "to_yaml");
      for (const auto& [key, node] : c.entries()) {
        if (!back.has(key)) __builtin_trap();  // to_yaml lost a key
      }
    } catch (const std::exception&) {
      __builtin_trap();  // to_yaml wrote YAML that does not load
    }
  }
  parse([&] { byteformer::ByteFormerOptions::from_config(c).validate(); });
  parse([&] { byteformer::ImageAugmentOptions::from_config(c); });
  parse([&] { byteformer::AudioAugmentOptions::from_config(c); });
  parse([&] { byteformer::PrivacyOptions::from_config(c); });
  return 0;
}
