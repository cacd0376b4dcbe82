#include "transforms/option_values.h"

#include <stdexcept>

namespace byteformer::detail {

BadOption::BadOption(const std::string& key, const std::string& value, const std::string& expected)
    : std::invalid_argument("option " + key + ": expected " + expected + ", got '" + value + "'"),
      key(key),
      expected(expected) {}

void throw_bad_value(const std::string& key, const std::string& value, const std::string& expected) {
  throw BadOption(key, value, expected);
}

void throw_bad_config(const Config& config, const std::string& key, const std::string& expected) {
  throw std::invalid_argument("config: " + config.describe(key) + ": expected " + expected);
}

Interpolation config_interpolation(const Config& config, const std::string& key, Interpolation fallback) {
  if (!config.is_set(key)) return fallback;
  const std::string name = config.get_string(key, "");
  try {
    return parse_interpolation(name, key);
  } catch (const std::invalid_argument&) {
    throw_bad_config(config, key, "one of nearest, bilinear, bicubic, cubic, box, hamming, lanczos");
  }
}

std::array<double, 2> config_pair(const Config& config, const std::string& key, std::array<double, 2> fallback) {
  const auto v = config.get_double_list(key, {fallback[0], fallback[1]});
  if (v.size() != 2) throw_bad_config(config, key, "two numbers [low, high]");
  return {v[0], v[1]};
}

std::array<int, 2> config_size(const Config& config, const std::string& key, std::array<int, 2> fallback) {
  const auto v = config.get_int_list(key, {fallback[0], fallback[1]});
  if (v.empty() || v.size() > 2) throw_bad_config(config, key, "a size (one integer or [height, width])");
  for (int64_t x : v)
    if (x <= 0 || x > (1 << 20)) throw_bad_config(config, key, "a positive size");
  return {static_cast<int>(v[0]), static_cast<int>(v.back())};
}

}  // namespace byteformer::detail
