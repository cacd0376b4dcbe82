// The fuzzers' checked-in inputs (fuzz/seeds/<target>/), replayed by the regular suite: every
// file must give a value or a std::exception, as under the fuzzer (scripts/fuzz.sh), and the
// valid seeds must still load.
#pragma once
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "byteformer/io/config.h"
#include "test_util.h"

namespace byteformer::test {

/// The files of fuzz/seeds/<target>/, sorted.
inline std::vector<std::string> fuzz_seeds(const std::string& target) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(source_dir() + "/fuzz/seeds/" + target))
    if (e.is_regular_file()) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// fuzz_config's reading of an input: the YAML before the first NUL byte, then one override a
/// line. Throws what Config throws.
inline Config fuzz_config_input(const std::string& input) {
  const size_t nul = input.find('\0');
  Config c = Config::load_string(input.substr(0, nul), "fuzz.yaml");
  if (nul == std::string::npos) return c;
  for (size_t start = nul + 1; start <= input.size();) {
    const size_t end = std::min(input.find('\n', start), input.size());
    if (end > start) c.apply_override(input.substr(start, end - start));
    start = end + 1;
  }
  return c;
}

}  // namespace byteformer::test
