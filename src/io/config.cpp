#include "byteformer/io/config.h"

#include "byteformer/io/file.h"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>
#include <cmath>
#include <filesystem>
#include <stdexcept>

namespace byteformer {

namespace {

std::string render(const YAML::Node& node) {
  if (!node.IsDefined()) return "<undefined>";
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

}  // namespace

std::string normalise_config_key(const std::string& key) {
  std::string k = key;
  while (!k.empty() && k.front() == '-') k.erase(k.begin());
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

Config Config::load_file(const std::string& path) {
  if (std::filesystem::is_directory(path))
    throw std::runtime_error(fmt::format("config {}: is a directory, expected a YAML file", path));
  std::string text;
  try {
    const std::vector<uint8_t> bytes = read_file(path, kMaxConfigBytes);
    text.assign(bytes.begin(), bytes.end());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(fmt::format("config {}", e.what()));  // read_file's message names the path
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(fmt::format("config {}: line {}, column {}: {}", path, e.mark.line + 1,
                                         e.mark.column + 1, e.msg));
  } catch (const std::bad_alloc&) {
    throw std::runtime_error(fmt::format("config {}: out of memory while parsing the YAML", path));
  }
  Config c;
  c.path_ = path;
  if (root.IsNull()) return c;
  if (!root.IsMap()) throw std::runtime_error(fmt::format("config {}: expected a YAML mapping at the top", path));
  c.flatten(root, "", path);
  return c;
}

Config Config::load_string(const std::string& yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(fmt::format("config {}: line {}: {}", source, e.mark.line + 1, e.msg));
  }
  Config c;
  if (root.IsNull()) return c;
  if (!root.IsMap()) throw std::runtime_error(fmt::format("config {}: expected a YAML mapping", source));
  c.flatten(root, "", source);
  return c;
}

void Config::flatten(const YAML::Node& node, const std::string& prefix, const std::string& origin) {
  // yaml-cpp 0.7 keeps both entries of a duplicated key (and a lookup finds only one): two
  // `common:` blocks would merge silently, a repeated leaf would keep the last value.
  std::map<std::string, int> seen;  // key -> line (1-based) of its first appearance
  for (const auto& kv : node) {
    if (entries_.size() >= kMaxConfigKeys)
      throw std::runtime_error(fmt::format("config {}: more than {} keys (CoreNet's recipes have a few hundred)",
                                           origin, kMaxConfigKeys));
    const std::string name = kv.first.as<std::string>();
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    const int line = kv.first.Mark().line + 1;
    if (const auto [it, fresh] = seen.emplace(name, line); !fresh)
      throw std::runtime_error(fmt::format("config {}: line {}: duplicate key '{}' (first at line {}); each key may "
                                           "appear once",
                                           origin, line, key, it->second));
    if (kv.second.IsMap()) {
      flatten(kv.second, key, origin);
    } else {
      set(key, kv.second, origin);
    }
  }
}

void Config::set(const std::string& key, const YAML::Node& value, const std::string& origin) {
  // A leaf replaces any subtree of the same name and vice versa (as CoreNet's flattening does).
  const std::string sub = key + ".";
  for (auto it = entries_.lower_bound(sub); it != entries_.end() && it->first.rfind(sub, 0) == 0;) {
    origins_.erase(it->first);
    it = entries_.erase(it);
  }
  // Erase, then insert: assigning to an existing YAML::Node writes through to every copy of
  // it, so a copied Config would see this override too.
  entries_.erase(key);
  entries_.emplace(key, YAML::Clone(value));
  origins_[key] = origin;
}

void Config::apply_override(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::runtime_error(fmt::format("override '{}': expected key=value", assignment));
  std::string key = normalise_config_key(assignment.substr(0, eq));
  const std::string text = assignment.substr(eq + 1);
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(fmt::format("override '{}': value '{}' is not valid YAML: {}", key, text, e.msg));
  }
  if (value.IsMap()) {
    Config sub;
    sub.flatten(value, key, "override");
    for (const auto& kv : sub.entries_) set(kv.first, kv.second, "override");
  } else {
    set(key, value, "override");
  }
}

bool Config::has(const std::string& key) const { return entries_.count(key) > 0; }

bool Config::is_set(const std::string& key) const {
  auto it = entries_.find(key);
  return it != entries_.end() && !it->second.IsNull();
}

const YAML::Node& Config::node(const std::string& key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) throw std::runtime_error(fmt::format("config {}: missing key '{}'", path_, key));
  return it->second;
}

std::string Config::origin(const std::string& key) const {
  auto it = origins_.find(key);
  return it == origins_.end() ? path_ : it->second;
}

std::string Config::describe(const std::string& key) const {
  auto it = entries_.find(key);
  const std::string value = it == entries_.end() ? "<missing>" : render(it->second);
  const std::string where = origin(key);
  return fmt::format("key '{}' = {} (in {})", key, value, where.empty() ? "<config>" : where);
}

namespace {
template <typename T>
T scalar_as(const Config& c, const std::string& key, const YAML::Node& n, const char* what) {
  if (!n.IsScalar()) throw std::runtime_error(fmt::format("config: {}: expected {}", c.describe(key), what));
  T value;
  try {
    value = n.as<T>();
  } catch (const YAML::Exception&) {
    throw std::runtime_error(fmt::format("config: {}: expected {}", c.describe(key), what));
  }
  // No key takes NaN or an infinity (.nan, .inf): a learning rate or a momentum of NaN trains a
  // model of NaN weights without another word.
  if constexpr (std::is_floating_point_v<T>)
    if (!std::isfinite(value))
      throw std::runtime_error(fmt::format("config: {}: expected a finite number", c.describe(key)));
  return value;
}

template <typename T>
std::vector<T> list_as(const Config& c, const std::string& key, const YAML::Node& n, const char* what) {
  std::vector<T> out;
  if (n.IsScalar()) {  // CoreNet's argparse accepts a single value for nargs="*"
    out.push_back(scalar_as<T>(c, key, n, what));
    return out;
  }
  if (!n.IsSequence()) throw std::runtime_error(fmt::format("config: {}: expected a list of {}", c.describe(key), what));
  for (const auto& e : n) out.push_back(scalar_as<T>(c, key, e, what));
  return out;
}
}  // namespace

std::string Config::get_string(const std::string& key, const std::string& fallback) const {
  if (!is_set(key)) return fallback;
  return scalar_as<std::string>(*this, key, node(key), "a string");
}
int64_t Config::get_int(const std::string& key, int64_t fallback) const {
  if (!is_set(key)) return fallback;
  return scalar_as<int64_t>(*this, key, node(key), "an integer");
}
double Config::get_double(const std::string& key, double fallback) const {
  if (!is_set(key)) return fallback;
  return scalar_as<double>(*this, key, node(key), "a number");
}
bool Config::get_bool(const std::string& key, bool fallback) const {
  if (!is_set(key)) return fallback;
  return scalar_as<bool>(*this, key, node(key), "true or false");
}
std::vector<int64_t> Config::get_int_list(const std::string& key, const std::vector<int64_t>& fallback) const {
  if (!is_set(key)) return fallback;
  return list_as<int64_t>(*this, key, node(key), "integers");
}
std::vector<double> Config::get_double_list(const std::string& key, const std::vector<double>& fallback) const {
  if (!is_set(key)) return fallback;
  return list_as<double>(*this, key, node(key), "numbers");
}
std::vector<bool> Config::get_bool_list(const std::string& key, const std::vector<bool>& fallback) const {
  if (!is_set(key)) return fallback;
  return list_as<bool>(*this, key, node(key), "booleans");
}
std::vector<std::string> Config::get_string_list(const std::string& key,
                                                 const std::vector<std::string>& fallback) const {
  if (!is_set(key)) return fallback;
  return list_as<std::string>(*this, key, node(key), "strings");
}

std::vector<std::string> Config::keys_with_prefix(const std::string& prefix) const {
  std::vector<std::string> out;
  for (auto it = entries_.lower_bound(prefix); it != entries_.end() && it->first.rfind(prefix, 0) == 0; ++it)
    out.push_back(it->first);
  return out;
}

namespace {
// Emits the entries whose keys start with `prefix` as a nested block map.
void emit_level(YAML::Emitter& out, const std::map<std::string, YAML::Node>& entries, const std::string& prefix) {
  out << YAML::BeginMap;
  auto it = entries.lower_bound(prefix);
  while (it != entries.end() && it->first.rfind(prefix, 0) == 0) {
    const std::string rest = it->first.substr(prefix.size());
    const auto dot = rest.find('.');
    if (dot == std::string::npos) {
      out << YAML::Key << rest << YAML::Value << it->second;
      ++it;
      continue;
    }
    const std::string child = prefix + rest.substr(0, dot) + ".";
    out << YAML::Key << rest.substr(0, dot) << YAML::Value;
    emit_level(out, entries, child);
    while (it != entries.end() && it->first.rfind(child, 0) == 0) ++it;
  }
  out << YAML::EndMap;
}
}  // namespace

std::string Config::to_yaml() const {
  YAML::Emitter out;
  emit_level(out, entries_, "");
  return std::string(out.c_str()) + "\n";
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  Config c = path.empty() ? Config() : Config::load_file(path);
  for (const auto& o : overrides) c.apply_override(o);
  return c;
}

void require_positive(const Config& config, int64_t value, const char* key) {
  if (value <= 0) throw std::invalid_argument(fmt::format("config: {}: must be > 0", config.describe(key)));
}

}  // namespace byteformer
