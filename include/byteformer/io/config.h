// CoreNet-style YAML configuration: nested YAML maps flattened to dotted keys
// ("model.classification.byteformer.mode"), with CoreNet's override syntax (key=value).
#pragma once
#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <stdexcept>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace byteformer {

/// The largest config file read (CoreNet's recipes are a few KB), and the most keys one may set.
constexpr int64_t kMaxConfigBytes = int64_t{1} << 20;
constexpr size_t kMaxConfigKeys = 10000;

/// A parsed configuration. Leaves are YAML scalars, sequences or nulls; maps are flattened.
/// Every accessor that fails names the key, the value and the file it came from.
class Config {
 public:
  Config() = default;

  /// Reads a YAML file (CoreNet's projects/byteformer/*.yaml load unchanged).
  static Config load_file(const std::string& path);
  /// Parses YAML text; `source` names it in error messages.
  static Config load_string(const std::string& yaml, const std::string& source = "<string>");

  /// Applies `key=value` (value parsed as YAML, e.g. `[32]`, `true`, `1e-3`). CoreNet's
  /// command-line spelling with dashes (`max-num-tokens`) is accepted for the last component.
  void apply_override(const std::string& assignment);
  void set(const std::string& key, const YAML::Node& value, const std::string& origin);

  bool has(const std::string& key) const;
  /// True when `key` exists and is not YAML null.
  bool is_set(const std::string& key) const;
  const YAML::Node& node(const std::string& key) const;

  std::string get_string(const std::string& key, const std::string& fallback) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::vector<int64_t> get_int_list(const std::string& key, const std::vector<int64_t>& fallback) const;
  std::vector<double> get_double_list(const std::string& key, const std::vector<double>& fallback) const;
  std::vector<bool> get_bool_list(const std::string& key, const std::vector<bool>& fallback) const;
  std::vector<std::string> get_string_list(const std::string& key,
                                           const std::vector<std::string>& fallback) const;

  /// All flattened keys that start with `prefix` (e.g. "model.classification.byteformer.").
  std::vector<std::string> keys_with_prefix(const std::string& prefix) const;
  const std::map<std::string, YAML::Node>& entries() const { return entries_; }
  /// Where a key came from (file path or "override").
  std::string origin(const std::string& key) const;
  /// The file this config was loaded from ("" if none).
  const std::string& path() const { return path_; }
  /// Writes the flattened config back as nested YAML.
  std::string to_yaml() const;

  /// Error text naming key, value and origin; used by every typed accessor.
  std::string describe(const std::string& key) const;

 private:
  void flatten(const YAML::Node& node, const std::string& prefix, const std::string& origin);

  std::map<std::string, YAML::Node> entries_;
  std::map<std::string, std::string> origins_;
  std::string path_;
};

/// Normalises a CoreNet command-line key: strips leading dashes, turns '-' into '_'.
std::string normalise_config_key(const std::string& key);

/// Reads a config file with overrides applied (errors name the file and key). An empty path
/// gives the overrides alone.
Config load_config(const std::string& path, const std::vector<std::string>& overrides);

/// Runs `parse`, which reads a config with its typed accessors, and reports the accessors'
/// type errors as std::invalid_argument, as every option parser does.
template <typename Parse>
auto parse_options(Parse&& parse) -> decltype(parse()) {
  try {
    return parse();
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::invalid_argument(e.what());
  }
}

/// Throws std::invalid_argument naming `key` (and its value and file) unless value > 0.
void require_positive(const Config& config, int64_t value, const char* key);

}  // namespace byteformer
