// Typed reads of the transforms' CoreNet keys from a Config, shared by the option structs'
// from_config (image_augment, audio_augment, privacy). Private to src/transforms; every error
// names the key, its value and the file it came from.
#pragma once
#include <array>
#include <functional>
#include <stdexcept>
#include <string>

#include "byteformer/io/config.h"
#include "byteformer/transforms/resample.h"

namespace byteformer::detail {

/// A bad option value found by an options struct's validate(): which key, what was expected.
struct BadOption : std::invalid_argument {
  BadOption(const std::string& key, const std::string& value, const std::string& expected);
  std::string key;
  std::string expected;
};

/// Throws BadOption: "option KEY: expected EXPECTED, got 'VALUE'".
[[noreturn]] void throw_bad_value(const std::string& key, const std::string& value,
                                  const std::string& expected);
/// "config: key 'k' = v (in file): expected <expected>", as std::invalid_argument.
[[noreturn]] void throw_bad_config(const Config& config, const std::string& key,
                                   const std::string& expected);

/// An interpolation name (parse_interpolation), or `fallback` when the key is absent.
Interpolation config_interpolation(const Config& config, const std::string& key, Interpolation fallback);
/// Two numbers [low, high].
std::array<double, 2> config_pair(const Config& config, const std::string& key, std::array<double, 2> fallback);
/// One integer (a square) or [height, width].
std::array<int, 2> config_size(const Config& config, const std::string& key, std::array<int, 2> fallback);

/// Runs `read` (the body of a from_config) and `validate`, turning the Config accessors'
/// std::runtime_error into std::invalid_argument, and a validate() error into one that names
/// the key's value and origin as the accessors do.
template <typename Options>
Options read_options(const Config& config, const std::function<void(Options&)>& read) {
  Options o;
  try {
    read(o);
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::invalid_argument(e.what());
  }
  try {
    o.validate();
  } catch (const BadOption& e) {
    if (config.has(e.key)) throw_bad_config(config, e.key, e.expected);
    throw std::invalid_argument(std::string(e.what()) + " (a default: the key is not in the config)");
  }
  return o;
}

}  // namespace byteformer::detail
