// The registry of CoreNet config keys this project knows (listed for users in docs/CONFIG.md):
// which keys act, which are accepted but have no effect here, and what values each takes.
//
//   Config c = load_config("configs/imagenet/tiff.yaml", {});
//   ConfigCheck check = check_config(c);          // throws on an unknown key or a bad value
//   for (auto& k : check.ignored) std::cerr << "ignored: " << k << "\n";
#pragma once
#include <string>
#include <vector>

#include "byteformer/io/config.h"

namespace byteformer {

/// The type of value a key takes; every value is checked against it.
enum class KeyKind { kBool, kInt, kFloat, kString, kIntList, kFloatList, kStringList, kAny };

struct KeySpec {
  /// Full dotted key, or a prefix ending in ".*" that covers a whole family of keys.
  std::string key;
  KeyKind kind = KeyKind::kAny;
  /// False: CoreNet's key, accepted and reported once, but nothing here depends on it.
  bool acts = true;
  /// For strings: the accepted values (compared case-insensitively); empty = any.
  std::vector<std::string> choices;
};

/// Every key we know, CoreNet's and our own additions.
const std::vector<KeySpec>& config_schema();

struct ConfigCheck {
  std::vector<std::string> ignored;  // keys accepted without effect, sorted
};

/// Checks every key of `config` against the schema (the `model.classification.byteformer.*`
/// keys are checked by ByteFormerOptions::from_config, which callers run next). Throws std::invalid_argument naming the key, the value and
/// the file for an unknown key, a value of the wrong type or outside its choices, or a feature
/// we do not implement (mixup/cutmix on images, another optimiser, scheduler or loss).
ConfigCheck check_config(const Config& config);

/// One line naming the ignored keys ("" when none).
std::string describe_ignored(const ConfigCheck& check);

}  // namespace byteformer
