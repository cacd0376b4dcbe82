// Replays the checked-in inputs of fuzz_pickle and fuzz_config (fuzz/seeds/) through the same
// calls as the fuzzers: the checkpoint reader and the config's load, overrides, key check and
// to_yaml round trip.
#include <gtest/gtest.h>

#include <exception>
#include <memory>

#include "byteformer/io/checkpoint.h"
#include "byteformer/io/config_schema.h"
#include "byteformer/io/pickle.h"
#include "fuzz_corpus.h"

namespace byteformer {
namespace {

TEST(FuzzReplay, PickleSeedsLoadAndMutantsThrowCleanly) {
  const auto seeds = test::fuzz_seeds("pickle");
  ASSERT_GE(seeds.size(), 4u);
  for (const auto& path : seeds) {
    const auto bytes = test::read_bytes(path);
    ASSERT_FALSE(bytes.empty()) << path;
    const std::vector<uint8_t> body(bytes.begin() + 1, bytes.end());
    auto read = [&](const std::vector<uint8_t>& b) -> size_t {  // tensors read
      if (bytes[0] & 1) return load_state_dict_bytes(b, path).size();
      const auto storage = std::make_shared<const std::vector<uint8_t>>(64, uint8_t{7});
      pickle::StorageLoader loader = [&](const std::string&, uint64_t) { return std::make_pair(std::shared_ptr<const void>(storage, storage->data()), storage->size()); };
      return pickle::unpickle(b.data(), b.size(), loader, path)->dict.size();
    };
    // The seeds are torch.save files of small state dicts (and their data.pkl): they load.
    size_t n = 0;
    ASSERT_NO_THROW(n = read(body)) << path;
    EXPECT_GE(n, 3u) << path;
    // Every truncation and a byte flip at every 7th offset: a crash check only (a value or a
    // std::exception; what loads is not asserted).
    for (size_t cut = 0; cut < body.size(); ++cut) {
      try {
        read(std::vector<uint8_t>(body.begin(), body.begin() + static_cast<std::ptrdiff_t>(cut)));
      } catch (const std::exception&) {
      }
    }
    for (size_t at = 0; at < body.size(); at += 7) {
      std::vector<uint8_t> flipped = body;
      flipped[at] ^= 0x5a;
      try {
        read(flipped);
      } catch (const std::exception&) {
      }
    }
  }
}

TEST(FuzzReplay, ConfigSeedsLoadAndRoundTrip) {
  const auto seeds = test::fuzz_seeds("config");
  ASSERT_GE(seeds.size(), 3u);
  for (const auto& path : seeds) {
    const std::string text = test::read_text(path);
    Config c;
    ASSERT_NO_THROW(c = test::fuzz_config_input(text)) << path;
    EXPECT_NO_THROW(check_config(c)) << path;
    const Config back = Config::load_string(c.to_yaml(), "to_yaml");
    for (const auto& [key, node] : c.entries()) EXPECT_TRUE(back.has(key)) << path << ": " << key;
    // Truncations of the YAML part, a crash check only: loaded or rejected with a std::exception.
    for (size_t cut = 0; cut < text.size(); cut += 3) {
      try {
        check_config(test::fuzz_config_input(text.substr(0, cut)));
      } catch (const std::exception&) {
      }
    }
  }
}

}  // namespace
}  // namespace byteformer
