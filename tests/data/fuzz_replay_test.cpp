// Replays fuzz_config's checked-in inputs (fuzz/seeds/config/) through the byte pipelines'
// option parsers, as the fuzzer does: the seeds are valid recipes, so both pipelines of both
// modalities parse. Their truncations are a crash check only: each must parse or throw
// std::invalid_argument / std::runtime_error; what it parses to is not asserted (a crash,
// or any other exception, fails the test).
#include <gtest/gtest.h>

#include <exception>

#include "byteformer/data/byte_pipeline.h"
#include "fuzz_corpus.h"

namespace byteformer {
namespace {

TEST(FuzzReplay, ConfigSeedsGiveBothPipelines) {
  for (const auto& path : test::fuzz_seeds("config")) {
    const std::string text = test::read_text(path);
    const Config c = test::fuzz_config_input(text);
    for (const Modality m : {Modality::kImage, Modality::kAudio})
      for (const bool training : {true, false})
        EXPECT_NO_THROW(BytePipelineOptions::from_config(c, m, training)) << path;
    // Crash check only (see the top of the file): no assertion on the parse's result.
    for (size_t cut = 0; cut < text.size(); cut += 5) {
      try {
        BytePipelineOptions::from_config(test::fuzz_config_input(text.substr(0, cut)), Modality::kImage, true);
      } catch (const std::invalid_argument&) {
      } catch (const std::runtime_error&) {  // the YAML itself did not load
      }
    }
  }
}

}  // namespace
}  // namespace byteformer
