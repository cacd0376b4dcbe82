// Parsing of option values given as text (`key=value` overrides, YAML scalars already turned to
// strings). Private to src/transforms; every error names the key and the bad value.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace byteformer::detail {

/// Normalises a CoreNet option key: drops a leading "--", turns '-' into '_', and strips
/// `prefix` (e.g. "image_augmentation.") when present.
std::string normalise_key(std::string key, const std::string& prefix);

bool parse_bool(const std::string& key, const std::string& value);
int64_t parse_int(const std::string& key, const std::string& value);
double parse_double(const std::string& key, const std::string& value);
/// "[a, b, c]", "a,b,c" or "a b c".
std::vector<double> parse_double_list(const std::string& key, const std::string& value);
std::vector<int64_t> parse_int_list(const std::string& key, const std::string& value);
/// Splits "key=value"; throws when there is no '='.
std::pair<std::string, std::string> split_key_value(const std::string& item);

[[noreturn]] void throw_bad_value(const std::string& key, const std::string& value,
                                  const std::string& expected);

}  // namespace byteformer::detail
